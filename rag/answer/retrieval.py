"""Find the passages for a question, and cut them to what the prompt can afford.

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

``select_passages`` then prepares what the generator reads: hits of the same article that
continue each other are merged, passages already shown are dropped, and each passage is cut
to a window of whole sentences, grown sentence by sentence towards the sentences closest to
the question across all passages until the character budget is spent (on this CPU every
prompt token costs time before the first word). Windows are contiguous, so a citation still
points at one exact span of the article.

Does not generate text and does not know about prompts.
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
class Passage:
    """What is shown to the generator and the reader for one hit."""

    hit: Hit
    text: str  # a contiguous slice of the article
    start: int  # span in the cleaned article
    end: int
    sentence_scores: tuple[tuple[int, int, float], ...] = ()  # (start, end, cosine) in the article


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


# --------------------------------------------------------------------------- passages for the prompt


def merge_hits(hits: Sequence[Hit], max_passages: int) -> list[tuple[Hit, int, int]]:
    """The best hits as (hit, start, end) spans. A hit continuing a chosen one of the same article
    (overlapping or touching it) widens that span instead of taking a slot; a hit whose text is
    already shown is dropped. Only the top ``max_passages + 1`` hits are looked at, so a merge
    frees a slot for one more hit but the sentences to score stay few.

    >>> from rag.types import Chunk, DocMeta
    >>> d = DocMeta("a", "", "", "", "zh")
    >>> h = lambda i, s, e, t: Hit(Chunk(f"a#{i}", "a", t, s, e, "zh"), d, 1.0, i)
    >>> hits = [h(1, 0, 10, "x" * 10), h(2, 8, 20, "y" * 12), h(3, 0, 10, "x" * 10), h(4, 30, 40, "z" * 10)]
    >>> [(x.chunk.chunk_id, s, e) for x, s, e in merge_hits(hits, 2)]
    [('a#1', 0, 20)]
    >>> [(x.chunk.chunk_id, s, e) for x, s, e in merge_hits(hits, 3)]
    [('a#1', 0, 20), ('a#4', 30, 40)]
    """
    hits = hits[: max_passages + 1]
    spans: list[tuple[Hit, int, int]] = []
    seen_texts: set[str] = set()
    for hit in hits:
        key = " ".join(hit.chunk.text.split())
        if key in seen_texts:
            continue
        joined = False
        for i, (first, a, b) in enumerate(spans):
            if first.chunk.doc_id == hit.chunk.doc_id and hit.chunk.start <= b and a <= hit.chunk.end:
                spans[i] = (first, min(a, hit.chunk.start), max(b, hit.chunk.end))
                joined = True
                break
        seen_texts.add(key)
        if not joined:
            if len(spans) == max_passages:
                continue
            spans.append((hit, hit.chunk.start, hit.chunk.end))
    merged: list[tuple[Hit, int, int]] = []  # a widened span may now reach a later one of its article
    for hit, a, b in spans:
        for i, (first, a2, b2) in enumerate(merged):
            if first.chunk.doc_id == hit.chunk.doc_id and a <= b2 and a2 <= b:
                merged[i] = (first, min(a, a2), max(b, b2))
                break
        else:
            merged.append((hit, a, b))
    return merged


def _span_text(hits: Sequence[Hit], doc_id: str, a: int, b: int) -> str:
    """The article text of [a, b) assembled from the chunks of ``hits`` that cover it."""
    out = [""] * (b - a)
    for h in hits:
        if h.chunk.doc_id != doc_id:
            continue
        lo, hi = max(a, h.chunk.start), min(b, h.chunk.end)
        for i in range(lo, hi):
            out[i - a] = h.chunk.text[i - h.chunk.start]
    return "".join(out)


def select_passages(
    hits: Sequence[Hit],
    query_vector: np.ndarray,
    embedder: Embedder,
    max_passages: int,
    budget_chars: int,
) -> list[Passage]:
    """The top hits (neighbours merged, repeats dropped), cut to sentence windows that fit
    ``budget_chars`` in all, spent on the sentences closest to the question."""
    spans = merge_hits(hits, max_passages)
    if not spans:
        return []
    texts = [_span_text(hits, h.chunk.doc_id, a, b) for h, a, b in spans]
    sentences = [
        [(a + x, a + y) for x, y in sentence_spans(t)] for (_h, a, _b), t in zip(spans, texts, strict=True)
    ]
    # a sentence already shown in an earlier passage (a repeated paragraph) is not shown again
    shown: set[str] = set()
    keep: list[list[bool]] = []
    for (_h, a, _b), t, ss in zip(spans, texts, sentences, strict=True):
        flags = []
        for s, e in ss:
            key = " ".join(t[s - a : e - a].split())
            flags.append(key not in shown)
            shown.add(key)
        keep.append(flags)
    flat = [
        t[s - a : e - a] for (_h, a, _b), t, ss in zip(spans, texts, sentences, strict=True) for s, e in ss
    ]
    sims = (
        embedder.embed(flat, kind="passage") @ np.asarray(query_vector, dtype=np.float32)
        if flat
        else np.zeros(0)
    )
    scores, k = [], 0
    for ss in sentences:
        scores.append([float(x) for x in sims[k : k + len(ss)]])
        k += len(ss)
    windows = _windows(sentences, scores, keep, budget_chars)
    out = []
    for (hit, a, _b), t, ss, sc, win in zip(spans, texts, sentences, scores, windows, strict=True):
        if win is None:
            continue
        lo, hi = win
        s, e = ss[lo][0], ss[hi][1]
        text = t[s - a : e - a]
        out.append(Passage(hit, text, s, e, tuple((x, y, z) for (x, y), z in zip(ss, sc, strict=True))))
    return out


def _windows(
    spans: list[list[tuple[int, int]]], scores: list[list[float]], keep: list[list[bool]], budget: int
) -> list[tuple[int, int] | None]:
    """Per passage, a window (first, last sentence index) or None, grown greedily within ``budget``.

    Each passage starts at its best sentence (in passage order, while the budget allows; the
    first passage always gets one, cut by the caller's generator if it is huge); then the
    best neighbouring sentence of any window is added, one at a time, while it fits.

    >>> _windows([[(0, 10), (10, 30), (30, 40)]], [[0.1, 0.9, 0.5]], [[True] * 3], 32)
    [(1, 2)]
    >>> _windows([[(0, 50)], [(0, 20), (20, 40)]], [[0.9], [0.2, 0.8]], [[True], [True, True]], 75)
    [(0, 0), (1, 1)]
    """
    out: list[tuple[int, int] | None] = []
    used = 0
    for p, (ss, sc, kp) in enumerate(zip(spans, scores, keep, strict=True)):
        usable = [i for i in range(len(ss)) if kp[i]]
        if not usable:
            out.append(None)
            continue
        best = max(usable, key=lambda i: sc[i])
        size = ss[best][1] - ss[best][0]
        if p and used + size > budget:
            out.append(None)
            continue
        out.append((best, best))
        used += size
    while True:
        options = []
        for p, win in enumerate(out):
            if win is None:
                continue
            lo, hi = win
            ss, sc = spans[p], scores[p]
            if lo > 0:
                options.append((sc[lo - 1], p, lo - 1, hi))
            if hi + 1 < len(ss):
                options.append((sc[hi + 1], p, lo, hi + 1))
        options.sort(key=lambda o: -o[0])
        grown = False
        for _score, p, lo, hi in options:
            ss = spans[p]
            old = out[p]
            assert old is not None
            extra = (ss[hi][1] - ss[lo][0]) - (ss[old[1]][1] - ss[old[0]][0])
            if used + extra <= budget:
                out[p] = (lo, hi)
                used += extra
                grown = True
                break
        if not grown:
            return out
