"""The corpus as a person manages and reads it: add articles, remove one, list them, show sources.

    add_files(settings, paths)     -> AddReport      check, copy into the corpus folder, re-index
    remove_doc(settings, doc_id)   -> RemoveReport   delete the article's file, re-index
    list_docs(settings)            -> list[DocInfo]  what the index holds (title, date, lang, chunks)
    swap_store(pipeline)                             point a loaded pipeline at the new index
    refresh(pipeline)                                ... when another process changed it
    safe_name("../../etc/新闻 1.TXT") -> "新闻_1.txt"
    group_citations(citations, story_of)             citations by story, then by article
    context_window(text, start, end)                 a cited span with a little of its surroundings

Shared by the chat UI's articles tab and ``python -m rag add|remove|list``. A change is made
under a lock on the corpus folder (one change at a time, across processes): every file is
checked first (type, size, that it loads to an article, no clash with an article already
there), then moved into the folder under a safe name, then the incremental build
(``rag.ingest.build``) runs; if the build fails, the files are put back as they were. The
index swaps atomically (``rag.index``), and ``swap_store`` replaces the pipeline's store with
one attribute assignment: questions already running keep the store they started with.

Only files directly in ``settings.corpus_dir`` are written or deleted; uploads are staged in
its hidden ``.incoming/`` folder, which the loaders ignore.

Does not parse articles (``rag.loaders``) nor write the index (``rag.index``).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from filelock import FileLock, Timeout

from .config import Settings
from .errors import CorpusError, IndexError_
from .index import BuildReport, IndexStore, live_build
from .loaders import SUPPORTED_SUFFIXES, load_file
from .types import Citation, Lang

if TYPE_CHECKING:
    from .embedding import Embedder
    from .pipeline import Pipeline

_STAGING = ".incoming"  # hidden: load_corpus skips it
_LOCK = ".corpus.lock"
LOCK_WAIT_SECONDS = 600  # a second change waits this long for the first to finish
MAX_NAME_CHARS = 100  # file-name stem length kept
UPLOAD_TYPES = (".txt", ".md", ".html", ".pdf")  # what the UI offers (the loaders also take .htm, .markdown)


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


def _rebuild(
    settings: Settings,
    embedder: Embedder | None,
    encoder2: Embedder | None,
    on_progress: Callable[[int, int], None] | None,
    progress: bool,
) -> BuildReport:
    from .ingest import build  # imports the models' wrappers: only when a change is made

    return build(settings, embedder, progress=progress, on_progress=on_progress, encoder2=encoder2).build


def _indexed_hashes(settings: Settings) -> dict[str, str]:
    """content hash -> doc_id of the live index (hash as ``rag.loaders``: sha256 of title + "\\n" + text)."""
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
    is taken, or an article with the same title and text is already indexed. The others are
    indexed together in one incremental build (``on_progress(done, total)`` counts passages
    embedded). Raises only when the build itself fails (the folder is then restored).
    """
    folder = settings.corpus_dir
    rejected: list[tuple[str, str]] = []
    staged: list[tuple[Path, Path, str]] = []  # (staged file, final path, name as given)
    with _locked(settings):
        staging = folder / _STAGING
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        try:
            taken = {p.stem.lower(): p.name for p in _articles(folder)}
            hashes = _indexed_hashes(settings)
            for given in paths:
                src = Path(given)
                shown, name = src.name, src.name
                try:
                    name = safe_name(shown)
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
                    rejected.append(
                        (shown, f"已有相同文章 · same title and text as article {hashes[doc.content_hash]}")
                    )
                    continue
                hashes[doc.content_hash] = doc.doc_id
                taken[dest.stem.lower()] = name
                staged.append((dest, folder / name, shown))
            if not staged:
                return AddReport((), tuple(rejected), None)
            for dest, final, _ in staged:
                if (
                    final.resolve().parent != folder.resolve()
                ):  # belt and braces: safe_name already ensures it
                    raise CorpusError(f"{final.name}: would be written outside {folder}; rename the file")
                os.replace(dest, final)
            try:
                report = _rebuild(settings, embedder, encoder2, on_progress, progress)
            except BaseException:
                for _, final, _ in staged:
                    final.unlink(missing_ok=True)
                raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    ids = {final.stem for _, final, _ in staged}
    added = tuple(d for d in list_docs(settings) if d.doc_id in ids)
    missing = sorted(ids - {d.doc_id for d in added})  # loaded alone but skipped in the build: say so
    rejected += [
        (n, "未被索引 · was not indexed (see the server log)") for _, f, n in staged if f.stem in missing
    ]
    return AddReport(added, tuple(rejected), report)


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

    CorpusError when no article has that id or it is the last one (an index needs one).
    """
    folder = settings.corpus_dir
    with _locked(settings):
        articles = _articles(folder)
        files = [p for p in articles if p.stem == doc_id]  # matched against the listing, never joined
        if not files:
            raise CorpusError(f"no article {doc_id!r} in {folder}; `python -m rag list` shows the ids")
        if len(files) == len(articles):
            raise CorpusError(f"{doc_id!r} is the last article in {folder}; add another before removing it")
        trash = folder / _STAGING
        shutil.rmtree(trash, ignore_errors=True)
        trash.mkdir()
        try:
            for p in files:
                os.replace(p, trash / p.name)
            try:
                report = _rebuild(settings, embedder, encoder2, on_progress, progress)
            except BaseException:
                for p in files:
                    os.replace(trash / p.name, p)
                raise
        finally:
            shutil.rmtree(trash, ignore_errors=True)
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


def detach(store: IndexStore) -> IndexStore:
    """Check that the store answers without its folder's files being opened again.

    ``rag.index`` keeps only the newest build; a loaded store holds its FAISS index, BM25 matrix,
    SQLite connection and vector mappings from the moment it loads (a mapping, like an open file,
    outlives the file's deletion), so this only touches them once.
    """
    store.similarities(np.zeros(store.manifest.dim, dtype=np.float32), [])
    if store.manifest.encoder2_id:
        store.similarities(np.zeros(store.manifest.dim2, dtype=np.float32), [], space="encoder2")
    return store


def swap_store(pipeline: Pipeline) -> IndexStore:
    """Load the live index and make ``pipeline`` use it (one attribute assignment).

    The new index must be compatible with the one in use (same embedder, chunking...), which
    it is when it was built with the pipeline's settings. The old store is left to questions
    still using it and closes when they drop it.
    """
    store = detach(IndexStore.load(pipeline.settings.index_dir, pipeline.store.manifest))
    pipeline.store = store
    return store


def refresh(pipeline: Pipeline) -> bool:
    """Swap in the live index when another process (``python -m rag add``...) changed it."""
    live = live_build(pipeline.settings.index_dir)
    if live is None or live == pipeline.store.folder.resolve():
        return False
    swap_store(pipeline)
    return True


# --------------------------------------------------------------------------- sources


def group_citations(citations: Sequence[Citation], story_of: Mapping[str, str]) -> list[list[list[Citation]]]:
    """Citations grouped by story, then by article, in the order they were first cited.

    ``story_of`` maps a doc_id to its story (``Pipeline.story_groups``: the same news in
    Chinese and in English shares one); an article missing from it is a story of its own.

    >>> cited = ((1, "000"), (2, "004"), (3, "000"), (4, "001"))
    >>> c = [Citation(n, d, "", "", "", f"{d}#0", "", 0, 1, "zh") for n, d in cited]
    >>> [[[x.n for x in doc] for doc in story] for story in group_citations(c, {"000": "s", "004": "s"})]
    [[[1, 3], [2]], [[4]]]
    """
    stories: dict[str, dict[str, list[Citation]]] = {}
    for c in citations:
        key = story_of.get(c.doc_id) or f"doc:{c.doc_id}"
        stories.setdefault(key, {}).setdefault(c.doc_id, []).append(c)
    return [list(docs.values()) for docs in stories.values()]


_SENTENCE_END = re.compile(r"[。！？!?；;\n]|\.(?=\s)")


def context_window(text: str, start: int, end: int, chars: int = 80) -> tuple[str, str, str]:
    """(before, span, after): the span ``text[start:end]`` with whole sentences of context from
        the ``chars`` characters each side, or "…" where no sentence boundary falls in them; runs of
    white space in the context become one space.

        >>> context_window("第一句。第二句很长。第三句。第四句。", 4, 10, chars=6)
        ('第一句。', '第二句很长。', '第三句。')
        >>> context_window("One. Two three four. Five six.", 5, 20, chars=3)
        ('', 'Two three four.', ' Fi…')
    """
    before = text[max(0, start - chars) : start]
    if start > chars:  # the window starts mid-text: from the first sentence start in it
        ends = list(_SENTENCE_END.finditer(before))
        before = before[ends[0].end() :] if ends else "…" + before
    after = text[end : end + chars]
    if end + chars < len(text):  # the window ends mid-text: up to its last sentence end
        ends = list(_SENTENCE_END.finditer(after))
        after = after[: ends[-1].end()] if ends else after + "…"
    return re.sub(r"\s+", " ", before.lstrip()), text[start:end], re.sub(r"\s+", " ", after.rstrip())
