"""The stages that end a build: vector stores, BM25, manifest, swap, clean-up; and the build's report.

    finish_build(build, ...)   write the vector stores and BM25, the manifest last, then swap it live
    up_to_date(...)            the report of a build that found nothing to change
    write_vectors(build)       each space's vector store updated in place or made anew
    swap, cleanup              ``current`` pointed at the new build; the others removed
    question_like(text)        what a short question about a text looks like (recall probes)

Each stage is a module function so that the fault tests can stop a build at each. Does not chunk,
embed or decide what to build (``rag.index.build``, ``rag.index.folder``).
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import time
from collections.abc import Sequence
from contextlib import closing
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

import faiss
import numpy as np

from rag.index.folder import BuildFolder
from rag.index.manifest import Manifest, library_versions, live_build, write_manifest
from rag.index.recall import measure_recall
from rag.index.store import SPACES, map_vectors
from rag.index.vectors import FaissStore, VectorStore, build_threads, fit


@dataclass(frozen=True)
class BuildReport:
    n_docs: int
    n_chunks: int
    embedded: int  # chunks embedded in this build
    reused: int  # chunks whose vectors were kept or reused
    removed_docs: tuple[str, ...]
    changed_docs: tuple[str, ...]  # new or changed
    seconds: float
    embed_seconds: float
    up_to_date: bool = False
    tokenized: int = 0  # chunks tokenised for BM25 in this build (the others kept their postings)
    skipped: int = 0  # documents given twice (same id); the first was indexed
    in_place: bool = False  # updated in place (else written from scratch, or up to date)
    vectors: dict = field(default_factory=dict)  # the manifest's vector store records


def finish_build(
    build: BuildFolder, changed: Sequence[str], removed: Sequence[str], skipped: int, t0: float
) -> BuildReport:
    """Vector stores, BM25, manifest, swap: the stages that end a build."""
    build.close()
    with build_threads():
        records = write_vectors(build)
    build.keyword.apply().save(build.folder / "bm25")
    n_docs, n_chunks = build.counts
    manifest = Manifest(
        **{
            **asdict(build.target),
            "corpus_hash": build.corpus_hash,
            "n_docs": n_docs,
            "n_chunks": n_chunks,
            "n_rows": build.next_row,
            "vectors": records,
            "faiss_type": records["e5"].get("type", ""),
            "versions": library_versions(),
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
    )
    fsync_dir_files(build.folder)
    write_manifest(build.folder, manifest)
    fsync_dir_files(build.folder)
    previous = build.live.manifest if build.live else None
    swap(build.index_dir, build.folder)
    cleanup(build.index_dir, keep=build.folder)
    if previous is not None and previous.backend == "milvus" and not build.in_place:
        from rag.index.milvus import drop_collections

        drop_collections(build.index_dir, previous)
    return BuildReport(
        n_docs,
        n_chunks,
        build.embedded,
        n_chunks - build.embedded,
        tuple(sorted(removed)),
        tuple(changed),
        time.perf_counter() - t0,
        build.embed_seconds,
        tokenized=len(build.added),
        skipped=skipped,
        in_place=build.in_place,
        vectors=records,
    )


def up_to_date(index_dir: Path, live: Manifest | None, n_docs: int, skipped: int, t0: float) -> BuildReport:
    """The report of a build that changed nothing (what a killed build left is removed)."""
    cleanup(index_dir, keep=live_build(index_dir) or index_dir)
    n = live.n_chunks if live else 0
    return BuildReport(
        n_docs,
        n,
        0,
        n,
        (),
        (),
        time.perf_counter() - t0,
        0.0,
        up_to_date=True,
        skipped=skipped,
        vectors=live.vectors if live else {},
    )


# --------------------------------------------------------------------------- vector stores


def question_probes(build: BuildFolder, space: str, n: int = 200, seed: int = 0) -> np.ndarray:
    """Question-like query vectors for the recall check of ``space``'s approximate index: the
    first words (up to 40 characters of the first sentence) of ``n`` random chunks, embedded as
    questions by the space's encoder. Vectors made from stored ones (``vectorstore``) sit closer
    to the stored vectors than questions do; these are what a question looks like."""
    rows = np.flatnonzero(build.row_langs != "")
    if not len(rows):
        return np.zeros((0, build.dims[space]), dtype=np.float32)
    picked = np.random.default_rng(seed).choice(rows, min(n, len(rows)), replace=False)
    marks = ",".join("?" * len(picked))
    with closing(sqlite3.connect(build.folder / "chunks.sqlite")) as db:  # the build's own is closed
        texts = [
            t
            for (t,) in db.execute(
                f"SELECT text FROM chunks WHERE row IN ({marks})",  # noqa: S608
                [int(r) for r in picked],
            )
        ]
    return build.encoders[space].embed([question_like(t) for t in texts], kind="query")


def question_like(text: str) -> str:
    """What a short question about ``text`` looks like: the first words (up to 40 characters) of
    its first sentence. Used for the recall probes here and for ``bench scale``'s questions.

    >>> question_like("深圳建成5G基站4.6万个。全市领先。")
    '深圳建成5G基站4.6万个'
    """
    text = text.strip()
    return re.split(r"[。！？!?]|\.\s", text)[0][:40] or text[:40]


def write_vectors(build: BuildFolder) -> dict:
    """Update (in place) or create each space's vector store; returns the manifest records.

    A FAISS store is rewritten in the build folder, its type chosen and tuned by ``fit``; a
    Milvus collection is changed where it lives (or created, for a full build)."""
    langs, options = build.row_langs, build.options
    added = np.array([r for r, _ in build.added], dtype=np.int64)
    added_langs = [lang for _, lang in build.added]
    removed = np.asarray(build.removed, dtype=np.int64)
    records = {}
    for space, dim in build.dims.items():
        vectors = map_vectors(build.folder / SPACES[space][0], build.next_row, dim)
        store = _open_store(build, space, dim, vectors)
        if build.in_place or options.backend == "milvus":
            store.remove(removed)
            for start in range(0, len(added), 65_536):
                part = added[start : start + 65_536]
                store.add(part, vectors[part], added_langs[start : start + 65_536])
        if isinstance(store, FaissStore):
            fit(store, vectors, options, partial(question_probes, build, space))
            store.save(build.folder / SPACES[space][1])
            records[space] = store.describe()
        else:
            store.save(build.folder)
            recall = measure_recall(store, vectors, np.flatnonzero(langs != ""), options)
            records[space] = {**store.describe(), "uri": options.milvus_uri, "recall_at_10": round(recall, 4)}
    return records


def _open_store(build: BuildFolder, space: str, dim: int, vectors: np.ndarray) -> VectorStore:
    """``space``'s store for this build: the Milvus collection, the live FAISS store (in place),
    or a FAISS store made from the vector file at once (exact or IVF by size)."""
    langs, options = build.row_langs, build.options
    live = build.live.manifest.vectors.get(space, {}) if build.in_place and build.live else {}
    if options.backend == "milvus":
        from rag.index.milvus import MilvusStore, collection_name, resolve_uri

        uri = resolve_uri(options.milvus_uri, build.index_dir)
        name = live.get("collection") or collection_name(build.index_dir, build.folder, space)
        return MilvusStore(uri, name, dim, create=not live)
    if build.in_place:
        assert build.live is not None
        info = {k: v for k, v in live.items() if k not in ("backend", "type")}
        return FaissStore.load(build.live.folder / SPACES[space][1], dim, langs[: build.start_row], info)
    store = FaissStore(faiss.IndexIDMap2(faiss.IndexFlatIP(dim)), dim, langs)
    store.rebuild(vectors, ivf=int(np.count_nonzero(langs)) > options.exact_max)
    return store


# --------------------------------------------------------------------------- files


def fsync_dir_files(folder: Path) -> None:
    for p in folder.rglob("*"):
        if p.is_file():
            with open(p, "rb") as f:
                os.fsync(f.fileno())


def swap(index_dir: Path, folder: Path) -> None:
    tmp = index_dir / f".current-{os.getpid()}"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(folder.relative_to(index_dir))
    os.replace(tmp, index_dir / "current")


def cleanup(index_dir: Path, keep: Path) -> None:
    """Remove builds other than ``keep`` (and unfinished ones left by crashes) and the resume log.

    A loaded ``IndexStore`` of a removed build keeps working: it opened its files when it loaded."""
    builds = index_dir / "builds"
    for p in builds.iterdir() if builds.is_dir() else ():
        if p.resolve() != keep.resolve():
            shutil.rmtree(p, ignore_errors=True)
    for p in index_dir.glob(".current-*"):  # a link of a build killed mid-swap
        p.unlink(missing_ok=True)
    shutil.rmtree(index_dir / ".resume", ignore_errors=True)
