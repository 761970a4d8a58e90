"""Cleaning: an article body (HTML, Markdown, plain text or PDF text) -> plain text, one paragraph a line.

    clean(raw_body, kind)          kind: "html" | "markdown" | "text" | "pdf"
      html      html_to_text       selectolax; drops scripts, styles, comments, ad/share/QR containers
                                   (tags nested past MAX_DEPTH dropped first: limit_nesting, linear time)
      markdown  markdown_to_text   headings, lists, links, emphasis -> text; then as text
      text      join_wrapped_lines hard-wrapped blocks -> one line per paragraph
      pdf       repair_pdf_text    undouble bold lines, despace CJK, join broken lines
      then      strip_boilerplate  ICP/police licence lines, copyright, editor lines, app promos, site tails
      then      normalize_whitespace

This module is the chain; the steps live by what they read:

    html_text     html_to_text               html_nesting  limit_nesting, MAX_DEPTH
    plain_text    markdown_to_text, join_wrapped_lines, normalize_whitespace
    pdf_text      repair_pdf_text, looks_like_pdf_text (undouble_line, despace_cjk, join_broken_lines)
    boilerplate   strip_boilerplate

PDF repair is applied when ``kind == "pdf"`` or when ``looks_like_pdf_text`` says a text/Markdown body
is a damaged PDF extraction (doubled lines, spaced-out CJK, hard-wrapped CJK lines); its rules
(removing every space that touches a CJK character, joining lines) would damage ordinary text.

Every function is pure and total: any ``str`` in, a ``str`` out, never an exception (``clean`` raises
ValueError for an unknown ``kind`` only). Does not read
files, detect encodings, parse front matter or find titles and dates (``loaders.py``, ``formats.py``,
``docmeta.py``), nor split sentences (``rag.index.chunking``). The boilerplate rules are line rules
learnt from the seed articles.
"""

from __future__ import annotations

from rag.ingest.boilerplate import strip_boilerplate
from rag.ingest.html_text import html_to_text
from rag.ingest.pdf_text import looks_like_pdf_text, repair_pdf_text
from rag.ingest.plain_text import (
    INVISIBLE,
    LINE_SEPARATORS,
    join_wrapped_lines,
    markdown_to_text,
    normalize_whitespace,
)

KINDS = ("html", "markdown", "text", "pdf")


def clean(raw_body: str, kind: str) -> str:
    """Cleaned article text for a body of the given kind (see module docstring); "" if nothing is left.

    >>> clean("<p>　　深圳 ，增长。</p><p class='article-editor'>责任编辑：彭佳兵</p>", "html")
    '深圳，增长。'
    >>> clean("架 起 工 业 桥架 起 工 业 桥\\n\\n今 年 1 月 ，工 业 和\\n\\n信息化部发布。", "pdf")
    '架起工业桥\\n今年1月，工业和信息化部发布。'
    """
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    text = INVISIBLE.sub("", LINE_SEPARATORS.sub("\n", raw_body))
    if kind == "html":
        text = html_to_text(text)
    elif kind == "pdf" or looks_like_pdf_text(text):
        text = repair_pdf_text(text)
    else:
        text = join_wrapped_lines(markdown_to_text(text) if kind == "markdown" else text)
    return normalize_whitespace(strip_boilerplate(normalize_whitespace(text)))
