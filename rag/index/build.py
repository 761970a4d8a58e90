"""Building the index: articles in (streamed), the versioned index folder out (``rag.index.manifest``).

    build_index(documents, ...)                 make the index hold exactly ``documents``
    update_index(index_dir, ..., add, remove)   add or replace some articles, delete others

A build never changes the live folder: it writes a new one beside it and swaps ``current``, so
a crash leaves the previous index usable (``.lock`` keeps builds one at a time). Two ways:

* **in place**, when the live build has the same embedder, chunking, tokenizer, second encoder
  and backend, and no more deleted rows than live ones: the new folder starts as the live one
  (vector files hard-linked: they are append-only, a build only adds rows after the live
  build's last; SQLite copied), and only new or changed articles are chunked, tokenised and
  embedded. Deleted chunks leave holes in the row ids; the vector store gets vectors added and
  removed, BM25 its postings merged. Adding 100 articles to 60,000 costs their embedding plus
  copying and rewriting the index files: seconds, not a rebuild.
* **full** otherwise: every article chunked and tokenised into a fresh folder, but vectors of
  texts embedded before (live build, format-2 build, or the resume log of a killed build) are
  reused by text hash (``rag.index.reuse``): a changed tokenizer or a compaction embeds nothing again.

Articles stream through: per batch of passages, vectors are appended to the build's files and
to the resume log; nothing holds all texts or vectors in memory. An article may come as a
``Deferred`` one (a corpus file whose bytes did not change): it is loaded only when the live
build does not hold it. Embedders passed as ``rag.index.folder.LazyEmbedder`` load when a build
folder is started, so a build that finds nothing changed loads no model. The vector store's type is
chosen by size at the end (``rag.index.vectors.fit``). Reading is ``rag.index.store.IndexStore``.

Does not load articles (``rag.ingest.loaders``, ``rag.ingest.collections``) or decide what to retrieve.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Protocol

import faiss
import numpy as np
from filelock import FileLock, Timeout

from rag.errors import IndexLockedError, IndexMismatchError
from rag.index.bm25 import KeywordIndex
from rag.index.chunking import ChunkParams
from rag.index.folder import BuildFolder, LazyEmbedder, Live, in_place_ok, known_dim, open_live, same_shape
from rag.index.manifest import (
    FORMAT_VERSION,
    Manifest,
    corpus_hash,
    library_versions,
    live_build,
    passage_text,
    read_manifest,
    write_manifest,
)
from rag.index.store import SPACES, IndexStore, map_vectors
from rag.index.vectors import FaissStore, VectorOptions, VectorStore, build_threads, fit, measure_recall
from rag.models.embedding import Embedder
from rag.text.tokens import TOKENIZER_ID
from rag.types import Document

__all__ = ["FORMAT_VERSION", "BuildReport", "IndexStore", "KeywordIndex", "Manifest", "build_index",
           "corpus_hash", "live_build", "passage_text", "read_manifest", "target_manifest", "update_index"]

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


def target_manifest(embedder: Embedder, params: ChunkParams, prefixes: tuple[str, str],
                    encoder2: Embedder | None = None, backend: str = "faiss",
                    live: Manifest | None = None) -> Manifest:
    """The manifest fields an index must have to be used with this embedder and chunking. Given
    the ``live`` build's manifest, lazy embedders of the models it names are not loaded for their
    dimension (``rag.index.folder.known_dim``)."""
    dim = known_dim(embedder, live.embedder_id, live.dim) if live else embedder.dim
    dim2 = known_dim(encoder2, live.encoder2_id, live.dim2) if live else (encoder2.dim if encoder2 else 0)
    return Manifest(FORMAT_VERSION, embedder.model_id, dim, prefixes[0], prefixes[1], asdict(params),
                    "", 0, 0, tokenizer=TOKENIZER_ID, encoder2_id=encoder2.model_id if encoder2 else "",
                    dim2=dim2, backend=backend)

# --------------------------------------------------------------------------- ending a build


def _finish(build: BuildFolder, changed: Sequence[str], removed: Sequence[str], skipped: int,
            t0: float) -> BuildReport:
    """Vector stores, BM25, manifest, swap: the stages that end a build (module functions, so
    that the fault tests can stop a build at each)."""
    build.close()
    with build_threads():
        records = _write_vectors(build)
    build.keyword.apply().save(build.folder / "bm25")
    n_docs, n_chunks = build.counts
    manifest = Manifest(**{**asdict(build.target), "corpus_hash": build.corpus_hash, "n_docs": n_docs,
                           "n_chunks": n_chunks, "n_rows": build.next_row, "vectors": records,
                           "faiss_type": records["e5"].get("type", ""), "versions": library_versions(),
                           "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    _fsync_dir_files(build.folder)
    write_manifest(build.folder, manifest)
    _fsync_dir_files(build.folder)
    previous = build.live.manifest if build.live else None
    _swap(build.index_dir, build.folder)
    _cleanup(build.index_dir, keep=build.folder)
    if previous is not None and previous.backend == "milvus" and not build.in_place:
        from rag.index.milvus import drop_collections

        drop_collections(build.index_dir, previous)
    return BuildReport(n_docs, n_chunks, build.embedded, n_chunks - build.embedded, tuple(sorted(removed)),
                       tuple(changed), time.perf_counter() - t0, build.embed_seconds,
                       tokenized=len(build.added), skipped=skipped, in_place=build.in_place, vectors=records)


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
        texts = [t for (t,) in db.execute(f"SELECT text FROM chunks WHERE row IN ({marks})",  # noqa: S608
                                          [int(r) for r in picked])]
    return build.encoders[space].embed([question_like(t) for t in texts], kind="query")


def question_like(text: str) -> str:
    """What a short question about ``text`` looks like: the first words (up to 40 characters) of
    its first sentence. Used for the recall probes here and for ``bench scale``'s questions.

    >>> question_like("深圳建成5G基站4.6万个。全市领先。")
    '深圳建成5G基站4.6万个'
    """
    text = text.strip()
    return re.split(r"[。！？!?]|\.\s", text)[0][:40] or text[:40]


def _write_vectors(build: BuildFolder) -> dict:
    """Update (in place) or create each space's vector store; returns the manifest records.

    A FAISS store is rewritten in the build folder, its type chosen and tuned by ``fit``; a
    Milvus collection is changed where it lives (or created, for a full build)."""
    langs, options = build.row_langs, build.options
    added = np.array([r for r, _ in build.added], dtype=np.int64)
    added_langs = [lang for _, lang in build.added]
    removed = np.asarray(build.removed, dtype=np.int64)
    records = {}
    for space, dim in build.dims.items():
        vec_name, faiss_name = SPACES[space]
        vectors = map_vectors(build.folder / vec_name, build.next_row, dim)
        live = build.live.manifest.vectors.get(space, {}) if build.in_place and build.live else {}
        store: VectorStore
        if options.backend == "milvus":
            from rag.index.milvus import MilvusStore, collection_name, resolve_uri

            uri = resolve_uri(options.milvus_uri, build.index_dir)
            name = live.get("collection") or collection_name(build.index_dir, build.folder, space)
            store = MilvusStore(uri, name, dim, create=not live)
        elif build.in_place:
            assert build.live is not None
            info = {k: v for k, v in live.items() if k not in ("backend", "type")}
            store = FaissStore.load(build.live.folder / faiss_name, dim, langs[: build.start_row], info)
        else:  # a full FAISS build: made from the vector file at once, exact or IVF by size
            store = FaissStore(faiss.IndexIDMap2(faiss.IndexFlatIP(dim)), dim, langs)
            store.rebuild(vectors, ivf=int(np.count_nonzero(langs)) > options.exact_max)
        if build.in_place or options.backend == "milvus":
            store.remove(removed)
            for start in range(0, len(added), 65_536):
                part = added[start : start + 65_536]
                store.add(part, vectors[part], added_langs[start : start + 65_536])
        if isinstance(store, FaissStore):
            fit(store, vectors, options, partial(question_probes, build, space))
            store.save(build.folder / faiss_name)
            records[space] = store.describe()
        else:
            store.save(build.folder)
            recall = measure_recall(store, vectors, np.flatnonzero(langs != ""), options)
            records[space] = {**store.describe(), "uri": options.milvus_uri, "recall_at_10": round(recall, 4)}
    return records


# --------------------------------------------------------------------------- entry points


@contextmanager
def _locked(index_dir: Path):
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
        yield
    finally:
        lock.release()


def _progress_bar(documents: Iterable[Document], progress: bool, desc: str):
    """A progress bar over the documents: "checking" them against the live build until one is to be
    written (the models are loaded then), "indexing" from there."""
    from tqdm import tqdm

    total = len(documents) if hasattr(documents, "__len__") else None  # type: ignore[arg-type]
    return tqdm(total=total, desc=desc, unit="doc", disable=not progress, smoothing=0.05)


class Deferred(Protocol):
    """A document known by id and content hash, loaded only when a build needs its text
    (``rag.ingest.loaders.Unchanged``: a corpus file whose bytes did not change)."""

    doc_id: str
    content_hash: str

    def load(self) -> Document: ...


def build_index(
    documents: Iterable[Document | Deferred],
    embedder: Embedder,
    index_dir: Path,
    params: ChunkParams,
    prefixes: tuple[str, str] = ("query: ", "passage: "),
    progress: bool = True,
    on_progress: Callable[[int, int], None] | None = None,
    encoder2: Embedder | None = None,
    options: VectorOptions = VectorOptions(),  # noqa: B008 - frozen, never mutated
) -> BuildReport:
    """Build or update the index in ``index_dir`` to hold ``documents`` (the whole corpus, read
    once as a stream; a repeated document id is skipped). ``encoder2``, when given, is the
    second encoder whose vectors are stored beside e5's. ``on_progress(done, total)`` counts
    documents (total 0 when the stream has no length).

    A ``Deferred`` document is loaded only when the live build does not hold it as it is (or
    holds it and a full build cannot take it from there); embedders given as
    ``rag.index.folder.LazyEmbedder`` are loaded only when something is to be written."""
    t0 = time.perf_counter()
    with _locked(index_dir):
        live = open_live(index_dir)
        target = target_manifest(embedder, params, prefixes, encoder2, options.backend,
                                 live.manifest if live else None)
        encoders = {"e5": embedder, **({"encoder2": encoder2} if encoder2 is not None else {})}
        in_place = in_place_ok(live, target)
        # kept as it is when nothing changed (second-encoder vectors may be kept unasked)
        keep = bool(live and live.whole and same_shape(live.manifest, target)
                    and target.encoder2_id in ("", live.manifest.encoder2_id))
        hashes = live.hashes if live else {}
        build = None if keep else _start(index_dir, target, live, False, encoders, params, options)
        seen: dict[str, str] = {}
        changed: list[str] = []
        from_live: list[str] = []  # unchanged Deferred documents a full build takes from the live build
        skipped = 0
        bar = _progress_bar(documents, progress, "checking" if build is None else "indexing")
        total = bar.total or 0
        try:
            for item in documents:
                bar.update()
                if item.doc_id in seen:
                    skipped += 1
                    continue
                old = hashes.get(item.doc_id)
                doc = item if isinstance(item, Document) or old != item.content_hash else None
                doc = doc.load() if doc is not None and not isinstance(doc, Document) else doc
                seen[item.doc_id] = doc.content_hash if doc is not None else item.content_hash
                if doc is not None and old != doc.content_hash:
                    changed.append(doc.doc_id)
                    if build is None:
                        build = _start(index_dir, target, live, in_place, encoders, params, options)
                        bar.set_description("indexing")
                        if not in_place:  # the articles already passed, as the live build has them
                            build.put_live([d for d in seen if d != doc.doc_id])
                    if build.in_place and old is not None:
                        build.delete(doc.doc_id)
                    build.put(doc)
                elif build is not None and not build.in_place:
                    if doc is not None:
                        build.put(doc)
                    else:
                        from_live.append(item.doc_id)
                        if len(from_live) >= 500:
                            build.put_live(from_live)
                            from_live.clear()
                if build is not None and on_progress and len(seen) % 100 == 0:
                    on_progress(len(seen), total)
            removed = sorted(set(hashes) - set(seen))
            if build is None and not removed:
                _cleanup(index_dir, keep=live_build(index_dir) or index_dir)  # what a killed build left
                n = live.manifest.n_chunks if live else 0
                return BuildReport(len(seen), n, 0, n, (), (), time.perf_counter() - t0, 0.0, up_to_date=True,
                                   skipped=skipped, vectors=live.manifest.vectors if live else {})
            if build is None:
                build = _start(index_dir, target, live, in_place, encoders, params, options)
                if not in_place:
                    build.put_live(list(seen))
            elif from_live:
                build.put_live(from_live)
            if build.in_place:
                for doc_id in removed:
                    build.delete(doc_id)
            report = _finish(build, changed, removed, skipped, t0)
        finally:
            bar.close()
        if on_progress:
            on_progress(len(seen), total or len(seen))
        return report


def _start(index_dir: Path, target: Manifest, live: Live | None, in_place: bool,
           encoders: dict[str, Embedder], params: ChunkParams, options: VectorOptions) -> BuildFolder:
    """A new build folder, the embedders loaded (``LazyEmbedder``): something is to be written."""
    loaded = {s: e.get() if isinstance(e, LazyEmbedder) else e for s, e in encoders.items()}
    dims = {"e5": target.dim, "encoder2": target.dim2}
    for space, encoder in loaded.items():
        if encoder.dim != dims[space]:
            raise IndexMismatchError(
                f"the model {encoder.model_id} makes {encoder.dim}-dimensional vectors, but the index in "
                f"{index_dir} holds {dims[space]}-dimensional ones under that name. Delete the index "
                "folder and run `python -m rag build` to build it again."
            )
    return BuildFolder(index_dir, target, live, in_place, loaded, params, options)


def update_index(
    index_dir: Path,
    embedder: Embedder,
    params: ChunkParams,
    prefixes: tuple[str, str] = ("query: ", "passage: "),
    add: Iterable[Document] = (),
    remove: Iterable[str] = (),
    progress: bool = False,
    encoder2: Embedder | None = None,
    options: VectorOptions = VectorOptions(),  # noqa: B008 - frozen, never mutated
) -> BuildReport:
    """Add (or replace, by id) the articles ``add`` and delete the ids ``remove``, in place,
    without reading the rest of the corpus. The live build must be compatible with these
    settings (else IndexMismatchError: run a full ``build_index``)."""
    t0 = time.perf_counter()
    with _locked(index_dir):
        target = target_manifest(embedder, params, prefixes, encoder2, options.backend)
        live = open_live(index_dir)
        if not in_place_ok(live, target):
            raise IndexMismatchError(
                f"the index in {index_dir} is missing, damaged, built with other settings or due for "
                "compaction, so it cannot be updated in place. Run a full build: `python -m rag build`."
            )
        assert live is not None
        encoders = {"e5": embedder, **({"encoder2": encoder2} if encoder2 is not None else {})}
        build = BuildFolder(index_dir, target, live, True, encoders, params, options)
        changed, gone, added = [], [], set()
        for doc in add:
            old = live.hashes.get(doc.doc_id)
            if old == doc.content_hash or doc.doc_id in added:
                continue
            if old is not None:
                build.delete(doc.doc_id)
            build.put(doc)
            changed.append(doc.doc_id)
            added.add(doc.doc_id)
        for doc_id in dict.fromkeys(remove):
            if doc_id in live.hashes and doc_id not in added:
                build.delete(doc_id)
                gone.append(doc_id)
        if not changed and not gone:
            build.discard()
            m = live.manifest
            return BuildReport(m.n_docs, m.n_chunks, 0, m.n_chunks, (), (), time.perf_counter() - t0, 0.0,
                               up_to_date=True, vectors=m.vectors)
        return _finish(build, changed, gone, 0, t0)

# --------------------------------------------------------------------------- files


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
    """Remove builds other than ``keep`` (and unfinished ones left by crashes) and the resume log.

    A loaded ``IndexStore`` of a removed build keeps working: it opened its files when it loaded."""
    builds = index_dir / "builds"
    for p in builds.iterdir() if builds.is_dir() else ():
        if p.resolve() != keep.resolve():
            shutil.rmtree(p, ignore_errors=True)
    for p in index_dir.glob(".current-*"):  # a link of a build killed mid-swap
        p.unlink(missing_ok=True)
    shutil.rmtree(index_dir / ".resume", ignore_errors=True)
