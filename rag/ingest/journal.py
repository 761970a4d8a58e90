"""The corpus folder's record of the change in progress, its staging folder and its lock.

    locked(settings)             one change of the corpus at a time, across processes
    read_pending(folder)         -> Pending | None   the add or remove recorded in ``.pending.json``
    write_pending(folder, p)     record a change atomically, before it moves any file
    clear_pending(folder)        the change is done
    fresh_staging(folder)        an empty ``.incoming/`` for uploads and removed files
    tidy(folder)                 ``.incoming/`` removed unless a pending change needs it

Used by ``rag.ingest.corpus``, which says how a killed change is finished. Does not move articles,
check files nor re-index.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from rag.config import Settings
from rag.errors import CorpusError

STAGING = ".incoming"  # hidden: load_corpus skips it
LOCK = ".corpus.lock"
JOURNAL = ".pending.json"  # the add or remove in progress (hidden, and not an article type)
LOCK_WAIT_SECONDS = 600  # a second change waits this long for the first to finish


@dataclass(frozen=True)
class Pending:
    """An add or remove in progress, recorded in the corpus folder before it moves any file."""

    op: str  # "add" | "remove"
    files: tuple[str, ...]  # file names directly in the corpus folder


def _plain(name: object) -> bool:
    return isinstance(name, str) and bool(name) and Path(name).name == name and not name.startswith(".")


def read_pending(folder: Path) -> Pending | None:
    """The change recorded in ``folder`` (None when there is none); CorpusError when the record is damaged."""
    path = folder / JOURNAL
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
            f"{folder} holds the articles you want, delete {JOURNAL}, then run `python -m rag build`"
        )
    return Pending(data["op"], tuple(data["files"]))


def write_pending(folder: Path, pending: Pending) -> None:
    """Record ``pending`` atomically: a kill leaves the previous record or this one, whole."""
    tmp = folder / f"{JOURNAL}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump({"op": pending.op, "files": list(pending.files)}, f, ensure_ascii=False)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, folder / JOURNAL)


def clear_pending(folder: Path) -> None:
    (folder / JOURNAL).unlink(missing_ok=True)


def fresh_staging(folder: Path) -> Path:
    """An empty ``.incoming/``; what a change left there is no longer needed once no record is pending."""
    staging = folder / STAGING
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    return staging


def tidy(folder: Path) -> None:
    """Remove ``.incoming/`` unless a pending change still needs what it holds."""
    if not (folder / JOURNAL).exists():
        shutil.rmtree(folder / STAGING, ignore_errors=True)


@contextmanager
def locked(settings: Settings) -> Iterator[None]:
    """One change of the corpus at a time, across processes.

    A missing corpus folder is an error, not created: re-indexing an empty new folder would
    drop every article from the index (a mistyped ``--corpus``, an unmounted disk)."""
    if not settings.corpus_dir.is_dir():
        raise CorpusError(
            f"corpus folder {settings.corpus_dir} does not exist (or is not a folder); create it, or point "
            "RAG_CORPUS / --corpus at the folder of articles the index was built from"
        )
    lock = FileLock(str(settings.corpus_dir / LOCK))
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
