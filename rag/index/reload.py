"""A loaded index kept answering while builds replace it, and the newer live build loaded in its place.

    detach(store)                  touch a loaded store's files once, so it outlives its folder
    load_newer(index_dir, store)   the live build, loaded and detached, when it is not ``store``'s

``Pipeline.reload()`` uses ``load_newer`` and swaps its store in one attribute assignment: questions
already running keep the store they started with. The chat server detaches the store it loads,
since a build (the articles tab's, or ``python -m rag add`` in another process) deletes the
previous build's folder.

Does not build (``rag.index.build``) nor change the corpus folder (``rag.ingest.corpus``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rag.index.manifest import live_build
from rag.index.store import IndexStore


def detach(store: IndexStore) -> IndexStore:
    """Check that the store answers without its folder's files being opened again.

    ``rag.index.build`` keeps only the newest build; a loaded store holds its FAISS index, BM25 matrix,
    SQLite connection and vector mappings from the moment it loads (a mapping, like an open file,
    outlives the file's deletion), so this only touches them once.
    """
    store.similarities(np.zeros(store.manifest.dim, dtype=np.float32), [])
    if store.manifest.encoder2_id:
        store.similarities(np.zeros(store.manifest.dim2, dtype=np.float32), [], space="encoder2")
    return store


def load_newer(index_dir: Path, store: IndexStore) -> IndexStore | None:
    """The live build of ``index_dir``, loaded and detached, when it is not the one ``store`` was
    loaded from (a build since); None when it is, or when there is none.

    The new build must be compatible with ``store``'s (same embedder, chunking...: IndexError_
    otherwise), which it is when it was built with the same settings."""
    live = live_build(index_dir)
    if live is None or live == store.folder.resolve():
        return None
    return detach(IndexStore.load(index_dir, store.manifest))
