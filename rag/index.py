"""The on-disk index: FAISS vectors, chunk and article text in SQLite, and a manifest.

Layout of ``index_dir``::

    current -> builds/<name>      symlink, swapped atomically when a build completes
    builds/<name>/manifest.json   format version, embedder, chunking, corpus hash, versions
    builds/<name>/chunks.sqlite   docs and chunks (chunk row = vector row)
    builds/<name>/vectors.npy     float32, one L2-normalised row per chunk
    builds/<name>/faiss.index     inner-product index over the vectors
    .lock                         held while a build runs

A build writes a fresh folder beside the live one and only then swaps ``current``, so a
crash mid-build leaves the previous index usable. Unchanged articles (same content hash,
same embedder and chunking) reuse their chunks and vectors; only new or changed ones are
embedded, and deleted ones disappear.

This module touches files; it does not load articles or decide what to retrieve.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

import faiss
import numpy as np
from filelock import FileLock, Timeout

from .chunking import ChunkParams, chunk_document
from .embedding import Embedder
from .errors import IndexError_, IndexLockedError, IndexMismatchError
from .types import Chunk, DocMeta, Document

FORMAT_VERSION = 1
_EMBED_GROUP = 64  # passages per progress step


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
    faiss_type: str = "IndexFlatIP"
    versions: dict = field(default_factory=dict)
    created: str = ""

    def compatible_with(self, other: Manifest) -> bool:
        """Same embedding space and chunking: vectors can be reused or compared."""
        keys = ("format_version", "embedder_id", "dim", "query_prefix", "passage_prefix", "chunking")
        return all(getattr(self, k) == getattr(other, k) for k in keys)


@dataclass(frozen=True)
class BuildReport:
    n_docs: int
    n_chunks: int
    embedded: int  # chunks embedded in this build
    reused: int  # chunks whose vectors came from the previous build
    removed_docs: tuple[str, ...]
    changed_docs: tuple[str, ...]  # new or changed
    seconds: float
    embed_seconds: float
    up_to_date: bool = False


def library_versions() -> dict:
    names = ("faiss-cpu", "sentence-transformers", "transformers", "torch")
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = ""
    return out


def target_manifest(embedder: Embedder, params: ChunkParams, prefixes: tuple[str, str]) -> Manifest:
    """The manifest fields an index must have to be used with this embedder and chunking."""
    return Manifest(
        format_version=FORMAT_VERSION,
        embedder_id=embedder.model_id,
        dim=embedder.dim,
        query_prefix=prefixes[0],
        passage_prefix=prefixes[1],
        chunking=asdict(params),
        corpus_hash="",
        n_docs=0,
        n_chunks=0,
    )


def corpus_hash(documents: Iterable[Document]) -> str:
    import hashlib

    h = hashlib.sha256()
    for d in sorted(documents, key=lambda d: d.doc_id):
        h.update(f"{d.doc_id}\0{d.content_hash}\n".encode())
    return h.hexdigest()


def passage_text(title: str, chunk_text: str) -> str:
    """What is embedded for a chunk: the article title, then the passage."""
    return f"{title}\n{chunk_text}" if title else chunk_text


# --------------------------------------------------------------------------- reading


class IndexStore:
    """A loaded, read-only index. Safe to share between threads."""

    def __init__(self, folder: Path, manifest: Manifest) -> None:
        self.folder = folder
        self.manifest = manifest
        try:
            self._faiss = faiss.read_index(str(folder / "faiss.index"))
            self._db = sqlite3.connect(f"file:{folder / 'chunks.sqlite'}?mode=ro", uri=True, check_same_thread=False)
            self._docs = {row[0]: DocMeta(*row) for row in self._db.execute(
                "SELECT doc_id, title, date, url, lang, source FROM docs ORDER BY doc_id")}
        except (RuntimeError, sqlite3.Error) as exc:
            raise IndexError_(
                f"the index in {folder} is corrupt ({exc}). Rebuild it with `python -m rag build`."
            ) from exc
        if self._faiss.ntotal != manifest.n_chunks:
            raise IndexError_(
                f"the index in {folder} holds {self._faiss.ntotal} vectors but its manifest says "
                f"{manifest.n_chunks} chunks. Rebuild it with `python -m rag build`."
            )
        self._lock = threading.Lock()

    @classmethod
    def load(cls, index_dir: Path, expected: Manifest | None = None) -> IndexStore:
        folder = live_build(index_dir)
        if folder is None:
            raise IndexError_(
                f"no index found in {index_dir}. Build it with `python -m rag build` (or `make run`)."
            )
        manifest = read_manifest(folder)
        if expected is not None and not manifest.compatible_with(expected):
            diffs = [
                f"{k}: index has {getattr(manifest, k)!r}, settings want {getattr(expected, k)!r}"
                for k in ("format_version", "embedder_id", "dim", "query_prefix", "passage_prefix", "chunking")
                if getattr(manifest, k) != getattr(expected, k)
            ]
            raise IndexMismatchError(
                f"the index in {index_dir} was built with other settings ({'; '.join(diffs)}). "
                "Rebuild it with `python -m rag build --index "
                f"{index_dir}` using the current settings."
            )
        return cls(folder, manifest)

    def __len__(self) -> int:
        return self.manifest.n_chunks

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """Top-``k`` (row, inner product) pairs for one normalised query vector."""
        k = min(k, self.manifest.n_chunks)
        if k <= 0:
            return []
        scores, rows = self._faiss.search(np.asarray(query, dtype=np.float32).reshape(1, -1), k)
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if r >= 0]

    def chunks(self, rows: Sequence[int]) -> list[Chunk]:
        if not rows:
            return []
        marks = ",".join("?" * len(rows))
        with self._lock:
            found = {r[0]: r[1:] for r in self._db.execute(
                f"SELECT row, chunk_id, doc_id, text, start, end, lang FROM chunks WHERE row IN ({marks})",
                list(rows))}
        return [Chunk(*found[r]) for r in rows if r in found]

    def chunk(self, row: int) -> Chunk:
        return self.chunks([row])[0]

    def doc(self, doc_id: str) -> DocMeta:
        return self._docs[doc_id]

    def docs(self) -> list[DocMeta]:
        return list(self._docs.values())

    def doc_chunk_counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._db.execute("SELECT doc_id, COUNT(*) FROM chunks GROUP BY doc_id"))

    def doc_text(self, doc_id: str) -> str:
        with self._lock:
            row = self._db.execute("SELECT text FROM docs WHERE doc_id = ?", (doc_id,)).fetchone()
        return row[0] if row else ""

    def doc_rows(self, doc_id: str) -> list[int]:
        with self._lock:
            return [r[0] for r in self._db.execute(
                "SELECT row FROM chunks WHERE doc_id = ? ORDER BY row", (doc_id,))]

    def vectors(self) -> np.ndarray:
        return np.load(self.folder / "vectors.npy", mmap_mode="r")

    def close(self) -> None:
        self._db.close()


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


# --------------------------------------------------------------------------- building


def build_index(
    documents: Sequence[Document],
    embedder: Embedder,
    index_dir: Path,
    params: ChunkParams,
    prefixes: tuple[str, str] = ("query: ", "passage: "),
    progress: bool = True,
    on_progress: Callable[[int, int], None] | None = None,
) -> BuildReport:
    """Build or update the index in ``index_dir`` for ``documents`` (the whole corpus)."""
    t0 = time.perf_counter()
    index_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(index_dir / ".lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise IndexLockedError(
            f"another build is running on {index_dir} (lock {index_dir / '.lock'} is held). "
            "Wait for it to finish, then try again."
        ) from None
    try:
        return _build_locked(documents, embedder, index_dir, params, prefixes, progress, on_progress, t0)
    finally:
        lock.release()


def _previous(index_dir: Path, target: Manifest) -> tuple[Manifest | None, dict, np.ndarray | None, Path | None]:
    """The live build's manifest, per-doc (hash, chunks, rows) and vectors, if compatible."""
    folder = live_build(index_dir)
    if folder is None:
        return None, {}, None, None
    try:
        manifest = read_manifest(folder)
    except IndexError_:
        return None, {}, None, None
    if not manifest.compatible_with(target):
        return manifest, {}, None, folder
    try:
        db = sqlite3.connect(f"file:{folder / 'chunks.sqlite'}?mode=ro", uri=True)
        docs: dict[str, tuple[str, list[Chunk], list[int]]] = {
            doc_id: (h, [], []) for doc_id, h in db.execute("SELECT doc_id, content_hash FROM docs")
        }
        for row, *fields in db.execute("SELECT row, chunk_id, doc_id, text, start, end, lang FROM chunks ORDER BY row"):
            chunk = Chunk(*fields)
            docs[chunk.doc_id][1].append(chunk)
            docs[chunk.doc_id][2].append(row)
        db.close()
        vectors = np.load(folder / "vectors.npy")
    except (sqlite3.Error, OSError, ValueError, KeyError):
        return manifest, {}, None, folder  # unreadable previous build: embed everything
    return manifest, docs, vectors, folder


def _build_locked(documents, embedder, index_dir, params, prefixes, progress, on_progress, t0) -> BuildReport:
    from tqdm import tqdm

    target = target_manifest(embedder, params, prefixes)
    chash = corpus_hash(documents)
    prev_manifest, prev_docs, prev_vectors, prev_folder = _previous(index_dir, target)
    ids = [d.doc_id for d in documents]
    removed = tuple(sorted(set(prev_docs) - set(ids)))
    if (
        prev_manifest is not None
        and prev_manifest.compatible_with(target)
        and prev_manifest.corpus_hash == chash
        and prev_vectors is not None
    ):
        return BuildReport(len(documents), prev_manifest.n_chunks, 0, prev_manifest.n_chunks, (), (),
                           time.perf_counter() - t0, 0.0, up_to_date=True)

    # decide per document: reuse or (re)chunk
    plan: list[tuple[Document, list[Chunk], list[int] | None]] = []
    changed = []
    for doc in documents:
        old = prev_docs.get(doc.doc_id)
        if old is not None and old[0] == doc.content_hash and prev_vectors is not None:
            plan.append((doc, old[1], old[2]))
        else:
            plan.append((doc, chunk_document(doc, embedder.count_tokens, params), None))
            changed.append(doc.doc_id)

    to_embed = [(doc, c) for doc, chunks, rows in plan if rows is None for c in chunks]
    new_vectors = np.zeros((len(to_embed), embedder.dim), dtype=np.float32)
    te = time.perf_counter()
    bar = tqdm(total=len(to_embed), desc=f"embedding {len(changed)} documents", unit="chunk",
               disable=not progress or not to_embed)
    for i in range(0, len(to_embed), _EMBED_GROUP):
        group = to_embed[i : i + _EMBED_GROUP]
        new_vectors[i : i + len(group)] = embedder.embed(
            [passage_text(doc.meta.title, c.text) for doc, c in group], kind="passage")
        bar.update(len(group))
        if on_progress:
            on_progress(i + len(group), len(to_embed))
    bar.close()
    embed_seconds = time.perf_counter() - te

    all_chunks: list[Chunk] = []
    parts: list[np.ndarray] = []
    k = 0
    for _doc, chunks, rows in plan:
        all_chunks.extend(chunks)
        if rows is None:
            parts.append(new_vectors[k : k + len(chunks)])
            k += len(chunks)
        else:
            assert prev_vectors is not None
            parts.append(prev_vectors[rows])
    vectors = np.vstack(parts) if parts else np.zeros((0, embedder.dim), dtype=np.float32)

    manifest = Manifest(**{**asdict(target), "corpus_hash": chash, "n_docs": len(documents),
                           "n_chunks": len(all_chunks), "versions": library_versions(),
                           "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    folder = _write_build(index_dir, documents, all_chunks, vectors, manifest)
    _swap(index_dir, folder)
    _cleanup(index_dir, keep=folder)
    return BuildReport(len(documents), len(all_chunks), len(to_embed), len(all_chunks) - len(to_embed),
                       removed, tuple(changed), time.perf_counter() - t0, embed_seconds)


def _write_build(index_dir: Path, documents, chunks: list[Chunk], vectors: np.ndarray, manifest: Manifest) -> Path:
    builds = index_dir / "builds"
    builds.mkdir(exist_ok=True)
    folder = builds / f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{time.monotonic_ns() % 10**6}"
    folder.mkdir()
    db = sqlite3.connect(folder / "chunks.sqlite")
    db.executescript(
        "CREATE TABLE docs (doc_id TEXT PRIMARY KEY, title TEXT, date TEXT, url TEXT, lang TEXT,"
        " source TEXT, content_hash TEXT, text TEXT);"
        "CREATE TABLE chunks (row INTEGER PRIMARY KEY, chunk_id TEXT UNIQUE, doc_id TEXT, text TEXT,"
        " start INTEGER, end INTEGER, lang TEXT);"
        "CREATE INDEX chunks_doc ON chunks(doc_id);"
    )
    db.executemany(
        "INSERT INTO docs VALUES (?,?,?,?,?,?,?,?)",
        [(d.doc_id, d.meta.title, d.meta.date, d.meta.url, d.meta.lang, d.meta.source, d.content_hash, d.text)
         for d in documents],
    )
    db.executemany(
        "INSERT INTO chunks VALUES (?,?,?,?,?,?,?)",
        [(i, c.chunk_id, c.doc_id, c.text, c.start, c.end, c.lang) for i, c in enumerate(chunks)],
    )
    db.commit()
    db.close()
    np.save(folder / "vectors.npy", vectors)
    index = faiss.IndexFlatIP(manifest.dim)
    if len(vectors):
        index.add(vectors)
    faiss.write_index(index, str(folder / "faiss.index"))
    _fsync_dir_files(folder)
    (folder / "manifest.json").write_text(json.dumps(asdict(manifest), ensure_ascii=False, indent=2), "utf-8")
    _fsync_dir_files(folder)
    return folder


def _fsync_dir_files(folder: Path) -> None:
    for p in folder.iterdir():
        if p.is_file():
            with open(p, "rb") as f:
                os.fsync(f.fileno())


def _swap(index_dir: Path, folder: Path) -> None:
    tmp = index_dir / f".current-{os.getpid()}"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(folder.relative_to(index_dir))
    os.replace(tmp, index_dir / "current")


def _cleanup(index_dir: Path, keep: Path) -> None:
    """Remove builds other than ``keep`` (and unfinished ones left by crashes)."""
    for p in (index_dir / "builds").iterdir():
        if p.resolve() != keep.resolve():
            shutil.rmtree(p, ignore_errors=True)
