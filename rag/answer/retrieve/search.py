"""Find the passages for a question: three retrievers over the index, fused into one ranking.

``Retriever.search`` runs up to three retrievers over the index and fuses them:

* e5 (dense): the question embedded with the ``query:`` prompt, searched separately in the
  chunks of each language. A passage in the other language gets a constant bonus
  (``cross_bonus_en``/``_zh``): e5 scores it lower than an equally good passage in the
  question's language, so without the bonus a Chinese question over a mixed corpus almost
  never ranks an English passage first;
* the second encoder (USE multilingual v3, when the index stores its vectors): less biased
  across languages, weaker within one;
* BM25 over jieba / English word tokens (``rag.text.tokens``), the question's tokens plus the
  other language's words of glossary terms, scored as a share of the best possible score, so
  that a question sharing no words with a passage adds nothing rather than noise.

Fusion (``fuse_weighted`` or ``fuse_rrf``) ranks the union of the candidates with the exact
scores of every retriever. ``Retrieval.relevance`` (the best calibrated e5 cosine among the
hits) is what abstention compares with ``min_score``. An optional re-scoring of the top
candidates by their best sentence exists for measurement; it did not pay (README "Retrieval").

Does not cut the hits to what the prompt can afford (``rag.answer.retrieve.passages`` does), does not
generate text and does not know about prompts.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from rag.config import Settings
from rag.index.build import IndexStore
from rag.index.chunking import sentence_spans
from rag.models.embedding import Embedder
from rag.text.lang import detect_lang
from rag.text.tokens import expand_query, tokenize
from rag.types import Hit


@dataclass(frozen=True)
class Retrieval:
    hits: tuple[Hit, ...]  # score = fused score
    query_vector: np.ndarray  # e5 query vector
    ms: float
    relevance: float = 0.0  # best language-calibrated e5 cosine among the hits (compared with min_score)


# --------------------------------------------------------------------------- fusion


def fuse_weighted(scores: Mapping[str, np.ndarray], weights: Mapping[str, float]) -> np.ndarray:
    """Weighted sum of the retrievers' scores of the same candidates.

    >>> fuse_weighted({"e5": np.array([0.8, 0.7]), "bm25": np.array([0.0, 0.5])}, {"e5": 1.0, "bm25": 0.3})
    array([0.8 , 0.85])
    """
    out = np.zeros(len(next(iter(scores.values()))), dtype=float)
    for name, s in scores.items():
        out += weights.get(name, 0.0) * np.asarray(s, dtype=float)
    return out


def fuse_rrf(
    rankings: Mapping[str, Sequence[int]], weights: Mapping[str, float], k: int = 60
) -> dict[int, float]:
    """Reciprocal rank fusion: each item gets sum of weight / (k + rank) over the rankings holding it.

    >>> fuse_rrf({"e5": [7, 3], "bm25": [3, 9]}, {"e5": 1.0, "bm25": 0.5}, k=10)
    {7: 0.09090909090909091, 3: 0.12878787878787878, 9: 0.041666666666666664}
    """
    out: dict[int, float] = {}
    for name, ranked in rankings.items():
        w = weights.get(name, 0.0)
        for rank, item in enumerate(ranked, 1):
            out[item] = out.get(item, 0.0) + w / (k + rank)
    return out


def top_rows(scores: np.ndarray, n: int) -> np.ndarray:
    """The rows of the ``n`` highest positive ``scores``, best first, ties by row: the prefix of a
    stable full sort, found in linear time (a full sort of 250k BM25 scores took ~20 ms a query).

    >>> top_rows(np.array([0.0, 2.0, 1.0, 2.0, 0.5]), 3).tolist()
    [1, 3, 2]
    >>> top_rows(np.array([0.0, 1.0, 0.0]), 5).tolist()
    [1]
    """
    pos = np.flatnonzero(scores > 0)
    if len(pos) > n:
        kth = np.partition(scores[pos], len(pos) - n)[len(pos) - n]
        pos = pos[scores[pos] >= kth]
    return pos[np.argsort(-scores[pos], kind="stable")][:n]


class Retriever:
    """Hybrid search over an ``IndexStore``; cheap to construct (models are passed in)."""

    def __init__(
        self,
        store: IndexStore,
        embedder: Embedder,
        settings: Settings | None = None,
        encoder2: Embedder | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.settings = settings or Settings()
        s = self.settings
        self.encoder2 = encoder2 if s.encoder2_weight > 0 and store.has_encoder2 else None
        self.weights = {
            "e5": s.dense_weight,
            "encoder2": s.encoder2_weight if self.encoder2 else 0.0,
            "bm25": s.bm25_weight if store.keyword is not None else 0.0,
        }

    def language_bonus(self, qlang: str, space: str) -> dict[str, float]:
        """Score added to passages of each language for a question in ``qlang``."""
        s = self.settings
        cross = (
            s.encoder2_cross_bonus
            if space == "encoder2"
            else (s.cross_bonus_en if qlang == "en" else s.cross_bonus_zh)
        )
        return {lang: (0.0 if lang == qlang else cross) for lang in self.store.langs}

    def search(self, question: str, k: int = 5) -> Retrieval:
        t0 = time.perf_counter()
        s, store = self.settings, self.store
        qlang = detect_lang(question)
        n = max(s.candidates, k)
        qv = self.embedder.embed([question], kind="query")[0]
        langs = store.row_langs

        rankings: dict[str, list[int]] = {}
        scores: dict[str, np.ndarray] = {}
        vectors = {"e5": qv}
        if self.weights["encoder2"] > 0:
            assert self.encoder2 is not None
            vectors["encoder2"] = self.encoder2.embed([question], kind="query")[0]
        for space, vec in vectors.items():
            bonus = self.language_bonus(qlang, space)
            found = [
                (r, x + bonus[lang]) for lang in store.langs for r, x in store.search(vec, n, lang, space)
            ]
            if self.weights[space] > 0:
                rankings[space] = [r for r, _ in sorted(found, key=lambda t: -t[1])][:n]
        keyword = store.keyword
        if self.weights["bm25"] > 0 and keyword is not None:
            tokens = tokenize(question)
            extra = expand_query(question) if s.glossary else []
            bound = keyword.best_possible(tokens) or 1.0
            bm = keyword.scores(tokens + extra) / bound
            rankings["bm25"] = [int(r) for r in top_rows(bm, n)]
        rows = list(dict.fromkeys(r for ranked in rankings.values() for r in ranked))
        if not rows:
            return Retrieval((), qv, (time.perf_counter() - t0) * 1000)

        for space, vec in vectors.items():
            bonus = self.language_bonus(qlang, space)
            scores[space] = store.similarities(vec, rows, space) + np.array([bonus[langs[r]] for r in rows])
        if "bm25" in rankings:
            scores["bm25"] = bm[rows]
        if s.fusion == "rrf":
            by_row = fuse_rrf(rankings, self.weights, s.rrf_k)
            fused = np.array([by_row[r] for r in rows])
        else:
            fused = fuse_weighted({name: x for name, x in scores.items() if name in rankings}, self.weights)
        order = np.argsort(-fused, kind="stable")
        if s.rerank_weight > 0:
            top = order[: s.rerank_depth]
            fused = fused.copy()
            fused[top] += s.rerank_weight * self._best_sentences(qv, [rows[i] for i in top], qlang)
            order = np.argsort(-fused, kind="stable")
        chosen = [int(i) for i in order[:k]]
        chunks = store.chunks([rows[i] for i in chosen])
        hits = tuple(
            Hit(chunk=c, doc=store.doc(c.doc_id), score=float(fused[i]), rank=j)
            for j, (c, i) in enumerate(zip(chunks, chosen, strict=True), 1)
        )
        relevance = float(max(scores["e5"][i] for i in chosen))
        return Retrieval(hits, qv, (time.perf_counter() - t0) * 1000, relevance)

    def _best_sentences(self, qv: np.ndarray, rows: list[int], qlang: str) -> np.ndarray:
        """Per row, the best calibrated e5 cosine of one of its sentences (for re-scoring)."""
        chunks = self.store.chunks(rows)
        bonus = self.language_bonus(qlang, "e5")
        texts, owner = [], []
        for i, c in enumerate(chunks):
            for a, b in sentence_spans(c.text):
                texts.append(c.text[a:b])
                owner.append(i)
        best = np.full(len(rows), -1.0)
        if texts:
            sims = self.embedder.embed(texts, kind="passage") @ qv
            for i, x in zip(owner, sims, strict=True):
                best[i] = max(best[i], float(x) + bonus[chunks[i].lang])
        return best
