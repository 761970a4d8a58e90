"""Find the passages for a question, and cut them to what the prompt can afford.

``Retriever.search`` embeds the question with the e5 ``query:`` prompt and searches the
FAISS index. ``select_passages`` then prepares what the generator reads: the best hits,
near-duplicates dropped, each cut to a window of whole sentences around the sentences
closest in meaning to the question, within a character budget (on this CPU every prompt
token costs time before the first word). Windows are contiguous, so a citation still points
at one exact span of the article.

Does not generate text and does not know about prompts.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .chunking import sentence_spans
from .embedding import Embedder
from .index import IndexStore
from .types import Hit


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
    hits: tuple[Hit, ...]
    query_vector: np.ndarray
    ms: float


class Retriever:
    def __init__(self, store: IndexStore, embedder: Embedder) -> None:
        self.store = store
        self.embedder = embedder

    def search(self, question: str, k: int = 5) -> Retrieval:
        t0 = time.perf_counter()
        qv = self.embedder.embed([question], kind="query")[0]
        pairs = self.store.search(qv, k)
        chunks = self.store.chunks([row for row, _ in pairs])
        hits = tuple(
            Hit(chunk=c, doc=self.store.doc(c.doc_id), score=score, rank=i)
            for i, (c, (_, score)) in enumerate(zip(chunks, pairs, strict=True), 1)
        )
        return Retrieval(hits, qv, (time.perf_counter() - t0) * 1000)


def _overlaps(a: Hit, b: Hit) -> bool:
    return a.chunk.doc_id == b.chunk.doc_id and a.chunk.start < b.chunk.end and b.chunk.start < a.chunk.end


def select_passages(
    hits: Sequence[Hit],
    query_vector: np.ndarray,
    embedder: Embedder,
    max_passages: int,
    budget_chars: int,
) -> list[Passage]:
    """The top hits, cut to sentence windows that fit ``budget_chars`` in all."""
    chosen: list[Hit] = []
    for hit in hits:
        if len(chosen) == max_passages:
            break
        if not any(_overlaps(hit, c) and c.chunk.text in hit.chunk.text for c in chosen):
            chosen.append(hit)
    if not chosen:
        return []
    spans = [[(h.chunk.start + a, h.chunk.start + b) for a, b in sentence_spans(h.chunk.text)] for h in chosen]
    texts = [h.chunk.text[a - h.chunk.start : b - h.chunk.start] for h, ss in zip(chosen, spans, strict=True)
             for a, b in ss]
    sims = embedder.embed(texts, kind="passage") @ np.asarray(query_vector, dtype=np.float32) if texts else []
    out, k = [], 0
    per = max(budget_chars // len(chosen), 80)
    for hit, ss in zip(chosen, spans, strict=True):
        scores = list(sims[k : k + len(ss)])
        k += len(ss)
        a, b = _window(ss, scores, per)
        text = hit.chunk.text[a - hit.chunk.start : b - hit.chunk.start]
        out.append(Passage(hit, text, a, b, tuple((s, e, float(x)) for (s, e), x in zip(ss, scores, strict=True))))
    return out


def _window(spans: list[tuple[int, int]], scores: list[float], budget: int) -> tuple[int, int]:
    """Contiguous sentences around the best one, grown toward the better neighbour.

    >>> _window([(0, 10), (10, 30), (30, 40)], [0.1, 0.9, 0.5], 32)
    (10, 40)
    """
    if not spans:
        return 0, 0
    best = int(np.argmax(scores))
    lo = hi = best
    while True:
        left = scores[lo - 1] if lo > 0 else None
        right = scores[hi + 1] if hi + 1 < len(spans) else None
        if left is None and right is None:
            break
        grow_left = right is None or (left is not None and left > right)
        nlo, nhi = (lo - 1, hi) if grow_left else (lo, hi + 1)
        if spans[nhi][1] - spans[nlo][0] > budget:
            break
        lo, hi = nlo, nhi
    return spans[lo][0], spans[hi][1]
