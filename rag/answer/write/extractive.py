"""Answers without a generator: the sentences closest to the question, with citations.

Serves when the LLM is disabled or unavailable, and for fast tests. The sentences are
quoted as written, so an English question over Chinese articles gets Chinese quotes
(introduced in the question's language).

Does not paraphrase, translate or combine facts.
"""

from __future__ import annotations

from collections.abc import Sequence

from rag.answer.retrieve.passages import Passage
from rag.types import Lang

INTRO = {"zh": "最相关的原文：", "en": "Most relevant passages (quoted):"}


def extract_answer(passages: Sequence[Passage], lang: Lang, max_sentences: int = 2) -> tuple[str, list[int]]:
    """The best sentences as ``text [n]`` lines, and the passage numbers (1-based) cited.

    Passages are numbered in the order given; sentences are ranked by their cosine to the
    question (``Passage.sentence_scores``).
    """
    ranked = sorted(
        ((score, n, s, e) for n, p in enumerate(passages, 1) for s, e, score in p.sentence_scores),
        reverse=True,
    )
    picked = ranked[:max_sentences]
    if not picked:
        return "", []
    lines, cited = [], []
    for _score, n, s, e in sorted(picked, key=lambda t: (t[1], t[2])):
        p = passages[n - 1]
        chunk = p.hit.chunk
        lines.append(f"{chunk.text[s - chunk.start : e - chunk.start]} [{n}]")
        if n not in cited:
            cited.append(n)
    return INTRO[lang] + "\n" + "\n".join(lines), cited
