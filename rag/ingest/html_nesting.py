"""HTML nesting bounded: the tags of elements nested too deep dropped, in one linear pass.

    limit_nesting(html, limit)   tags past ``limit`` levels removed, their text kept

An HTML parser's cost grows with the square of the nesting depth on pages of deeply nested blocks;
this runs before parsing (``html_text``, and the metadata reader of ``rag.ingest.docmeta``). Does
not parse the page or extract its text.
"""

from __future__ import annotations

import re
from collections import Counter

BLOCK_TAGS = {  # elements that end a line of text (html_text); dropped here, they leave a <br>
    "p", "div", "section", "article", "main", "header", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol",
    "li", "dl", "dt", "dd", "table", "thead", "tbody", "tfoot", "tr", "blockquote", "pre", "figure",
    "figcaption", "hr", "address", "center", "details", "summary", "body", "html",
}  # fmt: skip

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
            out += [gap, "<br>" if name in BLOCK_TAGS and not broke else ""]
            broke = broke or name in BLOCK_TAGS
            end = html.find(">", m.end())
            pos = copied = len(html) if end < 0 else end + 1
    return "".join(out) + html[copied:] if out else html
