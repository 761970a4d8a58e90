"""Article collections: many articles in one file, streamed line by line into Documents.

    Collection(path, max_bytes)   iterable of Documents; ``len()`` counts lines (for an ETA);
                                  after iterating, ``skipped`` and ``skipped_count`` say what
                                  was left out and why ("news.txt:12: no "正文：" marker ...")
    parse_crud_line(line)         -> (date, text)   one CRUD-RAG news line
    parse_json_line(line)         -> dict           one JSON Lines record

Two formats, chosen by the file's extension:

* ``.jsonl`` (or ``.ndjson``): one JSON object a line with ``text`` (or ``content``) and
  optional ``title``, ``date``, ``url`` and ``id``. HTML or Markdown in ``text`` is cleaned.
* anything else (``.txt``): one article a line, as in the CRUD-RAG news corpus:
  ``[ 2023-07-28 16：40 ] ，正文：text``, ``2023-08-11 15:10，正文：text`` or ``，正文：text``
  (the date part may be missing or without a year; full-width or ASCII colon and comma).

Document ids: the record's ``id`` when given, else ``<file stem>-<12 hex digits of the text's
hash>``, which stays the same when lines move or other lines change, so an incremental build
re-embeds nothing but new or changed articles. The same article twice is indexed once.
Titles come from ``title`` or the first words of the text (``rag.ingest.docmeta.guess_title``), language
from ``rag.text.lang``, cleaning from ``rag.ingest.cleaning``; ``content_hash`` as in ``rag.ingest.loaders``.

A malformed line (no marker, invalid JSON, no text, not UTF-8, too long) is skipped and
counted, never fatal; a missing file or one without a single article is a CorpusError.
Does not read folders of article files (``rag.ingest.loaders``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from rag.errors import CorpusError
from rag.ingest.cleaning import clean
from rag.ingest.docmeta import guess_title, normalize_date
from rag.ingest.formats import sniff_kind
from rag.text.lang import detect_lang
from rag.types import DocMeta, Document

log = logging.getLogger(__name__)

JSON_SUFFIXES = (".jsonl", ".ndjson")
MAX_EXAMPLES = 20  # skipped lines kept with their reason (the rest are only counted)

_CRUD = re.compile(r"^\s*\[?\s*(?P<head>[^\n]*?)\s*\]?\s*[，,]?\s*正文\s*[：:]\s*(?P<text>.*)$", re.S)


def parse_crud_line(line: str) -> tuple[str, str]:
    """(ISO date or "", text) of one CRUD news line; ValueError saying what is wrong.

    >>> parse_crud_line("[ 2023-07-28 16：40 ] ，正文：人民网柏林7月28日电")
    ('2023-07-28', '人民网柏林7月28日电')
    >>> parse_crud_line("08/16  13:50，正文：参考消息网8月16日报道")
    ('', '参考消息网8月16日报道')
    >>> parse_crud_line("发布时间：2023-07-29 11:49:25，正文：Sayings：许多女孩😀")
    ('2023-07-29', 'Sayings：许多女孩😀')
    """
    m = _CRUD.match(line)
    if m is None:
        raise ValueError('no "正文：" marker; expected "[ date ] ，正文：text", one article a line')
    text = m.group("text").strip()
    if not text:
        raise ValueError('nothing after "正文："')
    return normalize_date(m.group("head")), text


def parse_json_line(line: str) -> dict[str, str]:
    """The fields of one JSON Lines record: id, title, date (ISO or ""), url, text.

    >>> parse_json_line('{"title": "深圳", "date": "2021年1月21日", "text": "正文", "id": 7}')
    {'id': '7', 'title': '深圳', 'date': '2021-01-21', 'url': '', 'text': '正文'}
    """
    try:
        record = json.loads(line)
    except json.JSONDecodeError as e:
        raise ValueError(f"not valid JSON ({e.msg} at column {e.colno})") from None
    if not isinstance(record, dict):
        raise ValueError(f"a JSON {type(record).__name__}, not an object with a text field")
    text = record.get("text", record.get("content"))
    if not isinstance(text, str) or not text.strip():
        raise ValueError('no "text" field (a non-empty string) in the record')
    url = str(record.get("url") or "").strip()
    return {
        "id": str(record.get("id", record.get("doc_id", "")) or "").strip(),
        "title": " ".join(str(record.get("title") or "").split()),
        "date": normalize_date(record.get("date") or ""),
        "url": url if re.match(r"https?://\S+$", url) else "",
        "text": text,
    }


class Collection:
    """The articles of one collection file, read as a stream (see the module docstring)."""

    def __init__(self, path: Path, max_bytes: int = 20_000_000) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.json = self.path.suffix.lower() in JSON_SUFFIXES
        if not self.path.is_file():
            raise CorpusError(
                f"collection file {self.path} does not exist or is not a file; give a .txt file with one "
                "article a line or a .jsonl file (--collection / RAG_COLLECTION)"
            )
        self.skipped: list[str] = []  # "file:line: reason", the first MAX_EXAMPLES
        self.reasons: Counter[str] = Counter()  # reason kind -> lines skipped
        self.documents = 0
        self._lines: int | None = None

    @property
    def skipped_count(self) -> int:
        return sum(self.reasons.values())

    def __len__(self) -> int:
        """Lines in the file (an upper bound of the articles; counted once, without parsing)."""
        if self._lines is None:
            with open(self.path, "rb") as f:
                self._lines = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
        return self._lines

    def _skip(self, n: int, kind: str, reason: str) -> None:
        self.reasons[kind] += 1
        message = f"{self.path.name}:{n}: {reason}"
        if len(self.skipped) < MAX_EXAMPLES:
            self.skipped.append(message)
        log.debug("skipped %s", message)

    def __iter__(self) -> Iterator[Document]:
        self.skipped, self.reasons, self.documents = [], Counter(), 0
        seen: set[str] = set()
        try:
            f = open(self.path, "rb")  # noqa: SIM115 - closed below, also when the consumer stops early
        except OSError as e:
            raise CorpusError(f"collection file {self.path} cannot be read ({e.strerror or e})") from e
        with f:
            for n, raw in enumerate(f, 1):
                if n == 1:
                    raw = raw.removeprefix(b"\xef\xbb\xbf")
                if not raw.strip():
                    continue
                if len(raw) > self.max_bytes:
                    self._skip(n, "too long", f"{len(raw):,} bytes, over the {self.max_bytes:,}-byte limit")
                    continue
                try:
                    doc = self._document(n, raw.decode("utf-8"))
                except UnicodeDecodeError:
                    self._skip(n, "not UTF-8", "not UTF-8 text; convert the file to UTF-8")
                    continue
                except ValueError as e:
                    self._skip(n, "malformed", str(e))
                    continue
                if doc.doc_id in seen:
                    self._skip(n, "duplicate", f"same article id {doc.doc_id!r} as an earlier line")
                    continue
                seen.add(doc.doc_id)
                self.documents += 1
                yield doc
        if self.skipped_count:
            log.warning(
                "%s: skipped %d of %d lines (%s); first: %s",
                self.path.name,
                self.skipped_count,
                self.skipped_count + self.documents,
                ", ".join(f"{k}: {v}" for k, v in self.reasons.most_common()),
                self.skipped[0],
            )
        if not self.documents:
            first = f" (first: {self.skipped[0]})" if self.skipped else ""
            raise CorpusError(
                f"collection file {self.path} holds no article{first}; check its format "
                '(one article a line: "[ date ] ，正文：text", or JSON Lines with "text")'
            )

    def _document(self, n: int, line: str) -> Document:
        line = line.rstrip("\r\n")
        if self.json:
            fields = parse_json_line(line)
        else:
            date, text = parse_crud_line(line)
            fields = {"id": "", "title": "", "date": date, "url": "", "text": text}
        raw = fields["text"].replace("\r\n", "\n")
        text = clean(raw, sniff_kind(raw, ".txt"))
        if not text:
            raise ValueError("no article text after cleaning")
        title = fields["title"] or guess_title(text)
        digest = hashlib.sha256(f"{title}\n{text}".encode()).hexdigest()
        doc_id = fields["id"] or f"{self.path.stem}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"
        meta = DocMeta(
            doc_id=doc_id,
            title=title,
            date=fields["date"],
            url=fields["url"],
            lang=detect_lang(text),
            source=self.path.name,
        )
        return Document(meta=meta, text=text, content_hash=digest)
