"""Vector stores: the vectors of one embedding space, searched by inner product, under stable ids.

    VectorStore          the protocol the index uses: add / remove / search / save / describe
    FaissStore           the embedded default: exact ``IndexFlatIP`` while the store is small,
                         ``IndexIVFFlat`` above ``VectorOptions.exact_max`` vectors
    fit(store, ...)      after a build: switch the FAISS type by size, tune ``nprobe``, record recall
    VectorOptions        the settings of the store (``rag.index.spec``); the recall measures are
                         ``rag.index.recall``

Ids are the index's chunk rows; each vector carries its chunk's language so that a question is
searched within one language (a bitmap selector in FAISS, a filter in Milvus, ``rag.index.milvus``).

Why IVF and not HNSW: FAISS cannot delete from an HNSW graph (``remove_ids`` is not implemented,
with or without ``IndexIDMap2``), and HNSW loses recall under a selective filter (the English
chunks of a mostly Chinese corpus); IVF lists do both, train in seconds, and reach the recall
target by scanning more lists. ``nprobe`` is raised (1, 2, 4, ...) until recall@10 against exact
search reaches ``recall_target`` on normalised midpoints of stored vectors and on question-like
probes the caller embeds (``rag.index.finish.question_probes``); type, parameters and the measured
recalls go into the index manifest.

Does not embed, and does not know about chunks, files other than its own, or SQLite.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

import faiss
import numpy as np

from rag.index.recall import RECALL_K, exact_top_k, recall_at_k, recall_sample
from rag.index.spec import VectorOptions


def search_threads() -> None:
    """One OpenMP thread for FAISS: a search is one question, and on 2 cores where the generator or
    another question holds the other core, two threads wait for each other (measured: exact search
    of 50,000 vectors 5.9 ms with one thread, 32 ms with two while the other core was busy)."""
    faiss.omp_set_num_threads(1)


@contextmanager
def build_threads() -> Iterator[None]:
    """All cores for training, adding and measuring (batch work), then back to one."""
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    try:
        yield
    finally:
        search_threads()


class VectorStore(Protocol):
    """What the index needs from a vector store; rows of ``vectors`` are L2-normalised float32."""

    dim: int

    def __len__(self) -> int: ...

    def add(self, ids: np.ndarray, vectors: np.ndarray, langs: Sequence[str]) -> None: ...

    def remove(self, ids: np.ndarray) -> None: ...

    def search(self, queries: np.ndarray, k: int, lang: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids) of shape (len(queries), k), best first; missing results have id -1."""
        ...

    def save(self, path: Path) -> None: ...

    def describe(self) -> dict: ...


# --------------------------------------------------------------------------- FAISS


class FaissStore:
    """A FAISS index over (id, vector, language); see the module docstring for the type choice."""

    def __init__(self, index: faiss.Index, dim: int, langs: np.ndarray, info: dict | None = None) -> None:
        self.index = index
        self.dim = dim
        self.langs = np.asarray(langs, dtype="<U8").copy()  # language per id; "" = no vector
        self.info = dict(info or {})  # what fit() measured: nprobe, recall, sizes
        self._selectors: dict[str, tuple[faiss.SearchParameters, np.ndarray, object] | None] = {}
        # One search at a time: concurrent searches of one index with per-language selectors
        # crashed (segmentation fault) with questions asked from several threads; a search takes ~1 ms.
        self._lock = threading.Lock()

    @classmethod
    def new(cls, dim: int) -> FaissStore:
        return cls(faiss.IndexIDMap2(faiss.IndexFlatIP(dim)), dim, np.zeros(0, dtype="<U8"))

    @classmethod
    def load(cls, path: Path, dim: int, langs: np.ndarray, info: dict | None = None) -> FaissStore:
        """The store saved at ``path``; ``langs`` (language per id, "" where none) comes from the
        index's chunk table."""
        return cls(faiss.read_index(str(path)), dim, langs, info)

    def __len__(self) -> int:
        return int(self.index.ntotal)

    @property
    def kind(self) -> str:
        return "IndexIVFFlat" if self._ivf is not None else "IndexFlatIP"

    @property
    def _ivf(self) -> faiss.IndexIVF | None:
        return faiss.try_extract_index_ivf(self.index) if isinstance(self.index, faiss.IndexIVF) else None

    def add(self, ids: np.ndarray, vectors: np.ndarray, langs: Sequence[str]) -> None:
        ids = np.asarray(ids, dtype=np.int64)
        if not len(ids):
            return
        if int(ids.max()) >= len(self.langs):
            grown = np.zeros(int(ids.max()) + 1, dtype="<U8")
            grown[: len(self.langs)] = self.langs
            self.langs = grown
        self.langs[ids] = np.asarray(langs, dtype="<U8")
        self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), ids)
        self._selectors.clear()

    def remove(self, ids: np.ndarray) -> None:
        ids = np.asarray([i for i in np.asarray(ids, dtype=np.int64) if i < len(self.langs)], dtype=np.int64)
        if not len(ids):
            return
        self.index.remove_ids(faiss.IDSelectorBatch(ids))
        self.langs[ids] = ""
        self._selectors.clear()

    def ids(self) -> np.ndarray:
        """The ids that have a vector, increasing."""
        return np.flatnonzero(self.langs != "")

    def _params(self, lang: str | None) -> faiss.SearchParameters | None:
        nprobe = self.info.get("nprobe", 1)
        if lang is None:
            return faiss.SearchParametersIVF(nprobe=nprobe) if self._ivf is not None else None  # type: ignore[call-arg]
        if lang not in self._selectors:
            mine = self.langs == lang
            if mine.sum() == np.count_nonzero(self.langs):  # one language only: no filter needed
                self._selectors[lang] = None
            else:
                bitmap = np.packbits(mine, bitorder="little")
                sel = faiss.IDSelectorBitmap(len(mine), faiss.swig_ptr(bitmap))
                # faiss's SWIG wrappers take these keywords; its stubs do not declare them
                params = (
                    faiss.SearchParametersIVF(sel=sel, nprobe=nprobe)  # type: ignore[call-arg]
                    if self._ivf is not None
                    else faiss.SearchParameters(sel=sel)  # type: ignore[call-arg]
                )
                self._selectors[lang] = (params, bitmap, sel)  # the bitmap and selector must outlive params
        found = self._selectors[lang]
        return found[0] if found is not None else self._params(None)

    def search(self, queries: np.ndarray, k: int, lang: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        q = np.ascontiguousarray(np.asarray(queries, dtype=np.float32).reshape(-1, self.dim))
        if len(self) == 0 or k <= 0 or (lang is not None and lang not in self.langs):
            return np.zeros((len(q), 0), dtype=np.float32), np.zeros((len(q), 0), dtype=np.int64)
        with self._lock:
            return self.index.search(q, min(k, len(self)), params=self._params(lang))

    def save(self, path: Path) -> None:
        faiss.write_index(self.index, str(path))

    def describe(self) -> dict:
        return {"backend": "faiss", "type": self.kind, **self.info}

    # ------------------------------------------------------------------------- type by size

    def rebuild(self, vectors: np.ndarray, ivf: bool, batch: int = 65_536, seed: int = 0) -> None:
        """Rebuild from ``vectors`` (row = id; a mapped file) as exact or as IVF, in batches."""
        ids = self.ids()
        index: faiss.Index
        if ivf:
            nlist = int(min(max(round(math.sqrt(len(ids))), 16), 65_536))
            rng = np.random.default_rng(seed)
            sample = np.sort(rng.choice(ids, min(len(ids), 40 * nlist), replace=False))
            quantizer = faiss.IndexFlatIP(self.dim)
            index = faiss.IndexIVFFlat(quantizer, self.dim, nlist, faiss.METRIC_INNER_PRODUCT)
            index.cp.niter = 20
            index.train(np.ascontiguousarray(vectors[sample], dtype=np.float32))
            self.info = {"nlist": nlist, "trained_at": len(ids), "nprobe": 1}
        else:
            index = faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))
            self.info = {}
        for start in range(0, len(ids), batch):
            part = ids[start : start + batch]
            index.add_with_ids(np.ascontiguousarray(vectors[part], dtype=np.float32), part)
        self.index = index
        self._selectors.clear()

    def tune(
        self, vectors: np.ndarray, options: VectorOptions, probes: np.ndarray | None = None, seed: int = 0
    ) -> None:
        """Raise IVF ``nprobe`` (1, 2, 4, ... nlist) until recall@10 reaches the target on the
        midpoint sample and, when given, on ``probes`` (question-like query vectors)."""
        ids = self.ids()
        samples = [recall_sample(vectors, ids, options.recall_queries, seed)]
        if probes is not None and len(probes) and len(ids):
            probes = np.asarray(probes, dtype=np.float32)
            samples.append((probes, exact_top_k(vectors, ids, probes, RECALL_K)[0]))
        ivf = self._ivf
        nprobe, recalls = 1, [1.0] * len(samples)
        if ivf is not None:
            while True:
                self.info["nprobe"] = nprobe
                self._selectors.clear()
                recalls = [recall_at_k(self.search(q, RECALL_K)[0], exact) for q, exact in samples]
                if min(recalls) >= options.recall_target or nprobe >= ivf.nlist:
                    break
                nprobe = min(nprobe * 2, ivf.nlist)
            ivf.nprobe = nprobe
        self.info.update(
            {
                "recall_at_10": round(recalls[0], 4),
                "recall_queries": len(samples[0][0]),
                "measured_at": len(self),
            }
        )
        if len(samples) > 1:
            self.info.update(
                {"question_recall_at_10": round(recalls[1], 4), "question_probes": len(samples[1][0])}
            )


def fit(
    store: FaissStore,
    vectors: np.ndarray,
    options: VectorOptions,
    probes: Callable[[], np.ndarray] | None = None,
) -> None:
    """After a build: pick the type by size and retune when the store changed enough.

    Exact up to ``exact_max`` vectors, IVF above (back to exact below 80 % of it, so that an
    index at the threshold does not flip at every update). An IVF index is retrained when it
    holds 4x more or less than it was trained on, and its recall measured again when its size
    moved by more than 10 % since the last measurement. ``probes`` gives question-like query
    vectors for that measurement (called only when it is made).
    """
    n, info = len(store), store.info
    is_ivf = store.kind == "IndexIVFFlat"
    want_ivf = n > options.exact_max or (is_ivf and n > 0.8 * options.exact_max)
    trained = info.get("trained_at", 0)
    if want_ivf != is_ivf or (want_ivf and not trained / 4 <= n <= trained * 4):
        store.rebuild(vectors, want_ivf)
        store.tune(vectors, options, probes() if probes and want_ivf else None)
    elif want_ivf and abs(n - info.get("measured_at", 0)) > 0.1 * max(info.get("measured_at", 0), 1):
        store.tune(vectors, options, probes() if probes else None)
    elif not want_ivf:
        store.info = {"recall_at_10": 1.0}  # exact search
