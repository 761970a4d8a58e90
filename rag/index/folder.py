"""A build folder being written: the live build it starts from, articles put in, vectors appended.

    open_live(index_dir)        the live build (manifest, article hashes, whether it loads whole)
    in_place_ok(live, target)   whether a build may start from it (same settings, few holes)
    BuildFolder(...)            put / put_live / delete articles, flush vectors, langs()

Used by ``rag.index.build`` (see its docstring for the two ways of building) through
``rag.index.changes``; the stages that end a build (vector stores, BM25, manifest, swap) are
``rag.index.finish``. Does not decide what to build nor write the vector stores.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import os
import shutil
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.errors import IndexError_
from rag.index.bm25 import KeywordIndex
from rag.index.chunking import ChunkParams, chunk_document
from rag.index.manifest import Manifest, hash_pairs, live_build, passage_text, read_manifest, text_key
from rag.index.reuse import ResumeLog, VectorCache, vector_sources
from rag.index.spec import VectorOptions
from rag.index.store import SPACES, IndexStore
from rag.models.embedding import Embedder
from rag.text.tokens import tokenize
from rag.types import DocMeta, Document

EMBED_GROUP = 256  # passages per embedding call, resume-log append and progress step
# a full build (compaction) replaces in-place updates once deleted rows outnumber live ones and this
COMPACT_FLOOR = 1_000
SCHEMA = (
    "CREATE TABLE docs (doc_id TEXT PRIMARY KEY, title TEXT, date TEXT, url TEXT, lang TEXT,"
    " source TEXT, content_hash TEXT, text TEXT);"
    "CREATE TABLE chunks (row INTEGER PRIMARY KEY, chunk_id TEXT UNIQUE, doc_id TEXT, text TEXT,"
    " start INTEGER, end INTEGER, lang TEXT);"
    "CREATE INDEX chunks_doc ON chunks(doc_id);"
)


@dataclass
class Live:
    folder: Path
    manifest: Manifest
    hashes: dict[str, str]  # doc_id -> content hash
    whole: bool  # it loads as a whole (a damaged one is rebuilt from scratch)


def open_live(index_dir: Path) -> Live | None:
    folder = live_build(index_dir)
    if folder is None:
        return None
    try:
        manifest = read_manifest(folder)
        db = sqlite3.connect(f"file:{folder / 'chunks.sqlite'}?mode=ro", uri=True)
        hashes = dict(db.execute("SELECT doc_id, content_hash FROM docs"))
        db.close()
    except (IndexError_, sqlite3.Error):
        return None
    try:
        IndexStore.load(index_dir).close()
        whole = True
    except IndexError_:
        whole = False
    return Live(folder, manifest, hashes, whole)


def same_shape(m: Manifest, target: Manifest) -> bool:
    return m.compatible_with(target) and m.tokenizer == target.tokenizer and m.backend == target.backend


def in_place_ok(live: Live | None, target: Manifest) -> bool:
    m = live.manifest if live else None
    return bool(
        live
        and m
        and live.whole
        and same_shape(m, target)
        and m.encoder2_id == target.encoder2_id
        and m.n_rows - m.n_chunks <= max(COMPACT_FLOOR, m.n_chunks)
    )


def _glibc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") else None


_LIBC = _glibc()


def release_freed_memory() -> bool:
    """Give the memory freed after a forward pass back to the system (glibc's ``malloc_trim``;
    False elsewhere). torch's tensors of changing shapes leave glibc's heap holding freed memory:
    without this, a 60,000-article e5 build grew by about 18 KiB an article, reaching 3,939 MiB
    at 50,000 articles, on course to pass 4 GiB; 800 articles ended at 1,916 MiB without it and
    1,315 MiB with it."""
    if _LIBC is None:
        return False
    _LIBC.malloc_trim(0)
    return True


class BuildFolder:
    """The new build folder being written (``rag.index.build`` docstring: in place or full)."""

    def __init__(
        self,
        index_dir: Path,
        target: Manifest,
        live: Live | None,
        in_place: bool,
        encoders: dict[str, Embedder],
        params: ChunkParams,
        options: VectorOptions,
    ) -> None:
        self.index_dir, self.target, self.live, self.in_place = index_dir, target, live, in_place
        self.encoders, self.params, self.options = encoders, params, options
        self.dims = {s: e.dim for s, e in encoders.items()}
        builds = index_dir / "builds"
        builds.mkdir(exist_ok=True)
        self.folder = builds / f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{time.monotonic_ns() % 10**6}"
        self.folder.mkdir()
        files = ["keys.u64", *(SPACES[s][0] for s in encoders)]
        if in_place:
            assert live is not None
            self.next_row = live.manifest.n_rows
            shutil.copyfile(live.folder / "chunks.sqlite", self.folder / "chunks.sqlite")
            for name in files:  # shared and append-only: cut what a killed build appended, then append
                os.link(live.folder / name, self.folder / name)
                space = "e5" if name == "vectors.f32" else "encoder2"
                width = 8 if name == "keys.u64" else 4 * self.dims[space]
                os.truncate(self.folder / name, self.next_row * width)
            keyword = KeywordIndex.load(live.folder / "bm25")
        else:
            self.next_row = 0
            keyword = KeywordIndex.empty()
        self.db = sqlite3.connect(self.folder / "chunks.sqlite")
        # no journal: a build that fails is thrown away whole
        self.db.executescript(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + ("" if in_place else SCHEMA)
        )
        self.start_row = self.next_row
        self.keyword = keyword.update()
        self.out = {name: open(self.folder / name, "ab") for name in files}  # noqa: SIM115 - closed by close()
        key = hashlib.sha256(
            repr((target.embedder_id, target.dim, target.passage_prefix, target.encoder2_id)).encode()
        ).hexdigest()[:16]
        self.log = ResumeLog(index_dir / ".resume" / key, self.dims)
        self.cache = VectorCache([*vector_sources(live, target), self.log.source()])
        self.pending: list[tuple[int, str, str]] = []  # (row, text to embed, lang)
        self.added: list[tuple[int, str]] = []  # (row, lang) of every chunk written
        self.removed: list[int] = []
        self.embedded, self.embed_seconds = 0, 0.0

    def put(self, doc: Document) -> None:
        """Chunk, tokenise and queue ``doc`` for embedding (its id must not be in the build)."""
        m = doc.meta
        self.db.execute(
            "INSERT INTO docs VALUES (?,?,?,?,?,?,?,?)",
            (m.doc_id, m.title, m.date, m.url, m.lang, m.source, doc.content_hash, doc.text),
        )
        for c in chunk_document(doc, self.encoders["e5"].count_tokens, self.params):
            row, self.next_row = self.next_row, self.next_row + 1
            self.db.execute(
                "INSERT INTO chunks VALUES (?,?,?,?,?,?,?)",
                (row, c.chunk_id, c.doc_id, c.text, c.start, c.end, c.lang),
            )
            text = passage_text(m.title, c.text)
            self.keyword.add(row, tokenize(text))
            self.pending.append((row, text, c.lang))
        if len(self.pending) >= EMBED_GROUP:
            self.flush()

    def put_live(self, doc_ids: Sequence[str]) -> None:
        """``put`` articles as the live build stores them (a full build started mid-stream)."""
        assert self.live is not None
        db = sqlite3.connect(f"file:{self.live.folder / 'chunks.sqlite'}?mode=ro", uri=True)
        for start in range(0, len(doc_ids), 500):
            part = list(doc_ids[start : start + 500])
            query = (
                "SELECT doc_id, title, date, url, lang, source, content_hash, text FROM docs "
                f"WHERE doc_id IN ({','.join('?' * len(part))})"
            )
            for *meta, content_hash, text in db.execute(query, part):
                self.put(Document(DocMeta(*meta), text, content_hash))
        db.close()

    def delete(self, doc_id: str) -> None:
        rows = [r for (r,) in self.db.execute("SELECT row FROM chunks WHERE doc_id = ?", (doc_id,))]
        self.db.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
        self.db.execute("DELETE FROM docs WHERE doc_id = ?", (doc_id,))
        self.removed.extend(rows)
        self.keyword.remove(rows)

    def flush(self) -> None:
        """Vectors of the queued passages: reused where known, else embedded; appended in row order."""
        if not self.pending:
            return
        rows, texts, langs = zip(*self.pending, strict=True)
        keys = np.fromiter((text_key(t) for t in texts), dtype=np.uint64, count=len(texts))
        vectors, fresh = {}, np.zeros(len(texts), dtype=bool)
        t0 = time.perf_counter()
        for space, encoder in self.encoders.items():
            found, vectors[space] = self.cache.lookup(keys, space, encoder.dim)
            miss = np.flatnonzero(~found)
            if len(miss):
                vectors[space][miss] = encoder.embed([texts[i] for i in miss], kind="passage")
                fresh[miss] = True
            if space == "e5":
                self.embedded += len(miss)
        embedded_any = bool(fresh.any())
        if embedded_any:
            release_freed_memory()
        self.embed_seconds += time.perf_counter() - t0
        if embedded_any:
            self.log.append(keys[fresh], {s: v[fresh] for s, v in vectors.items()})
        for space, v in vectors.items():
            self.out[SPACES[space][0]].write(np.ascontiguousarray(v, dtype=np.float32).tobytes())
        self.out["keys.u64"].write(keys.tobytes())
        self.added.extend(zip(rows, langs, strict=True))
        self.pending.clear()

    def langs(self) -> np.ndarray:
        """Language of every row of the new build ("" for deleted rows)."""
        out = np.zeros(self.next_row, dtype="<U8")
        if self.in_place:
            for row, lang in self.db.execute("SELECT row, lang FROM chunks WHERE row < ?", (self.start_row,)):
                out[row] = lang
        for row, lang in self.added:
            out[row] = lang
        return out

    def close(self) -> None:
        """Write out what is queued and close the files; sets ``counts``, ``corpus_hash``, ``row_langs``."""
        self.flush()
        for f in self.out.values():
            f.close()
        self.db.commit()
        self.counts = tuple(
            self.db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("docs", "chunks")
        )
        self.corpus_hash = hash_pairs(self.db.execute("SELECT doc_id, content_hash FROM docs"))
        self.row_langs = self.langs()
        self.db.close()

    def discard(self) -> None:
        """Give up this build (nothing changed): close and delete its folder."""
        for f in self.out.values():
            f.close()
        self.db.close()
        shutil.rmtree(self.folder, ignore_errors=True)
