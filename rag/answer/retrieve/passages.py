"""The passages the generator reads, cut from the hits to what the prompt can afford.

``select_passages`` merges hits of the same article that continue each other, drops passages
already shown, and cuts each passage to a window of whole sentences, grown sentence by sentence
towards the sentences closest to the question across all passages until the character budget
is spent (on this CPU every prompt token costs time before the first word). Windows are
contiguous, so a citation still points at one exact span of the article.

Does not retrieve (``rag.answer.retrieve.search`` does), generate text or know about prompts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rag.index.chunking import sentence_spans
from rag.models.embedding import Embedder
from rag.types import Hit


@dataclass(frozen=True)
class Passage:
    """What is shown to the generator and the reader for one hit."""

    hit: Hit
    text: str  # a contiguous slice of the article
    start: int  # span in the cleaned article
    end: int
    sentence_scores: tuple[tuple[int, int, float], ...] = ()  # (start, end, cosine) in the article
    date: str = ""  # the article's date, else the month its text implies (rag.text.dates), else ""


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
