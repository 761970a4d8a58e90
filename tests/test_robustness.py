"""Bad input, through the library, the chat UI's adapter, the HTTP API and the command line.

Questions that are empty, only emoji or punctuation, 20,000 characters long or full of HTML;
files that are empty, binary, GBK-encoded, damaged UTF-8, too large, scanned PDFs, with broken
front matter, hostile names or an unsupported type; a corpus folder that does not exist; an
index that is corrupt or half-written. Each is refused or repaired with a message saying what
was expected, what was found and what to do, and nothing already there is lost.

Random Unicode through cleaning and chunking: the property tests at the end (and in
tests/test_cleaning.py). Planted instructions inside articles: tests/test_trust.py.
"""

from __future__ import annotations

import hashlib
import html
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from rag.answer.pipeline import Pipeline
from rag.answer.question.check import MAX_QUESTION_CHARS
from rag.config import Settings
from rag.errors import CorpusError, IndexError_, QuestionError
from rag.index.build import IndexStore, live_build
from rag.index.chunking import ChunkParams, chunk_document, sentence_spans
from rag.index.sync import build
from rag.ingest.cleaning import clean
from rag.ingest.corpus import add_files, list_docs
from rag.web import add_articles, respond
from tests.conftest import FIXTURE_DOCS, fixture_library, make_doc
from tests.fakes import FakeEmbedder, FakeGenerator
from tests.servers import in_process
from tests.test_loaders import make_pdf

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "深圳5G基站建成多少？"


@pytest.fixture
def library(settings):
    """A corpus folder of the four fixture articles, indexed with the fake embedder; a pipeline on it."""
    s = replace(settings, encoder2="", use_llm=True, max_file_bytes=20_000)
    return fixture_library(s, FakeGenerator("深圳建成5G基站超4.6万个[1]。"))


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (hidden ones too) -> sha256 of its bytes."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.endswith(".lock")
    }


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    return subprocess.run(
        [sys.executable, "-m", "rag", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def last(steps):
    return list(steps)[-1]


# --------------------------------------------------------------------------- questions

BAD_QUESTIONS = {
    "empty": ("", "question is empty.*type a question"),
    "whitespace": (" \n\t\u3000 ", "question is empty.*type a question"),
    "emoji": ("🙂🎉🚀", "no letters or digits.*ask in Chinese or English"),
    "punctuation": ("？？？!!…，。", "no letters or digits.*ask in Chinese or English"),
    "zero-width": ("\u200b\u200d\ufeff", "no letters or digits|question is empty"),
}


@pytest.mark.parametrize("name", BAD_QUESTIONS)
def test_unusable_questions_are_refused_with_what_to_do(library, name):
    question, message = BAD_QUESTIONS[name]
    with pytest.raises(QuestionError, match=message):
        library.ask(question)


@pytest.mark.parametrize("name", BAD_QUESTIONS)
def test_unusable_questions_in_the_chat_keep_the_conversation(library, name):
    question, message = BAD_QUESTIONS[name]
    chat, _, sections, _ = last(respond(QUESTION, [], library))
    before = list(chat)
    chat, sources, sections, timings = last(respond(question, chat, library, sections=sections))
    assert chat[: len(before)] == before  # the earlier turn is still there
    reply = chat[-1]["content"]
    assert reply.startswith("⚠️") and "Traceback" not in reply
    import re

    assert re.search(message, reply, re.S | re.I)
    assert timings == "" and len(sections) == 2


@pytest.mark.process
@pytest.mark.parametrize("name", ["empty", "emoji", "punctuation"])
def test_unusable_questions_on_the_command_line_fail_fast(tmp_path, name):
    question, message = BAD_QUESTIONS[name]
    r = run_cli("ask", question, "--no-llm", "--index", str(tmp_path / "no-index"))
    assert r.returncode == 1 and r.stdout == ""
    import re

    assert re.search(message, r.stderr, re.S | re.I) and r.stderr.startswith("error: ")


def test_a_20000_character_question_is_cut_with_a_notice(library):
    question = (QUESTION + "深圳工业总产值是多少？" * 2000)[:20_000]
    answer = library.ask(question)
    assert any(f"first {MAX_QUESTION_CHARS} of 20000 characters" in n for n in answer.notices)
    prompt = library.generator.seen[-1][1]["content"]
    assert len(prompt) < MAX_QUESTION_CHARS + 2000  # the question in the prompt is the cut one
    chat, *_ = last(respond(question, [], library))
    assert f"first {MAX_QUESTION_CHARS} of 20000" in chat[-1]["content"]  # shown under the answer


def test_long_earlier_questions_do_not_grow_the_retrieval_query():
    from rag.answer.question.check import retrieval_query

    history = [("深圳" * 10_000, "答"), ("基站" * 10_000, "答")]
    assert len(retrieval_query("那2023年呢？", history)) <= 2 * MAX_QUESTION_CHARS + 20


def test_html_and_script_in_a_question_are_shown_escaped(library):
    question = "<script>alert(1)</script><img src=x onerror=alert(2)>深圳5G基站建成多少？"
    chat, sources, *_ = last(respond(question, [], library))
    shown = str(chat) + sources
    assert "<script" not in shown and "<img" not in shown
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in chat[0]["content"]
    assert "&lt;img src=x" in sources  # the question heading of its sources


@pytest.mark.process
@pytest.mark.models
def test_a_20000_character_question_on_the_command_line(tmp_path, real_library):
    corpus, index = real_library
    r = run_cli(
        "ask", "深圳基站" * 5000, "--no-llm", "--index", str(index), "--corpus", str(corpus), timeout=300
    )
    assert r.returncode == 0, r.stderr
    assert "The question was cut to its first 1000 of 20000 characters" in r.stderr


def test_odd_api_arguments_are_answered_or_refused_clearly(library):
    from gradio_client import Client

    with in_process(library) as url:
        client = Client(url, verbose=False)
        for k in (1, 20, 4.0):
            result = client.predict(QUESTION, [], "auto", k, True, api_name="/answer")
            assert result["answer"] and len(result["citations"]) <= 20
        assert client.predict(QUESTION, None, "EN", None, None, api_name="/answer")["lang"] == "en"
        with pytest.raises(Exception, match="type a question"):
            client.predict("   ", [], "auto", 5, True, api_name="/answer")
        with pytest.raises(Exception, match="no letters or digits"):
            client.predict("🙂🙂", [], "auto", 5, True, api_name="/answer")
        with pytest.raises(Exception, match=r"history.*\[question, answer\] pairs"):
            client.predict(QUESTION, [["only a question"]], "auto", 5, True, api_name="/answer")
        long = client.predict("深圳" * 10_000, [], "auto", 5, False, api_name="/answer")
        assert any("cut to its first 1000" in n for n in long["notices"])


# (arguments of /answer: question, history, lang, k, use_llm) -> what the refusal must say
BAD_ANSWER_ARGS = [
    ((QUESTION, [], "auto", "abc", True), r'k must be a whole number .* from 1 to 20; found the text "abc"'),
    ((QUESTION, [], "auto", 0, True), r"k must be .* from 1 to 20; found the number 0"),
    ((QUESTION, [], "auto", -3, True), r"k must be .*; found the number -3"),
    ((QUESTION, [], "auto", 10**6, True), r"k must be .*; found the number 1000000"),
    ((QUESTION, [], "auto", 2.5, True), r"k must be .*; found the number 2.5"),
    ((QUESTION, [], "auto", True, True), r"k must be .*; found true"),
    ((12345, [], "auto", 5, True), r"question must be text; found the number 12345\. Send the question as"),
    ((["深圳", "5G"], [], "auto", 5, True), r'question must be text; found a list \["深圳", "5G"\]'),
    ((QUESTION, [], "fr", 5, True), r'lang must be "auto", "zh" or "en"; found the text "fr"'),
    ((QUESTION, [], 1, 5, True), r"lang must be .*; found the number 1"),
    ((QUESTION, [], "auto", 5, "no"), r'use_llm must be true or false; found the text "no"'),
    ((QUESTION, [], "auto", 5, 1), r"use_llm must be true or false; found the number 1"),
    ((QUESTION, "ab", "auto", 5, True), r'history must be a list of .*; found the text "ab"'),
]


def test_bad_api_arguments_are_refused_saying_what_was_expected(library):
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    generator, before = library.generator, snapshot(library.settings.corpus_dir)
    with in_process(library) as url:
        client = Client(url, verbose=False)
        for args, expected in BAD_ANSWER_ARGS:
            with pytest.raises(AppError, match=expected):
                client.predict(*args, api_name="/answer")
        assert not generator.seen  # use_llm="no" was refused, not taken as true
        quoted = client.predict(QUESTION, [], "auto", 5, "false", api_name="/answer")
        assert quoted["mode"] == "extractive" and not generator.seen
        bad_ids = (("", 'the text ""'), (None, "null"), ("   ", 'the text "   "'), (5, "the number 5"))
        for doc_id, found in bad_ids:
            with pytest.raises(AppError, match=rf"doc_id must be the id of an article.*found {found}"):
                client.predict(doc_id, api_name="/delete_article")
        bad_files_ = (("abc", 'the text "abc"'), (["/etc/passwd"], r'a list \["/etc/passwd"\]'), (7, "7"))
        for files, found in bad_files_:
            with pytest.raises(AppError, match=rf"takes a list of uploaded files.*found .*{found}"):
                client.predict(files, api_name="/add_articles")
    assert snapshot(library.settings.corpus_dir) == before


# --------------------------------------------------------------------------- files


def bad_files(folder: Path) -> dict[str, Path]:
    """One file per kind of bad (or awkward) input, by the name it is known under."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sub").mkdir(exist_ok=True)
    zh = "深圳2024年新建公交快充站120座，每辆车40分钟充满。全市累计超过3000座。\n"
    contents: dict[str, bytes] = {
        "empty.txt": b"",
        "blank.txt": b" \n\n\t \n",
        "binary.txt": bytes(range(256)) * 8,  # a binary file renamed .txt
        "gbk.txt": ("公交快充站\n" + zh).encode("gbk"),
        "garbage_utf8.txt": b"\x80\x81\xfe\xc3(" * 400,  # no encoding makes sense of it
        "damaged_utf8.txt": ("充电桩报道\n" + zh * 20).encode()[:-2] + b"\xff\xfe",  # a few bad bytes
        "huge.txt": ("深圳" * 20_000).encode(),  # over the 20,000-byte limit of the fixture
        "scan.pdf": make_pdf([]),  # a PDF with no text layer
        "bad_yaml.md": f"---\ntitle: [充电站新闻\ndate: 2024-03-02\n---\n{zh.replace('120', '121')}".encode(),
        "notes.docx": b"PK\x03\x04 a word file",
        "run.exe": b"MZ\x90\x00",
        "🙂.txt": zh.encode(),  # nothing usable left of the name
    }
    paths = {}
    for name, data in contents.items():
        (folder / name).write_bytes(data)
        paths[name] = folder / name
    # a path that walks up and back down: only its last part names the article
    (folder / "walks_up.txt").write_text("往返路径\n" + zh.replace("120", "122"))
    paths["sub/../walks_up.txt"] = folder / "sub" / ".." / "walks_up.txt"
    return paths


# name -> (added under this id, or None; words the reason must contain)
EXPECTED = {
    "empty.txt": (None, ["empty", "choose the file"]),
    "blank.txt": (None, ["is empty", "add the article text"]),
    "binary.txt": (None, ["binary file", "save the article as UTF-8 text"]),
    "gbk.txt": ("gbk", []),
    "garbage_utf8.txt": (None, ["not text in a known encoding", "save the article as UTF-8"]),
    "damaged_utf8.txt": ("damaged_utf8", []),
    "huge.txt": (None, ["too large: 120.0 KB, the limit is 20.0 KB", "split the article"]),
    "scan.pdf": (None, ["no extractable text", "OCR it first"]),
    "bad_yaml.md": ("bad_yaml", []),
    "notes.docx": (None, ["unsupported file type '.docx'", "upload .txt, .md, .html, .pdf"]),
    "run.exe": (None, ["unsupported file type '.exe'"]),
    "🙂.txt": (None, ["no usable file name", "rename the file"]),
    "sub/../walks_up.txt": ("walks_up", []),
}


def test_bad_files_added_in_the_ui_are_refused_one_by_one_and_nothing_is_lost(library, tmp_path):
    s = library.settings
    paths = bad_files(tmp_path / "uploads")
    before_files, before_docs = snapshot(s.corpus_dir), {d.doc_id for d in library.store.docs()}
    status = add_articles([str(p) for p in paths.values()], library)
    added = {d.doc_id for d in library.store.docs()} - before_docs
    assert added == {doc_id for doc_id, _ in EXPECTED.values() if doc_id}
    assert before_docs <= {d.doc_id for d in library.store.docs()}  # nothing lost
    after = snapshot(s.corpus_dir)
    assert {k: after[k] for k in before_files} == before_files  # the articles already there, unchanged
    assert set(after) - set(before_files) == {"gbk.txt", "damaged_utf8.txt", "bad_yaml.md", "walks_up.txt"}
    rejected = status.split("**未添加 · Not added**")[1]
    for name, (doc_id, words) in EXPECTED.items():
        if doc_id:
            assert f"`{doc_id}`" in status.split("**未添加")[0]
            continue
        line = html.unescape(next(x for x in rejected.splitlines() if x.startswith(f"- `{Path(name).name}`")))
        for w in words:
            assert w in line, (name, line)
    gbk = next(d for d in list_docs(s) if d.doc_id == "gbk")
    assert gbk.title == "公交快充站"  # decoded, not mojibake
    assert next(d for d in list_docs(s) if d.doc_id == "bad_yaml").title == "[充电站新闻"
    assert not list(tmp_path.rglob(".incoming"))
    # nothing was written outside the corpus folder (the uploads folder holds only what it had)
    assert sorted(p.name for p in (tmp_path / "uploads").iterdir()) == sorted(
        {Path(n).name for n in paths} | {"sub"}
    )


@pytest.mark.process
def test_bad_files_added_on_the_command_line_are_refused_and_nothing_changes(library, tmp_path):
    s = library.settings
    paths = bad_files(tmp_path / "uploads")
    with open(paths["huge.txt"], "r+b") as f:  # over the command line's 20 MB limit
        f.truncate(Settings().max_file_bytes + 1)
    refused = [str(p) for n, p in paths.items() if EXPECTED[n][0] is None]
    before, index_before = snapshot(s.corpus_dir), live_build(s.index_dir)
    r = run_cli("add", *refused, "--corpus", str(s.corpus_dir), "--index", str(s.index_dir), "--quiet")
    assert r.returncode == 1 and r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == len(refused) and all(x.startswith("error: not added ") for x in lines)
    assert snapshot(s.corpus_dir) == before and live_build(s.index_dir) == index_before


@pytest.mark.process
def test_a_corpus_folder_that_does_not_exist(library, tmp_path):
    missing = replace(library.settings, corpus_dir=tmp_path / "no" / "such" / "folder")
    doc = tmp_path / "one.txt"
    doc.write_text("深圳2024年新建公交快充站120座。", "utf-8")
    with pytest.raises(CorpusError, match=r"does not exist.*create it.*--corpus"):
        add_files(missing, [doc], embedder=library.embedder)
    assert not missing.corpus_dir.exists()  # not created: the index keeps its four articles
    assert len(list_docs(missing)) == 4
    r = run_cli("build", "--corpus", str(missing.corpus_dir), "--index", str(tmp_path / "idx"))
    assert r.returncode == 1 and "does not exist" in r.stderr and "create it" in r.stderr
    assert not (tmp_path / "idx").exists()


# --------------------------------------------------------------------------- the index


def damage(index_dir: Path, how: str) -> None:
    live = live_build(index_dir)
    assert live is not None
    if how == "truncated faiss":
        (live / "faiss.index").write_bytes((live / "faiss.index").read_bytes()[:40])
    elif how == "truncated vectors":
        (live / "vectors.f32").write_bytes((live / "vectors.f32").read_bytes()[:200])
    elif how == "garbage sqlite":
        (live / "chunks.sqlite").write_bytes(b"not a database" * 100)
    elif how == "missing bm25":
        shutil.rmtree(live / "bm25")
    elif how == "half-written build":  # `current` on a build killed before its manifest
        (live / "manifest.json").unlink()
    elif how == "manifest of another shape":
        (live / "manifest.json").write_text('{"format_version": 2}', "utf-8")
    elif how == "dangling current":
        shutil.rmtree(live)
    else:
        raise ValueError(how)


DAMAGE = [
    "truncated faiss",
    "truncated vectors",
    "garbage sqlite",
    "missing bm25",
    "half-written build",
    "manifest of another shape",
    "dangling current",
]


@pytest.mark.process
@pytest.mark.parametrize("how", DAMAGE)
def test_a_corrupt_index_is_a_clear_error_and_the_next_build_repairs_it(library, how):
    s = library.settings
    damage(s.index_dir, how)
    with pytest.raises(IndexError_, match=r"python -m rag build"):
        IndexStore.load(s.index_dir)
    with pytest.raises(IndexError_, match=r"python -m rag build"):
        Pipeline.load(s, embedder=FakeEmbedder(), generator=FakeGenerator())
    r = run_cli("list", "--index", str(s.index_dir))
    assert r.returncode == 1 and r.stderr.startswith("error: ") and "python -m rag build" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1  # one readable line, no traceback
    build(s, FakeEmbedder(), progress=False)
    assert {d.doc_id for d in IndexStore.load(s.index_dir).docs()} == {d.doc_id for d in FIXTURE_DOCS}


def test_a_running_app_keeps_its_index_when_the_live_one_is_damaged(library):
    s = library.settings
    damage(s.index_dir, "truncated faiss")
    library.store.folder  # noqa: B018 - loaded before the damage
    assert "4.6万" in last(respond(QUESTION, [], library))[0][-1]["content"]


# --------------------------------------------------------------------------- properties

UNICODE = st.text(
    alphabet=st.one_of(
        st.characters(blacklist_categories=("Cs",)),  # anything but lone surrogates
        st.sampled_from(list("深圳。！？；…“”「」\n\n \u3000\t.!?0123456789🙂🎉👨‍👩‍👧\u200b\u0301")),
    ),
    max_size=600,
)
count_tokens = FakeEmbedder().count_tokens


@hsettings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=UNICODE, target=st.integers(1, 40), overlap=st.integers(0, 20), extra=st.integers(0, 30))
def test_chunking_random_unicode_never_raises_and_offsets_map_back(text, target, overlap, extra):
    params = ChunkParams(target=target, overlap=min(overlap, target), max_tokens=target + extra)
    for raw in (text, clean(text, "text")):
        doc = make_doc("d", raw)
        chunks = chunk_document(doc, count_tokens, params)
        for i, c in enumerate(chunks):
            assert c.chunk_id == f"d#{i}" and c.text and c.lang in ("zh", "en")
            assert 0 <= c.start < c.end <= len(raw) and raw[c.start : c.end] == c.text
        for a, b in sentence_spans(raw):
            assert 0 <= a < b <= len(raw) and raw[a:b].strip()


@hsettings(max_examples=200, deadline=None)
@given(raw=st.binary(max_size=400))
def test_random_bytes_as_an_article_load_or_are_refused_with_a_reason(tmp_path_factory, raw):
    from rag.ingest.loaders import load_file

    path = tmp_path_factory.mktemp("bytes") / "random.txt"
    path.write_bytes(raw)
    try:
        doc = load_file(path, 10_000)
    except CorpusError as exc:
        assert str(exc).startswith("random.txt: ")
    else:
        assert doc.text and doc.meta.doc_id == "random"
