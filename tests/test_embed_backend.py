"""The embedding path chosen per CPU: the choice on given flag sets and the converted model's
batching (fast, with fakes), and its vectors against torch fp32 (real model, marked ``models``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag.config import Settings
from rag.errors import ModelError
from rag.index.build import target_manifest
from rag.index.chunking import ChunkParams
from rag.models import embedding
from rag.models.cpu import cpu_flags
from rag.models.e5_folder import e5_openvino_is_prepared
from rag.models.embed_backend import choose_backend
from rag.models.embedding import SentenceTransformerEmbedder, length_sorted_batches
from rag.models.prepare import models_ready

EPYC_AVX2 = "fpu sse4_2 avx fma avx2 f16c vaes vpclmulqdq"  # the flags that matter on an AVX2 EPYC
ZEN4 = EPYC_AVX2 + " avx512f avx512_vnni avx512_bf16"
SAPPHIRE_RAPIDS = ZEN4 + " amx_bf16 amx_tile amx_int8"


@pytest.mark.parametrize(
    ("flags", "runtimes", "expected"),
    [
        (EPYC_AVX2, {"torch", "openvino"}, ("openvino", "float32")),
        (EPYC_AVX2, {"torch"}, ("torch", "float32")),
        (ZEN4, {"torch", "openvino"}, ("openvino", "bfloat16")),
        (ZEN4, {"torch"}, ("torch", "bfloat16")),
        (SAPPHIRE_RAPIDS, {"torch", "openvino"}, ("openvino", "bfloat16")),
        ("", {"torch"}, ("torch", "float32")),  # no /proc/cpuinfo
    ],
)
def test_choice_per_cpu(flags: str, runtimes: set[str], expected: tuple[str, str]) -> None:
    parsed = cpu_flags(f"processor\t: 0\nflags\t\t: {flags}\n") if flags else set()
    assert choose_backend(parsed, runtimes) == expected


def test_a_forced_backend_that_is_missing_says_what_to_do() -> None:
    with pytest.raises(ModelError, match=r"rag prepare"):
        choose_backend({"avx2"}, {"torch"}, backend="openvino")
    with pytest.raises(ModelError, match="auto, torch or openvino"):
        choose_backend({"avx2"}, {"torch"}, backend="onnx")
    assert choose_backend({"avx512_bf16"}, {"torch", "openvino"}, "torch", "float32") == ("torch", "float32")


def test_without_the_converted_copy_only_torch_is_available(tmp_path: Path) -> None:
    (tmp_path / "e5").mkdir()
    assert embedding.available_runtimes(tmp_path / "e5") == {"torch"}


class Tokens:
    """A tokenizer whose ids are the characters' code points (pad id 0)."""

    pad_token_id = 0

    def __call__(self, texts, truncation=True, max_length=512, add_special_tokens=True):
        return {"input_ids": [[ord(c) for c in t][:max_length] for t in texts]}


def test_converted_path_batches_by_length_and_returns_input_order() -> None:
    seen: list[tuple[int, int]] = []

    def encoder(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        seen.append(ids.shape)
        assert ((ids != 0) == (mask == 1)).all()  # padding, and only padding, is masked
        lengths = mask.sum(1, keepdims=True)
        return np.hstack([lengths, ids[:, :1]]).astype(np.float32)  # (length, first id) per row

    emb = object.__new__(SentenceTransformerEmbedder)
    emb._tok, emb._encoder, emb._batch, emb.dim, emb.max_tokens = Tokens(), encoder, 2, 2, 512
    texts = ["a", "bbbb", "cc", "ddddddd", "e"]
    out = emb._encode_converted(texts)
    assert out[:, 0].tolist() == [1, 4, 2, 7, 1]
    assert out[:, 1].tolist() == [ord(t[0]) for t in texts]
    assert seen == [(2, 7), (2, 2), (1, 1)]  # longest first: little padding


def test_length_sorted_batches_cover_every_index_once() -> None:
    batches = length_sorted_batches([5, 1, 5, 3, 2, 8, 0], 3)
    assert sorted(i for b in batches for i in b) == list(range(7))
    assert [len(b) for b in batches] == [3, 3, 1]


# --- the real model ------------------------------------------------------------------------------
TEXTS = [
    "深圳2020年规模以上工业总产值3.7万亿元，连续两年位居全国大中城市首位。",
    "The city built 46,600 base stations and nearly 10,000 multi-function poles.",
    "深圳 built 4.6万 5G基站 in 2020 🎉，全国首个 full coverage 城市！",
    "ＡＩ大模型：“开源”还是“闭源”？——专家这样说！😷",
    "工业互联网，一头连着传统工业制造业，一头连着新一代信息技术。" * 6,
]


@pytest.fixture(scope="module")
def settings() -> Settings:
    s = Settings()
    if not models_ready(s):
        pytest.fail("models are not prepared: run `python -m rag prepare`")
    return s


@pytest.mark.models
def test_the_chosen_path_agrees_with_fp32_and_keeps_the_index(settings: Settings) -> None:
    chosen = SentenceTransformerEmbedder.from_settings(settings)
    ref = SentenceTransformerEmbedder(settings.embedder_path, dtype="float32", backend="torch")
    for kind in ("passage", "query"):
        a, b = chosen.embed(TEXTS, kind), ref.embed(TEXTS, kind)
        assert a.dtype == np.float32 and np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
        assert float(np.min(np.sum(a * b, axis=1))) >= 0.999, (chosen.backend, chosen.dtype)
    assert [chosen.count_tokens(t) for t in TEXTS] == [ref.count_tokens(t) for t in TEXTS]
    assert (chosen.dim, chosen.max_tokens) == (ref.dim, ref.max_tokens)
    # an index built by one backend is used by the other: the manifest does not tell them apart
    prefixes = (settings.query_prefix, settings.passage_prefix)
    manifests = [target_manifest(e, ChunkParams(), prefixes) for e in (chosen, ref)]
    assert manifests[0].same_vectors(manifests[1]) and manifests[0].compatible_with(manifests[1])


@pytest.mark.models
def test_openvino_path_agrees_with_fp32(settings: Settings) -> None:
    if not e5_openvino_is_prepared(Path(settings.embedder_path)):
        pytest.skip("no OpenVINO copy of e5 (OpenVINO not installed, or `rag prepare` not run since)")
    ov = SentenceTransformerEmbedder(settings.embedder_path, backend="openvino")
    ref = SentenceTransformerEmbedder(settings.embedder_path, dtype="float32", backend="torch")
    assert ov.backend == "openvino"
    a, b = ov.embed(TEXTS, "passage"), ref.embed(TEXTS, "passage")
    assert float(np.min(np.sum(a * b, axis=1))) >= 0.999
    assert ov.embed([], "query").shape == (0, ref.dim)
