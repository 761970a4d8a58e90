"""Vectors already embedded, found by the hash of their text: nothing is embedded twice.

    VectorCache(sources)         lookup(keys, space) -> (found mask, vectors of the found keys)
    ResumeLog(folder)            what an unfinished build embedded, appended batch by batch
    vector_sources(live, target) the live build's vectors as a source, when made by the same embedders

A source is (keys, {space: vectors}) with ``keys[i]`` the ``rag.index.manifest.text_key`` of the
text whose vector is row ``i``: the live build's ``keys.u64`` and vector files, the rows of an
older (format 2) build keyed from its SQLite text, and the resume log. A build that is killed
leaves its log in ``index_dir/.resume/<key>/``; the next build with the same embedders reads it
back, so an interrupted build of 60,000 articles resumes where it stopped.

Does not embed and does not decide what to embed.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rag.arrays import map_npy
from rag.index.manifest import Manifest, passage_text, text_key
from rag.index.store import map_vectors

if TYPE_CHECKING:
    from rag.index.folder import Live

Source = tuple[np.ndarray, Mapping[str, np.ndarray]]


class VectorCache:
    """Lookup of vectors by text key over several sources (sorted keys, no Python dict)."""

    def __init__(self, sources: list[Source]) -> None:
        self._sources = sources
        keys = [np.asarray(k, dtype=np.uint64) for k, _ in sources]
        self._keys = np.concatenate(keys) if keys else np.zeros(0, dtype=np.uint64)
        self._src = (
            np.concatenate([np.full(len(k), i, dtype=np.int32) for i, k in enumerate(keys)])
            if keys
            else np.zeros(0, dtype=np.int32)
        )
        self._row = (
            np.concatenate([np.arange(len(k), dtype=np.int64) for k in keys])
            if keys
            else np.zeros(0, dtype=np.int64)
        )
        order = np.argsort(self._keys, kind="stable")
        self._keys, self._src, self._row = self._keys[order], self._src[order], self._row[order]

    def lookup(self, keys: np.ndarray, space: str, dim: int) -> tuple[np.ndarray, np.ndarray]:
        """(found, vectors): ``vectors[found]`` holds the vectors of the found keys, in order."""
        keys = np.asarray(keys, dtype=np.uint64)
        out = np.zeros((len(keys), dim), dtype=np.float32)
        found = np.zeros(len(keys), dtype=bool)
        if not len(self._keys) or not len(keys):
            return found, out
        pos = np.minimum(np.searchsorted(self._keys, keys), len(self._keys) - 1)
        hit = self._keys[pos] == keys
        for i in np.flatnonzero(hit):  # a few hundred per batch; sources differ per key
            src, row = self._src[pos[i]], self._row[pos[i]]
            vectors = self._sources[src][1].get(space)
            if vectors is not None and row < len(vectors):
                out[i], found[i] = vectors[row], True
        return found, out


class ResumeLog:
    """Append-only files ``keys.u64`` and ``<space>.f32``; a torn last batch is cut off on open."""

    def __init__(self, folder: Path, dims: Mapping[str, int]) -> None:
        self.folder, self.dims = folder, dict(dims)
        folder.mkdir(parents=True, exist_ok=True)
        sizes = [self._size("keys.u64") // 8]
        sizes += [self._size(f"{s}.f32") // (4 * d) for s, d in self.dims.items()]
        self.n = min(sizes)
        for name, width in [("keys.u64", 8), *((f"{s}.f32", 4 * d) for s, d in self.dims.items())]:
            os.truncate(folder / name, self.n * width)

    def _size(self, name: str) -> int:
        path = self.folder / name
        path.touch()
        return path.stat().st_size

    def source(self) -> Source:
        keys = np.fromfile(self.folder / "keys.u64", dtype=np.uint64, count=self.n)
        vectors = {
            s: np.memmap(self.folder / f"{s}.f32", dtype=np.float32, mode="r", shape=(self.n, d))
            for s, d in self.dims.items()
            if self.n
        }
        return keys, vectors

    def append(self, keys: np.ndarray, vectors: Mapping[str, np.ndarray]) -> None:
        """Vectors first, keys last: a key on disk always has its vectors."""
        for space in self.dims:
            with open(self.folder / f"{space}.f32", "ab") as f:
                f.write(np.ascontiguousarray(vectors[space], dtype=np.float32).tobytes())
        with open(self.folder / "keys.u64", "ab") as f:
            f.write(np.asarray(keys, dtype=np.uint64).tobytes())


def vector_sources(live: Live | None, target: Manifest) -> list[Source]:
    """The live build's vectors by text key, when made by the same embedders."""
    if live is None or not live.manifest.same_vectors(target):
        return []
    m, folder = live.manifest, live.folder
    same2 = bool(target.encoder2_id) and m.encoder2_id == target.encoder2_id
    try:
        if m.format_version >= 3:
            keys = np.fromfile(folder / "keys.u64", dtype=np.uint64, count=m.n_rows)
            vectors = {"e5": map_vectors(folder / "vectors.f32", m.n_rows, m.dim)}
            if same2:
                vectors["encoder2"] = map_vectors(folder / "vectors2.f32", m.n_rows, m.dim2)
        else:  # format 2: dense rows, text in SQLite
            db = sqlite3.connect(f"file:{folder / 'chunks.sqlite'}?mode=ro", uri=True)
            rows = db.execute(
                "SELECT d.title, c.text FROM chunks c JOIN docs d USING (doc_id) ORDER BY c.row"
            )
            keys = np.array([text_key(passage_text(t, x)) for t, x in rows], dtype=np.uint64)
            db.close()
            vectors = {"e5": map_npy(folder / "vectors.npy")}
            if same2:
                vectors["encoder2"] = map_npy(folder / "vectors2.npy")
    except (OSError, ValueError, sqlite3.Error):
        return []
    return [(keys, vectors)]
