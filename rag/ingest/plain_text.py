"""Plain text and Markdown -> plain text, one paragraph a line, and the line rules cleaning shares.

    normalize_whitespace   one paragraph a line, single spaces, no invisible characters, NFC
    join_wrapped_lines     hard-wrapped blocks -> one line per paragraph
    markdown_to_text       headings, lists, links, emphasis -> text with its line structure
    glue_lines             the lines of one paragraph joined (no space where CJK meets anything)

Also the character classes the other cleaning modules share (``CJK``, ``INVISIBLE``,
``LINE_SEPARATORS``, ``NEW_ITEM``). Pure and total like all of cleaning (``rag.ingest.cleaning``);
does not parse HTML (``html_text``), repair PDF extractions (``pdf_text``) or drop boilerplate
(``boilerplate``).
"""

from __future__ import annotations

import re
import unicodedata

from rag.text.lang import HAN

CJK = HAN + "\u3000-\u303f\u3040-\u30ff\uff00-\uffef"  # + CJK punctuation, kana, full-width forms
CJK_CHAR = re.compile(f"[{CJK}]")
FULLWIDTH_PUNCT = "，。、；：？！（）《》〈〉【】「」『』〔〕"
SENTENCE_END = re.compile(r"[。！？!?][”’」』）)\"']*$")
NEW_ITEM = re.compile(r"^(?:[一二三四五六七八九十]+、|（[一二三四五六七八九十]+）|\d+[、．]|[•●■◆▪►]\s*)")

LINE_SEPARATORS = re.compile("\r\n|[\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
INVISIBLE = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\u00ad\u200b-\u200d\u2060\ufeff\ud800-\udfff]")
_SPACES = re.compile(r"[^\S\n]+")
_SPACE_NEAR_PUNCT = re.compile(f" (?=[{FULLWIDTH_PUNCT}])|(?<=[{FULLWIDTH_PUNCT}]) ")


def normalize_whitespace(text: str) -> str:
    """One paragraph a line: no blank lines, single spaces, no spaces around full-width punctuation.

    Also drops zero-width and control characters and applies NFC.

    >>> normalize_whitespace("\\ufeff　　政策驱动下 ，工业\\r\\n\\n\\n  5G   建设  \\n")
    '政策驱动下，工业\\n5G 建设'
    """
    text = INVISIBLE.sub("", LINE_SEPARATORS.sub("\n", text))
    text = _SPACES.sub(" ", unicodedata.normalize("NFC", text))
    lines = (_SPACE_NEAR_PUNCT.sub("", line.strip()) for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def glue_lines(lines: list[str]) -> str:
    """The lines of one paragraph joined: no space where CJK meets anything or after a hyphen."""
    out = lines[:1]
    for left, right in zip(lines, lines[1:], strict=False):
        cjk = CJK_CHAR.match(left[-1]) or CJK_CHAR.match(right[0])
        out += ["" if cjk or (left.endswith("-") and right[0].islower()) else " ", right]
    return "".join(out)


def ends_paragraph(line: str) -> bool:
    """Whether ``line`` ends a sentence (。！？!?, a closing quote or bracket may follow)."""
    return bool(SENTENCE_END.search(line))


def _looks_wrapped(lines: list[str]) -> bool:
    """Lines of one block cut at a fixed width (prose, not a list of short items or paragraphs)."""
    longest = max((len(line) for line in lines), default=0)
    return len(lines) >= 2 and 30 <= longest <= 120 and all(len(x) >= 0.6 * longest for x in lines[:-1])


def join_wrapped_lines(text: str) -> str:
    """Join hard-wrapped lines inside blank-line separated blocks whose lines share one width.

    Blocks of paragraphs one a line (widths vary) or of short items are left alone, and a line
    ending a sentence (。！？!?) still ends its paragraph.

    >>> join_wrapped_lines("Title\\n\\nShenzhen's industrial output rose\\nto 3.7 trillion yuan in 2020\\n"
    ...                    "and led.\\n\\n深圳\\n广州")
    "Title\\n\\nShenzhen's industrial output rose to 3.7 trillion yuan in 2020 and led.\\n\\n深圳\\n广州"
    """
    out: list[str] = []
    for block in re.split(r"\n[^\S\n]*\n", text):
        lines = [line.strip() for line in block.split("\n") if line.strip()]
        if not _looks_wrapped(lines):
            out.append("\n".join(lines))
            continue
        paras = [lines[:1]]
        for line in lines[1:]:
            if ends_paragraph(paras[-1][-1]) or NEW_ITEM.match(line):
                paras.append([line])
            else:
                paras[-1].append(line)
        out.append("\n".join(glue_lines(p) for p in paras))
    return "\n\n".join(out)


_MD_RULES = [
    (re.compile(r"!\[[^\]]*\]\([^)]*\)"), ""),  # images
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # inline links
    (re.compile(r"\[([^\]]+)\]\[[^\]]*\]"), r"\1"),  # reference links
    (re.compile(r"<br\s*/?>", re.I), "\n"),
    (re.compile(r"</?[A-Za-z][^<>]{0,200}>"), ""),  # stray inline HTML tags
    (re.compile(r"(\*\*|__|~~)(?=\S)(.+?)(?<=\S)\1"), r"\2"),
    (re.compile(r"(?<!\*)\*(?=\S)([^*\n]+?)(?<=\S)\*(?!\*)"), r"\1"),
    (re.compile(r"(?<!\w)_(?=\S)([^_\n]+?)(?<=\S)_(?!\w)"), r"\1"),
    (re.compile(r"`([^`\n]+)`"), r"\1"),
]
_MD_OWN_BLOCK = re.compile(r"^\s*(?:#{1,6}\s|[-*+]\s|\d+[.)]\s|\|)")  # headings, list items, table rows
_MD_DROP = re.compile(r"^\s*(?:(?:[-*_=]\s*){3,}|\[[^\]]+\]:\s*\S+.*|\|?[\s:|-]*-{3,}[\s:|-]*)$")


def markdown_to_text(md: str) -> str:
    """Markdown -> text with its line structure: markup removed, headings and list items made blocks
    of their own (so ``join_wrapped_lines`` never glues them), code lines kept.

    >>> md = "# 深圳 *工业*\\n见[报告](http://x.cn)，增长**2%**。\\n---\\n- 一\\n- two ![](a.png)"
    >>> normalize_whitespace(markdown_to_text(md))
    '深圳 工业\\n见报告，增长2%。\\n一\\ntwo'
    """
    out: list[str] = []
    in_code = False
    for raw in md.split("\n"):
        if re.match(r"\s*(```|~~~)", raw):
            in_code = not in_code
            out.append("")
        elif in_code or _MD_DROP.match(raw):
            out.append(f"\n{raw.strip()}\n" if in_code else "")
        else:
            line = re.sub(r"^\s*(?:#{1,6}\s+|(?:>\s?)+|[-*+]\s+|\d+[.)]\s+)", "", raw)
            line = re.sub(r"\s+#+\s*$", "", line).replace("|", " ")
            for pattern, repl in _MD_RULES:
                line = pattern.sub(repl, line)
            out.append(f"\n{line.strip()}\n" if _MD_OWN_BLOCK.match(raw) else line.strip())
    return "\n".join(out)
