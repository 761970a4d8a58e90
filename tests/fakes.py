"""Deterministic stand-ins for the models, for fast tests.

``FakeEmbedder`` hashes words and Han-character bigrams into a small vector, so texts that
share words are close. A few English/Chinese synonyms are folded together so that
cross-language tests can run without the real model. ``FakeGenerator`` replays a script.
"""

from __future__ import annotations

import hashlib
import re
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
    def candidate_scores(self, messages: list[dict], options: Sequence[str]) -> list[tuple[float, int]] | None:
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
