"""An answer's citations: each passage it cites, narrowed to the sentence it is cited for.

Does not renumber markers (``rag.models.generator.CitationRewriter`` does) and does not choose
the sentence (``rag.answer.review.verdict.cited_sentence`` does).
"""

from __future__ import annotations

from collections.abc import Sequence

from rag.answer.retrieve.passages import Passage
from rag.answer.review.cited import cited_sentence
from rag.types import Citation

__all__ = ["cite", "citation"]


def cite(
    passages: Sequence[Passage], order: Sequence[int], answer: str = "", question: str = ""
) -> tuple[Citation, ...]:
    """Citations for the passages cited (``order`` = original numbers in citation order), each
    narrowed to the sentence of its passage that states what the answer cites it for
    (``review.cited_sentence``), else the whole passage.

    With no marker in the answer, every shown passage is listed so the reader can check.
    """
    numbers = list(order) or list(range(1, len(passages) + 1))
    out = []
    for new, old in enumerate(numbers, 1):
        p = passages[old - 1]
        span = cited_sentence(question, answer, new, p.text) if order and answer else None
        out.append(citation(new, p, *(span or (0, len(p.text)))))
    return tuple(out)


def citation(n: int, p: Passage, a: int, b: int) -> Citation:
    """Citation ``n`` of ``p.text[a:b]``."""
    d = p.hit.doc
    return Citation(
        n,
        d.doc_id,
        d.title,
        d.date,
        d.url,
        p.hit.chunk.chunk_id,
        p.text[a:b],
        p.start + a,
        p.start + b,
        p.hit.chunk.lang,
        p.hit.score,
    )
