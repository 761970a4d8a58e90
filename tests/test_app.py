from __future__ import annotations

from dataclasses import replace

from app import build_app, history_pairs, respond, sources_html
from rag.index import build_index
from rag.pipeline import Pipeline, chunk_params
from tests.conftest import FIXTURE_DOCS, make_doc
from tests.fakes import FakeEmbedder, FakeGenerator

HOSTILE = make_doc(
    "evil", "深圳5G基站<script>alert('x')</script><img src=x onerror=alert(1)>建成4.6万个。", "<b>标题</b>",
    url="javascript:alert(1)")


def load(settings, reply="深圳建成5G基站超4.6万个[1]。", docs=FIXTURE_DOCS):
    emb = FakeEmbedder()
    build_index(docs, emb, settings.index_dir, chunk_params(settings), progress=False)
    return Pipeline.load(replace(settings, use_llm=True), embedder=emb, generator=FakeGenerator(reply))


def test_respond_streams_the_answer_then_shows_sources(settings):
    p = load(settings)
    steps = list(respond("深圳5G基站建成多少？", [], p))
    chats = [chat for chat, _ in steps]
    assert len(steps) >= 3
    assert chats[0][-1]["content"] == "…"
    final_chat, final_sources = steps[-1]
    assert final_chat[0] == {"role": "user", "content": "深圳5G基站建成多少？"}
    assert "4.6万" in final_chat[-1]["content"] and "[1]" in final_chat[-1]["content"]
    assert 'id="src-1"' in final_sources and "<mark>" in final_sources


def test_history_is_passed_as_question_answer_pairs(settings):
    p = load(settings)
    history = [{"role": "user", "content": "2020年深圳建成多少5G基站？"},
               {"role": "assistant", "content": [{"type": "text", "text": "4.6万个[1]"}]}]
    assert history_pairs(history) == [("2020年深圳建成多少5G基站？", "4.6万个[1]")]
    final_chat, _ = list(respond("那2023年呢？", history, p))[-1]
    assert len(final_chat) == 4
    # the follow-up was retrieved with the previous question
    assert "5G" in p.generator.seen[-1][1]["content"]


def test_errors_become_a_readable_message_not_a_trace(settings):
    p = load(settings)
    final_chat, sources = list(respond("   ", [], p))[-1]
    assert final_chat[-1]["content"].startswith("⚠️") and "Traceback" not in final_chat[-1]["content"]

    class Broken(FakeGenerator):
        def stream(self, messages, max_tokens=256):
            raise RuntimeError("out of memory")
            yield ""

    p.generator = Broken()
    final_chat, _ = list(respond("深圳5G基站建成多少？", [], p))[-1]
    assert "Something went wrong" in final_chat[-1]["content"] and "out of memory" not in final_chat[-1]["content"]


def test_hostile_article_and_question_text_are_escaped(settings):
    p = load(settings, reply="<script>alert(2)</script> 4.6万个[1]", docs=[*FIXTURE_DOCS, HOSTILE])
    final_chat, sources = list(respond("<img src=x onerror=alert(3)> 深圳5G基站<script>", [], p))[-1]
    everything = sources + str(final_chat)
    assert "<script" not in everything and "<img" not in everything and "<b>标题" not in everything
    assert "&lt;script&gt;" in everything
    assert "javascript:" not in sources  # only http(s) links are rendered


def test_sources_html_escapes_citation_fields():
    from rag.types import Citation

    c = Citation(1, "d", "<i>t</i>", "2021", "https://a.b/?q=\"x\"", "d#0", "<script>", 0, 8, "zh")
    out = sources_html((c,))
    assert "<i>t" not in out and "&lt;script&gt;" in out and "&quot;x&quot;" in out


def test_build_app_creates_blocks_without_a_server(settings):
    demo = build_app(load(settings))
    assert demo is not None
