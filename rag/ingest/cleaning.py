"""Cleaning: an article body (HTML, Markdown, plain text or PDF text) -> plain text, one paragraph a line.

    clean(raw_body, kind)          kind: "html" | "markdown" | "text" | "pdf"
      html      html_to_text       selectolax; drops scripts, styles, comments, ad/share/QR containers
                                   (tags nested past MAX_DEPTH dropped first: limit_nesting, linear time)
      markdown  markdown_to_text   headings, lists, links, emphasis -> text; then as text
      text      join_wrapped_lines hard-wrapped blocks -> one line per paragraph
      pdf       repair_pdf_text    undouble bold lines, despace CJK, join broken lines
      then      strip_boilerplate  ICP/police licence lines, copyright, editor lines, app promos, site tails
      then      normalize_whitespace

PDF repair is applied when ``kind == "pdf"`` or when ``looks_like_pdf_text`` says a text/Markdown body
is a damaged PDF extraction (doubled lines, spaced-out CJK, hard-wrapped CJK lines); its rules
(removing every space that touches a CJK character, joining lines) would damage ordinary text.

Every function is pure and total: any ``str`` in, a ``str`` out, never an exception (``clean`` raises
ValueError for an unknown ``kind`` only). Does not read
files, detect encodings, parse front matter or find titles and dates (``loaders.py``), nor split
sentences (``chunking.py``). The boilerplate rules are line rules learnt from the seed articles.
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from collections import Counter

from selectolax.lexbor import LexborHTMLParser, LexborNode

from rag.text.lang import HAN

KINDS = ("html", "markdown", "text", "pdf")

_CJK = HAN + "\u3000-\u303f\u3040-\u30ff\uff00-\uffef"  # + CJK punctuation, kana, full-width forms
_CJK_RE = re.compile(f"[{_CJK}]")
_FULLWIDTH_PUNCT = "，。、；：？！（）《》〈〉【】「」『』〔〕"
_PUNCT = set(_FULLWIDTH_PUNCT + ",.;:?!()\"'“”‘’…—·～")
_SENTENCE_END = re.compile(r"[。！？!?][”’」』）)\"']*$")
_LATIN_END = re.compile(r"[.:][”’\"')]*$")
_CLAUSE_PUNCT = re.compile(r"[，。、；：？！,;:?!]")
_OPENERS = "“‘「『（(《【\"'"
_NEW_ITEM = re.compile(r"^(?:[一二三四五六七八九十]+、|（[一二三四五六七八九十]+）|\d+[、．]|[•●■◆▪►]\s*)")

# --- whitespace ------------------------------------------------------------------------------------

_LINE_SEPARATORS = re.compile("\r\n|[\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
_INVISIBLE = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\u00ad\u200b-\u200d\u2060\ufeff\ud800-\udfff]")
_SPACES = re.compile(r"[^\S\n]+")
_SPACE_NEAR_PUNCT = re.compile(f" (?=[{_FULLWIDTH_PUNCT}])|(?<=[{_FULLWIDTH_PUNCT}]) ")


def normalize_whitespace(text: str) -> str:
    """One paragraph a line: no blank lines, single spaces, no spaces around full-width punctuation.

    Also drops zero-width and control characters and applies NFC.

    >>> normalize_whitespace("\\ufeff　　政策驱动下 ，工业\\r\\n\\n\\n  5G   建设  \\n")
    '政策驱动下，工业\\n5G 建设'
    """
    text = _INVISIBLE.sub("", _LINE_SEPARATORS.sub("\n", text))
    text = _SPACES.sub(" ", unicodedata.normalize("NFC", text))
    lines = (_SPACE_NEAR_PUNCT.sub("", line.strip()) for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


# --- HTML ------------------------------------------------------------------------------------------

_SKIP_TAGS = {
    "script", "style", "noscript", "iframe", "svg", "canvas", "template", "head", "title", "nav", "aside",
    "footer", "form", "button", "select", "option", "textarea", "input", "object", "embed", "audio", "video",
}  # fmt: skip
_BLOCK_TAGS = {
    "p", "div", "section", "article", "main", "header", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol",
    "li", "dl", "dt", "dd", "table", "thead", "tbody", "tfoot", "tr", "blockquote", "pre", "figure",
    "figcaption", "hr", "address", "center", "details", "summary", "body", "html",
}  # fmt: skip
# class/id words of containers that hold ads, QR codes, share buttons, editor credits, related links
_JUNK_WORD = re.compile(
    r"^(?:ads?|adlist|adsbygoogle|advert\w*|dfp\w*|innity\w*|sponsor\w*|promo\w*|banner|qr\w*|"
    r"appendqr\w*|share\w*|social|related|recommend\w*|comments?|editor|hidden)$"
)
_WORD_BREAK = re.compile(r"[\s_-]+")
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)


def _is_junk(node: LexborNode) -> bool:
    attrs = node.attributes
    if "hidden" in attrs or _HIDDEN_STYLE.search(attrs.get("style") or ""):
        return True
    words = _WORD_BREAK.split(f"{attrs.get('id') or ''} {attrs.get('class') or ''}".lower())
    return any(_JUNK_WORD.match(w) for w in words if w)


def _children(node: LexborNode) -> list[LexborNode]:
    return list(node.iter(include_text=True))


# --- nesting ---------------------------------------------------------------------------------------

MAX_DEPTH = 256  # elements nested deeper lose their tags (libxml2 stops at 256, browsers at 512)
_TAG_OR_COMMENT = re.compile(r"<!--|<(/?)([A-Za-z][^\s/>]*)")
# how limit_nesting counts a tag: "flat" (void, or closes an open one of its kind: <p>, <li>, <td>
# ...) does not nest; "raw" holds text, not tags (outside <svg> and <math>); "rest" ends the tags
_TAG_RULES = {
    **dict.fromkeys(
        [
            "area",
            "base",
            "basefont",
            "bgsound",
            "br",
            "col",
            "embed",
            "frame",
            "hr",
            "image",
            "img",
            "input",
            "keygen",
            "link",
            "meta",
            "param",
            "source",
            "track",
            "wbr",
        ],
        "flat",
    ),
    **dict.fromkeys(
        [
            "p",
            "li",
            "dt",
            "dd",
            "option",
            "optgroup",
            "tr",
            "td",
            "th",
            "thead",
            "tbody",
            "tfoot",
            "caption",
            "colgroup",
            "rb",
            "rp",
            "rt",
            "rtc",
            "a",
            "button",
            "nobr",
            "form",
        ],
        "flat",
    ),
    **dict.fromkeys(["script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes"], "raw"),
    "plaintext": "rest",
}


def _foreign(open_count: Counter[str]) -> bool:
    """Inside <svg> or <math>, where ``<x/>`` closes itself and <style> holds tags."""
    return bool(open_count["svg"] or open_count["math"])


def _close(stack: list[str], open_count: Counter[str], name: str) -> int:
    """Close the innermost open ``name`` and all open inside it; its index, or -1 when no ``name``
    is open (the end tag is ignored). Each element is closed once: linear over a page."""
    if not open_count[name]:
        return -1
    found = len(stack) - 1
    while stack[found] != name:
        found -= 1
    for tag in stack[found:]:
        open_count[tag] -= 1
    del stack[found:]
    return found


def limit_nesting(html: str, limit: int = MAX_DEPTH) -> str:
    """``html`` without the tags of elements nested more than ``limit`` deep: their text stays,
    a run of such block tags becomes one ``<br>``, inline ones go.

    An HTML parser checks the elements open around every block it starts (the HTML standard's
    scope checks), so a page of deeply nested blocks costs it time growing with the square of
    the depth: 200,000 nested <div>s took minutes. One pass over the tags here, counting what
    is open the way the parser does in the common cases (end tags close what they match, void
    elements and <p>, <li>, <td> ... do not nest, script and style hold text, ``<x/>`` closes
    itself inside <svg> and <math>), bounds the depth the parser sees. Comments and raw-text
    content are copied as they are.

    >>> limit_nesting("<div><div class='a'><div><p>深圳</div></div><span>x</span> y</div>", limit=1)
    '<div><br><p>深圳<br>x y</div>'
    >>> limit_nesting("<script>if (a<b) {}</script><div>x</div>", limit=1)
    '<script>if (a<b) {}</script><div>x</div>'
    """
    out: list[str] = []
    stack: list[str] = []  # tags of the elements counted open; those at index >= limit are dropped
    open_count: Counter[str] = Counter()
    pos, copied, lower, broke = 0, 0, "", False  # html[:copied] is in out, which ends with a <br> put
    while (m := _TAG_OR_COMMENT.search(html, pos)) is not None:
        pos = m.end()
        closing, name = m.groups()
        if name is None:  # a comment
            end = html.find("-->", pos)
            pos = len(html) if end < 0 else end + 3
            continue
        name = name.lower()
        rule = _TAG_RULES.get(name)
        if rule is not None and (rule != "raw" or not _foreign(open_count)):
            if rule == "raw" and not closing:  # skip to its end tag
                lower = lower or html.lower()
                end = lower.find("</" + name, pos)
                pos = len(html) if end < 0 else end
            elif rule == "rest" and not closing:
                break
            continue
        if closing:
            found = _close(stack, open_count, name)
            if found < 0:
                continue
        else:
            if _foreign(open_count) and html[html.find(">", pos) - 1] == "/":  # <path/>: not left open
                continue
            found = len(stack)
            stack.append(name)
            open_count[name] += 1
        if found >= limit:  # drop the tag; a block's becomes a <br> unless one is just before
            gap = html[copied : m.start()]
            broke = broke and not gap.strip()
            out += [gap, "<br>" if name in _BLOCK_TAGS and not broke else ""]
            broke = broke or name in _BLOCK_TAGS
            end = html.find(">", m.end())
            pos = copied = len(html) if end < 0 else end + 1
    return "".join(out) + html[copied:] if out else html


def _render(root: LexborNode) -> str:
    """Text of ``root``: block elements end lines, inline ones flow, <pre> keeps its lines."""
    out: list[str] = []
    stack: list[tuple[LexborNode, bool, bool]] = [(root, False, False)]  # node, leaving, in <pre>
    while stack:
        node, leaving, pre = stack.pop()
        tag = node.tag or ""
        if leaving:
            out.append("\n" if tag in _BLOCK_TAGS else "")
        elif node.is_text_node:
            text = node.text_content or ""
            keep_lines = pre or (node.parent is not None and node.parent.tag == "body")
            out.append(text if keep_lines else re.sub(r"\s+", " ", text))
        elif node.is_element_node and tag not in _SKIP_TAGS:
            out.append("\n" if tag in _BLOCK_TAGS or tag == "br" else " " if tag in ("td", "th") else "")
            stack.append((node, True, pre))
            inner = pre or tag == "pre"
            stack.extend((child, False, inner) for child in reversed(_children(node)))
    return "".join(out)


def _text_lengths(root: LexborNode) -> dict[int, int]:
    """``len(node.text(deep=True))`` of ``root`` and of every element under it, by ``mem_id``, in
    one pass over the tree."""
    lengths: dict[int, int] = {}
    for node in reversed(list(root.traverse(include_text=True))):  # children before their parent
        own = len(node.text_content or "") if node.is_text_node else lengths.setdefault(node.mem_id, 0)
        if own and node.mem_id != root.mem_id and (parent := node.parent) is not None:
            lengths[parent.mem_id] = lengths.get(parent.mem_id, 0) + own
    return lengths


class _TextLength:
    """``len(node.text(deep=True))`` for nodes under ``root``: asked of the parser node by node
    until that has read ``budget`` characters, then looked up in ``_text_lengths`` (containers
    nested deep would have their text read once per level)."""

    def __init__(self, root: LexborNode, budget: int) -> None:
        self.root, self.budget, self.lengths = root, budget, None

    def __call__(self, node: LexborNode) -> int:
        if self.lengths is None and self.budget >= 0:
            n = len(node.text(deep=True) or "")
            self.budget -= n
            return n
        self.lengths = self.lengths or _text_lengths(self.root)
        return self.lengths.get(node.mem_id, 0)


def html_to_text(html: str) -> str:
    """Main text of an HTML page or fragment, one block element a line.

    Uses the largest <article> (else <main>, else <body>) when it holds most of the text. Loose text
    directly in <body> keeps its line breaks (Markdown files often mix Markdown lines with HTML).
    Time grows with the size of the page, not with how deep it nests (``limit_nesting``).

    >>> html_to_text('<div><p>深圳<a href="#">新产业</a>，增长2%。</p><script>x()</script>'
    ...              '<div class="dfp-tag-wrapper">广告</div><!-- c --><p>第二段</p></div>')
    '深圳新产业，增长2%。\\n第二段'
    """
    tree = LexborHTMLParser(limit_nesting(_INVISIBLE.sub("", html)))
    body = tree.body or tree.root
    if body is None:
        return ""
    total = len(body.text(deep=True, strip=True) or "")
    length = _TextLength(body, 4 * len(html))
    stack = _children(body)
    while stack:  # remove junk containers, top-down; a container holding most text is the article
        node = stack.pop()
        if node.is_element_node and _is_junk(node) and length(node) <= total / 2:
            node.decompose()  # (nothing under a node is removed before it is measured)
        elif node.is_element_node:
            stack.extend(_children(node))
    root = body
    length = _TextLength(body, 4 * len(html))  # after the junk is gone
    for tag in ("article", "main"):
        nodes = sorted(body.css(tag), key=length)
        if nodes and length(nodes[-1]) >= total / 2:
            root = nodes[-1]
            break
    return normalize_whitespace(_render(root))


# --- Markdown and wrapped plain text ----------------------------------------------------------------


def _glue(lines: list[str]) -> str:
    """The lines of one paragraph joined: no space where CJK meets anything or after a hyphen."""
    out = lines[:1]
    for left, right in zip(lines, lines[1:], strict=False):
        cjk = _CJK_RE.match(left[-1]) or _CJK_RE.match(right[0])
        out += ["" if cjk or (left.endswith("-") and right[0].islower()) else " ", right]
    return "".join(out)


def _ends_paragraph(line: str) -> bool:
    return bool(_SENTENCE_END.search(line))


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
            if _ends_paragraph(paras[-1][-1]) or _NEW_ITEM.match(line):
                paras.append([line])
            else:
                paras[-1].append(line)
        out.append("\n".join(_glue(p) for p in paras))
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


# --- damaged PDF extractions ------------------------------------------------------------------------


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


_SPACE_NEAR_CJK = re.compile(f"[^\\S\\n]+(?=[{_CJK}])|(?<=[{_CJK}])[^\\S\\n]+")
_SPACED_RUN = re.compile(f"[{HAN}](?: [{HAN}]){{3,}}")


def despace_cjk(text: str) -> str:
    """Remove every space touching a CJK character; spaces between Latin words and numbers stay.

    >>> despace_cjk("建 成 5G 基 站 4.76 万 个 ，率 先 实 现 NB-IoT network")
    '建成5G基站4.76万个，率先实现NB-IoT network'
    """
    return _SPACE_NEAR_CJK.sub("", text)


def _is_heading(line: str, next_line: str) -> bool:
    """A short line without clause punctuation, clearly shorter than the line after it."""
    if _CLAUSE_PUNCT.search(line) or line[0] in _OPENERS:
        return False
    if _CJK_RE.search(line):
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
        latin_end = _LATIN_END.search(prev) and not _CJK_RE.search(prev) and len(prev) < 0.8 * full
        ended = _ends_paragraph(prev) or bool(latin_end) or bool(_NEW_ITEM.match(line))
        heading = starts_para and _is_heading(prev, line)
        top = in_header and (_header_like(line) or len(prev) <= 0.75 * max(width, len(line)))
        in_header = in_header and _header_like(line)
        if ended or heading or top:
            paras.append([line])
            starts_para = True
        else:
            paras[-1].append(line)
            starts_para = False
    return "\n".join(_glue(p) for p in paras)


def repair_pdf_text(text: str) -> str:
    """Undouble doubled lines, despace CJK, join broken lines: see the three functions.

    >>> repair_pdf_text(" 架 起 工 业 桥架 起 工 业 桥\\n\\n今 年 1 月 ，工 业 和\\n\\n信息化部发布。")
    '架起工业桥\\n今年1月，工业和信息化部发布。'
    """
    lines = (undouble_line(line) for line in _LINE_SEPARATORS.sub("\n", text).split("\n"))
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


# --- boilerplate ------------------------------------------------------------------------------------

_LICENCE = re.compile(
    r"ICP\s*[备证]|公网安备|增值电信业务经营许可证|新闻信息服务许可证|友情链接|版权所有|all rights reserved"
    r"|^copyright\b|^(?:©|\(c\))|copyright\s*(?:@|©|\(c\))?\s*\d{4}"
    r"|^\[[^\]]*\]\([^)]*\)$|^(?:[-=*_]\s*){3,}$|^\d{1,2}:\d{2}(?::\d{2})?$",
    re.I,
)
_CREDIT = re.compile(
    r"^(?:责任编辑|编辑|主编|审读|审核|审校|校对|一审|二审|三审|终审|监制|统筹|值班编辑|实习编辑)(?:\s*[:：]\s*|\s+)\S"
    r"|^(?i:writer|editor|author|reporter|source|from|updated|published|posted)\s*[:：]"
    r"|^(?:本报记者|本报通讯员)(?:[\s、]*[\u4e00-\u9fff]{2,4})+$|^(?:来源|稿源|出处)\s*[:：]"
    r"|(?i:app|客户端|二维码|公众号).*(?:下载|尽在|打开|扫码|扫描|关注|识别)"
    r"|(?:下载|尽在|打开|扫码|扫描|关注|识别).*(?i:app|客户端|二维码|公众号)"
    r"|^By\s+[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*){0,3}$"
)
# a line that is exactly one of these starts a site's hot-list / related / comments tail
_TAIL_MARKERS = {
    "读特热榜", "in视频", "鹏友圈", "相关新闻", "相关阅读", "相关报道", "推荐阅读", "延伸阅读", "热门推荐",
    "猜你喜欢", "热门文章", "精彩推荐", "更多新闻", "网友评论", "热门评论", "related articles",
    "related stories", "read more", "more from this section", "you may also like",
}  # fmt: skip


def _is_boilerplate(line: str) -> bool:
    core = re.sub(r"^[-*•·]\s*", "", line.strip())
    if not core:
        return True
    if len(core) <= 200 and _LICENCE.search(core):
        return True
    return len(core) <= 160 and "。" not in core and bool(_CREDIT.search(core))


def strip_boilerplate(text: str) -> str:
    """Drop site furniture, line by line, and cut a site's trailing hot-list / related-posts section.

    Dropped lines: ICP and police licence numbers, "友情链接", copyright footers, editor and byline
    lines ("编辑 X 审读 Y", "责任编辑：X", "Writer: … | Updated: …", "本报记者 X"), app/QR promos,
    bare timestamps, Markdown link-only and rule lines. A line that is exactly a tail marker
    ("读特热榜", "相关新闻", "Read more", …) ends the article when 200+ characters precede it.
    Photo captions stay.

    >>> strip_boilerplate("深圳工业总产值3.7万亿元。\\n编辑 贺佳艺 审读 韩绍俊\\n海量资讯，尽在新浪财经APP"
    ...                   "\\n- 粤ICP备10228864号\\nCopyright @1997-2023 深圳特区报社")
    '深圳工业总产值3.7万亿元。'
    """
    kept: list[str] = []
    seen = 0
    for line in text.split("\n"):
        core = re.sub(r"^[-*•·]\s*", "", line.strip())
        if core.lower() in _TAIL_MARKERS:
            if seen >= 200:
                break
            continue
        if not _is_boilerplate(line):
            kept.append(line)
            seen += len(core)
    return "\n".join(kept)


# --- the chain --------------------------------------------------------------------------------------


def clean(raw_body: str, kind: str) -> str:
    """Cleaned article text for a body of the given kind (see module docstring); "" if nothing is left.

    >>> clean("<p>　　深圳 ，增长。</p><p class='article-editor'>责任编辑：彭佳兵</p>", "html")
    '深圳，增长。'
    >>> clean("架 起 工 业 桥架 起 工 业 桥\\n\\n今 年 1 月 ，工 业 和\\n\\n信息化部发布。", "pdf")
    '架起工业桥\\n今年1月，工业和信息化部发布。'
    """
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    text = _INVISIBLE.sub("", _LINE_SEPARATORS.sub("\n", raw_body))
    if kind == "html":
        text = html_to_text(text)
    elif kind == "pdf" or looks_like_pdf_text(text):
        text = repair_pdf_text(text)
    else:
        text = join_wrapped_lines(markdown_to_text(text) if kind == "markdown" else text)
    return normalize_whitespace(strip_boilerplate(normalize_whitespace(text)))
