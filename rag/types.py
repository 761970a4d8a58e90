"""Frozen dataclasses passed between pipeline stages.

    loaders/cleaning -> Document -> chunking -> Chunk -> index -> Hit
    -> generation/pipeline -> Answer (with Citation and Timings)

No behaviour lives here beyond tiny derived properties.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Lang = Literal["zh", "en"]


@dataclass(frozen=True)
class DocMeta:
    """What a citation needs to know about an article."""

    doc_id: str  # file name without extension, e.g. "000_862134049d5dfa6d"
    title: str
    date: str  # ISO date "YYYY-MM-DD", or "" when unknown
    url: str  # source URL, or ""
    lang: Lang
    source: str = ""  # file name the article came from


@dataclass(frozen=True)
class Document:
    """A cleaned article."""

    meta: DocMeta
    text: str  # cleaned text; Chunk offsets point into it
    content_hash: str  # sha256 hex of title + cleaned text

    @property
    def doc_id(self) -> str:
        return self.meta.doc_id


@dataclass(frozen=True)
class Chunk:
    """A passage of a document; ``text == document.text[start:end]``."""

    chunk_id: str  # "<doc_id>#<n>"
    doc_id: str
    text: str
    start: int  # character offsets into Document.text
    end: int
    lang: Lang


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its score and 1-based rank."""

    chunk: Chunk
    doc: DocMeta
    score: float
    rank: int


@dataclass(frozen=True)
class Citation:
    """A numbered passage shown with an answer."""

    n: int
    doc_id: str
    title: str
    date: str
    url: str
    chunk_id: str
    text: str  # the passage shown to the model and the reader
    start: int  # span of ``text`` in the cleaned document
    end: int
    lang: Lang
    score: float = 0.0
    # What a reader is shown around the passage, filled by the pipeline (``rag.answer.write.display``),
    # so the chat UI draws a source from the answer alone; empty for citations made elsewhere.
    story: str = ""  # its article's story group (``Pipeline.story_groups``): translations share one
    before: str = ""  # the sentences just before ``text`` in its article ("…" where cut)
    after: str = ""  # the sentences just after it
    tellings: tuple[DocMeta, ...] = ()  # the other articles of its story, by doc_id

    def to_json(self) -> dict:
        return {
            "n": self.n,
            "doc_id": self.doc_id,
            "title": self.title,
            "date": self.date,
            "url": self.url,
            "chunk_id": self.chunk_id,
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "lang": self.lang,
            "story": self.story,
            "before": self.before,
            "after": self.after,
            "tellings": [
                {"doc_id": d.doc_id, "title": d.title, "date": d.date, "url": d.url, "lang": d.lang}
                for d in self.tellings
            ],
        }


@dataclass(frozen=True)
class Timings:
    retrieve_ms: float = 0.0
    first_token_ms: float = 0.0
    total_ms: float = 0.0
    prompt_tokens: int = 0

    def to_json(self) -> dict:
        return {
            "retrieve_ms": round(self.retrieve_ms, 1),
            "first_token_ms": round(self.first_token_ms, 1),
            "total_ms": round(self.total_ms, 1),
            "prompt_tokens": self.prompt_tokens,
        }


@dataclass(frozen=True)
class Trace:
    """How an answer came about, for diagnosis (``rag.bench.failures``); not shown to readers.

    ``evidence``: the passage texts the generator (or the extractor) was given; ``draft``: the text
    written before a check withdrew it; ``stopped_by``: why the answer abstained: ``"retrieval"``
    (nothing relevant found), ``"gate"`` (the generator's probability of NO_ANSWER before writing),
    ``"model"`` (it wrote NO_ANSWER), ``"check"`` (a check withdrew the draft), ``"empty"``; "" when
    it answered."""

    evidence: tuple[str, ...] = ()
    draft: str = ""
    stopped_by: str = ""


@dataclass(frozen=True)
class Answer:
    text: str
    lang: Lang
    abstained: bool
    citations: tuple[Citation, ...] = ()
    timings: Timings = field(default_factory=Timings)
    mode: Literal["llm", "extractive"] = "llm"
    notices: tuple[str, ...] = ()  # e.g. "generator unavailable: extractive answer"
    unverified_figures: tuple[str, ...] = ()  # figures of the answer that no cited passage states
    trace: Trace = field(default_factory=Trace, compare=False)  # for diagnosis; not in to_json

    def to_json(self) -> dict:
        return {
            "answer": self.text,
            "lang": self.lang,
            "abstained": self.abstained,
            "citations": [c.to_json() for c in self.citations],
            "timings": self.timings.to_json(),
            "mode": self.mode,
            "notices": list(self.notices),
            "unverified_figures": list(self.unverified_figures),
        }
