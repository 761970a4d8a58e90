"""The evidence an answer is written from: the sentences answering each part of the question,
each part retrieved on its own; and, for a question asking the change between two years, the
answer computed from the two figures.

Does not pick the sentences (``rag.answer.evidence.pick`` does) and does not split the question
(``rag.answer.evidence.pick.split_question``); with the evidence step off, the passages are the best
hits' windows (``rag.answer.retrieve.search.select_passages``).
"""

from __future__ import annotations

from collections.abc import Sequence

from rag.answer.evidence.change import Computed, computed_change
from rag.answer.evidence.pick import EvidencePicker, Part
from rag.answer.question.check import History, retrieval_query
from rag.answer.question.parts import asks_change, contained_parts
from rag.answer.question.source import asked_language
from rag.answer.retrieve.passages import Passage, select_passages
from rag.answer.retrieve.search import Retrieval, Retriever
from rag.answer.retrieve.tellings import Tellings
from rag.text.lang import detect_lang
from rag.types import Hit, Lang

__all__ = ["gather_evidence"]


def gather_evidence(
    retriever: Retriever,
    tellings: Tellings,
    question: str,
    history: History,
    retrieval: Retrieval,
    hits: Sequence[Hit],
    parts: Sequence[str],
    lang: Lang,
    k: int,
) -> tuple[list[Passage], Computed | None, list[tuple[int, ...]]]:
    """The passages (``rag.answer.evidence.pick``) for ``question`` of ``parts``, from ``hits`` (the
    whole question's, one telling of a story each) and, for several parts, each part's own
    ``k`` hits; the change computed (None otherwise); and for each part the numbers of the
    passages holding its own evidence."""
    s = retriever.settings
    if not s.evidence:
        passages = select_passages(
            hits, retrieval.query_vector, retriever.embedder, s.prompt_passages, s.prompt_chars
        )
        return passages, None, []
    asked = asked_language(question)  # "according to the English report": that language's articles
    hits = _in_language(retrieval.hits, asked) or hits
    found = [Part(retrieval_query(question, history), retrieval.query_vector, tuple(hits), question)]
    if len(parts) > 1:
        found = []
        contained = contained_parts(parts)  # an elliptical part retrieved with what it leaves out
        for i, (part, whole) in enumerate(zip(parts, contained, strict=True)):
            query = retrieval_query(whole, [(p, "") for p in contained[:i]] if i else history)
            r = retriever.search(query, k)
            ids = {h.chunk.chunk_id for h in r.hits}
            more = [h for h in hits if h.chunk.chunk_id not in ids]  # the whole question's hits too
            own = tuple(_in_language(r.hits, asked) or tellings.distinct(r.hits))
            found.append(Part(query, r.query_vector, own + tuple(more), part))
    qlang = detect_lang(question)
    bonus = {space: retriever.language_bonus(qlang, space) for space in ("e5", "encoder2")}
    picker = EvidencePicker(retriever.store, retriever.embedder, retriever.encoder2, bonus)
    passages, best, numbers = picker.select_parts(found, s.evidence_chars, s.evidence_hits)
    years = asks_change(question)
    computed = None
    if years and len(best) == 2 and best[0] != best[1]:
        computed = computed_change(question, years, best, lang)
    return passages, computed, numbers


def _in_language(hits: Sequence[Hit], lang: Lang | None) -> list[Hit]:
    """The hits in ``lang`` (all tellings of a story: the asked one may not be the best ranked);
    none when no language is asked or none is in it."""
    return [h for h in hits if h.chunk.lang == lang] if lang else []
