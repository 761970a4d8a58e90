"""Loaders: article files -> Documents. The only module of the ingestion stage that touches files.

    load_corpus(folder, max_bytes, records) -> LoadReport(documents, skipped)   bad files skipped, with why
    load_file(path, max_bytes)              -> Document                         raises CorpusError

``records`` (``rag.ingest.records``, kept in the index folder as ``files.json``) holds,
per corpus file, its size and the sha256 of its bytes with the document id and content hash they
loaded to (or why the file was skipped), and the ``cleaner_id`` that made them: a file whose bytes
are unchanged is not read as an article and cleaned again, only hashed (``Unchanged``).

Per file: size limit -> bytes -> PDF (pypdf) when the bytes say "%PDF-", else text decoded as UTF-8
(with or without BOM; a few damaged bytes are dropped), UTF-16 with BOM, GB18030/GBK or what
charset-normalizer finds -> YAML front
matter split off -> kind sniffed from the content, not the extension (HTML tags -> "html";
.md, front matter or Markdown syntax -> "markdown"; else "text") -> ``cleaning.clean`` ->
title, date and URL from front matter, then HTML <meta>/<h1>/<title>, then a dated byline
("Updated: 2021-01-21") and the first line of the cleaned text. The pure steps live in
``formats`` (decoding, front matter, kind), ``cleaning`` and ``docmeta`` (title, date, URL); this
module reads the files and puts a Document together.

Does not recurse into subfolders, OCR scanned PDFs, or keep the author (``DocMeta`` has no field
for it). Documents whose cleaned text is empty are errors, never indexed.
"""

from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.errors import CorpusError
from rag.ingest.cleaning import clean
from rag.ingest.docmeta import byline_date, first_url, guess_title, html_meta, normalize_date
from rag.ingest.formats import decode_bytes, sniff_kind, split_front_matter
from rag.ingest.records import FileRecord, read_records, write_records
from rag.text.lang import detect_lang
from rag.types import DocMeta, Document

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf")


@dataclass(frozen=True)
class LoadReport:
    """What ``load_corpus`` loaded, and each file it skipped with the reason (for a warning)."""

    documents: tuple[Document | Unchanged, ...]  # Unchanged only when records were given
    skipped: tuple[tuple[str, str], ...]  # (file name, reason)


# --- files ------------------------------------------------------------------------------------------


def _fail(path: Path, reason: str) -> CorpusError:
    return CorpusError(f"{path.name}: {reason}")


def _read_pdf(path: Path, data: bytes) -> str:
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise _fail(path, "is an encrypted PDF; save an unencrypted copy")
        return "\n".join(page.extract_text() or "" for page in reader.pages)
    except CorpusError:
        raise
    except Exception as e:  # pypdf raises many exception types on damaged files
        raise _fail(path, f"cannot be read as a PDF ({type(e).__name__}: {e}); re-export it") from e


def load_file(path: Path, max_bytes: int) -> Document:
    """One article as a cleaned Document; CorpusError saying what is wrong and what to do.

    The document id is the file name without its extension; ``content_hash`` is the sha256 of
    title + "\\n" + cleaned text.
    """
    path = Path(path)
    return _document(path, _read(path, max_bytes))


def _read(path: Path, max_bytes: int) -> bytes:
    """The bytes of an article file, checked for type and size."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        supported = " ".join(SUPPORTED_SUFFIXES)
        raise _fail(path, f"unsupported file type {suffix or '(none)'!r}; convert it to one of {supported}")
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise _fail(path, "is not a regular file; expected an article file")
        if size > max_bytes:
            limit = f"the {max_bytes:,}-byte limit (Settings.max_file_bytes)"
            raise _fail(path, f"is {size:,} bytes, over {limit}; split the file or raise the limit")
        return path.read_bytes()
    except OSError as e:
        raise _fail(path, f"cannot be read ({e.strerror or e}); check that it exists and is readable") from e


def _document(path: Path, data: bytes) -> Document:
    """The Document of an article file's bytes (``load_file``)."""
    if not data.strip():
        raise _fail(path, "is empty; add the article text or remove the file")
    fields: dict[str, Any] = {}
    if b"%PDF-" in data[:1024]:  # the PDF header may follow some junk bytes
        body, kind = _read_pdf(path, data), "pdf"
    else:
        try:
            decoded = decode_bytes(data)
        except ValueError as e:
            raise _fail(path, f"{e}; save the article as UTF-8 text, Markdown, HTML or a text PDF") from e
        fields, body, problem = split_front_matter(decoded.replace("\r\n", "\n"))
        if problem:
            log.warning("%s: %s", path.name, problem)
        kind = sniff_kind(body, path.suffix.lower(), bool(fields))
    text = clean(body, kind)
    if not text:
        what = "no extractable text (a scanned PDF? OCR it first)" if kind == "pdf" else "no article text"
        raise _fail(
            path,
            f"has {what} after removing markup and boilerplate ({len(data):,} bytes read); "
            "check that it holds an article, or remove it",
        )
    meta = html_meta(body) if kind == "html" else {}
    title = " ".join(str(fields.get("title") or "").split()) or meta.get("title") or guess_title(text)
    dates = (normalize_date(fields.get(key)) for key in ("date", "published", "updated"))
    doc_meta = DocMeta(
        doc_id=path.stem,
        title=title,
        date=next((d for d in dates if d), "") or meta.get("date") or byline_date(body),
        url=first_url(fields) or meta.get("url", ""),
        lang=detect_lang(text),
        source=path.name,
    )
    digest = hashlib.sha256(f"{title}\n{text}".encode()).hexdigest()
    return Document(meta=doc_meta, text=text, content_hash=digest)


# --- the corpus folder, and what each file loaded to last time ----------------------------------------


@dataclass(frozen=True)
class Unchanged:
    """A corpus file whose bytes match its record: the Document it loads to is known by id and
    content hash without cleaning; ``load()`` cleans it again for a build that needs its text."""

    doc_id: str
    content_hash: str
    path: Path
    max_bytes: int

    def load(self) -> Document:
        return load_file(self.path, self.max_bytes)


def _load_known(
    path: Path, max_bytes: int, known: FileRecord | None
) -> tuple[Document | Unchanged | None, FileRecord | None, str]:
    """(document, record, "") for a file that loads, Unchanged when its bytes match ``known``;
    (None, record or None, why) for one that does not."""
    try:
        data = _read(path, max_bytes)
    except CorpusError as e:
        return None, None, _reason(path, e)
    digest = hashlib.sha256(data).hexdigest()
    if known is not None and known.size == len(data) and known.sha256 == digest:
        found = Unchanged(known.doc_id, known.content_hash, path, max_bytes) if not known.reason else None
        return found, known, known.reason
    try:
        doc = _document(path, data)
    except CorpusError as e:
        return None, FileRecord(path.name, len(data), digest, reason=_reason(path, e)), _reason(path, e)
    return doc, FileRecord(path.name, len(data), digest, doc.doc_id, doc.content_hash), ""


def _reason(path: Path, error: CorpusError) -> str:
    return str(error.args[0]).removeprefix(f"{path.name}: ")


def load_corpus(folder: Path, max_bytes: int, records: Path | None = None) -> LoadReport:
    """Every supported, visible file of ``folder`` (not subfolders), sorted by name.

    Unsupported, unreadable, empty and duplicate files are skipped with a reason; a missing folder,
    a folder with no supported file, or one where no file loads raises CorpusError.

    With ``records`` (a file, ``read_records``), a file whose bytes are those recorded is not
    cleaned again: ``documents`` holds an ``Unchanged`` for it (or it is skipped for the recorded
    reason), and the records are updated for the next call.
    """
    folder = Path(folder)
    todo = f"put articles ({' '.join(SUPPORTED_SUFFIXES)}) there or point RAG_CORPUS / --corpus elsewhere"
    if not folder.exists():
        raise CorpusError(f"Corpus folder {folder} does not exist; create it and {todo}")
    if not folder.is_dir():
        raise CorpusError(f"Corpus path {folder} is a file, not a folder of articles; {todo}")
    try:
        files = sorted(p for p in folder.iterdir() if not p.name.startswith(".") and p.is_file())
    except OSError as e:
        raise CorpusError(f"Corpus folder {folder} cannot be listed ({e.strerror or e}); check it") from e
    wanted = [p for p in files if p.suffix.lower() in SUPPORTED_SUFFIXES]
    if not wanted:
        found = ", ".join(p.name for p in files[:5]) or "no files"
        raise CorpusError(f"Corpus folder {folder} has no supported articles (found: {found}); {todo}")
    skipped = [(p.name, f"unsupported file type {p.suffix or '(none)'!r}") for p in files if p not in wanted]
    documents: list[Document | Unchanged] = []
    ids: dict[str, str] = {}
    hashes: dict[str, str] = {}
    known = read_records(records) if records else {}
    kept: list[FileRecord] = []
    for path in wanted:
        doc, record, why = _load_known(path, max_bytes, known.get(path.name))
        kept += [record] if record else []
        if doc is None:
            skipped.append((path.name, why))
            continue
        if doc.doc_id in ids:
            skipped.append((path.name, f"same document id {doc.doc_id!r} as {ids[doc.doc_id]}; rename one"))
        elif doc.content_hash in hashes:
            skipped.append((path.name, f"same title and text as {hashes[doc.content_hash]}"))
        else:
            ids[doc.doc_id], hashes[doc.content_hash] = path.name, path.name
            documents.append(doc)
    if records and (kept != [known.get(r.name) for r in kept] or len(kept) != len(known)):
        write_records(records, kept)
    if not documents:
        reasons = "; ".join(f"{name}: {why}" for name, why in skipped[:3])
        raise CorpusError(f"No article in {folder} could be loaded ({reasons}); fix or replace the files")
    return LoadReport(tuple(documents), tuple(sorted(skipped)))
