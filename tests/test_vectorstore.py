"""The vector store: exact while small, IVF with a measured recall above the threshold."""

from __future__ import annotations

import numpy as np
import pytest

from rag.index.build import IndexStore, build_index, update_index
from rag.index.chunking import ChunkParams
from rag.index.recall import exact_top_k, recall_at_k
from rag.index.vectors import FaissStore, VectorOptions, fit
from rag.models.embedding import l2_normalize
from tests.conftest import FIXTURE_DOCS, make_doc
from tests.fakes import FakeEmbedder

PARAMS = ChunkParams(target=240, overlap=40, max_tokens=400)


def clustered(n: int, dim: int = 64, seed: int = 0) -> np.ndarray:
    """Unit vectors around 40 centres, like embeddings of a news corpus (not uniform noise)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((40, dim))
    x = centres[rng.integers(0, 40, n)] + 0.6 * rng.standard_normal((n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def store_of(vectors: np.ndarray, langs=None) -> FaissStore:
    store = FaissStore.new(vectors.shape[1])
    store.add(np.arange(len(vectors)), vectors, langs if langs is not None else ["zh"] * len(vectors))
    return store


def test_exact_search_and_recall_measures():
    v = clustered(300)
    scores, ids = exact_top_k(v, np.arange(300), v[:5], 10, block=64)  # several blocks
    brute = np.argsort(-(v[:5] @ v.T), axis=1)[:, :10]
    assert (ids == brute).all() and np.allclose(scores, np.take_along_axis(v[:5] @ v.T, brute, 1))
    assert recall_at_k(scores, scores) == 1.0
    assert recall_at_k(scores[:, ::-1][:, :10] * 0, scores) == 0.0


def test_small_stores_stay_exact():
    v = clustered(400)
    store = store_of(v)
    fit(store, v, VectorOptions(exact_max=500))
    assert store.describe() == {"backend": "faiss", "type": "IndexFlatIP", "recall_at_10": 1.0}


def test_above_the_threshold_ivf_is_chosen_and_tuned_to_the_recall_target():
    both = clustered(2100)
    v, q = both[:2000], both[2000:]  # held-out queries from the same distribution
    store = store_of(v)
    options = VectorOptions(exact_max=500, recall_target=0.98, recall_queries=200)
    fit(store, v, options)
    d = store.describe()
    assert d["type"] == "IndexIVFFlat" and d["nlist"] == 45 and d["trained_at"] == 2000
    assert d["recall_at_10"] >= 0.98 and d["recall_queries"] == 200 and 1 <= d["nprobe"] <= 45
    # the recorded recall is about what held-out queries find
    found = recall_at_k(store.search(q, 10)[0], exact_top_k(v, np.arange(2000), q, 10)[0])
    assert found >= 0.95
    # a stricter target needs at least as many lists
    strict = store_of(v)
    fit(strict, v, VectorOptions(exact_max=500, recall_target=0.999))
    assert strict.info["nprobe"] >= d["nprobe"]


def test_ivf_deletes_filters_by_language_saves_and_shrinks_back_to_exact(tmp_path):
    v = clustered(2000)
    langs = np.where(np.arange(2000) % 4 == 0, "en", "zh")
    store = store_of(v, langs)
    options = VectorOptions(exact_max=500)
    fit(store, v, options)
    _, ids = store.search(v[:3], 5, lang="en")
    assert (langs[ids] == "en").all()
    store.remove(np.arange(0, 2000, 2))
    assert len(store) == 1000 and 0 not in store.search(v[:1], 5)[1]
    store.save(tmp_path / "f.index")
    again = FaissStore.load(tmp_path / "f.index", 64, store.langs, store.info)
    assert again.kind == "IndexIVFFlat" and (again.search(v[1:2], 3)[1] == store.search(v[1:2], 3)[1]).all()
    store.remove(np.arange(1, 1800, 2))
    fit(store, v, options)  # 100 left: far below the threshold
    assert store.kind == "IndexFlatIP" and len(store) == 100


@pytest.fixture
def many_docs():
    words = ["深圳", "基站", "产值", "工业", "互联网", "新能源", "汽车", "出口", "港口", "芯片"]
    rng = np.random.default_rng(3)
    return [
        make_doc(f"d{i:03d}", "。".join("".join(rng.choice(words, 6)) for _ in range(4)) + "。", f"新闻{i}")
        for i in range(120)
    ]


def test_question_probes_raise_nprobe_until_they_reach_the_target_too():
    rng = np.random.default_rng(3)
    centres = rng.normal(size=(40, 32)).astype(np.float32)
    noise = 0.1 * rng.normal(size=(4000, 32)).astype(np.float32)
    vectors = l2_normalize(centres[rng.integers(0, 40, 4000)] + noise)
    far = l2_normalize(rng.normal(size=(100, 32)).astype(np.float32))  # between the clusters
    exact = exact_top_k(vectors, np.arange(4000), far, 10)[0]
    found = {}
    for probes in (None, far):
        store = FaissStore.new(32)
        store.add(np.arange(4000), vectors, ["zh"] * 4000)
        store.rebuild(vectors, ivf=True)
        store.tune(vectors, VectorOptions(recall_target=0.98), probes=probes)
        found[probes is not None] = (store.info["nprobe"], recall_at_k(store.search(far, 10)[0], exact))
    # the midpoints alone stop early, below the target on these questions; the probes push on
    assert found[False][1] < 0.98 <= found[True][1] and found[True][0] > found[False][0]


def test_build_records_the_type_and_the_measured_recall_in_the_manifest(tmp_path, many_docs):
    options = VectorOptions(exact_max=50, recall_target=0.98)
    report = build_index(many_docs, FakeEmbedder(), tmp_path, PARAMS, progress=False, options=options)
    store = IndexStore.load(tmp_path)
    record = store.manifest.vectors["e5"]
    assert store.manifest.faiss_type == record["type"] == "IndexIVFFlat" == report.vectors["e5"]["type"]
    assert record["recall_at_10"] >= 0.98 and record["nprobe"] >= 1 and record["measured_at"] == len(store)
    # question-like probes (first words of stored chunks, embedded as questions) are held to the target too
    assert record["question_recall_at_10"] >= 0.98 and record["question_probes"] == min(200, len(store))
    # an in-place update keeps the type; retrieval agrees with exact search on the top hit
    emb = FakeEmbedder()
    update_index(tmp_path, emb, PARAMS, add=FIXTURE_DOCS, options=options)
    store = IndexStore.load(tmp_path)
    assert store.manifest.vectors["e5"]["type"] == "IndexIVFFlat"
    q = emb.embed(["深圳5G基站"], "query")[0]
    (row, score), *_ = store.search(q, 5)
    exact = exact_top_k(store.vectors(), np.flatnonzero(store.row_langs != ""), q[None], 1)
    assert row == exact[1][0, 0] and store.chunk(row).doc_id == "zh_5g"
