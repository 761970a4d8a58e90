"""The answer before its review, and the state of one question on its way through the pipeline.

A draft is, in this order of preference: computed (a change between two years: both figures
cited, the difference by code); chosen among candidates and written by code, for the whole
question or each of its parts (``rag.answer.candidates.step``); quoted from the passages when there is
no generator (``rag.answer.write.extractive``); else written freely by the generator
(``rag.answer.write.free``), its snapshots streamed: the whole question, or only the parts the
candidate step left undecided, each from its own passages. The NO_ANSWER gate and the model itself
may abstain instead; the candidate step's "not stated" says so for a part of a question, not for
the whole (a whole question is then written freely and reviewed).

Does not retrieve, review (``rag.answer.review.apply``) or cite (``rag.answer.write.citations``); the
abstention itself is made by the caller (``Drafter.abstain``).
"""

from __future__ import annotations

import re
import time
from collections import abc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from rag.answer.candidates.extract import extract_candidates
from rag.answer.candidates.step import answered, choose_answer, part_answers, write_choice
from rag.answer.evidence.change import Computed
from rag.answer.question.parts import contained_parts
from rag.answer.retrieve.passages import Passage
from rag.answer.retrieve.tellings import Tellings
from rag.answer.review.verdict import PART_NOT_FOUND
from rag.answer.write.extractive import extract_answer
from rag.answer.write.free import FreeWriting, Guarded, unlikely_answer
from rag.answer.write.prompt import CitationRewriter, build_messages
from rag.config import Settings
from rag.types import Answer, Lang, Timings, Trace

__all__ = ["CHECKING", "Draft", "Drafter", "Mode", "Turn", "cited_as"]

# shown under the streamed answer while it is checked against the passages (it may be withdrawn)
CHECKING = {"zh": "正在核对答案与所引资料……", "en": "Checking the answer against its sources…"}
Mode = Literal["llm", "extractive"]  # how an answer was written (``Answer.mode``)


def cited_as(text: str, order: Sequence[int], numbers: Sequence[int]) -> str:
    """``text`` written from some passages (its markers renumbered in ``order`` of first citation,
    ``CitationRewriter.order``) with the markers those passages have among all (``numbers``:
    the number of each passage shown, in the order shown).

    >>> cited_as("A [1], B [2].", [2, 1], [3, 5])
    'A [5], B [3].'
    """
    return re.sub(r"\[(\d+)\]", lambda m: f"[{numbers[order[int(m.group(1)) - 1] - 1]}]", text)


def holding_candidates(
    question: str, texts: Sequence[str], dates: Sequence[str], numbers: Sequence[int]
) -> list[int]:
    """Of the passages ``texts`` (their articles' ``dates``) numbered ``numbers``, those holding a
    candidate answer to ``question`` (a span of the kind it asks, of the year it asks:
    ``extract_candidates``); all of them when none does or the question asks in words. A part
    written alone from a passage that answered another part readily copies that part's answer.

    >>> texts = ["2020年总产值3.7万亿元，增长2%。", "新能源汽车产量增长125.8%。"]
    >>> holding_candidates("2023年新能源汽车产量增长了多少？", texts, ["2021-01-20", "2024-01-10"], [4, 7])
    [7]
    >>> holding_candidates("为什么增长？", texts, ["2021-01-20", "2024-01-10"], [4, 7])
    [4, 7]
    """
    holding = sorted({c.passage for c in extract_candidates(question, texts, dates)})
    return [numbers[i] for i in holding] or list(numbers)


def _renumbered(lines: Sequence[str | None], valid: int) -> tuple[str, CitationRewriter]:
    """The parts' lines written so far (None: not yet), one a line, with their markers renumbered
    in order of first citation, and the rewriter that holds that order."""
    rewriter = CitationRewriter(valid=valid)
    return rewriter.feed("\n".join(filter(None, lines))) + rewriter.finish(), rewriter


@dataclass
class Turn:
    """One question on its way through the pipeline: what its answer or abstention says."""

    question: str  # made to stand alone (``rag.answer.question.followup``)
    lang: Lang
    t0: float  # time.perf_counter() at the start
    notices: list[str]
    retrieve_ms: float = 0.0
    passages: list[Passage] = field(default_factory=list)  # what the answer is written from
    evidence: tuple[str, ...] = ()  # their texts, for the trace
    first_token_ms: float = 0.0
    prompt_tokens: int = 0

    def timings(self, done: bool = False) -> Timings:
        """The timings so far; ``done``: with the total time and the prompt's tokens."""
        if not done:
            return Timings(self.retrieve_ms, self.first_token_ms)
        total = (time.perf_counter() - self.t0) * 1000
        return Timings(self.retrieve_ms, self.first_token_ms, total, self.prompt_tokens)

    def started(self, prompt_tokens: int) -> None:
        """The answer's first token is now (a draft written by code), after ``prompt_tokens``."""
        self.first_token_ms, self.prompt_tokens = (time.perf_counter() - self.t0) * 1000, prompt_tokens


@dataclass(frozen=True)
class Draft:
    """An answer before its review."""

    text: str
    rewriter: CitationRewriter  # its markers' order
    mode: Mode
    writer: Guarded | None = None  # the generator that wrote it freely (its own check runs then)
    chosen: bool = False  # one span chosen among the passages' candidates, for the whole question


@dataclass(frozen=True)
class Drafter:
    settings: Settings
    tellings: Tellings  # of the index the question is answered from
    abstain: Callable[[Turn, Trace], Answer]  # the abstention for a turn, with its trace

    def draft(
        self,
        turn: Turn,
        generator: Guarded | None,
        parts: Sequence[str],
        computed: Computed | None,
        own: Sequence[tuple[int, ...]],
    ) -> abc.Generator[Answer, None, Draft | None]:
        """The draft of ``turn``'s answer from its passages (``own``: the passages of each of the
        question's ``parts``). Yields the snapshots of a freely written answer; None after an
        abstention (yielded)."""
        passages, lang, s = turn.passages, turn.lang, self.settings
        rewriter = CitationRewriter(valid=len(passages))
        chooser = generator if computed is None else None  # a computed change is not chosen among candidates
        choice, choice_tokens = choose_answer(chooser, turn.question, passages, parts, lang, s)
        english = self.tellings.english
        lines, part_tokens = part_answers(chooser, parts, passages, own, lang, s, english)
        if computed is not None:
            text = rewriter.feed(computed.text) + rewriter.finish()
            return Draft(text, rewriter, "llm" if generator is not None else "extractive")
        if choice is not None and (candidate := answered(choice)) is not None:  # the model chose, code writes
            n = candidate.passage + 1
            written = write_choice(chooser, choice, n, lang, english(passages, [n]))
            text = rewriter.feed(written) + rewriter.finish()
            turn.started(choice_tokens)
            return Draft(text, rewriter, "llm", chosen=True)
        chosen = [line for line in lines if line is not None and not line.endswith(PART_NOT_FOUND[lang])]
        if chosen and None not in lines:  # each part's answer chosen among its candidates, written by code
            turn.started(part_tokens)
            return Draft(*_renumbered(lines, len(passages)), "llm")
        if generator is None:
            raw, _ = extract_answer(passages, lang)
            return Draft(rewriter.feed(raw) + rewriter.finish(), rewriter, "extractive")
        if chosen:  # some parts chosen: only the others are written freely
            turn.started(part_tokens)
            return (yield from self._write_parts(turn, generator, parts, lines, own))
        return (yield from self._write(turn, generator, parts))

    def _write_parts(
        self,
        turn: Turn,
        generator: Guarded,
        parts: Sequence[str],
        lines: Sequence[str | None],
        own: Sequence[tuple[int, ...]],
    ) -> abc.Generator[Answer, None, Draft]:
        """The answer of a question whose parts the candidate step answered only in part
        (``lines``: a part's line, None when it is left undecided): each undecided part written
        freely on its own, from its own passages (``own``) that hold a candidate answer to it
        (``holding_candidates``), after the chosen lines are shown."""
        passages, lang, s = turn.passages, turn.lang, self.settings
        done = list(lines)
        yield self._snapshot(turn, done)
        for k, (part, given) in enumerate(zip(contained_parts(parts), own, strict=True)):
            if done[k] is not None:
                continue
            shown = [passages[n - 1] for n in given]
            dates = [p.date or p.hit.doc.date for p in shown]
            numbers = holding_candidates(part, [p.text for p in shown], dates, given)
            messages = build_messages(
                part, [(passages[n - 1].hit, passages[n - 1].text) for n in numbers], lang
            )
            turn.prompt_tokens += generator.count_tokens(messages)
            done[k] = f"({k + 1}) {PART_NOT_FOUND[lang]}"
            if unlikely_answer(generator, messages, s.no_answer_probability):
                continue
            writing = FreeWriting(generator, messages, lang, len(numbers), s.max_new_tokens, turn.t0)
            for text in writing:
                done[k] = f"({k + 1}) {cited_as(text, writing.rewriter.order, numbers)}"
                yield self._snapshot(turn, done)
            if not writing.declined:
                done[k] = f"({k + 1}) {cited_as(writing.text, writing.rewriter.order, numbers)}"
        text, rewriter = _renumbered(done, len(passages))
        if s.grounding_check:
            yield Answer(text, lang, False, (), turn.timings(), "llm", (*turn.notices, CHECKING[lang]))
        return Draft(text, rewriter, "llm", writer=generator)

    @staticmethod
    def _snapshot(turn: Turn, lines: Sequence[str | None]) -> Answer:
        """What is shown while the parts are written: the lines so far, markers in order."""
        text, _ = _renumbered(lines, len(turn.passages))
        return Answer(text, turn.lang, False, (), turn.timings(), "llm", tuple(turn.notices))

    def _write(
        self, turn: Turn, generator: Guarded, parts: Sequence[str]
    ) -> abc.Generator[Answer, None, Draft | None]:
        """The answer written freely by the generator (``rag.answer.write.free``), its snapshots
        yielded as it grows, then the notice that it is being checked; None after an abstention:
        the gate finds NO_ANSWER likely, or the model writes it."""
        passages, lang = turn.passages, turn.lang
        parted = contained_parts(parts) if len(parts) > 1 else ()
        messages = build_messages(turn.question, [(p.hit, p.text) for p in passages], lang, parted)
        turn.prompt_tokens = generator.count_tokens(messages)
        if unlikely_answer(generator, messages, self.settings.no_answer_probability):
            turn.first_token_ms = (time.perf_counter() - turn.t0) * 1000
            yield self.abstain(turn, Trace(turn.evidence, stopped_by="gate"))
            return None
        writing = FreeWriting(generator, messages, lang, len(passages), self.settings.max_new_tokens, turn.t0)
        for text in writing:
            turn.first_token_ms = writing.first_token_ms
            yield Answer(text, lang, False, (), turn.timings(), "llm", tuple(turn.notices))
        turn.first_token_ms = writing.first_token_ms
        if writing.declined:  # only the sentinel (or nothing) was written
            yield self.abstain(turn, Trace(turn.evidence, stopped_by="model"))
            return None
        if self.settings.grounding_check:
            yield Answer(
                writing.text, lang, False, (), turn.timings(), "llm", (*turn.notices, CHECKING[lang])
            )
        return Draft(writing.text, writing.rewriter, "llm", writer=generator)
