"""HTML -> plain text: the main text of a page or fragment, one block element a line.

    html_to_text(html)   selectolax; drops scripts, styles, comments, ad/share/QR containers;
                         the largest <article> or <main> holding most of the text, else <body>

Tags nested past ``html_nesting.MAX_DEPTH`` are dropped first (``limit_nesting``), so time grows
with the size of a page, not its depth. Does not read titles or dates (``rag.ingest.docmeta``),
nor drop boilerplate lines (``boilerplate``).
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

from rag.ingest.html_nesting import BLOCK_TAGS, limit_nesting
from rag.ingest.plain_text import INVISIBLE, normalize_whitespace

_SKIP_TAGS = {
    "script", "style", "noscript", "iframe", "svg", "canvas", "template", "head", "title", "nav", "aside",
    "footer", "form", "button", "select", "option", "textarea", "input", "object", "embed", "audio", "video",
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


def _render(root: LexborNode) -> str:
    """Text of ``root``: block elements end lines, inline ones flow, <pre> keeps its lines."""
    out: list[str] = []
    stack: list[tuple[LexborNode, bool, bool]] = [(root, False, False)]  # node, leaving, in <pre>
    while stack:
        node, leaving, pre = stack.pop()
        tag = node.tag or ""
        if leaving:
            out.append("\n" if tag in BLOCK_TAGS else "")
        elif node.is_text_node:
            text = node.text_content or ""
            keep_lines = pre or (node.parent is not None and node.parent.tag == "body")
            out.append(text if keep_lines else re.sub(r"\s+", " ", text))
        elif node.is_element_node and tag not in _SKIP_TAGS:
            out.append("\n" if tag in BLOCK_TAGS or tag == "br" else " " if tag in ("td", "th") else "")
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
        self.root, self.budget = root, budget
        self.lengths: dict[int, int] | None = None  # read from the tree once the budget is spent

    def __call__(self, node: LexborNode) -> int:
        if self.lengths is None and self.budget >= 0:
            n = len(node.text(deep=True) or "")
            self.budget -= n
            return n
        lengths = self.lengths = self.lengths or _text_lengths(self.root)
        return lengths.get(node.mem_id, 0)


def html_to_text(html: str) -> str:
    """Main text of an HTML page or fragment, one block element a line.

    Uses the largest <article> (else <main>, else <body>) when it holds most of the text. Loose text
    directly in <body> keeps its line breaks (Markdown files often mix Markdown lines with HTML).
    Time grows with the size of the page, not with how deep it nests (``limit_nesting``).

    >>> html_to_text('<div><p>深圳<a href="#">新产业</a>，增长2%。</p><script>x()</script>'
    ...              '<div class="dfp-tag-wrapper">广告</div><!-- c --><p>第二段</p></div>')
    '深圳新产业，增长2%。\\n第二段'
    """
    tree = LexborHTMLParser(limit_nesting(INVISIBLE.sub("", html)))
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
