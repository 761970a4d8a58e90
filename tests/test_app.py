"""The chat UI's adapter functions with fake models, and its API through gradio_client."""

from __future__ import annotations

import socket
from dataclasses import replace
from pathlib import Path

import pytest

from rag.answer.pipeline import Pipeline
from rag.answer.question.check import retrieval_query
from rag.index.build import build_index
from rag.index.spec import chunk_params
from rag.types import Answer, Citation, Timings
from rag.web import add_articles, build_app, delete_article, respond
from rag.web.chat import history_pairs
from rag.web.render import answer_markdown, sources_html, sources_section, timings_line
from tests.conftest import FIXTURE_DOCS, fixture_library, make_doc
from tests.fakes import FailingEmbedder, FakeEmbedder, FakeGenerator

HOSTILE = make_doc(
    "evil",
    "深圳5G基站<script>alert('x')</script><img src=x onerror=alert(1)>建成4.6万个。",
    "<b>标题</b>",
    url="javascript:alert(1)",
)


def load(settings, reply="深圳建成5G基站超4.6万个[1]。", docs=FIXTURE_DOCS):
    emb = FakeEmbedder()
    build_index(docs, emb, settings.index_dir, chunk_params(settings), progress=False)
    return Pipeline.load(
        replace(settings, use_llm=True, encoder2=""), embedder=emb, generator=FakeGenerator(reply)
    )


def final(steps):
    return list(steps)[-1]


def test_respond_streams_the_answer_then_shows_linked_sources(settings):
    p = load(settings)
    steps = list(respond("深圳5G基站建成多少？", [], p))
    assert len(steps) >= 3
    assert steps[0][0][-1]["content"] == "…" and steps[0][3] == ""
    chat, sources, sections, timings = steps[-1]
    assert chat[0] == {"role": "user", "content": "深圳5G基站建成多少？"}
    assert "4.6万" in chat[-1]["content"]
    assert '<a class="cite" href="#src-1-1">[1]</a>' in chat[-1]["content"]
    assert 'id="src-1-1"' in sources and "<mark>" in sources and "深圳5G基站" in sources
    assert len(sections) == 1 and sections[0][0] == "深圳5G基站建成多少？"
    assert "retrieval" in timings and "total" in timings


def test_each_turn_has_its_own_anchors_and_older_sources_fold(settings):
    p = load(settings)
    chat, _, sections, _ = final(respond("深圳5G基站建成多少？", [], p))
    chat, sources, sections, _ = final(respond("深圳工业总产值是多少？", chat, p, sections=sections))
    assert (
        'href="#src-2-1"' in chat[-1]["content"] and 'id="src-2-1"' in sources and 'id="src-1-1"' in sources
    )
    assert sources.index("Q2") < sources.index("Q1") and "<details>" in sources  # newest first, older folded


def test_history_is_passed_as_plain_question_answer_pairs(settings):
    p = load(settings)
    history = [
        {"role": "user", "content": "2020年深圳建成多少5G基站？"},
        {
            "role": "assistant",
            "content": [{"type": "text", "text": '4.6万个<a class="cite" href="#src-1-1">[1]</a>'}],
        },
    ]
    assert history_pairs(history) == [("2020年深圳建成多少5G基站？", "4.6万个[1]")]
    chat, *_ = final(respond("那2023年呢？", history, p))
    assert len(chat) == 4
    assert (
        "5G" in p.generator.seen[-1][1]["content"]
    )  # the follow-up was retrieved with the previous question


@pytest.mark.parametrize(
    ("question", "history", "query"),
    [  # a new year swapped into the earlier question; "who said that" asks who said its answer;
        # else the earlier questions (at most two) are carried in front
        ("那2023年呢？", [("2020年深圳建成多少5G基站？", "4.6万个")], "2023年深圳建成多少5G基站？"),
        (
            "And who said that?",
            [("What was Shenzhen's industrial output in 2020?", "3.7 trillion yuan [1]")],
            "Who said that Shenzhen's industrial output in 2020 was 3.7 trillion yuan?",
        ),
        (
            "同比增长了多少？",
            [("云工厂平台入驻了多少家制造商？", "上万家"), ("它上半年撮合了多少采购？", "100多亿元")],
            "（接着问“云工厂平台入驻了多少家制造商”“它上半年撮合了多少采购”）同比增长了多少？",
        ),
    ],
)
def test_follow_ups_are_retrieved_as_standalone_questions(question, history, query):
    assert retrieval_query(question, history) == query


def test_a_self_contained_question_starts_afresh():
    q = "How many 5G base stations did Shenzhen build in 2020?"
    assert retrieval_query(q, [("深圳2020年规上工业总产值是多少？", "3.7万亿元")]) == q


def test_errors_become_a_readable_message_not_a_trace(settings):
    p = load(settings)
    chat, sources, sections, timings = final(respond("   ", [], p))
    assert chat[-1]["content"].startswith("⚠️") and "Traceback" not in chat[-1]["content"]
    assert timings == "" and "No sources" in sources

    # (a failing generator falls back to quoting: tests/test_faults.py)
    p.embedder = FailingEmbedder(RuntimeError("out of memory"))
    chat, *_ = final(respond("深圳5G基站建成多少？", [], p))
    assert "Something went wrong" in chat[-1]["content"] and "out of memory" not in chat[-1]["content"]


def test_hostile_article_and_question_text_are_escaped(settings):
    p = load(settings, reply="<script>alert(2)</script> 4.6万个[1]", docs=[*FIXTURE_DOCS, HOSTILE])
    chat, sources, *_ = final(respond("<img src=x onerror=alert(3)> 深圳5G基站<script>", [], p))
    everything = sources + str(chat)
    assert "<script" not in everything and "<img" not in everything and "<b>标题" not in everything
    assert "&lt;script&gt;" in everything
    assert "javascript:" not in sources  # only http(s) links are rendered


def cite(n, doc_id, title="t", lang="zh", url="https://a.b/x", text="段落"):
    return Citation(n, doc_id, title, "2021-01-20", url, f"{doc_id}#0", text, 0, len(text), lang)


def test_sources_group_the_same_story_and_escape_every_field():
    c = [
        cite(1, "000", "<i>深圳</i>", text="<script>"),
        cite(2, "004", "City's output", "en"),
        cite(3, "001", url='https://a.b/?q="x"'),
    ]
    out = sources_section(c, 1, story_of={"000": "s1", "004": "s1", "001": "s2"})
    assert out.count('class="story"') == 2 and out.count('class="doc"') == 3
    assert "Same story (中文 + English)" in out
    assert out.index('id="src-1-1"') < out.index('id="src-1-2"') < out.index('id="src-1-3"')
    assert "<i>深圳" not in out and "&lt;script&gt;" in out and "&quot;x&quot;" in out


def test_sources_show_the_cited_span_in_its_context(settings):
    p = load(settings)
    doc = next(d for d in FIXTURE_DOCS if d.doc_id == "zh_output")
    start = doc.text.index("深圳重视")
    c = Citation(
        1, "zh_output", "深圳工业总产值", "", "", "zh_output#0", doc.text[start:], start, len(doc.text), "zh"
    )
    out = sources_section([c], 3, p.store)
    assert (
        '<span class="ctx">深圳2020年规模以上工业总产值3.7万亿元，连续两年位居全国大中城市首位。 </span>'
        in out
    )
    assert f"<mark>{doc.text[start:]}</mark>" in out


def test_answer_markdown_and_timings():
    a = Answer(
        "深圳建成4.6万个[1]，<b>产值</b>3.7万亿元[2]。",
        "zh",
        False,
        (),
        Timings(12, 800, 2300, 90),
        "llm",
        ("a notice",),
    )
    md = answer_markdown(a, 4)
    assert 'href="#src-4-1">[1]</a>' in md and 'href="#src-4-2">[2]</a>' in md and "&lt;b&gt;" in md
    assert md.endswith("> a notice")
    assert (
        timings_line(a) == "检索 retrieval 12 ms · 首字 first token 0.8 s · 共 total 2.3 s · 生成 generated"
    )
    assert sources_html([]).startswith('<p class="hint">')


@pytest.fixture
def library(settings):
    s = replace(settings, encoder2="", use_llm=True)
    return fixture_library(s, FakeGenerator("公交充电站120座[1]。"))


def test_add_and_delete_articles_from_the_ui(library, tmp_path):
    article = tmp_path / "up" / "充电站.md"
    article.parent.mkdir()
    article.write_text("---\ntitle: 深圳新开120座公交充电站\n---\n深圳2月新建公交快充站120座。", "utf-8")
    (tmp_path / "up" / "notes.docx").write_bytes(b"PK\x03\x04")
    status = add_articles([str(article), str(tmp_path / "up" / "notes.docx")], library)
    assert "Added" in status and "深圳新开120座公交充电站" in status and "`充电站`" in status
    assert "Not added" in status and "notes.docx" in status and "unsupported file type" in status
    chat, sources, *_ = final(respond("公交充电站建了多少座？", [], library))
    assert "充电站" in sources
    assert "Deleted `充电站`" in delete_article("充电站", library)
    assert "充电站" not in {d.doc_id for d in library.store.docs()}
    assert "Choose" in add_articles([], library) and "Choose" in delete_article("", library)


def test_build_app_names_its_api_endpoints(settings):
    demo = build_app(load(settings))
    public = {fn.api_name for fn in demo.fns.values() if fn.api_visibility == "public"}
    assert public == {"answer", "articles", "add_articles", "delete_article"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_api_through_gradio_client(library, tmp_path):
    """The README's API example against a running server (in this process, fake models)."""
    from gradio_client import Client, handle_file

    demo = build_app(library)
    port = free_port()
    demo.queue().launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        result = client.predict("深圳5G基站建成多少？", [], "auto", 5, True, api_name="/answer")
        assert result["lang"] == "zh" and not result["abstained"] and result["citations"][0]["doc_id"]
        follow = client.predict(
            question="那2023年呢？", history=[["深圳5G基站建成多少？", result["answer"]]], api_name="/answer"
        )
        assert "answer" in follow
        docs = client.predict(api_name="/articles")
        assert {d["doc_id"] for d in docs} == {d.doc_id for d in FIXTURE_DOCS}
        upload = tmp_path / "bus.txt"
        upload.write_text("深圳2月新建公交快充站120座，每辆车40分钟充满。", "utf-8")
        status, _ = client.predict([handle_file(str(upload))], api_name="/add_articles")
        assert "Added" in status and "`bus`" in status
        assert "bus" in {d["doc_id"] for d in client.predict(api_name="/articles")}
        assert client.predict("bus", api_name="/delete_article") == {"deleted": "bus", "articles": 4}
        with pytest.raises(Exception, match="no article") as refused:
            client.predict("bus", api_name="/delete_article")
        assert str(library.settings.corpus_dir) not in str(refused.value)  # no server path in the API
    finally:
        demo.close()
    assert Path(library.settings.corpus_dir / "bus.txt").exists() is False
