"""What each corpus file loaded to last time: the records file (``files.json`` in the index folder).

    FileRecord                  a file's size and sha256 with the document id and content hash they loaded
                                to, or why the file was skipped
    read_records / write_records  the records file, valid only for the same ``cleaner_id``
    cleaner_id()                changes whenever cleaning could give other text for the same bytes

A file whose bytes match its record is not read as an article and cleaned again (``loaders.Unchanged``).
Does not read articles (``loaders``).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata, resources
from pathlib import Path


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


# the source files of the modules that make Documents (every module a new cleaning step goes in)
DOCUMENT_MODULES = (
    "ingest/loaders.py",
    "ingest/formats.py",
    "ingest/docmeta.py",
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
    for library in ("selectolax", "pypdf", "charset-normalizer", "pyyaml"):
        try:
            h.update(f"{library}={metadata.version(library)}".encode())
        except metadata.PackageNotFoundError:
            h.update(library.encode())
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
