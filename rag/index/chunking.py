"""Split a cleaned document into passages for embedding.

Sentence-aware for Chinese and English: sentences end at 。！？；… (and their closing
quotes), at . ! ? followed by a space or the end of a line (so "3.7", "U.S." and "Dr. Li"
stay whole), and at every line break (one paragraph per line after cleaning). Sentences are
packed greedily up to ``target`` tokens of the embedding model's tokenizer; the next
passage starts with the last sentences of the previous one, up to ``overlap`` tokens. A
sentence longer than ``max_tokens`` is cut into pieces. Every chunk is an exact slice of
the document: ``doc.text[chunk.start:chunk.end] == chunk.text``.

Does not look at meaning (no semantic splitting) and does not add the title: the
embedding stage prefixes it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from rag.text.lang import detect_lang
from rag.types import Chunk, Document

TokenCounter = Callable[[str], int]

_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "etc", "inc", "ltd", "co", "corp",
    "no", "fig", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov",
    "dec", "u.s", "u.k", "e.g", "i.e", "a.m", "p.m",
}  # fmt: skip
_CJK_END = "。！？；…!?;"
_CLOSERS = "”’」』）)\"'"
_EN_END = re.compile(r"[.!?](?=[" + re.escape(_CLOSERS) + r"]*(\s|$))")


@dataclass(frozen=True)
class ChunkParams:
    target: int = 240  # tokens per passage, aimed for
    overlap: int = 40  # tokens repeated from the previous passage
    max_tokens: int = 400  # hard cap (the e5 model reads 512 at most)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of ``text``, whitespace between them excluded.

    >>> t = "深圳建成5G基站4.6万个。It grew 3.7 percent! Dr. Li said so.\\n第二段"
    >>> [t[a:b] for a, b in sentence_spans(t)]
    ['深圳建成5G基站4.6万个。', 'It grew 3.7 percent!', 'Dr. Li said so.', '第二段']
    """
    spans: list[tuple[int, int]] = []
    for line in re.finditer(r"[^\n]+", text):
        _split_line(text, line.start(), line.end(), spans)
    return spans


def _split_line(text: str, start: int, end: int, out: list[tuple[int, int]]) -> None:
    i = start
    sent_start = start
    while i < end:
        ch = text[i]
        if ch in _CJK_END or (
            ch in ".!?" and _EN_END.match(text, i) and not _is_abbreviation(text, sent_start, i)
        ):
            j = i + 1
            while j < end and (text[j] in _CLOSERS or text[j] in _CJK_END):
                j += 1
            _push(text, sent_start, j, out)
            sent_start = j
            i = j
            continue
        i += 1
    _push(text, sent_start, end, out)


def _is_abbreviation(text: str, sent_start: int, dot: int) -> bool:
    if text[dot] != ".":
        return False
    m = re.search(r"([A-Za-z][A-Za-z.]*)$", text[sent_start:dot])
    if not m:
        return False
    word = m.group(1).lower()
    return word in _ABBREVIATIONS or len(word) == 1  # "J. Smith", "A. B."


def _push(text: str, a: int, b: int, out: list[tuple[int, int]]) -> None:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    if a < b:
        out.append((a, b))


def _cut_long(
    text: str, span: tuple[int, int], count: TokenCounter, max_tokens: int
) -> list[tuple[int, int]]:
    """Cut one over-long sentence into pieces of at most ``max_tokens`` (by halving)."""
    a, b = span
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    if count(text[a:b]) <= max_tokens or b - a < 2:
        return [(a, b)] if a < b else []
    mid = (a + b) // 2
    space = text.rfind(" ", a + 1, mid + 1)  # prefer a word boundary in Latin text
    if space > a + (mid - a) // 2:
        mid = space
    return _cut_long(text, (a, mid), count, max_tokens) + _cut_long(text, (mid, b), count, max_tokens)


def chunk_spans(text: str, count: TokenCounter, params: ChunkParams = ChunkParams()) -> list[tuple[int, int]]:
    """Passage spans: sentences packed up to ``params.target`` tokens, with overlap.

    >>> words = lambda s: len(s.split())
    >>> t = "One two three. Four five six. Seven eight nine. Ten eleven twelve."
    >>> [t[a:b] for a, b in chunk_spans(t, words, ChunkParams(target=6, overlap=3, max_tokens=8))]
    ... # doctest: +NORMALIZE_WHITESPACE
    ['One two three. Four five six.', 'Four five six. Seven eight nine.',
     'Seven eight nine. Ten eleven twelve.']
    """
    sents: list[tuple[int, int]] = []
    for span in sentence_spans(text):
        sents.extend(_cut_long(text, span, count, params.max_tokens))
    sizes = [count(text[a:b]) for a, b in sents]
    chunks: list[tuple[int, int]] = []
    i = 0
    while i < len(sents):
        j, total = i, 0
        while j < len(sents) and (j == i or total + sizes[j] <= params.target):
            total += sizes[j]
            j += 1
        chunks.append((sents[i][0], sents[j - 1][1]))
        if j >= len(sents):
            break
        # step back over trailing sentences that fit in the overlap, but always advance
        back, k = 0, j
        while k - 1 > i and back + sizes[k - 1] <= params.overlap:
            back += sizes[k - 1]
            k -= 1
        i = k
    return chunks


def chunk_document(doc: Document, count: TokenCounter, params: ChunkParams = ChunkParams()) -> list[Chunk]:
    """The passages of ``doc`` as ``Chunk`` objects with ids ``<doc_id>#<n>``."""
    out = []
    for n, (a, b) in enumerate(chunk_spans(doc.text, count, params)):
        piece = doc.text[a:b]
        out.append(
            Chunk(
                chunk_id=f"{doc.doc_id}#{n}",
                doc_id=doc.doc_id,
                text=piece,
                start=a,
                end=b,
                lang=detect_lang(piece, default=doc.meta.lang),
            )
        )
    return out
