"""The chat's HTML and Markdown, drawn from an ``Answer`` alone: the answer with linked markers,
its timings line, and the sources panel.

Sources: each answer's citations, grouped by story (``Citation.story``: articles that report the
same news, e.g. one in Chinese and its English version, share a group) and then by article; each
passage shows its cited span highlighted between the sentences around it (``Citation.before`` /
``after``), and a story's articles that were not cited are listed under it (``Citation.tellings``).
A marker ``[n]`` in an answer links to ``#src-<turn>-<n>``; ``rag.web.assets.JS`` turns the click
into a scroll within the page. All article and question text is HTML-escaped before it reaches the
page; only http(s) links are drawn.

Does not answer, read the index or keep state: the pipeline fills the citations
(``rag.answer.write.display``); ``rag.web.chat`` keeps each user's sections.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from rag.answer.write.display import displayed
from rag.types import Answer, Citation, DocMeta

if TYPE_CHECKING:
    from rag.index.store import IndexStore

LANG_NAMES = {"zh": "中文", "en": "English"}
EMPTY_SOURCES = (
    '<p class="hint">提问后，这里显示答案引用的原文。<br>The passages an answer cites appear here.</p>'
)
NO_SOURCES = '<p class="hint">没有引用来源。 · No sources cited.</p>'
Section = tuple[str, str]  # (question, sources html of its answer)


def answer_markdown(answer: Answer, turn: int) -> str:
    """The answer escaped, each ``[n]`` a link to its source, notices as quotes."""
    text = re.sub(
        r"\[(\d{1,2})\]", rf'<a class="cite" href="#src-{turn}-\1">[\1]</a>', html.escape(answer.text)
    )
    return text + "".join(f"\n\n> {html.escape(n)}" for n in answer.notices)


def timings_line(answer: Answer) -> str:
    t = answer.timings
    parts = [f"检索 retrieval {t.retrieve_ms:.0f} ms"]
    if answer.mode == "llm" and t.first_token_ms:
        parts.append(f"首字 first token {t.first_token_ms / 1000:.1f} s")
    parts.append(f"共 total {t.total_ms / 1000:.1f} s")
    parts.append("生成 generated" if answer.mode == "llm" else "摘录 extractive")
    return " · ".join(parts)


def group_citations(citations: Sequence[Citation]) -> list[list[list[Citation]]]:
    """Citations grouped by story, then by article, in the order they were first cited; a
    citation without a story (``Citation.story`` "") is a story of its own.

    >>> cited = ((1, "000", "s"), (2, "004", "s"), (3, "000", "s"), (4, "001", ""))
    >>> c = [Citation(n, d, "", "", "", f"{d}#0", "", 0, 1, "zh", story=s) for n, d, s in cited]
    >>> [[[x.n for x in doc] for doc in story] for story in group_citations(c)]
    [[[1, 3], [2]], [[4]]]
    """
    stories: dict[str, dict[str, list[Citation]]] = {}
    for c in citations:
        key = c.story or f"doc:{c.doc_id}"
        stories.setdefault(key, {}).setdefault(c.doc_id, []).append(c)
    return [list(docs.values()) for docs in stories.values()]


def _link(url: str) -> str:
    if not url.startswith(("http://", "https://")):
        return ""
    host = urlparse(url).netloc.removeprefix("www.") or url
    return (
        f' · <a href="{html.escape(url, quote=True)}" target="_blank" rel="noopener noreferrer">'
        f"{html.escape(host)}</a>"
    )


def _passage(c: Citation, turn: int) -> str:
    return (
        f'<div class="src" id="src-{turn}-{c.n}"><span class="n">[{c.n}]</span> '
        f'<span class="ctx">{html.escape(c.before)}</span><mark>{html.escape(c.text)}</mark>'
        f'<span class="ctx">{html.escape(c.after)}</span></div>'
    )


def _article(cs: Sequence[Citation], turn: int) -> str:
    """One cited article: title, date, language, id and link, then its cited passages."""
    c = cs[0]
    meta = " · ".join(filter(None, [html.escape(c.date), LANG_NAMES[c.lang], html.escape(c.doc_id)]))
    return (
        f'<div class="doc"><div class="doc-title">{html.escape(c.title)}</div>'
        f'<div class="meta">{meta}{_link(c.url)}</div>' + "".join(_passage(x, turn) for x in cs) + "</div>"
    )


def _story(story: Sequence[Sequence[Citation]], turn: int) -> str:
    """One story: a label when it has several tellings, its cited articles, then the others."""
    cited = {cs[0].doc_id for cs in story}
    others: dict[str, DocMeta] = {}
    for cs in story:
        for c in cs:
            others.update((d.doc_id, d) for d in c.tellings if d.doc_id not in cited)
    also = [others[d] for d in sorted(others)]
    label = ""
    if len(story) + len(also) > 1:
        langs = " + ".join(
            dict.fromkeys(LANG_NAMES[x] for x in [cs[0].lang for cs in story] + [d.lang for d in also])
        )
        label = f'<div class="story-label">同一新闻 · Same story ({langs})</div>'
    listed = "".join(
        f'<div class="also">也见 · Also: {html.escape(d.title)} · {html.escape(d.date)} · '
        f"{LANG_NAMES[d.lang]}{_link(d.url)}</div>"
        for d in also
    )
    return f'<div class="story">{label}{"".join(_article(cs, turn) for cs in story)}{listed}</div>'


def sources_section(
    citations: Sequence[Citation],
    turn: int,
    store: IndexStore | None = None,
    story_of: Mapping[str, str] | None = None,
) -> str:
    """One answer's sources: stories, then articles (title, date, language, link), then passages.

    The citations of an answer carry what is drawn; ``store`` and ``story_of`` fill it in for
    citations made without it (``rag.answer.write.display.displayed``)."""
    if not citations:
        return NO_SOURCES
    if store is not None or story_of:
        citations = displayed(citations, store, story_of or {})
    return "".join(_story(story, turn) for story in group_citations(citations))


def sources_html(sections: Sequence[Section]) -> str:
    """All of a conversation's sources, newest first; older answers' sources folded."""
    if not sections:
        return EMPTY_SOURCES
    blocks = []
    for i, (question, body) in enumerate(reversed(sections)):
        q = f"问 · Q{len(sections) - i}: {html.escape(question)}"
        if i == 0:
            blocks.append(f'<section><div class="q">{q}</div>{body}</section>')
        else:
            blocks.append(f"<details><summary>{q}</summary>{body}</details>")
    return "".join(blocks)
