"""Adding, removing and listing articles (rag.ingest.corpus), with the fake embedder, in tmp_path."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from rag.answer.pipeline import Pipeline
from rag.errors import CorpusError
from rag.index.reload import detach
from rag.index.sync import build
from rag.ingest import corpus
from rag.ingest.corpus import add_files, list_docs, remove_doc
from rag.ingest.uploads import safe_name
from tests.fakes import FailingEmbedder, FakeEmbedder

ROOT = Path(__file__).resolve().parent.parent
ZH = (
    "---\ntitle: 深圳新开120座公交充电站🚌\ndate: 2024-03-02\n---\n"
    "深圳2月新建公交快充站120座（全市累计超3000座）！每辆车40分钟充满。\n"
)
EN = "Shenzhen opened 120 new fast-charging stations for electric buses in February 2024. Li Ming said so.\n"


@pytest.fixture
def library(settings, tmp_path):
    """A corpus folder with two articles, indexed with the fake embedder."""
    s = replace(settings, encoder2="")
    s.corpus_dir.mkdir()
    (s.corpus_dir / "a_5g.txt").write_text(
        "2020年深圳建成5G基站超4.6万个，成为全国首个5G独立组网全覆盖的城市。", "utf-8"
    )
    (s.corpus_dir / "b_output.md").write_text(
        "# 深圳工业总产值\n深圳2020年规模以上工业总产值3.7万亿元。", "utf-8"
    )
    emb = FakeEmbedder()
    build(s, emb, progress=False)
    return s, emb


def files(tmp_path: Path, **named: str | bytes) -> list[Path]:
    folder = tmp_path / "uploads"
    folder.mkdir(exist_ok=True)
    out = []
    for name, content in named.items():
        p = folder / name.replace("__", ".")
        p.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        out.append(p)
    return out


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("/abs/path/新闻 2021.MD", "新闻_2021.md"),
        ("..\\..\\windows\\x.html", "x.html"),
        (".hidden.txt", "hidden.txt"),
        ("a/../b.txt", "b.txt"),
        ("深圳：充电站！.pdf", "深圳_充电站.pdf"),
        ("report<script>.txt", "report_script.txt"),
    ],
)
def test_safe_name_keeps_files_inside_the_folder(given, expected):
    assert safe_name(given) == expected


@pytest.mark.parametrize("given", ["../..", "/", "...txt", "🙂.txt", ""])
def test_safe_name_refuses_names_with_nothing_left(given):
    with pytest.raises(CorpusError, match="rename"):
        safe_name(given)


def test_add_indexes_new_articles_and_rejects_bad_ones_with_a_reason(library, tmp_path):
    s, emb = library
    big = replace(s, max_file_bytes=2000)
    paths = files(
        tmp_path,
        zh_news__md=ZH,
        en_news__txt=EN,
        notes__docx="x",
        empty__txt="",
        huge__txt="深圳" * 2000,
        a_5g__html="<p>另一篇同名文章</p>",
        copy_of_b__md=(s.corpus_dir / "b_output.md").read_text("utf-8"),
    )
    report = add_files(big, paths, embedder=emb)
    assert {d.doc_id for d in report.added} == {"zh_news", "en_news"}
    zh = next(d for d in report.added if d.doc_id == "zh_news")
    assert (
        zh.title == "深圳新开120座公交充电站🚌"
        and zh.date == "2024-03-02"
        and zh.lang == "zh"
        and zh.chunks >= 1
    )
    reasons = dict(report.rejected)
    assert "unsupported file type '.docx'" in reasons["notes.docx"] and ".pdf" in reasons["notes.docx"]
    assert "empty" in reasons["empty.txt"]
    assert "too large" in reasons["huge.txt"] and "limit" in reasons["huge.txt"]
    assert "already exists" in reasons["a_5g.html"] and "remove it first or rename" in reasons["a_5g.html"]
    assert "same title and text as article b_output" in reasons["copy_of_b.md"]
    assert report.build is not None and report.build.n_docs == 4
    assert sorted(p.name for p in s.corpus_dir.iterdir() if not p.name.startswith(".")) == [
        "a_5g.txt",
        "b_output.md",
        "en_news.txt",
        "zh_news.md",
    ]
    assert [d.doc_id for d in list_docs(s)] == ["a_5g", "b_output", "en_news", "zh_news"]


def test_an_added_article_can_be_asked_about_once_the_store_is_swapped(library, tmp_path):
    s, emb = library
    pipeline = Pipeline.load(s, embedder=emb)
    old = detach(pipeline.store)  # as the UI does: the build below deletes the old folder
    add_files(s, files(tmp_path, zh_news__md=ZH), embedder=emb)
    assert all(c.doc_id != "zh_news" for c in pipeline.ask("公交充电站建了多少座？").citations)  # old store
    pipeline.reload()
    assert pipeline.store is not old
    answer = pipeline.ask("公交充电站建了多少座？")
    assert answer.citations[0].doc_id == "zh_news" and "120" in answer.text


def test_refresh_picks_up_a_change_made_by_another_process(library, tmp_path):
    s, emb = library
    pipeline = Pipeline.load(s, embedder=emb)
    detach(pipeline.store)
    assert not pipeline.reload()
    add_files(s, files(tmp_path, en_news__txt=EN), embedder=emb)  # e.g. `python -m rag add`
    assert pipeline.reload() and not pipeline.reload()
    assert "en_news" in {d.doc_id for d in pipeline.store.docs()}


def test_nothing_is_written_outside_the_corpus_folder(library, tmp_path):
    s, emb = library
    outside = tmp_path / "outside"
    outside.mkdir()
    nested = outside / "x" / ".." / "evil.txt"  # a path that walks up
    (outside / "x").mkdir()
    nested.write_text(EN, "utf-8")
    before = {p for p in tmp_path.rglob("*") if "index" not in p.parts}
    report = add_files(s, [str(nested)], embedder=emb)
    assert [d.doc_id for d in report.added] == ["evil"]
    after = {p for p in tmp_path.rglob("*") if "index" not in p.parts}
    assert after - before - {s.corpus_dir / ".corpus.lock"} == {s.corpus_dir / "evil.txt"}
    assert not (s.corpus_dir / ".incoming").exists()


def test_nothing_to_add_leaves_the_index_alone(library, tmp_path):
    s, emb = library
    report = add_files(s, files(tmp_path, notes__docx="x"), embedder=emb)
    assert report.added == () and report.build is None and len(report.rejected) == 1


def test_a_failed_build_puts_the_folder_back(library, tmp_path):
    s, _ = library

    broken = FailingEmbedder(RuntimeError("out of memory"), kinds=("passage",))
    with pytest.raises(RuntimeError):
        add_files(s, files(tmp_path, zh_news__md=ZH), embedder=broken)
    assert not (s.corpus_dir / "zh_news.md").exists()
    assert [d.doc_id for d in list_docs(s)] == ["a_5g", "b_output"]
    assert not (s.corpus_dir / ".pending.json").exists() and not (s.corpus_dir / ".incoming").exists()


def test_a_file_in_the_folder_but_not_in_the_index_is_indexed_by_adding_it_again(library, tmp_path):
    """What a killed add used to leave: the retry said "already exists" and never indexed it."""
    s, emb = library
    (upload,) = files(tmp_path, zh_news__md=ZH)
    (s.corpus_dir / "zh_news.md").write_bytes(upload.read_bytes())
    report = add_files(s, [upload], embedder=emb)
    assert [d.doc_id for d in report.added] == ["zh_news"] and report.rejected == ()
    assert [d.doc_id for d in list_docs(s)] == ["a_5g", "b_output", "zh_news"]
    again = add_files(s, [upload], embedder=emb)  # already in place and indexed: nothing to build
    assert [d.doc_id for d in again.added] == ["zh_news"] and again.rejected == () and again.build is None


class Killed(BaseException):
    """Stands for SIGKILL in-process: nothing of the change's own clean-up runs after it."""


def test_an_interrupted_remove_is_finished_by_the_next_add_even_one_that_adds_nothing(
    library, tmp_path, monkeypatch
):
    s, emb = library

    def kill_at(stage):
        if stage == "remove:moved":
            raise Killed(stage)

    monkeypatch.setattr(corpus, "checkpoint", kill_at)
    with pytest.raises(Killed):
        remove_doc(s, "a_5g", embedder=emb)
    monkeypatch.undo()
    assert not (s.corpus_dir / "a_5g.txt").exists() and "a_5g" in {d.doc_id for d in list_docs(s)}
    report = add_files(s, files(tmp_path, notes__docx="x"), embedder=emb)
    assert report.added == () and report.build is not None  # the remove's build
    assert [d.doc_id for d in list_docs(s)] == ["b_output"]
    assert sorted(p.name for p in s.corpus_dir.iterdir()) == [".corpus.lock", "b_output.md"]


@pytest.mark.parametrize(
    "record", ["{not json", '{"op": "move", "files": []}', '{"op": "remove", "files": ["../b_output.md"]}']
)
def test_a_damaged_record_of_a_change_is_a_clear_error_and_nothing_is_touched(library, tmp_path, record):
    s, emb = library
    (s.corpus_dir / ".pending.json").write_text(record, "utf-8")
    before = sorted(p.name for p in s.corpus_dir.iterdir())
    damaged = r"interrupted add or remove, is damaged.*delete \.pending\.json"
    for change in (
        lambda: add_files(s, files(tmp_path, en_news__txt=EN), embedder=emb),
        lambda: remove_doc(s, "a_5g", embedder=emb),
        lambda: corpus.recover(s, embedder=emb),
    ):
        with pytest.raises(CorpusError, match=damaged):
            change()
    assert sorted(p.name for p in s.corpus_dir.iterdir() if p.name != ".corpus.lock") == before
    assert [d.doc_id for d in list_docs(s)] == ["a_5g", "b_output"]


def test_remove_deletes_the_file_and_reindexes(library, tmp_path):
    s, emb = library
    add_files(s, files(tmp_path, en_news__txt=EN), embedder=emb)
    report = remove_doc(s, "en_news", embedder=emb)
    assert report.files == ("en_news.txt",) and report.build.n_docs == 2
    assert not (s.corpus_dir / "en_news.txt").exists()
    assert [d.doc_id for d in list_docs(s)] == ["a_5g", "b_output"]


@pytest.mark.parametrize("doc_id", ["nope", "../a_5g", "a_5g.txt", "", "*"])
def test_remove_refuses_unknown_ids(library, doc_id):
    s, emb = library
    with pytest.raises(CorpusError, match="no article"):
        remove_doc(s, doc_id, embedder=emb)
    assert len(list_docs(s)) == 2


def test_remove_refuses_the_last_article(library):
    s, emb = library
    remove_doc(s, "a_5g", embedder=emb)
    with pytest.raises(CorpusError, match="last article"):
        remove_doc(s, "b_output", embedder=emb)
    assert (s.corpus_dir / "b_output.md").exists()


def test_list_docs_gives_title_date_language_and_chunks(library):
    s, _ = library
    docs = list_docs(s)
    assert [(d.doc_id, d.lang) for d in docs] == [("a_5g", "zh"), ("b_output", "zh")]
    assert docs[1].title == "深圳工业总产值" and all(d.chunks >= 1 for d in docs)
    assert set(docs[0].to_json()) == {"doc_id", "title", "date", "lang", "chunks", "source", "url"}


@pytest.mark.process
def test_cli_list_and_remove_report_in_one_line(tmp_path):
    """The CLI commands that need no model: listing, and the errors of add/remove."""
    from rag.config import Settings
    from rag.index.build import build_index
    from rag.index.spec import chunk_params
    from tests.conftest import FIXTURE_DOCS

    index = tmp_path / "index"
    build_index(FIXTURE_DOCS, FakeEmbedder(), index, chunk_params(Settings()), progress=False)
    run = [sys.executable, "-m", "rag"]
    out = subprocess.run(
        [*run, "list", "--index", str(index)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=True,
    )
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["doc_id", "date", "lang", "chunks", "title"] and len(lines) == 5
    assert any("zh_5g" in line and "深圳5G基站" in line for line in lines)
    corpus_dir = tmp_path / "corpus"
    corpus_dir.mkdir()
    (corpus_dir / "only.txt").write_text(EN, "utf-8")
    out = subprocess.run(
        [*run, "remove", "nope", "--corpus", str(corpus_dir), "--index", str(index)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert (
        out.returncode == 1
        and out.stderr.startswith("error: no article 'nope'")
        and "Traceback" not in out.stderr
    )
