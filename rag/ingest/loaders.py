"""Loaders: article files -> Documents. The only module of the ingestion stage that touches files.

    load_corpus(folder, max_bytes, records) -> LoadReport(documents, skipped)   bad files skipped, with why
    load_file(path, max_bytes)              -> Document                         raises CorpusError

``records`` (``read_records`` / ``write_records``, kept in the index folder as ``files.json``) holds,
per corpus file, its size and the sha256 of its bytes with the document id and content hash they
loaded to (or why the file was skipped), and the ``cleaner_id`` that made them: a file whose bytes
are unchanged is not read as an article and cleaned again, only hashed (``Unchanged``).

Per file: size limit -> bytes -> PDF (pypdf) when the bytes say "%PDF-", else text decoded as UTF-8
(with or without BOM; a few damaged bytes are dropped), UTF-16 with BOM, GB18030/GBK or what
charset-normalizer finds -> YAML front
matter split off -> kind sniffed from the content, not the extension (HTML tags -> "html";
.md, front matter or Markdown syntax -> "markdown"; else "text") -> ``cleaning.clean`` ->
title, date and URL from front matter, then HTML <meta>/<h1>/<title>, then a dated byline
("Updated: 2021-01-21") and the first line of the cleaned text.

Does not recurse into subfolders, OCR scanned PDFs, or keep the author (``DocMeta`` has no field
for it). Documents whose cleaned text is empty are errors, never indexed.
"""

from __future__ import annotations

import email.utils
import hashlib
import io
import json
import logging
import os
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import metadata, resources
from pathlib import Path
from typing import Any

from selectolax.lexbor import LexborHTMLParser

from rag.errors import CorpusError
from rag.ingest.cleaning import clean
from rag.ingest.html_nesting import limit_nesting
from rag.text.lang import detect_lang, han_count
from rag.types import DocMeta, Document

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf")


@dataclass(frozen=True)
class LoadReport:
    """What ``load_corpus`` loaded, and each file it skipped with the reason (for a warning)."""

    documents: tuple[Document | Unchanged, ...]  # Unchanged only when records were given
    skipped: tuple[tuple[str, str], ...]  # (file name, reason)


# --- bytes -> text ----------------------------------------------------------------------------------

_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))


def _plausible(text: str) -> bool:
    """Decoded text, not binary: almost every character printable."""
    sample = text[:100_000]
    return sum(not (c.isprintable() or c in "\n\r\t") for c in sample) <= len(sample) // 100


def decode_bytes(data: bytes) -> str:
    """Text of a file's bytes; ValueError saying why when they are binary or in no known encoding.

    >>> decode_bytes("深圳".encode("gbk")), decode_bytes(b"\\xef\\xbb\\xbfCity")
    ('深圳', 'City')
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(encoding)
            except UnicodeDecodeError as e:
                raise ValueError(f"starts with a {encoding} byte-order mark but is not {encoding}") from e
    if b"\x00" in data:
        raise ValueError("looks like a binary file, not text (it contains NUL bytes)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    lenient = data.decode("utf-8", "replace")  # UTF-8 with a few damaged bytes: drop them
    if lenient.count("\ufffd") <= len(lenient) // 200 and re.search(r"[^\x00-\x7f\ufffd]", lenient):
        return lenient.replace("\ufffd", "")
    try:
        text = data.decode("gb18030")
        if _plausible(text):
            return text
    except UnicodeDecodeError:
        pass
    import charset_normalizer  # imported here: most files never need it

    match = charset_normalizer.from_bytes(data).best()
    if match is not None and _plausible(str(match)):
        return str(match)
    raise ValueError("is not text in a known encoding (tried UTF-8, GB18030/GBK and detection)")


# --- front matter and metadata (pure) ---------------------------------------------------------------

_FRONT_MATTER = re.compile(r"\A\s*---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)


def split_front_matter(text: str) -> tuple[dict[str, Any], str, str]:
    """(fields, body, problem). Fields have lower-case keys; invalid YAML falls back to reading
    ``key: value`` lines one by one and says so in ``problem``.

    >>> split_front_matter('---\\ntitle: "深圳"\\nfrom: https://x.cn/a\\n---\\n<p>正文</p>')
    ({'title': '深圳', 'from': 'https://x.cn/a'}, '<p>正文</p>', '')
    >>> split_front_matter("---\\ntitle: [深圳\\n---\\n正文")[0::2]
    ({'title': '[深圳'}, 'front matter is not valid YAML; read its key: value lines one by one')
    """
    match = _FRONT_MATTER.match(text[:65536])
    if not match:
        return {}, text, ""
    block, body = match.group(1), text[match.end() :]
    import yaml  # imported here: a build that reads nothing again needs none of it

    try:
        fields = yaml.safe_load(block)
        if isinstance(fields, dict):
            return {str(k).lower(): v for k, v in fields.items()}, body, ""
    except (yaml.YAMLError, ValueError, TypeError, OverflowError, RecursionError):
        pass  # e.g. an unclosed bracket, or "date: 2021-13-45" (PyYAML raises ValueError)
    fields = {}
    for line in block.split("\n"):
        kv = re.match(r"\s*([A-Za-z_][\w-]*)\s*:\s*(.*?)\s*$", line)
        if kv and kv.group(2):
            fields[kv.group(1).lower()] = kv.group(2).strip("\"'")
    if not fields:  # "---" rules around prose, not front matter
        return {}, text, ""
    return fields, body, "front matter is not valid YAML; read its key: value lines one by one"


_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_YMD = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})|^(\d{4})(\d{2})(\d{2})$")
_DMY = re.compile(
    r"(\d{1,2})\s+([A-Za-z]{3})[a-z]*\.?,?\s+(\d{4})"  # 21 Jan 2021
    r"|([A-Za-z]{3})[a-z]*\.?\s+(\d{1,2}),?\s+(\d{4})"  # January 21, 2021
)


def normalize_date(value: object) -> str:
    """ISO "YYYY-MM-DD" of a date in a common form, or "" (the date as written; no time zone shift).

    >>> [normalize_date(v) for v in ("2021-01-20T13:17:00.000Z", "Sun, 21 Nov 2021 14:10:15 GMT",
    ...                              "2021年1月21日", "January 21, 2021", "tomorrow")]
    ['2021-01-20', '2021-11-21', '2021-01-21', '2021-01-21', '']
    """
    if isinstance(value, date):  # datetime too
        return value.strftime("%Y-%m-%d")
    text = str(value).strip()[:200] if isinstance(value, str | int) else ""
    found: tuple[int, int, int] | None = None
    if m := _YMD.search(text):
        y, mo, d = (int(g) for g in (m.groups()[:3] if m.group(1) else m.groups()[3:]))
        found = (y, mo, d)
    elif m := _DMY.search(text):
        d_, mon, y_ = m.group(1, 2, 3) if m.group(1) else (m.group(5), m.group(4), m.group(6))
        if mon.lower() in _MONTHS:
            found = (int(y_), _MONTHS.index(mon.lower()) + 1, int(d_))
    else:
        try:
            parsed = email.utils.parsedate_to_datetime(text)
            found = (parsed.year, parsed.month, parsed.day)
        except (TypeError, ValueError, IndexError, OverflowError):
            return ""
    try:
        return date(*found).isoformat() if found and 1900 <= found[0] <= 2200 else ""
    except ValueError:
        return ""


_DATED_BYLINE = re.compile(
    r"(?:updated|published|posted|date|发布时间|发布日期|更新时间|日期|时间)\s*[:：]\s*([^|\n]{6,40})", re.I
)


def byline_date(text: str) -> str:
    """Date of a labelled byline in the first lines of a body, or "".

    >>> byline_date("City output\\n\\nWriter: Han Ximin  |  Updated: 2021-01-21\\n\\nThe industrial…")
    '2021-01-21'
    """
    for m in _DATED_BYLINE.finditer("\n".join(text.split("\n")[:20])[:4000]):
        if found := normalize_date(m.group(1)):
            return found
    return ""


def guess_title(text: str) -> str:
    """The first line when it reads like a title (short, not a sentence), else that line shortened.

    >>> guess_title("架起工业互联网这座桥\\n——来自深圳的产业发展调查")
    '架起工业互联网这座桥'
    >>> guess_title("在刚刚过去的2023年,深圳通信基站占全球产量1/2、电化学储能占全球产量约1/7。")
    '在刚刚过去的2023年,深圳通信基站占全球产量1/2…'
    """
    first = text.strip().split("\n", 1)[0].strip()
    cjk = han_count(first) > 0
    if len(first) <= (50 if cjk else 120) and not re.search(r"[。.，,;；:：]$", first):
        return first
    if cjk:  # cut at the last clause mark in the first 30 characters, if there is a late enough one
        cut = first[:30]
        marks = [i for i, c in enumerate(cut) if c in "，,、；;：:" and i >= 10]
        return (cut[: marks[-1]] if marks else cut) + "…"
    return first[:80].rsplit(" ", 1)[0].rstrip(",;: ") + "…"


def html_meta(html: str) -> dict[str, str]:
    """Title (og:title, <h1>, <title>), canonical URL and published date of an HTML page, where found.

    >>> html_meta('<title>深圳 - 网</title><link rel="canonical" href="https://x.cn/a"><h1>深圳</h1>')
    {'title': '深圳', 'url': 'https://x.cn/a'}
    """
    tree = LexborHTMLParser(limit_nesting(re.sub("[\x00\ud800-\udfff]", "", html)))

    def first(*pairs: tuple[str, str]) -> str:
        for selector, attr in pairs:
            node = tree.css_first(selector)
            value = (node.attributes.get(attr) if attr else node.text(strip=True)) if node else None
            if value and value.strip():
                return " ".join(value.split())
        return ""

    found = {
        "title": first(('meta[property="og:title"]', "content"), ("h1", ""), ("title", "")),
        "url": first(('link[rel="canonical"]', "href"), ('meta[property="og:url"]', "content")),
        "date": normalize_date(
            first(
                ('meta[property="article:published_time"]', "content"),
                ('meta[name="pubdate"]', "content"),
                ("time[datetime]", "datetime"),
            )
        ),
    }
    if not re.match(r"https?://", found["url"]):
        found["url"] = ""
    return {k: v for k, v in found.items() if v}


_HTML_TAG = re.compile(
    r"<(?:!doctype\s+html|html|body|div|p|br|span|section|article|table|h[1-6]|li)\b", re.I
)
_MARKDOWN = re.compile(r"^#{1,6}\s+\S|\[[^\]\n]+\]\([^)\s]+\)|^\s*[-*]\s+\S.*\n\s*[-*]\s+\S", re.M)


def sniff_kind(body: str, suffix: str, has_front_matter: bool = False) -> str:
    """The kind of a body for ``clean``: HTML tags win, then .md / front matter / Markdown syntax.

    >>> [sniff_kind(body, ".txt") for body in ("<div><p>正文</p></div>", "# 标题\\n正文", "正文")]
    ['html', 'markdown', 'text']
    """
    if len(_HTML_TAG.findall(body[:50000])) >= 2:
        return "html"
    if suffix in (".md", ".markdown") or has_front_matter or _MARKDOWN.search(body[:50000]):
        return "markdown"
    return "text"


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


def _first_url(fields: dict[str, Any]) -> str:
    for key in ("from", "url", "source", "link", "canonical"):
        value = fields.get(key)
        if isinstance(value, str) and re.match(r"https?://\S+$", value.strip()):
            return value.strip()
    return ""


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
        url=_first_url(fields) or meta.get("url", ""),
        lang=detect_lang(text),
        source=path.name,
    )
    digest = hashlib.sha256(f"{title}\n{text}".encode()).hexdigest()
    return Document(meta=doc_meta, text=text, content_hash=digest)


# --- the corpus folder, and what each file loaded to last time ----------------------------------------


@dataclass(frozen=True)
class FileRecord:
    """What a corpus file's bytes loaded to: kept in the records file, so that a file whose bytes
    did not change is not cleaned again (its Document is the one indexed before)."""

    name: str  # file name in the corpus folder
    size: int
    sha256: str  # of the bytes
    doc_id: str = ""  # the Document's id and content hash, or ...
    content_hash: str = ""
    reason: str = ""  # ... why the file was skipped


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


# the source files of the modules that make Documents (every module a new cleaning step goes in)
DOCUMENT_MODULES = (
    "ingest/loaders.py",
    "ingest/cleaning.py",
    "ingest/plain_text.py",
    "ingest/html_nesting.py",
    "ingest/html_text.py",
    "ingest/pdf_text.py",
    "ingest/boilerplate.py",
    "text/lang.py",
)


@lru_cache(maxsize=1)
def cleaner_id() -> str:
    """Changes whenever cleaning could give other text for the same bytes: the source of the modules
    that make Documents, and the versions of the libraries they parse with."""
    h = hashlib.sha256()
    package = resources.files("rag")
    for name in DOCUMENT_MODULES:
        h.update(package.joinpath(name).read_bytes())
    for package in ("selectolax", "pypdf", "charset-normalizer", "pyyaml"):
        try:
            h.update(f"{package}={metadata.version(package)}".encode())
        except metadata.PackageNotFoundError:
            h.update(package.encode())
    return h.hexdigest()[:16]


def read_records(path: Path) -> dict[str, FileRecord]:
    """The records file's entries by file name; none when it is missing, damaged or written by
    another cleaner."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("cleaner") != cleaner_id():
            return {}
        return {r[0]: FileRecord(*r) for r in data["files"]}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}


def write_records(path: Path, records: list[FileRecord]) -> None:
    """Replace the records file (atomically: a reader sees the old one or the new one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    rows = [[r.name, r.size, r.sha256, r.doc_id, r.content_hash, r.reason] for r in records]
    tmp.write_text(json.dumps({"cleaner": cleaner_id(), "files": rows}, ensure_ascii=False), "utf-8")
    os.replace(tmp, path)


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
