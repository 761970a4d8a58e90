from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from filelock import FileLock

from rag.chunking import ChunkParams
from rag.errors import IndexError_, IndexLockedError, IndexMismatchError
from rag.index import IndexStore, build_index, live_build, target_manifest
from tests.conftest import FIXTURE_DOCS, make_doc
from tests.fakes import FakeEmbedder

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


class ExplodingEmbedder(FakeEmbedder):
    def embed(self, texts, kind):
        raise RuntimeError("killed mid-embedding")


def test_a_crash_mid_build_leaves_the_previous_index_usable(tmp_path):
    build(FIXTURE_DOCS[:2], FakeEmbedder(), tmp_path)
    before = live_build(tmp_path)
    with pytest.raises(RuntimeError):
        build(FIXTURE_DOCS, ExplodingEmbedder(), tmp_path)
    assert live_build(tmp_path) == before
    assert {d.doc_id for d in IndexStore.load(tmp_path).docs()} == {"zh_output", "zh_5g"}
    # and the next build completes
    assert build(FIXTURE_DOCS, FakeEmbedder(), tmp_path).n_docs == 4


def test_two_builds_at_once_are_refused(tmp_path):
    tmp_path.mkdir(exist_ok=True)
    with FileLock(str(tmp_path / ".lock")), pytest.raises(IndexLockedError, match="another build"):
        build(FIXTURE_DOCS, FakeEmbedder(), tmp_path)
