"""Story groups: articles that tell the same news (a translation, a reprint), so the prompt
does not spend its budget twice on one story.

``story_groups`` is computed once per loaded index; ``drop_story_duplicates`` drops a passage
when a higher-ranked article of the same story already states every figure it gives (000 in
Chinese and 004 in English in the default corpus).

Why figures, not vectors: the e5 vectors of the same news in Chinese and in English are further
apart (cosine 0.84 for 000/004) than two different Chinese stories (0.97), so no vector threshold
separates them; the figures an article reports are language-neutral and nearly unique to a story
(000 and 004 share 10 of 14 figures, other pairs at most 5 of 22). Same-language reprints are also
caught by their mean vectors (cosine >= 0.985).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np

from rag.text.figures import figure_key, find_figures


def story_groups(
    docs: Sequence[tuple[str, str, str]],
    vectors: Mapping[str, np.ndarray] | None = None,
    min_shared: int = 3,
    min_share: float = 0.5,
    min_cosine: float = 0.985,
    max_days: int = 31,
) -> dict[str, str]:
    """Group articles that tell the same story: ``{doc_id: group_id}`` for every article, the group
    id being the smallest doc id of the group (an article alone is its own group).

    ``docs`` are (doc_id, date, text). Two articles are one story when they share at least
    ``min_shared`` figures making at least ``min_share`` of the smaller article's figures, or
    (with ``vectors``: one L2-normalised mean vector per article) when their vectors have cosine
    >= ``min_cosine``; never when both are dated more than ``max_days`` apart.

    >>> story_groups([("000", "2021-01-20", "产值3.7万亿元，资金4.55亿元，项目1030个，基站4.6万个"),
    ...               ("004", "2021-01-21", "3.7 trillion yuan, 455 million yuan, 1,030 projects, 46,600"),
    ...               ("002", "", "产值9164.8亿元，基站4.76万个")])
    {'000': '000', '004': '000', '002': '002'}
    """
    keys = {d: {figure_key(f) for f in find_figures(t)} for d, _, t in docs}
    dates = {d: date for d, date, _ in docs}
    parent = {d: d for d, _, _ in docs}

    def root(d: str) -> str:
        while parent[d] != d:
            parent[d] = parent[parent[d]]
            d = parent[d]
        return d

    def join(a: str, b: str) -> None:
        if _days_apart(dates[a], dates[b]) > max_days:
            return
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    for (a, b), n in _shared_figures(keys).items():
        if n >= min_shared and n >= min_share * min(len(keys[a]), len(keys[b])):
            join(a, b)
    if vectors:
        ids = [d for d, _, _ in docs if d in vectors]
        if 1 < len(ids) <= 5000:
            m = np.stack([vectors[d] for d in ids]).astype(np.float32)
            sims = m @ m.T
            for i, j in zip(*np.nonzero(np.triu(sims >= min_cosine, k=1)), strict=True):
                join(ids[i], ids[j])
    return {d: root(d) for d, _, _ in docs}


def _shared_figures(keys: Mapping[str, set[tuple[str, float]]]) -> dict[tuple[str, str], int]:
    """``{(a, b): figures both articles state}`` for the pairs of articles sharing any figure.

    >>> _shared_figures({"x": {("n", 1.0), ("n", 2.0)}, "y": {("n", 2.0), ("n", 1.0)}, "z": {("n", 3.0)}})
    {('x', 'y'): 2}
    """
    by_key: dict[tuple[str, float], list[str]] = {}
    for d, ks in keys.items():
        for k in ks:
            by_key.setdefault(k, []).append(d)
    shared: dict[tuple[str, str], int] = {}
    for ds in by_key.values():
        if len(ds) <= 50:  # a figure in very many articles (a common percentage) says nothing
            for i, a in enumerate(ds):
                for b in ds[i + 1 :]:
                    shared[(a, b)] = shared.get((a, b), 0) + 1
    return shared


def _days_apart(a: str, b: str) -> int:
    if not (re.match(r"\d{4}-\d\d-\d\d$", a or "") and re.match(r"\d{4}-\d\d-\d\d$", b or "")):
        return 0
    return abs((np.datetime64(a) - np.datetime64(b)).astype(int))


def doc_vectors(vectors: np.ndarray, rows: Mapping[str, Sequence[int]]) -> dict[str, np.ndarray]:
    """One L2-normalised mean vector per article from the index's chunk vectors."""
    out = {}
    for d, rs in rows.items():
        if len(rs):
            v = np.asarray(vectors[list(rs)], dtype=np.float32).mean(axis=0)
            out[d] = v / (np.linalg.norm(v) or 1.0)
    return out


def drop_story_duplicates(
    items: Sequence[tuple[str, str]], groups: Mapping[str, str], doc_keys: Mapping[str, set]
) -> list[int]:
    """Indices of the ``items`` (doc_id, text), best first, worth showing: an item is dropped when
    an article of the same story ranks higher and already states every figure of the item.

    >>> keys = {"000": {figure_key(f) for f in find_figures("3.7万亿元，4.6万个")}}
    >>> items = [("000", "3.7万亿元"), ("004", "3.7 trillion yuan"), ("004", "46,600 stations")]
    >>> drop_story_duplicates(items, {"000": "000", "004": "000"}, keys)
    [0, 2]
    """
    kept: list[int] = []
    seen: list[str] = []  # the articles of the items kept, in order
    for i, (doc, text) in enumerate(items):
        group = groups.get(doc, doc)
        better = [d for d in seen if d != doc and groups.get(d, d) == group]
        if better:
            mine = {figure_key(f) for f in find_figures(text)}
            known = set().union(*(doc_keys.get(d, set()) for d in better))
            if not mine - known:
                continue
        kept.append(i)
        if doc not in seen:
            seen.append(doc)
    return kept
