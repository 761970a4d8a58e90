"""The pipeline's side of the generator: its failures told apart, the NO_ANSWER gate, and an
answer written freely as it streams.

* ``Guarded`` wraps the generator so that its own failures (out of memory, a runtime error)
  surface as ``GenerationError``, told apart from the pipeline's; ``Pipeline.stream`` then
  answers extractively.
* ``unlikely_answer``: the gate, the probability that the reply starts with NO_ANSWER.
* ``FreeWriting`` streams the reply, holding back its start until it is known not to be the
  NO_ANSWER sentinel; an answer drifting into the other language (seen after ~30 characters, or
  at the end) is written once more with a stronger instruction, its text replacing what was
  shown.

Does not build prompts (``rag.models.generator``), choose among candidates
(``rag.answer.candidates.step``) or review what was written (``rag.answer.review.apply``).
"""

from __future__ import annotations

import time
from collections import abc
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass

from rag.answer.review.trust import insist_on_language, language_drift, language_fallback
from rag.answer.write.prompt import NO_ANSWER, CitationRewriter
from rag.models.generator import Generator, Message
from rag.types import Lang

__all__ = ["FreeWriting", "GenerationError", "Guarded", "unlikely_answer"]


class GenerationError(Exception):
    """The generator raised (out of memory, context overflow...); the cause is chained. Internal:
    ``Pipeline.stream`` answers extractively instead."""


def _failed(exc: Exception) -> GenerationError:
    return GenerationError(type(exc).__name__)


@dataclass(frozen=True)
class Guarded:
    """A generator whose own failures surface as GenerationError, told apart from the pipeline's."""

    inner: Generator

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    def stream(self, messages: list[Message], max_tokens: int = 256) -> abc.Generator[str, None, None]:
        try:
            yield from self.inner.stream(messages, max_tokens)
        except Exception as exc:
            raise _failed(exc) from exc

    def count_tokens(self, messages: list[Message]) -> int:
        try:
            return self.inner.count_tokens(messages)
        except Exception as exc:
            raise _failed(exc) from exc

    def candidate_scores(
        self, messages: list[Message], options: Sequence[str]
    ) -> list[tuple[float, int]] | None:
        try:
            return self.inner.candidate_scores(messages, options)
        except Exception as exc:
            raise _failed(exc) from exc

    def start_probability(self, messages: list[Message], words: Sequence[str]) -> float | None:
        try:
            return self.inner.start_probability(messages, words)
        except Exception as exc:
            raise _failed(exc) from exc

    def yes_probability(self, messages: list[Message], yes: Sequence[str], no: Sequence[str]) -> float | None:
        try:
            return self.inner.yes_probability(messages, yes, no)
        except Exception as exc:
            raise _failed(exc) from exc


def unlikely_answer(generator: Generator, messages: list[Message], limit: float) -> bool:
    """Whether the generator's probability of starting with NO_ANSWER reaches ``limit`` (1 or
    more: never asked; a generator that cannot tell: no).

    The prompt is read once for this; the answer that follows reuses it."""
    if limit >= 1:
        return False
    p = generator.start_probability(messages, [NO_ANSWER])
    return p is not None and p >= limit


class FreeWriting:
    """The answer to ``messages`` as the generator writes it: iterate for the text so far (its
    citation markers renumbered for ``valid`` passages); then ``text``, ``rewriter`` (the markers'
    order), ``first_token_ms`` (since ``t0``, a ``time.perf_counter()``) and ``declined`` (only
    the NO_ANSWER sentinel, or nothing, was written)."""

    def __init__(
        self, generator: Guarded, messages: list[Message], lang: Lang, valid: int, max_tokens: int, t0: float
    ) -> None:
        self.generator, self.messages, self.lang = generator, messages, lang
        self.valid, self.max_tokens, self.t0 = valid, max_tokens, t0
        self.text, self.rewriter = "", CitationRewriter(valid=valid)
        self.first_token_ms, self.declined = 0.0, False

    def __iter__(self) -> abc.Iterator[str]:
        messages = self.messages
        for attempt in range(2):
            self.rewriter, self.text = CitationRewriter(valid=self.valid), ""
            written = yield from self._attempt(messages, attempt)
            if not written:
                self.declined = True
                return
            self.text += self.rewriter.finish()
            if not language_drift(self.text, self.lang):
                return
            messages = insist_on_language(messages, self.lang)
        self.text = language_fallback(self.text, self.lang)

    def _attempt(self, messages: list[Message], attempt: int) -> abc.Generator[str, None, bool]:
        """One reply streamed, the first attempt stopped when it drifts into the other language;
        False when it was only the sentinel (or nothing)."""
        head: str | None = ""  # held back until we know it is not the NO_ANSWER sentinel
        with closing(self.generator.stream(messages, self.max_tokens)) as deltas:
            for delta in deltas:
                if not self.first_token_ms:
                    self.first_token_ms = (time.perf_counter() - self.t0) * 1000
                if head is not None:
                    head += delta
                    if len(head.strip()) < len(NO_ANSWER) and NO_ANSWER.startswith(head.strip()):
                        continue
                    if head.strip().startswith(NO_ANSWER):
                        break
                    delta, head = head, None
                self.text += self.rewriter.feed(delta)
                if not attempt and len(self.text) >= 30 and language_drift(self.text, self.lang):
                    break
                yield self.text
        return head is None
