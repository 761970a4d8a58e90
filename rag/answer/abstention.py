"""The abstention: the prompt's "not found" sentence, then the closest sentences found, cited.

Does not decide to abstain (retrieval's relevance, the candidate step, the gate, the model's
NO_ANSWER and the review do) and does not pick the sentences (``rag.answer.review.closest_passages``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from rag.answer.citations import citation
from rag.answer.retrieval import Passage
from rag.answer.review import abstention_text, closest_passages
from rag.prompts import prompt_text
from rag.types import Answer, Lang, Timings, Trace

__all__ = ["abstention"]


def abstention(
    lang: Lang,
    question: str,
    passages: Sequence[Passage],
    groups: Mapping[str, str],
    timings: Timings,
    mode: Literal["llm", "extractive"],
    notices: Sequence[str],
    trace: Trace | None = None,
) -> Answer:
    """The abstention, with the closest ``passages``' sentences cited when any were found, at most
    one per story (``groups``: ``{doc_id: story}``). The answer stays ``abstained``: evaluation
    does not count these citations."""
    found = closest_passages(
        question,
        [p.text for p in passages],
        [groups.get(p.hit.doc.doc_id, p.hit.doc.doc_id) for p in passages],
    )
    sentences = [passages[i].text[a:b] for i, a, b in found]
    text = abstention_text(prompt_text(f"abstain_{lang}"), sentences, lang)
    citations = tuple(citation(k, passages[i], a, b) for k, (i, a, b) in enumerate(found, 1))
    return Answer(text, lang, True, citations, timings, mode, tuple(notices), trace=trace or Trace())
