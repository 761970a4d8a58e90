"""The inputs of ``bench scale``: the CRUD sample replicated to N articles, and a stand-in for e5.

``replicate`` turns the CRUD sample (1,930 articles, one a line) into any number of distinct
articles: copy c > 0 of an article is dated c days later and starts with "（第c+1次转载）", so its
id, text and vector differ. ``HashEmbedder`` hashes words and Han bigrams into a 384-d vector: no
model, so ``--embedder hash`` measures the index machinery, not retrieval quality. Does not build
or search anything.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from rag.errors import CorpusError
from rag.ingest.collections import parse_crud_line
from rag.models.embedding import l2_normalize
from rag.text.lang import HAN


class HashEmbedder:
    """A deterministic stand-in for e5 (384-d): words and Han bigrams hashed into the vector."""

    model_id = "hash-384"
    dim = 384
    max_tokens = 512

    def count_tokens(self, text: str) -> int:
        return len(re.findall(r"[A-Za-z0-9]+|[^\sA-Za-z0-9]", text))

    def embed(self, texts: Sequence[str], kind: str) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            han = re.findall(f"[{HAN}]", t)
            feats = re.findall(r"[a-z0-9]+", t.lower()) + [a + b for a, b in zip(han, han[1:], strict=False)]
            for f in feats:
                h = int.from_bytes(hashlib.blake2b(f.encode(), digest_size=4).digest(), "little")
                out[i, h % self.dim] += 1
            out[i, 0] += 0.05
        return l2_normalize(out)


def replicate(source: Path, n: int, out: Path, first: int = 0, seed: int = 0) -> int:
    """Write articles ``first .. first + n - 1`` of the endless replication of ``source`` to
    ``out``, shuffled; returns how many were written."""
    base = []
    with open(source, encoding="utf-8") as f:
        for line in f:
            try:
                base.append(parse_crud_line(line.strip()))
            except ValueError:
                continue
    if not base:
        raise CorpusError(f"{source} holds no article in the CRUD format ([ date ] ，正文：text)")
    order = list(range(first, first + n))
    random.Random(seed + first).shuffle(order)
    with open(out, "w", encoding="utf-8") as f:
        for i in order:
            day, text = base[i % len(base)]
            copy = i // len(base)
            if copy:
                day = (date.fromisoformat(day or "2023-01-01") + timedelta(days=copy)).isoformat()
                text = f"（第{copy + 1}次转载）{text}"
            f.write(f"[ {day} ] ，正文：{text}\n")
    return n
