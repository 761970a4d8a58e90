"""The corpus folder as a person manages it: add articles, remove one, list them.

    add_files(settings, paths)     -> AddReport      check, copy into the corpus folder, re-index
    remove_doc(settings, doc_id)   -> RemoveReport   delete the article's file, re-index
    recover(settings)              -> BuildReport    finish an add or remove that was killed part-way
    list_docs(settings)            -> list[DocInfo]  what the index holds (title, date, lang, chunks)
    safe_name("../../etc/新闻 1.TXT") -> "新闻_1.txt"

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

Does not parse articles (``rag.ingest.loaders``), write the index (``rag.index.build``), reload a
loaded pipeline (``Pipeline.reload``) nor show sources (``rag.web.render``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from filelock import FileLock, Timeout

from rag.config import Settings
from rag.errors import CorpusError, IndexError_
from rag.index.build import BuildReport, IndexStore
from rag.ingest.loaders import SUPPORTED_SUFFIXES, load_file
from rag.types import Lang

if TYPE_CHECKING:
    from rag.models.embedding import Embedder

_STAGING = ".incoming"  # hidden: load_corpus skips it
_LOCK = ".corpus.lock"
_JOURNAL = ".pending.json"  # the add or remove in progress (hidden, and not an article type)
LOCK_WAIT_SECONDS = 600  # a second change waits this long for the first to finish
MAX_NAME_CHARS = 100  # file-name stem length kept
UPLOAD_TYPES = (".txt", ".md", ".html", ".pdf")  # what the UI offers (the loaders also take .htm, .markdown)

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


# --------------------------------------------------------------------------- names


def safe_name(name: str) -> str:
    """A file name that can only live directly in the corpus folder; CorpusError when none is left.

    Folders (``/`` or ``\\``), ``..``, leading dots, control characters and characters other than
    letters (any script), digits, ``-``, ``_`` and ``.`` are dropped or turned into ``_``; the
    suffix is lower-cased and the stem cut to ``MAX_NAME_CHARS``.

    >>> safe_name("../../etc/passwd.txt"), safe_name("C:\\\\Users\\\\x\\\\新闻 2021（深圳）.MD")
    ('passwd.txt', '新闻_2021_深圳.md')
    >>> safe_name("/abs/.hidden.html"), safe_name("a/../b.txt")
    ('hidden.html', 'b.txt')
    """
    base = re.split(r"[/\\]", unicodedata.normalize("NFC", name or ""))[-1]
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = re.sub(r"[^\w\-.]+", "_", stem).strip("._- ")[:MAX_NAME_CHARS].rstrip("._- ")
    suffix = re.sub(r"[^\w]", "", suffix).lower()
    if not stem:
        raise CorpusError(f"{name!r}: 文件名无效 · no usable file name; rename the file (letters or digits)")
    return f"{stem}.{suffix}" if suffix else stem


def _supported(path: Path) -> bool:
    return path.is_file() and not path.name.startswith(".") and path.suffix.lower() in SUPPORTED_SUFFIXES


def _articles(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if _supported(p)) if folder.is_dir() else []


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


@dataclass(frozen=True)
class Pending:
    """An add or remove in progress, recorded in the corpus folder before it moves any file."""

    op: str  # "add" | "remove"
    files: tuple[str, ...]  # file names directly in the corpus folder


def _plain(name: object) -> bool:
    return isinstance(name, str) and bool(name) and Path(name).name == name and not name.startswith(".")


def _read_pending(folder: Path) -> Pending | None:
    """The change recorded in ``folder`` (None when there is none); CorpusError when the record is damaged."""
    path = folder / _JOURNAL
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        data = f"unreadable ({exc})"
    if (
        not isinstance(data, dict)
        or data.get("op") not in ("add", "remove")
        or not isinstance(data.get("files"), list)
        or not all(_plain(n) for n in data["files"])
    ):
        raise CorpusError(
            f"{path}, the record of an interrupted add or remove, is damaged: expected "
            f'{{"op": "add" or "remove", "files": [file names]}}, found {str(data)[:200]}; check that '
            f"{folder} holds the articles you want, delete {_JOURNAL}, then run `python -m rag build`"
        )
    return Pending(data["op"], tuple(data["files"]))


def _write_pending(folder: Path, pending: Pending) -> None:
    """Record ``pending`` atomically: a kill leaves the previous record or this one, whole."""
    tmp = folder / f"{_JOURNAL}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump({"op": pending.op, "files": list(pending.files)}, f, ensure_ascii=False)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, folder / _JOURNAL)


def _clear_pending(folder: Path) -> None:
    (folder / _JOURNAL).unlink(missing_ok=True)


def _fresh_staging(folder: Path) -> Path:
    """An empty ``.incoming/``; what a change left there is no longer needed once no record is pending."""
    staging = folder / _STAGING
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    return staging


def _tidy(folder: Path) -> None:
    """Remove ``.incoming/`` unless a pending change still needs what it holds."""
    if not (folder / _JOURNAL).exists():
        shutil.rmtree(folder / _STAGING, ignore_errors=True)


@contextmanager
def _locked(settings: Settings) -> Iterator[None]:
    """One change of the corpus at a time, across processes.

    A missing corpus folder is an error, not created: re-indexing an empty new folder would
    drop every article from the index (a mistyped ``--corpus``, an unmounted disk)."""
    if not settings.corpus_dir.is_dir():
        raise CorpusError(
            f"corpus folder {settings.corpus_dir} does not exist (or is not a folder); create it, or point "
            "RAG_CORPUS / --corpus at the folder of articles the index was built from"
        )
    lock = FileLock(str(settings.corpus_dir / _LOCK))
    try:
        lock.acquire(timeout=LOCK_WAIT_SECONDS)
    except Timeout:
        raise CorpusError(
            f"another change to {settings.corpus_dir} has been running for over "
            f"{LOCK_WAIT_SECONDS} s; wait for it to finish, then try again"
        ) from None
    try:
        yield
    finally:
        lock.release()


def _rebuild(settings: Settings, models: _Models) -> BuildReport:
    from rag.index.sync import build  # imports the models' wrappers: only when a change is made

    embedder, encoder2, on_progress, progress = models
    return build(settings, embedder, progress=progress, on_progress=on_progress, encoder2=encoder2).build


def _recover(settings: Settings, models: _Models) -> tuple[Pending, BuildReport] | None:
    """Finish the add or remove recorded in the corpus folder, if any (the lock is held)."""
    folder = settings.corpus_dir
    pending = _read_pending(folder)
    if pending is None:
        return None
    log.warning("finishing an interrupted %s of %s", pending.op, ", ".join(pending.files))
    staging = folder / _STAGING
    for name in pending.files:
        if pending.op == "remove":
            (folder / name).unlink(missing_ok=True)
        elif (staging / name).is_file() and not (folder / name).exists():
            os.replace(staging / name, folder / name)
    report = _rebuild(settings, models)
    checkpoint("recover:built")
    _clear_pending(folder)
    _tidy(folder)
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
    if not (settings.corpus_dir / _JOURNAL).exists():
        return None
    with _locked(settings):
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
    with _locked(settings):
        done = _recover(settings, models)
        built = done[1] if done else None
        staging = _fresh_staging(folder)
        try:
            hashes = _indexed_hashes(settings)
            indexed = set(hashes.values())
            uploads, rejected = _stage(settings, paths, staging, hashes)
            checkpoint("add:copied")
            if any(copied or Path(name).stem not in indexed for name, _, copied in uploads):
                built = _place_and_index(settings, uploads, models)
        finally:
            _tidy(folder)
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


def _stage(
    settings: Settings, paths: Iterable[str | Path], staging: Path, hashes: dict[str, str]
) -> tuple[list[tuple[str, str, bool]], list[tuple[str, str]]]:
    """Check every file and copy the good ones into ``staging``.

    Returns ([(name in the corpus, name as given, copied)], [(name as given, reason)]); a file
    identical to the corpus file of the same name is not copied (copied False)."""
    folder = settings.corpus_dir
    rejected: list[tuple[str, str]] = []
    uploads: list[tuple[str, str, bool]] = []
    taken = {p.stem.lower(): p.name for p in _articles(folder)}
    for given in paths:
        src = Path(given)
        shown, name = src.name, src.name
        try:
            name = safe_name(shown)
            if (folder / name).resolve().parent != folder.resolve():  # belt and braces: safe_name ensures it
                raise CorpusError(f"{name}: would be written outside {folder}; rename the file")
            if _same_file(src, folder / name, settings.max_file_bytes):
                uploads.append((name, shown, False))
                continue
            reason = _check(src, name, settings.max_file_bytes, taken)
            if reason:
                rejected.append((shown, reason))
                continue
            dest = staging / name
            shutil.copyfile(src, dest)
            doc = load_file(dest, settings.max_file_bytes)
        except CorpusError as exc:
            rejected.append((shown, str(exc).removeprefix(f"{name}: ")))
            continue
        except OSError as exc:
            rejected.append((shown, f"无法读取 · cannot be read ({exc.strerror or exc})"))
            continue
        if doc.content_hash in hashes:
            same = hashes[doc.content_hash]
            rejected.append((shown, f"已有相同文章 · same title and text as article {same}"))
            continue
        hashes[doc.content_hash] = doc.doc_id
        taken[dest.stem.lower()] = name
        uploads.append((name, shown, True))
    return uploads, rejected


def _same_file(src: Path, dest: Path, max_bytes: int) -> bool:
    """Whether ``dest`` exists and holds the bytes of ``src`` (both regular files, at most ``max_bytes``)."""
    try:
        if not (src.is_file() and dest.is_file()) or src.stat().st_size != dest.stat().st_size:
            return False
        return src.stat().st_size <= max_bytes and src.read_bytes() == dest.read_bytes()
    except OSError:
        return False


def _place_and_index(
    settings: Settings, uploads: Sequence[tuple[str, str, bool]], models: _Models
) -> BuildReport:
    """Record the add, move the copied files into the corpus folder, re-index; on a failed build
    take them out again."""
    folder = settings.corpus_dir
    moved = [name for name, _, copied in uploads if copied]
    _write_pending(folder, Pending("add", tuple(name for name, _, _ in uploads)))
    checkpoint("add:journal")
    for name in moved:
        os.replace(folder / _STAGING / name, folder / name)
        checkpoint("add:moved")
    try:
        report = _rebuild(settings, models)
    except BaseException:
        for name in moved:
            (folder / name).unlink(missing_ok=True)
        _clear_pending(folder)
        raise
    checkpoint("add:built")
    _clear_pending(folder)
    return report


def _check(src: Path, name: str, max_bytes: int, taken: Mapping[str, str]) -> str:
    """Why ``src`` (to be saved as ``name``) cannot be added, or ""."""
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        return (
            f"不支持的文件类型 · unsupported file type {suffix or '(none)'!r}: "
            f"upload {', '.join(UPLOAD_TYPES)} files"
        )
    try:
        size = src.stat().st_size
    except OSError as exc:
        return f"无法读取 · cannot be read ({exc.strerror or exc})"
    if not src.is_file():
        return "不是文件 · not a regular file"
    if size == 0:
        return "文件为空 · the file is empty (0 bytes); choose the file that holds the article"
    if size > max_bytes:
        return (
            f"文件太大 · too large: {_size(size)}, the limit is {_size(max_bytes)}; "
            "split the article or export it as text"
        )
    stem = Path(name).stem.lower()
    if stem in taken:
        return (
            f"已有同名文章 · an article named {taken[stem]!r} already exists (document id "
            f"{Path(name).stem!r}); remove it first or rename the file"
        )
    return ""


def _size(n: int) -> str:
    """``_size(2_500_000) -> "2.5 MB"``, ``_size(40_000) -> "40.0 KB"``."""
    return f"{n / 1e6:.1f} MB" if n >= 1_000_000 else f"{n / 1e3:.1f} KB"


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
    with _locked(settings):
        done = _recover(settings, models)
        articles = _articles(folder)
        files = [p for p in articles if p.stem == doc_id]  # matched against the listing, never joined
        if not files and done and done[0].op == "remove" and doc_id in {Path(n).stem for n in done[0].files}:
            return RemoveReport(doc_id, done[0].files, done[1])
        if not files:
            raise CorpusError(f"no article {doc_id!r} in the corpus; `python -m rag list` shows the ids")
        if len(files) == len(articles):
            raise CorpusError(f"{doc_id!r} is the last article in {folder}; add another before removing it")
        trash = _fresh_staging(folder)
        _write_pending(folder, Pending("remove", tuple(p.name for p in files)))
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
                _clear_pending(folder)
                raise
            checkpoint("remove:built")
            _clear_pending(folder)
        finally:
            _tidy(folder)
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
