"""A loaded, read-only index: vector search, BM25, chunk and article text (``IndexStore``).

Everything is opened when it loads (the FAISS stores and the BM25 postings read or mapped, the
vector files mapped, the SQLite file open), so a store keeps answering after a newer build has
replaced and deleted its folder: questions that started on it finish on it.

Row ids may have holes (chunks deleted by incremental builds): ``row_langs[row]`` is "" there,
and searches never return such rows, nor rows a newer build added to a shared Milvus collection.

Does not build or change the index (``rag.index.build``).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rag.errors import IndexError_, IndexMismatchError
from rag.index.bm25 import KeywordIndex
from rag.index.manifest import FORMAT_VERSION, Manifest, live_build, passage_text, read_manifest
from rag.index.vectors import FaissStore, VectorStore, search_threads
from rag.types import Chunk, DocMeta

SPACES = {"e5": ("vectors.f32", "faiss.index"), "encoder2": ("vectors2.f32", "faiss2.index")}
_REBUILD = "Rebuild it with `python -m rag build`."


def map_vectors(path: Path, rows: int, dim: int) -> np.ndarray:
    """The first ``rows`` rows of a vectors file, mapped read-only (a later build may have
    appended more to the same file)."""
    if rows == 0:
        return np.zeros((0, dim), dtype=np.float32)
    if path.stat().st_size < rows * dim * 4:
        raise ValueError(f"{path.name} holds fewer than {rows} rows")
    return np.memmap(path, dtype=np.float32, mode="r", shape=(rows, dim))


def open_vector_store(folder: Path, space: str, manifest: Manifest, langs: np.ndarray) -> VectorStore:
    """The store of ``space`` ("e5" or "encoder2") of the build in ``folder``."""
    record = manifest.vectors.get(space, {})
    dim = manifest.dim if space == "e5" else manifest.dim2
    if manifest.backend == "milvus":
        from rag.index.milvus import MilvusStore, resolve_uri

        uri = resolve_uri(record.get("uri", ""), folder.parent.parent)  # relative to the index folder
        return MilvusStore(uri, record["collection"], dim)
    info = {k: v for k, v in record.items() if k not in ("backend", "type")}
    return FaissStore.load(folder / SPACES[space][1], dim, langs, info)


class IndexStore:
    """A loaded, read-only index. Safe to share between threads."""

    def __init__(self, folder: Path, manifest: Manifest) -> None:
        search_threads()  # process-wide: searches answer one question each
        self.folder = folder
        self.manifest = manifest
        m = manifest
        try:
            self._db = sqlite3.connect(
                f"file:{folder / 'chunks.sqlite'}?mode=ro", uri=True, check_same_thread=False
            )
            self._docs = {
                row[0]: DocMeta(*row)
                for row in self._db.execute(
                    "SELECT doc_id, title, date, url, lang, source FROM docs ORDER BY doc_id"
                )
            }
            langs = np.zeros(m.n_rows, dtype="<U8")
            for row, lang in self._db.execute("SELECT row, lang FROM chunks"):
                langs[row] = lang
            self.keyword = KeywordIndex.load(folder / "bm25") if m.tokenizer else None
            spaces = ["e5", "encoder2"] if m.encoder2_id else ["e5"]
            self._vectors = {
                s: map_vectors(folder / SPACES[s][0], m.n_rows, m.dim if s == "e5" else m.dim2)
                for s in spaces
            }
            self._stores = {s: open_vector_store(folder, s, m, langs) for s in spaces}
        except (RuntimeError, sqlite3.Error, OSError, ValueError, KeyError, IndexError) as exc:
            raise IndexError_(f"the index in {folder} is corrupt ({exc}). {_REBUILD}") from exc
        live = int(np.count_nonzero(langs))
        counts = [live]
        counts += [self.keyword.n_alive] if self.keyword is not None else []
        if m.backend == "faiss":
            counts += [len(s) for s in self._stores.values()]
        if any(n != m.n_chunks for n in counts):
            raise IndexError_(
                f"the index in {folder} holds {'/'.join(map(str, counts))} chunks/rows/vectors but its "
                f"manifest says {m.n_chunks} chunks. {_REBUILD}"
            )
        self.row_langs = langs  # language of each chunk row ("" for a deleted row)
        self._langs = sorted(set(langs[langs != ""].tolist()))
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
        keys = (
            "format_version",
            "embedder_id",
            "dim",
            "query_prefix",
            "passage_prefix",
            "chunking",
            "tokenizer",
        )
        want = expected or Manifest(FORMAT_VERSION, "", 0, "", "", {}, "", 0, 0)
        diffs = [
            f"{k}: index has {getattr(manifest, k)!r}, settings want {getattr(want, k)!r}"
            for k in (keys if expected is not None else ("format_version",))
            if getattr(manifest, k) != getattr(want, k)
        ]
        if diffs:
            raise IndexMismatchError(
                f"the index in {index_dir} was built with other settings or an older version "
                f"({'; '.join(diffs)}). Rebuild it with `python -m rag build --index {index_dir}` "
                "using the current settings (vectors of unchanged text are reused)."
            )
        return cls(folder, manifest)

    def __len__(self) -> int:
        return self.manifest.n_chunks

    @property
    def langs(self) -> list[str]:
        """Languages of the chunks, e.g. ``["en", "zh"]``."""
        return list(self._langs)

    @property
    def has_encoder2(self) -> bool:
        return "encoder2" in self._stores

    def vector_store(self, space: str = "e5") -> VectorStore:
        return self._stores[space]

    def search(
        self, query: np.ndarray, k: int, lang: str | None = None, space: str = "e5"
    ) -> list[tuple[int, float]]:
        """Top-``k`` (row, inner product) pairs for one normalised query vector.

        ``lang`` limits the search to chunks in that language; ``space="encoder2"`` searches
        the second encoder's vectors.
        """
        store = self._stores.get(space)
        k = min(k, self.manifest.n_chunks)
        if k <= 0 or store is None or (lang is not None and lang not in self._langs):
            return []
        scores, rows = store.search(np.asarray(query, dtype=np.float32).reshape(1, -1), k, lang)
        n = len(self.row_langs)
        return [
            (int(r), float(s))
            for r, s in zip(rows[0], scores[0], strict=True)
            if 0 <= r < n and self.row_langs[r]
        ]

    def similarities(self, query: np.ndarray, rows: Sequence[int], space: str = "e5") -> np.ndarray:
        """Inner products of the stored vectors of ``rows`` with ``query`` (exact, any rows)."""
        vectors = self._vectors[space]
        if not len(rows):
            return np.zeros(0, dtype=np.float32)
        return np.asarray(vectors[np.asarray(rows)], dtype=np.float32) @ np.asarray(query, dtype=np.float32)

    def chunks(self, rows: Sequence[int]) -> list[Chunk]:
        if not rows:
            return []
        marks = ",".join("?" * len(rows))
        query = f"SELECT row, chunk_id, doc_id, text, start, end, lang FROM chunks WHERE row IN ({marks})"
        with self._lock:
            found = {r[0]: r[1:] for r in self._db.execute(query, [int(r) for r in rows])}
        return [Chunk(*found[r]) for r in rows if r in found]

    def chunk(self, row: int) -> Chunk:
        return self.chunks([row])[0]

    def chunk_tokens(self, rows: Sequence[int]) -> list[list[str]]:
        """The keyword tokens of ``rows`` (tokenised again: the index keeps only their postings)."""
        from rag.text.tokens import tokenize

        return [tokenize(passage_text(self.doc(c.doc_id).title, c.text)) for c in self.chunks(rows)]

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
            return [
                r[0]
                for r in self._db.execute("SELECT row FROM chunks WHERE doc_id = ? ORDER BY row", (doc_id,))
            ]

    def vectors(self, space: str = "e5") -> np.ndarray:
        """The vectors, one row per row id (deleted rows included; read-only, mapped)."""
        return self._vectors[space]

    def close(self) -> None:
        self._db.close()
