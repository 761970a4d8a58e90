"""The pipeline's glue to the checks, after an answer is drafted: what the review reads, the
review itself, and the notes the index adds to an answer it keeps.

* ``recite`` moves a marker to the passage that states the answer's figures when the one it names
  states none (``rag.answer.review.verdict.recited``).
* ``review_answer`` hands the draft to ``rag.answer.review.verdict`` with every passage shown as
  ``rag.answer.review.grounding`` reads it (the cited first, with their articles and other tellings)
  and the generator's own yes/no check.
* ``with_notes`` adds other articles' values for the answer's figures (``rag.answer.review.conflicts``,
  with citations and dates) and the source's date when the question asks for the latest figure
  (``rag.answer.review.trust``).

Does not decide anything itself: the checks live in ``rag.answer.review.verdict``, ``grounding``,
``trust`` and ``conflicts``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.answer.retrieve.passages import Passage
from rag.answer.retrieve.tellings import Tellings
from rag.answer.review.cited import recited
from rag.answer.review.conflicts import Source, conflict_note, find_conflicts
from rag.answer.review.support import Evidence
from rag.answer.review.trust import asks_latest, date_note
from rag.answer.review.verdict import Confirm, Verdict, review
from rag.answer.write.prompt import CitationRewriter
from rag.config import Settings
from rag.index.chunking import sentence_spans
from rag.models.generator import Generator, Message
from rag.types import Hit, Lang

__all__ = ["recite", "review_answer", "with_notes"]
Place = tuple[
    Hit | None, str, int
]  # where a source lies: (its hit, else None for a whole article; text; start)


def recite(
    text: str, passages: Sequence[Passage], rewriter: CitationRewriter
) -> tuple[str, CitationRewriter]:
    """The answer with a marker moved to the passage that states its figures when the one it
    names states none (``review.recited``), renumbered by a new rewriter; else as it was."""
    if not rewriter.order:
        return text, rewriter
    order = rewriter.order
    original = re.sub(
        r"\[(\d+)\]",
        lambda m: f"[{order[int(m.group(1)) - 1]}]" if 1 <= int(m.group(1)) <= len(order) else m.group(0),
        text,
    )
    moved = recited(original, [f"{p.hit.doc.title}\n{p.text}" for p in passages])
    if moved == original:
        return text, rewriter
    fresh = CitationRewriter(valid=len(passages))
    return fresh.feed(moved) + fresh.finish(), fresh


def review_answer(
    generator: Generator | None,
    question: str,
    answer: str,
    passages: Sequence[Passage],
    order: Sequence[int],
    lang: Lang,
    settings: Settings,
    tellings: Tellings,
    chosen: bool = False,
) -> Verdict:
    """The answer reviewed (``rag.answer.review.verdict``): repaired, kept or withdrawn with the reasons.
    ``generator`` is the one that wrote the answer freely (None for a computed, chosen or quoted
    answer). The withdrawal checks run for a generated answer when ``grounding_check`` is on;
    the generator's own yes/no check for Chinese questions only: the threshold was tuned on
    Chinese questions (RGB), and on the seed set's English questions over Chinese sentences
    the check said "no" to 32 of 52 answers it was asked about, most of them right. A ``chosen``
    span (the candidate step's, for the whole question) is also withdrawn when its sentence is
    about another subject or relation than asked (``rag.answer.review.relation.not_asked``)."""
    return review(
        question,
        answer,
        _evidence(passages, order, tellings),
        lang,
        cited=len(order),
        confirm=_confirmation(generator, settings.min_check_probability) if generator is not None else None,
        min_confirm=settings.min_check_probability,
        english_texts=tellings.english(passages, order) if lang == "en" else (),
        checks=settings.grounding_check,
        written=generator is not None,
        chosen=chosen,
    )


def _confirmation(generator: Generator, min_confirm: float) -> Confirm:
    """The generator's yes/no check as the review calls it; a generator that cannot tell (None)
    passes it, as if it had not been asked."""

    def confirm(messages: list[Message], yes: tuple[str, ...], no: tuple[str, ...]) -> float:
        p = generator.yes_probability(messages, yes, no)
        return min_confirm if p is None else p

    return confirm


def _evidence(passages: Sequence[Passage], order: Sequence[int], tellings: Tellings) -> list[Evidence]:
    """Every passage shown, the cited ones first, as ``rag.answer.review.grounding`` reads them: a figure
    from passage 2 cited as [1] is mis-cited (flagged later), not invented."""
    shown = [passages[n - 1] for n in order]
    shown += [p for p in passages if p not in shown]
    others = tellings.others({p.hit.doc.doc_id for p in shown})
    store = tellings.store
    return [
        Evidence(
            p.text,
            p.hit.doc.title,
            p.date or p.hit.doc.date,  # an undated article: the month its text implies
            store.doc_text(p.hit.doc.doc_id),
            "\n".join(
                store.doc_text(d) for d in others[p.hit.doc.doc_id] if store.doc(d).lang != p.hit.chunk.lang
            ),
        )
        for p in shown
    ]


def with_notes(
    question: str,
    text: str,
    passages: list[Passage],
    rewriter: CitationRewriter,
    lang: Lang,
    hits: Sequence[Hit],
    tellings: Tellings,
) -> tuple[str, list[Passage]]:
    """The reviewed answer with what the index adds: other articles' values for its figures,
    with citations and dates (``rag.answer.review.conflicts``), and the date of its source when the
    question asks for the latest figure. Returns the text and the passages (with any a note
    cites); ``rewriter`` numbers the notes' citations after the answer's."""
    store = tellings.store
    cited = [n - 1 for n in rewriter.order] or list(range(len(passages)))
    sources, places, articles = _sources(passages, cited, hits, tellings)
    conflicts = find_conflicts(text, sources, cited, tellings.groups, question, articles)[:2]
    shown, number = len(passages), {i: i + 1 for i in range(len(passages))}
    passages = list(passages)
    for r in (r for c in conflicts for r in (c.stated, *c.others)):
        if r.source not in number:
            hit, src_text, base = places[r.source - shown]
            doc_id = sources[r.source].doc_id
            passages.append(_sentence_passage(tellings, doc_id, src_text, base, r.figure.start, hit))
            number[r.source] = len(passages)
    notes = [conflict_note(conflicts, sources, number, lang)] if conflicts else []
    if asks_latest(question) and cited:
        first = passages[cited[0]].hit.doc
        notes.append(date_note(text, cited[0] + 1, first.date, store.doc_text(first.doc_id), lang))
    rewriter.valid = len(passages)
    if any(notes) and not rewriter.order:  # no marker in the answer: every shown passage stays listed
        rewriter.order = list(range(1, shown + 1))
    for note in filter(None, notes):
        note = rewriter.feed(note) + rewriter.finish()
        text = text.rstrip() + {"（": "", "(": " "}.get(note[0], "\n") + note
    return text, passages


def _sources(
    passages: Sequence[Passage], cited: Sequence[int], hits: Sequence[Hit], tellings: Tellings
) -> tuple[list[Source], list[Place], dict[str, str]]:
    """Where other values are looked for: the passages shown, the hits not shown and the whole
    articles of the cited articles' stories. Returns them as ``Source``s (the passages first),
    where each source after the passages lies (``Place``), and the articles read."""
    store, groups = tellings.store, tellings.groups
    docs = {passages[i].hit.doc.doc_id for i in cited}
    siblings = sorted(d for d in groups if d not in docs and groups[d] in {groups.get(c) for c in docs})
    articles = {d: store.doc_text(d) for d in docs | set(siblings)}
    unseen = [h for h in hits if all(h.chunk.chunk_id != p.hit.chunk.chunk_id for p in passages)]
    places: list[Place] = [(h, h.chunk.text, h.chunk.start) for h in unseen]
    places += [(None, articles[d], 0) for d in siblings]
    sources = [Source(p.hit.doc.doc_id, p.hit.doc.date, p.text) for p in passages]
    sources += [Source(h.doc.doc_id, h.doc.date, h.chunk.text) for h in unseen]
    sources += [Source(d, store.doc(d).date, articles[d]) for d in siblings]
    return sources, places, articles


def _sentence_passage(
    tellings: Tellings, doc_id: str, text: str, base: int, offset: int, hit: Hit | None
) -> Passage:
    """The sentence around ``offset`` of ``text`` (a hit's chunk, or a whole article at ``base`` 0)
    as a passage, for a citation."""
    store = tellings.store
    spans = sentence_spans(text)
    a, b = next(((base + a, base + b) for a, b in spans if a <= offset < b), (base, base + len(text)))
    if hit is None:
        chunks = store.chunks(store.doc_rows(doc_id))
        chunk = next((c for c in chunks if c.start <= a and b <= c.end), chunks[0])
        hit = Hit(chunk, store.doc(doc_id), 0.0, 0)
    return Passage(hit, store.doc_text(doc_id)[a:b], a, b)
