"""Damaged PDF extractions -> plain text: doubled bold lines, spaced-out CJK, lines broken mid-sentence.

    repair_pdf_text       undouble_line, then despace_cjk, then join_broken_lines
    looks_like_pdf_text   whether a text or Markdown body is such an extraction

Its rules (removing every space that touches a CJK character, joining lines) would damage ordinary
text: ``rag.ingest.cleaning.clean`` applies them to PDFs and to bodies ``looks_like_pdf_text`` picks.
Does not read PDF files (``rag.ingest.formats``).
"""

from __future__ import annotations

import re
import statistics

from rag.ingest.plain_text import (
    CJK,
    CJK_CHAR,
    FULLWIDTH_PUNCT,
    LINE_SEPARATORS,
    NEW_ITEM,
    ends_paragraph,
    glue_lines,
)
from rag.text.lang import HAN

_PUNCT = set(FULLWIDTH_PUNCT + ",.;:?!()\"'“”‘’…—·～")
_LATIN_END = re.compile(r"[.:][”’\"')]*$")
_CLAUSE_PUNCT = re.compile(r"[，。、；：？！,;:?!]")
_OPENERS = "“‘「『（(《【\"'"

_PUNCT_CLASS = "[" + re.escape("".join(sorted(_PUNCT))) + "]"
_PUNCT_OR_TEXT = re.compile(f"{_PUNCT_CLASS}|(?:(?!{_PUNCT_CLASS}).)+", re.S)


def _split_edges(segment: str) -> tuple[str, ...]:
    """A punctuation mark stays whole; a text run becomes (leading space, core, trailing space)."""
    if segment in _PUNCT:
        return (segment,)
    core = segment.strip()
    if not core:
        return (segment,)
    start = segment.index(core)
    return segment[:start], core, segment[start + len(core) :]


def _half(run: str) -> str | None:
    n = len(run)
    if n >= 2 and n % 2 == 0 and run[: n // 2] == run[n // 2 :]:
        return run[: n // 2]
    if n >= 3 and n % 2 == 1 and run[n // 2] == " " and run[: n // 2] == run[n // 2 + 1 :]:
        return run[: n // 2]
    return None


def undouble_line(line: str, min_chars: int = 3) -> str:
    """Undo a bold line the PDF printed twice: every text run and every punctuation mark doubled.

    Applies only when the *whole* line is doubled and at least ``min_chars`` non-space characters
    remain, so "深圳深圳" or "好！！" are left alone.

    >>> undouble_line("网通信设施网通信设施，，更为核心的是推进工业企业的更为核心的是推进工业企业的")
    '网通信设施，更为核心的是推进工业企业的'
    >>> undouble_line("态态 ，，构 建 新 型 商 业构 建 新 型 商 业")
    '态 ，构 建 新 型 商 业'
    >>> undouble_line("深圳深圳")
    '深圳深圳'
    """
    pieces = [p for seg in _PUNCT_OR_TEXT.findall(line.strip()) for p in _split_edges(seg) if p]
    out: list[str] = []
    i, text_runs = 0, 0
    while i < len(pieces):
        piece = pieces[i]
        if piece.isspace():
            out.append(piece)
            i += 1
        elif piece in _PUNCT:
            if i + 1 >= len(pieces) or pieces[i + 1] != piece:
                return line
            out.append(piece)
            i += 2
        else:
            half = _half(piece)
            if half is None:
                return line
            out.append(half)
            text_runs += 1
            i += 1
    result = "".join(out)
    if text_runs == 0 or len(re.sub(r"\s", "", result)) < min_chars:
        return line
    return result


_SPACE_NEARCJK = re.compile(f"[^\\S\\n]+(?=[{CJK}])|(?<=[{CJK}])[^\\S\\n]+")
_SPACED_RUN = re.compile(f"[{HAN}](?: [{HAN}]){{3,}}")


def despace_cjk(text: str) -> str:
    """Remove every space touching a CJK character; spaces between Latin words and numbers stay.

    >>> despace_cjk("建 成 5G 基 站 4.76 万 个 ，率 先 实 现 NB-IoT network")
    '建成5G基站4.76万个，率先实现NB-IoT network'
    """
    return _SPACE_NEARCJK.sub("", text)


def _is_heading(line: str, next_line: str) -> bool:
    """A short line without clause punctuation, clearly shorter than the line after it."""
    if _CLAUSE_PUNCT.search(line) or line[0] in _OPENERS:
        return False
    if CJK_CHAR.search(line):
        return 6 <= len(line) <= 14 and len(line) <= 0.75 * len(next_line)
    words = line.split()
    return 1 <= len(words) <= 12 and line[0].isupper() and len(line) <= 0.6 * len(next_line)


def _header_like(line: str) -> bool:
    return len(line) <= 30 and not _CLAUSE_PUNCT.search(line)


def join_broken_lines(text: str) -> str:
    """Rejoin a PDF's lines into paragraphs; blank lines carry no meaning (PDFs put them everywhere).

    A paragraph ends after 。！？!? (after "." only on a short Latin line), after a heading (a short
    line without punctuation that starts a paragraph, 6-14 CJK characters), or before an item
    marker such as "一、". Short unpunctuated lines at the top (title, subtitle, byline) stay apart
    unless the first is a wrapped line as long as the next.

    >>> join_broken_lines("架起这座桥\\n\\n记者杨阳腾\\n\\n工业互联网，一头连着\\n\\n传统工业。\\n\\n下段")
    '架起这座桥\\n记者杨阳腾\\n工业互联网，一头连着传统工业。\\n下段'
    """
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    if not lines:
        return ""
    lengths = sorted(len(line) for line in lines)
    width, full = statistics.median(lengths), lengths[int(0.8 * (len(lengths) - 1))]  # typical, full line
    paras = [[lines[0]]]
    starts_para, in_header = True, _header_like(lines[0])
    for prev, line in zip(lines, lines[1:], strict=False):
        latin_end = _LATIN_END.search(prev) and not CJK_CHAR.search(prev) and len(prev) < 0.8 * full
        ended = ends_paragraph(prev) or bool(latin_end) or bool(NEW_ITEM.match(line))
        heading = starts_para and _is_heading(prev, line)
        top = in_header and (_header_like(line) or len(prev) <= 0.75 * max(width, len(line)))
        in_header = in_header and _header_like(line)
        if ended or heading or top:
            paras.append([line])
            starts_para = True
        else:
            paras[-1].append(line)
            starts_para = False
    return "\n".join(glue_lines(p) for p in paras)


def repair_pdf_text(text: str) -> str:
    """Undouble doubled lines, despace CJK, join broken lines: see the three functions.

    >>> repair_pdf_text(" 架 起 工 业 桥架 起 工 业 桥\\n\\n今 年 1 月 ，工 业 和\\n\\n信息化部发布。")
    '架起工业桥\\n今年1月，工业和信息化部发布。'
    """
    lines = (undouble_line(line) for line in LINE_SEPARATORS.sub("\n", text).split("\n"))
    return join_broken_lines(despace_cjk("\n".join(lines)))


def looks_like_pdf_text(text: str) -> bool:
    """Whether a text body is a damaged PDF extraction: doubled lines, spaced-out CJK or CJK lines
    broken mid-sentence throughout.

    >>> looks_like_pdf_text("深圳工业\\n\\n互联网发展\\n\\n迅速，带动\\n\\n投资增长\\n\\n明显加快\\n\\n了。")
    True
    >>> looks_like_pdf_text("第一段。\\n第二段。\\nCity output takes the lead")
    False
    """
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    if len(lines) < 5:
        return False
    doubled = sum(undouble_line(line, min_chars=6) != line for line in lines)
    spaced = sum(bool(_SPACED_RUN.search(line)) for line in lines)
    broken = sum(
        bool(re.match(f"[{HAN}0-9A-Za-z]", a[-1]) and re.match(f"[{HAN}]", b[0]))
        for a, b in zip(lines, lines[1:], strict=False)
    )
    width = statistics.median(len(line) for line in lines)
    even = sum(0.75 * width <= len(line) <= 1.25 * width for line in lines) >= 0.5 * len(lines)
    hard_wrapped = width <= 50 and even and broken >= 0.5 * (len(lines) - 1)  # cut at one width
    return doubled >= 2 or spaced >= 2 or hard_wrapped
