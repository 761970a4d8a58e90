"""Deterministic stand-ins for the models, for fast tests.

``FakeEmbedder`` hashes words and Han-character bigrams into a small vector, so texts that
share words are close. A few English/Chinese synonyms are folded together so that
cross-language tests can run without the real model. ``WordEmbedder`` gives each word its own
dimension (no collisions); ``FakeEncoder2`` stands in for the second retrieval encoder;
``FailingEmbedder`` dies after some batches (a crash, out of memory, a killed build).

``FakeGenerator`` replays a script and implements the whole ``rag.models.generator.Generator``
protocol: it reads no logits, so its scoring methods return None (the pipeline skips those
steps). ``ScriptedGenerator`` replies in turn, ``RepliesByQuestion`` per question;
``FakeScorer``, ``DoubtfulGenerator`` and ``CheckingGenerator`` script the scores of the
candidate step, the NO_ANSWER gate and the review's yes/no check; ``FailingGenerator`` fails
mid-reply; ``LockingGenerator`` (and the slower ``SlowGenerator``) serve one request at a time,
as ``LlamaGenerator`` does.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Iterator, Sequence

import numpy as np

from rag.models.embedding import l2_normalize

_SYNONYMS = {
    "base": "基站", "stations": "基站", "station": "基站", "基站": "基站",
    "shenzhen": "深圳", "深圳": "深圳", "output": "产值", "产值": "产值",
}  # fmt: skip


def _features(text: str) -> list[str]:
    text = text.lower()
    feats = []
    for word in re.findall(r"[a-z0-9]+", text):
        feats.append(_SYNONYMS.get(word, word))
    han = re.findall(r"[\u4e00-\u9fff]", text)
    for a, b in zip(han, han[1:], strict=False):
        pair = a + b
        feats.append(_SYNONYMS.get(pair, pair))
    return feats


class FakeEmbedder:
    model_id = "fake-embedder"
    dim = 64
    max_tokens = 512

    def __init__(self) -> None:
        self.calls: list[tuple[int, str]] = []  # (number of texts, kind)

    def count_tokens(self, text: str) -> int:
        return len(re.findall(r"[A-Za-z0-9]+|[^\sA-Za-z0-9]", text))

    def embed(self, texts: Sequence[str], kind: str) -> np.ndarray:
        self.calls.append((len(texts), kind))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for f in _features(t):
                h = int(hashlib.md5(f.encode()).hexdigest(), 16)
                out[i, h % self.dim] += 1.0
            out[i, 0] += 0.05  # never an all-zero row
        return l2_normalize(out)

    def embedded_passages(self) -> int:
        return sum(n for n, kind in self.calls if kind == "passage")


class FakeGenerator:
    """Yields the scripted reply in small pieces; records the messages it was given."""

    model_id = "fake-generator"

    def __init__(self, reply: str | None = None, piece: int = 3) -> None:
        self.reply = reply
        self.piece = piece
        self.seen: list[list[dict]] = []

    def count_tokens(self, messages: list[dict]) -> int:
        return sum(len(m["content"]) for m in messages)

    def stream(self, messages: list[dict], max_tokens: int = 256) -> Iterator[str]:
        self.seen.append(messages)
        reply = self.reply if self.reply is not None else "答案见资料[1]。"
        for i in range(0, len(reply), self.piece):
            yield reply[i : i + self.piece]

    # It reads no logits: the steps that would ask are skipped (``rag.models.generator.Generator``).
    def candidate_scores(
        self, messages: list[dict], options: Sequence[str]
    ) -> list[tuple[float, int]] | None:
        return None  # no candidate step: the answer is written freely

    def start_probability(self, messages: list[dict], words: Sequence[str]) -> float | None:
        return None  # no NO_ANSWER gate

    def yes_probability(self, messages: list[dict], yes: Sequence[str], no: Sequence[str]) -> float | None:
        return None  # no yes/no check of the stating sentence


class FakeEncoder2(FakeEmbedder):
    """A second retrieval encoder of another dimension (stands in for USE)."""

    model_id = "fake-encoder2"
    dim = 32


class FakeScorer(FakeGenerator):
    """A FakeGenerator that also scores candidate answers (``rag.answer.candidates``): each option gets its
    scripted log-probability (``scores``; -20 when not scripted), its length standing for its tokens."""

    def __init__(self, scores: dict[str, float], reply: str | None = None) -> None:
        super().__init__(reply)
        self.scores = scores
        self.scored: list[tuple[list[dict], list[str]]] = []  # (messages, options) of every call

    def candidate_scores(self, messages: list[dict], options: Sequence[str]) -> list[tuple[float, int]]:
        self.scored.append((messages, list(options)))
        return [(self.scores.get(o, -20.0), max(1, len(o))) for o in options]


class WordEmbedder(FakeEmbedder):
    """FakeEmbedder without hashing: one dimension per word or Han bigram, so a question and its
    passage share exactly their words."""

    dim = 512

    def __init__(self) -> None:
        super().__init__()
        self.vocab: dict[str, int] = {}

    def embed(self, texts, kind):
        self.calls.append((len(texts), kind))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for f in _features(text):
                out[i, self.vocab.setdefault(f, len(self.vocab) + 1)] += 1.0
            out[i, 0] += 0.05  # never an all-zero row
        return l2_normalize(out)


class FailingEmbedder(FakeEmbedder):
    """Embeds ``after`` batches of the ``kinds`` given, then raises ``exc`` on each further one."""

    def __init__(
        self,
        exc: BaseException | type[BaseException],
        after: int = 0,
        kinds: Sequence[str] = ("query", "passage"),
    ) -> None:
        super().__init__()
        self.exc, self.left, self.kinds = exc, after, kinds

    def embed(self, texts, kind):
        if kind in self.kinds:
            if self.left == 0:
                raise self.exc
            self.left -= 1
        return super().embed(texts, kind)


class ScriptedGenerator(FakeGenerator):
    """Replies with the next reply of a script on each call."""

    def __init__(self, *replies: str) -> None:
        super().__init__()
        self.replies = list(replies)

    def stream(self, messages: list[dict], max_tokens: int = 256) -> Iterator[str]:
        self.reply = self.replies[min(len(self.seen), len(self.replies) - 1)]
        return super().stream(messages, max_tokens)


class RepliesByQuestion(FakeGenerator):
    """Replies with ``replies[q]`` for the prompt whose question is ``q``."""

    def __init__(self, replies: dict[str, str]) -> None:
        super().__init__()
        self.replies = replies

    def stream(self, messages, max_tokens=256):
        user = messages[-1]["content"]
        self.reply = next(
            r
            for q, r in self.replies.items()
            if f"Question: {q}\n" in f"{user}\n" or f"问题：{q}\n" in f"{user}\n"
        )
        yield from super().stream(messages, max_tokens)


class DoubtfulGenerator(FakeGenerator):
    """A fake that also reports the probability of starting with NO_ANSWER."""

    def __init__(self, p_no: float, reply: str) -> None:
        super().__init__(reply)
        self.p_no = p_no

    def start_probability(self, messages: list[dict], words) -> float:
        assert words == ["NO_ANSWER"]
        return self.p_no


class CheckingGenerator(FakeGenerator):
    """A fake that answers the generator's own check (``grounding.check_messages``) with ``p_yes``."""

    def __init__(self, p_yes: float, reply: str) -> None:
        super().__init__(reply)
        self.p_yes, self.checked = p_yes, []

    def yes_probability(self, messages: list[dict], yes, no) -> float:
        self.checked.append(messages[-1]["content"])
        return self.p_yes


class FailingGenerator(FakeGenerator):
    """Writes ``after`` pieces, then fails as a real runtime might."""

    def __init__(self, exc: BaseException, after: int) -> None:
        super().__init__("深圳建成5G基站超4.6万个[1]，产值也很高。")
        self.exc, self.after = exc, after

    def stream(self, messages, max_tokens=256):
        for i, piece in enumerate(super().stream(messages, max_tokens)):
            if i == self.after:
                raise self.exc
            yield piece


class LockingGenerator(FakeGenerator):
    """Holds a lock while it writes, as ``LlamaGenerator`` does; records the max_tokens it is
    given, the characters it wrote and when each request held the lock (``spans``)."""

    def __init__(self, reply: str, delay: float = 0.0) -> None:
        super().__init__(reply, piece=2)
        self.lock = threading.Lock()
        self.max_tokens: list[int] = []
        self.delay = delay  # seconds per piece
        self.written = 0  # characters yielded
        self.spans: list[tuple[float, float]] = []  # (start, end) of each request, time.monotonic()
        self.generating = threading.Event()  # set when a request first holds the lock

    def stream(self, messages: list[dict], max_tokens: int = 256) -> Iterator[str]:
        self.max_tokens.append(max_tokens)
        with self.lock:
            t0 = time.monotonic()
            self.generating.set()
            try:
                for piece in super().stream(messages, max_tokens):
                    time.sleep(self.delay)
                    self.written += len(piece)
                    yield piece
            finally:
                self.spans.append((t0, time.monotonic()))


class SlowGenerator(LockingGenerator):
    """One request at a time, like ``LlamaGenerator``; a piece every 0.1 s."""

    def __init__(self) -> None:
        super().__init__("深圳建成5G基站超4.6万个，成为全国首个5G独立组网全覆盖的城市[1]。", delay=0.1)
