from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from filelock import FileLock

from rag.errors import IndexError_, IndexLockedError, IndexMismatchError
from rag.index.build import IndexStore, build_index, live_build, target_manifest
from rag.index.chunking import ChunkParams
from tests.conftest import FIXTURE_DOCS, make_doc
from tests.fakes import FailingEmbedder, FakeEmbedder, FakeEncoder2

PARAMS = ChunkParams(target=240, overlap=40, max_tokens=400)


def build(docs, emb, folder):
    return build_index(docs, emb, folder, PARAMS, progress=False)


def test_build_then_search_returns_the_matching_chunk(tmp_path):
    emb = FakeEmbedder()
    report = build(FIXTURE_DOCS, emb, tmp_path)
    assert report.n_docs == 4 and report.embedded == report.n_chunks > 0
    store = IndexStore.load(tmp_path, target_manifest(emb, PARAMS, ("query: ", "passage: ")))
    (row, score), *_ = store.search(emb.embed(["深圳5G基站"], "query")[0], 3)
    assert store.chunk(row).doc_id == "zh_5g"
    assert store.doc("en_report").lang == "en"
    assert store.manifest.n_chunks == len(store) and store.manifest.corpus_hash


def test_vectors_are_unit_length(tmp_path):
    build(FIXTURE_DOCS, FakeEmbedder(), tmp_path)
    vectors = IndexStore.load(tmp_path).vectors()
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_incremental_rebuild_add_change_delete(tmp_path):
    emb = FakeEmbedder()
    build(FIXTURE_DOCS[:3], emb, tmp_path)

    again = build(FIXTURE_DOCS[:3], emb, tmp_path)
    assert again.up_to_date and again.embedded == 0

    emb2 = FakeEmbedder()
    added = build(FIXTURE_DOCS, emb2, tmp_path)  # add zh_other
    assert added.changed_docs == ("zh_other",)
    assert emb2.embedded_passages() == added.embedded == 1

    changed_doc = make_doc("zh_5g", "2020年深圳建成5G基站4.76万个。", "深圳5G基站")
    emb3 = FakeEmbedder()
    changed = build([FIXTURE_DOCS[0], changed_doc, FIXTURE_DOCS[2], FIXTURE_DOCS[3]], emb3, tmp_path)
    assert changed.changed_docs == ("zh_5g",) and emb3.embedded_passages() == 1
    store = IndexStore.load(tmp_path)
    assert "4.76万" in store.chunks(store.doc_rows("zh_5g"))[0].text

    emb4 = FakeEmbedder()
    deleted = build([FIXTURE_DOCS[0], changed_doc], emb4, tmp_path)
    assert deleted.removed_docs == ("en_report", "zh_other") and emb4.embedded_passages() == 0
    store = IndexStore.load(tmp_path)
    assert {d.doc_id for d in store.docs()} == {"zh_output", "zh_5g"}
    assert len(list((tmp_path / "builds").iterdir())) == 1  # old builds cleaned up


def test_manifest_mismatch_is_a_clear_error(tmp_path):
    emb = FakeEmbedder()
    build(FIXTURE_DOCS, emb, tmp_path)
    other = replace(target_manifest(emb, PARAMS, ("query: ", "passage: ")), embedder_id="another-model")
    with pytest.raises(IndexMismatchError, match="embedder_id.*python -m rag build"):
        IndexStore.load(tmp_path, other)
    other_chunks = target_manifest(emb, ChunkParams(target=100), ("query: ", "passage: "))
    with pytest.raises(IndexMismatchError, match="chunking"):
        IndexStore.load(tmp_path, other_chunks)


def test_missing_and_corrupt_index_are_clear_errors(tmp_path):
    with pytest.raises(IndexError_, match="no index found.*rag build"):
        IndexStore.load(tmp_path / "nothing")
    build(FIXTURE_DOCS, FakeEmbedder(), tmp_path)
    (live_build(tmp_path) / "manifest.json").write_text("{not json")
    with pytest.raises(IndexError_, match="manifest.*unreadable"):
        IndexStore.load(tmp_path)


def test_a_crash_mid_build_leaves_the_previous_index_usable(tmp_path):
    build(FIXTURE_DOCS[:2], FakeEmbedder(), tmp_path)
    before = live_build(tmp_path)
    with pytest.raises(RuntimeError):
        build(FIXTURE_DOCS, FailingEmbedder(RuntimeError("killed mid-embedding")), tmp_path)
    assert live_build(tmp_path) == before
    assert {d.doc_id for d in IndexStore.load(tmp_path).docs()} == {"zh_output", "zh_5g"}
    # and the next build completes
    assert build(FIXTURE_DOCS, FakeEmbedder(), tmp_path).n_docs == 4


def test_two_builds_at_once_are_refused(tmp_path):
    tmp_path.mkdir(exist_ok=True)
    with FileLock(str(tmp_path / ".lock")), pytest.raises(IndexLockedError, match="another build"):
        build(FIXTURE_DOCS, FakeEmbedder(), tmp_path)


# --------------------------------------------------------------------------- keyword index and second encoder


def keyword_top(store, question):
    from rag.text.tokens import tokenize

    found = store.keyword.search(tokenize(question), 1)
    return store.chunk(found[0][0]).doc_id if found else None


def test_bm25_is_persisted_and_updated_incrementally_from_stored_tokens(tmp_path):
    from rag.index.build import passage_text
    from rag.text.tokens import TOKENIZER_ID, tokenize

    first = build(FIXTURE_DOCS[:3], FakeEmbedder(), tmp_path)
    assert first.tokenized == first.n_chunks
    store = IndexStore.load(tmp_path)
    assert store.manifest.tokenizer == TOKENIZER_ID and (live_build(tmp_path) / "bm25").is_dir()
    assert keyword_top(store, "武汉工业互联网大会") != "zh_other"
    rows = list(range(len(store)))
    assert store.chunk_tokens(rows) == [
        tokenize(passage_text(store.doc(c.doc_id).title, c.text)) for c in store.chunks(rows)
    ]

    added = build(FIXTURE_DOCS, FakeEmbedder(), tmp_path)  # add zh_other: only its chunk is tokenised
    assert added.tokenized == 1
    assert keyword_top(IndexStore.load(tmp_path), "武汉工业互联网大会") == "zh_other"

    changed_doc = make_doc("zh_5g", "2020年深圳建成5G基站4.76万个，武汉没有。", "深圳5G基站")
    docs = [FIXTURE_DOCS[0], changed_doc, FIXTURE_DOCS[2], FIXTURE_DOCS[3]]
    changed = build(docs, FakeEmbedder(), tmp_path)
    assert changed.tokenized == 1
    store = IndexStore.load(tmp_path)
    assert keyword_top(store, "47600") == "zh_5g"  # 4.76万, from the changed text
    assert keyword_top(store, "46000个") != "zh_5g"  # the old figure is gone

    deleted = build([FIXTURE_DOCS[0], changed_doc], FakeEmbedder(), tmp_path)
    assert deleted.tokenized == 0
    store = IndexStore.load(tmp_path)
    assert store.keyword.n_alive == len(store)  # row ids keep holes where chunks were deleted
    assert keyword_top(store, "武汉工业互联网大会") != "zh_other"
    assert keyword_top(store, "base stations 46,600") is None  # en_report deleted


def test_changed_tokenizer_retokenises_but_reuses_vectors(tmp_path, monkeypatch):
    build(FIXTURE_DOCS, FakeEmbedder(), tmp_path)
    monkeypatch.setattr("rag.index.spec.TOKENIZER_ID", "kw-test")
    emb = FakeEmbedder()
    again = build(FIXTURE_DOCS, emb, tmp_path)
    assert not again.up_to_date and again.embedded == 0 and again.tokenized == again.n_chunks
    with pytest.raises(IndexMismatchError, match="tokenizer"):
        expected = target_manifest(emb, PARAMS, ("query: ", "passage: "))
        IndexStore.load(tmp_path, replace(expected, tokenizer="kw-v0"))


def test_second_encoder_vectors_stored_and_reused(tmp_path):
    enc2 = FakeEncoder2()
    build_index(FIXTURE_DOCS[:3], FakeEmbedder(), tmp_path, PARAMS, progress=False, encoder2=enc2)
    store = IndexStore.load(tmp_path)
    assert store.has_encoder2 and store.manifest.encoder2_id == "fake-encoder2" and store.manifest.dim2 == 32
    (row, _), *_ = store.search(enc2.embed(["深圳5G基站"], "query")[0], 2, space="encoder2")
    assert store.chunk(row).doc_id == "zh_5g"
    assert store.search(enc2.embed(["深圳5G基站"], "query")[0], 5, lang="en", space="encoder2")[0][
        0
    ] in store.doc_rows("en_report")
    enc2b = FakeEncoder2()
    build_index(FIXTURE_DOCS, FakeEmbedder(), tmp_path, PARAMS, progress=False, encoder2=enc2b)
    assert enc2b.embedded_passages() == 1  # only the added article
    # an up-to-date index keeps them when built without the encoder; a new one has none
    assert build_index(FIXTURE_DOCS, FakeEmbedder(), tmp_path, PARAMS, progress=False).up_to_date
    build_index(FIXTURE_DOCS, FakeEmbedder(), tmp_path / "plain", PARAMS, progress=False)
    assert not IndexStore.load(tmp_path / "plain").has_encoder2


def test_search_within_one_language_and_exact_similarities(tmp_path):
    emb = FakeEmbedder()
    build(FIXTURE_DOCS, emb, tmp_path)
    store = IndexStore.load(tmp_path)
    assert store.langs == ["en", "zh"]
    q = emb.embed(["深圳5G基站"], "query")[0]
    en = store.search(q, 5, lang="en")
    assert en and all(store.chunk(r).lang == "en" for r, _ in en)
    assert np.allclose(store.similarities(q, [r for r, _ in en]), [s for _, s in en], atol=1e-5)
    assert store.search(q, 5, lang="fr") == []


def test_memory_is_released_after_each_embedding_call_only(tmp_path, monkeypatch):
    """Freed forward-pass memory goes back to the system after every group that embedded
    something, and not when every vector is reused."""
    calls = []
    monkeypatch.setattr("rag.index.folder.release_freed_memory", lambda: calls.append(1) or True)
    first = build(FIXTURE_DOCS, FakeEmbedder(), tmp_path)
    assert first.embedded > 0 and len(calls) == 1  # the fixture fits one embedding group
    monkeypatch.setattr("rag.index.spec.TOKENIZER_ID", "kw-test")  # rebuilt, every vector reused
    again = build(FIXTURE_DOCS, FakeEmbedder(), tmp_path)
    assert again.embedded == 0 and len(calls) == 1
