"""Files checked before they enter the corpus folder: a safe name, a supported type, a size within
the limit, an article that loads, no clash with one already there.

    safe_name("../../etc/新闻 1.TXT") -> "新闻_1.txt"
    stage_files(settings, paths, staging, hashes)   the good files copied into ``staging``, the
                                                    others with the reason they were rejected
    article_files(folder)                           the article files directly in a folder

Used by ``rag.ingest.corpus.add_files`` under its lock. Does not move files into the corpus folder,
record the change nor re-index (``rag.ingest.corpus``).
"""

from __future__ import annotations

import re
import shutil
import unicodedata
from collections.abc import Iterable, Mapping
from pathlib import Path

from rag.config import Settings
from rag.errors import CorpusError
from rag.ingest.loaders import SUPPORTED_SUFFIXES, load_file

MAX_NAME_CHARS = 100  # file-name stem length kept
UPLOAD_TYPES = (".txt", ".md", ".html", ".pdf")  # what the UI offers (the loaders also take .htm, .markdown)


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


def article_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if _supported(p)) if folder.is_dir() else []


def stage_files(
    settings: Settings, paths: Iterable[str | Path], staging: Path, hashes: dict[str, str]
) -> tuple[list[tuple[str, str, bool]], list[tuple[str, str]]]:
    """Check every file and copy the good ones into ``staging``.

    Returns ([(name in the corpus, name as given, copied)], [(name as given, reason)]); a file
    identical to the corpus file of the same name is not copied (copied False)."""
    folder = settings.corpus_dir
    rejected: list[tuple[str, str]] = []
    uploads: list[tuple[str, str, bool]] = []
    taken = {p.stem.lower(): p.name for p in article_files(folder)}
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
