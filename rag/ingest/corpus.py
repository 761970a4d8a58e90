"""The corpus folder as a person manages it: add articles, remove one, list them.

    add_files(settings, paths)     -> AddReport      check, copy into the corpus folder, re-index
    remove_doc(settings, doc_id)   -> RemoveReport   delete the article's file, re-index
    recover(settings)              -> BuildReport    finish an add or remove that was killed part-way
    list_docs(settings)            -> list[DocInfo]  what the index holds (title, date, lang, chunks)

Shared by the chat UI's articles tab and ``python -m rag add|remove|list``. A change is made
under a lock on the corpus folder (one change at a time, across processes): every file is
checked first (type, size, that it loads to an article, no clash with an article already
there), then moved into the folder under a safe name, then the incremental build
(``rag.index.sync.build``) runs; if the build fails, the files are put back as they were. The
index swaps atomically (``rag.index.build``), and ``Pipeline.reload()`` then replaces a loaded
pipeline's store with one attribute assignment: questions already running keep the store they
started with.

A change killed part-way is finished by the next one (roll forward, never back). Before it
moves a file, a change records itself in ``.pending.json`` in the corpus folder (written
atomically: an add, with the names of its files; a remove, with the file it moves aside into
``.incoming/``), and deletes the record once the build is done. Every change, and
``python -m rag build`` (``recover``), first finishes a recorded one: the files of an add still
in ``.incoming/`` move into the folder, the file of a remove is deleted, and the index is built
from the folder, so the folder and the index disagree for one command at most. The retry of a
killed add finds its files already in place (identical bytes) and reports them added; the
retry of a killed remove reports the removal it finished. Without a record, ``.incoming/``
only holds copies of uploads and is emptied. ``checkpoint`` names each step for the fault tests.

Only files directly in ``settings.corpus_dir`` are written or deleted; uploads are staged in
its hidden ``.incoming/`` folder, which the loaders ignore.

Files are checked in ``rag.ingest.uploads``; the record, the staging folder and the lock are
``rag.ingest.journal``'s. Does not parse articles (``rag.ingest.loaders``), write the index
(``rag.index.build``), reload a loaded pipeline (``Pipeline.reload``) nor show sources
(``rag.web.render``).
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rag.config import Settings
from rag.errors import CorpusError, IndexError_
from rag.index.build import BuildReport, IndexStore
from rag.ingest.journal import (
    JOURNAL,
    STAGING,
    Pending,
    clear_pending,
    fresh_staging,
    locked,
    read_pending,
    tidy,
    write_pending,
)
from rag.ingest.uploads import article_files, stage_files
from rag.types import Lang

if TYPE_CHECKING:
    from rag.models.embedding import Embedder

log = logging.getLogger(__name__)
if TYPE_CHECKING:  # (embedder, encoder2, on_progress, progress), passed through to ``rag.index.sync.build``
    _Models = tuple[Embedder | None, Embedder | None, Callable[[int, int], None] | None, bool]


@dataclass(frozen=True)
class DocInfo:
    """One indexed article, as listed to a person."""

    doc_id: str
    title: str
    date: str
    lang: Lang
    chunks: int
    source: str  # file name in the corpus folder
    url: str = ""

    def to_json(self) -> dict:
        return {
            "doc_id": self.doc_id,
            "title": self.title,
            "date": self.date,
            "lang": self.lang,
            "chunks": self.chunks,
            "source": self.source,
            "url": self.url,
        }


@dataclass(frozen=True)
class AddReport:
    added: tuple[DocInfo, ...]
    rejected: tuple[tuple[str, str], ...]  # (file name as given, reason)
    build: BuildReport | None  # None when nothing was added


@dataclass(frozen=True)
class RemoveReport:
    doc_id: str
    files: tuple[str, ...]  # file names deleted
    build: BuildReport


# --------------------------------------------------------------------------- changes


def checkpoint(stage: str) -> None:
    """A named step of a change (``CHECKPOINTS``) has just been made; does nothing.

    The fault tests replace it (``rag.ingest.corpus.checkpoint = ...``) to kill the process there."""


CHECKPOINTS = (
    "add:copied",  # the files checked and copied into .incoming/; nothing recorded yet
    "add:journal",  # the add recorded in .pending.json; no file moved yet
    "add:moved",  # one more file moved from rag.incoming/ into the corpus folder
    "add:built",  # the index holds the new articles; the record not yet removed
    "remove:journal",  # the remove recorded; the file still in the corpus folder
    "remove:moved",  # the file moved aside into .incoming/
    "remove:built",  # the index no longer holds it; the record not yet removed
    "recover:built",  # an interrupted change re-indexed; its record not yet removed
)


def _rebuild(settings: Settings, models: _Models) -> BuildReport:
    from rag.index.sync import build  # imports the models' wrappers: only when a change is made

    embedder, encoder2, on_progress, progress = models
    return build(settings, embedder, progress=progress, on_progress=on_progress, encoder2=encoder2).build


def _recover(settings: Settings, models: _Models) -> tuple[Pending, BuildReport] | None:
    """Finish the add or remove recorded in the corpus folder, if any (the lock is held)."""
    folder = settings.corpus_dir
    pending = read_pending(folder)
    if pending is None:
        return None
    log.warning("finishing an interrupted %s of %s", pending.op, ", ".join(pending.files))
    staging = folder / STAGING
    for name in pending.files:
        if pending.op == "remove":
            (folder / name).unlink(missing_ok=True)
        elif (staging / name).is_file() and not (folder / name).exists():
            os.replace(staging / name, folder / name)
    report = _rebuild(settings, models)
    checkpoint("recover:built")
    clear_pending(folder)
    tidy(folder)
    return pending, report


def recover(
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    encoder2: Embedder | None = None,
    progress: bool = False,
) -> BuildReport | None:
    """Finish an add or remove that was killed part-way (the build it ran); None when none was.

    ``add_files`` and ``remove_doc`` do this first themselves; ``python -m rag build`` calls it."""
    if not (settings.corpus_dir / JOURNAL).exists():
        return None
    with locked(settings):
        done = _recover(settings, (embedder, encoder2, None, progress))
    return done[1] if done else None


def _indexed_hashes(settings: Settings) -> dict[str, str]:
    """content hash -> doc_id of the live index (hash as ``loaders``: sha256 of title + "\\n" + text)."""
    try:
        store = IndexStore.load(settings.index_dir)
    except IndexError_:
        return {}
    try:
        return {
            hashlib.sha256(f"{d.title}\n{store.doc_text(d.doc_id)}".encode()).hexdigest(): d.doc_id
            for d in store.docs()
        }
    finally:
        store.close()


def add_files(
    settings: Settings,
    paths: Iterable[str | Path],
    *,
    embedder: Embedder | None = None,
    encoder2: Embedder | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    progress: bool = False,
) -> AddReport:
    """Add article files to the corpus and index them; bad files are rejected with a reason.

    A file is rejected when its type is not one of ``SUPPORTED_SUFFIXES``, it is empty or over
    ``settings.max_file_bytes``, it does not load to an article, its name (= document id)
    is taken by another file, or an article with the same title and text is already indexed. A
    file identical to the corpus file of its name is already in place (the retry of an add that
    was killed): it is indexed if the index lacks it and reported as added. The others are
    indexed together in one incremental build (``on_progress(done, total)`` counts passages
    embedded). Raises only when the build itself fails (the folder is then restored) or the
    record of an interrupted change is damaged.
    """
    folder = settings.corpus_dir
    models = (embedder, encoder2, on_progress, progress)
    with locked(settings):
        done = _recover(settings, models)
        built = done[1] if done else None
        staging = fresh_staging(folder)
        try:
            hashes = _indexed_hashes(settings)
            indexed = set(hashes.values())
            uploads, rejected = stage_files(settings, paths, staging, hashes)
            checkpoint("add:copied")
            if any(copied or Path(name).stem not in indexed for name, _, copied in uploads):
                built = _place_and_index(settings, uploads, models)
        finally:
            tidy(folder)
    if not uploads:
        return AddReport((), tuple(rejected), built)
    ids = {Path(name).stem for name, _, _ in uploads}
    added = tuple(d for d in list_docs(settings) if d.doc_id in ids)
    missing = ids - {d.doc_id for d in added}  # loaded alone but skipped in the build: say so
    rejected += [
        (shown, "未被索引 · was not indexed (see the server log)")
        for name, shown, _ in uploads
        if Path(name).stem in missing
    ]
    return AddReport(added, tuple(rejected), built)


def _place_and_index(
    settings: Settings, uploads: Sequence[tuple[str, str, bool]], models: _Models
) -> BuildReport:
    """Record the add, move the copied files into the corpus folder, re-index; on a failed build
    take them out again."""
    folder = settings.corpus_dir
    moved = [name for name, _, copied in uploads if copied]
    write_pending(folder, Pending("add", tuple(name for name, _, _ in uploads)))
    checkpoint("add:journal")
    for name in moved:
        os.replace(folder / STAGING / name, folder / name)
        checkpoint("add:moved")
    try:
        report = _rebuild(settings, models)
    except BaseException:
        for name in moved:
            (folder / name).unlink(missing_ok=True)
        clear_pending(folder)
        raise
    checkpoint("add:built")
    clear_pending(folder)
    return report


def remove_doc(
    settings: Settings,
    doc_id: str,
    *,
    embedder: Embedder | None = None,
    encoder2: Embedder | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    progress: bool = False,
) -> RemoveReport:
    """Delete the article ``doc_id`` (its file in the corpus folder) and re-index.

    CorpusError when no article has that id or it is the last one (an index needs one). The
    retry of a remove that was killed reports the removal it finishes.
    """
    folder = settings.corpus_dir
    models = (embedder, encoder2, on_progress, progress)
    with locked(settings):
        done = _recover(settings, models)
        articles = article_files(folder)
        files = [p for p in articles if p.stem == doc_id]  # matched against the listing, never joined
        if not files and done and done[0].op == "remove" and doc_id in {Path(n).stem for n in done[0].files}:
            return RemoveReport(doc_id, done[0].files, done[1])
        if not files:
            raise CorpusError(f"no article {doc_id!r} in the corpus; `python -m rag list` shows the ids")
        if len(files) == len(articles):
            raise CorpusError(f"{doc_id!r} is the last article in {folder}; add another before removing it")
        trash = fresh_staging(folder)
        write_pending(folder, Pending("remove", tuple(p.name for p in files)))
        checkpoint("remove:journal")
        try:
            for p in files:
                os.replace(p, trash / p.name)
            checkpoint("remove:moved")
            try:
                report = _rebuild(settings, models)
            except BaseException:
                for p in files:
                    os.replace(trash / p.name, p)
                clear_pending(folder)
                raise
            checkpoint("remove:built")
            clear_pending(folder)
        finally:
            tidy(folder)
    return RemoveReport(doc_id, tuple(p.name for p in files), report)


# --------------------------------------------------------------------------- reading


def docs_of(store: IndexStore) -> list[DocInfo]:
    """The articles of a loaded index, by document id."""
    counts = store.doc_chunk_counts()
    return [
        DocInfo(d.doc_id, d.title, d.date, d.lang, counts.get(d.doc_id, 0), d.source, d.url)
        for d in sorted(store.docs(), key=lambda d: d.doc_id)
    ]


def list_docs(settings: Settings) -> list[DocInfo]:
    """The articles of the index in ``settings.index_dir`` (IndexError_ when there is none)."""
    store = IndexStore.load(settings.index_dir)
    try:
        return docs_of(store)
    finally:
        store.close()
