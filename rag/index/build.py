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
build does not hold it. Embedders passed as ``rag.index.lazy.LazyEmbedder`` load when a build
folder is started, so a build that finds nothing changed loads no model. The vector store's type is
chosen by size at the end (``rag.index.vectors.fit``). What the index is built with is an
``rag.index.spec.IndexSpec``; the stages that end a build are ``rag.index.finish``. Reading is
``rag.index.store.IndexStore``.

Does not load articles (``rag.ingest.loaders``, ``rag.ingest.collections``) or decide what to retrieve.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sized
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from rag.errors import IndexLockedError, IndexMismatchError
from rag.index.bm25 import KeywordIndex
from rag.index.changes import Deferred, Pass
from rag.index.chunking import ChunkParams
from rag.index.finish import BuildReport, finish_build
from rag.index.folder import BuildFolder, in_place_ok, open_live
from rag.index.manifest import FORMAT_VERSION, Manifest, corpus_hash, live_build, passage_text, read_manifest
from rag.index.spec import IndexSpec, VectorOptions, target_manifest
from rag.index.store import IndexStore
from rag.models.embedding import Embedder
from rag.types import Document

__all__ = [
    "FORMAT_VERSION",
    "BuildReport",
    "Deferred",
    "IndexStore",
    "KeywordIndex",
    "Manifest",
    "build_index",
    "corpus_hash",
    "live_build",
    "passage_text",
    "read_manifest",
    "target_manifest",
    "update_index",
]


@contextmanager
def _locked(index_dir: Path) -> Iterator[None]:
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


def _progress_bar(documents: Iterable[Any], progress: bool, desc: str) -> Any:  # noqa: ANN401 - tqdm
    """A progress bar over the documents: "checking" them against the live build until one is to be
    written (the models are loaded then), "indexing" from there."""
    from tqdm import tqdm

    total = len(documents) if isinstance(documents, Sized) else None
    return tqdm(total=total, desc=desc, unit="doc", disable=not progress, smoothing=0.05)


def _encoders(embedder: Embedder, encoder2: Embedder | None) -> dict[str, Embedder]:
    return {"e5": embedder, **({"encoder2": encoder2} if encoder2 is not None else {})}


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
    once as a stream; a repeated document id is skipped). ``params``, ``prefixes`` and ``options``
    are the ``IndexSpec`` the manifest comes from. ``encoder2``, when given, is the
    second encoder whose vectors are stored beside e5's. ``on_progress(done, total)`` counts
    documents (total 0 when the stream has no length).

    A ``Deferred`` document is loaded only when the live build does not hold it as it is (or
    holds it and a full build cannot take it from there); embedders given as
    ``rag.index.lazy.LazyEmbedder`` are loaded only when something is to be written."""
    t0 = time.perf_counter()
    spec = IndexSpec(query_prefix=prefixes[0], passage_prefix=prefixes[1], chunking=params, vectors=options)
    with _locked(index_dir):
        live = open_live(index_dir)
        target = spec.manifest(embedder, encoder2, live.manifest if live else None)
        run = Pass(index_dir, target, live, _encoders(embedder, encoder2), params, options)
        bar = _progress_bar(documents, progress, "checking" if run.build is None else "indexing")
        total = bar.total or 0
        try:
            for item in documents:
                bar.update()
                if run.take(item):
                    bar.set_description("indexing")
                if run.build is not None and on_progress and len(run.seen) % 100 == 0:
                    on_progress(len(run.seen), total)
            report = run.finish(t0)
        finally:
            bar.close()
        if on_progress and not report.up_to_date:
            on_progress(len(run.seen), total or len(run.seen))
        return report


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
    spec = IndexSpec(query_prefix=prefixes[0], passage_prefix=prefixes[1], chunking=params, vectors=options)
    with _locked(index_dir):
        target = spec.manifest(embedder, encoder2)
        live = open_live(index_dir)
        if not in_place_ok(live, target):
            raise IndexMismatchError(
                f"the index in {index_dir} is missing, damaged, built with other settings or due for "
                "compaction, so it cannot be updated in place. Run a full build: `python -m rag build`."
            )
        assert live is not None
        build = BuildFolder(index_dir, target, live, True, _encoders(embedder, encoder2), params, options)
        changed: list[str] = []
        gone: list[str] = []
        added: set[str] = set()
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
            elapsed = time.perf_counter() - t0
            return BuildReport(
                m.n_docs, m.n_chunks, 0, m.n_chunks, (), (), elapsed, 0.0, up_to_date=True, vectors=m.vectors
            )
        return finish_build(build, changed, gone, 0, t0)
