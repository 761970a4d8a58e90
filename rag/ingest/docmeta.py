"""Article metadata (``DocMeta``'s title, date and URL) read from front matter fields, HTML and text.

    normalize_date(value)   -> "YYYY-MM-DD" or ""   ISO, RFC 2822, 2021年1月21日, January 21, 2021 ...
    byline_date(text)       -> a labelled date in the first lines ("Updated: 2021-01-21"), or a
                               search snippet's leading date ("May 27, 2023 ... ")
    guess_title(text)       -> the first line when it reads like a title, else that line shortened
    html_meta(html)         -> title, canonical URL and published date of an HTML page
    first_url(fields)       -> the article's URL among front matter fields

Pure functions of text: do not open files or decide which source wins (``loaders``), and do not
keep the author.
"""

from __future__ import annotations

import email.utils
import re
from datetime import date
from typing import Any

from selectolax.lexbor import LexborHTMLParser

from rag.ingest.html_nesting import limit_nesting
from rag.text.lang import han_count

_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_YMD = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})|^(\d{4})(\d{2})(\d{2})$")
_DMY = re.compile(
    r"(\d{1,2})\s+([A-Za-z]{3})[a-z]*\.?,?\s+(\d{4})"  # 21 Jan 2021
    r"|([A-Za-z]{3})[a-z]*\.?\s+(\d{1,2}),?\s+(\d{4})"  # January 21, 2021
)


def normalize_date(value: object) -> str:
    """ISO "YYYY-MM-DD" of a date in a common form, or "" (the date as written; no time zone shift).

    >>> [normalize_date(v) for v in ("2021-01-20T13:17:00.000Z", "Sun, 21 Nov 2021 14:10:15 GMT",
    ...                              "2021年1月21日", "January 21, 2021", "tomorrow")]
    ['2021-01-20', '2021-11-21', '2021-01-21', '2021-01-21', '']
    """
    if isinstance(value, date):  # datetime too
        return value.strftime("%Y-%m-%d")
    text = str(value).strip()[:200] if isinstance(value, str | int) else ""
    found: tuple[int, int, int] | None = None
    if m := _YMD.search(text):
        y, mo, d = (int(g) for g in (m.groups()[:3] if m.group(1) else m.groups()[3:]))
        found = (y, mo, d)
    elif m := _DMY.search(text):
        d_, mon, y_ = m.group(1, 2, 3) if m.group(1) else (m.group(5), m.group(4), m.group(6))
        if mon.lower() in _MONTHS:
            found = (int(y_), _MONTHS.index(mon.lower()) + 1, int(d_))
    else:
        try:
            parsed = email.utils.parsedate_to_datetime(text)
            found = (parsed.year, parsed.month, parsed.day)
        except (TypeError, ValueError, IndexError, OverflowError):
            return ""
    try:
        return date(*found).isoformat() if found and 1900 <= found[0] <= 2200 else ""
    except ValueError:
        return ""


_DATED_BYLINE = re.compile(
    r"(?:updated|published|posted|date|发布时间|发布日期|更新时间|日期|时间)\s*[:：]\s*([^|\n]{6,40})", re.I
)


# A search result's snippet starts with its page's date and an ellipsis: "May 27, 2023 ... 今年一季度…"
_SNIPPET_DATE = re.compile(
    r"\s*([A-Z][a-z]{2,8}\.? \d{1,2}, \d{4}|\d{1,2} [A-Z][a-z]{2,8}\.? \d{4})\s*(?:\.\.\.|…|—|–)"
)


def byline_date(text: str) -> str:
    """Date of a labelled byline in the first lines of a body, or of a snippet's leading date, or "".

    >>> byline_date("City output\\n\\nWriter: Han Ximin  |  Updated: 2021-01-21\\n\\nThe industrial…")
    '2021-01-21'
    >>> byline_date("May 27, 2023 ... 从营收来看有三个，美团、拼多多和百度，今年一季度营收分别为586亿…")
    '2023-05-27'

    An event's date opening a sentence is not the page's date:

    >>> byline_date("2022年1月3日上午，香港特区第七届立法会议员宣誓仪式举行。")
    ''
    """
    if m := _SNIPPET_DATE.match(text):
        return normalize_date(m.group(1))
    for m in _DATED_BYLINE.finditer("\n".join(text.split("\n")[:20])[:4000]):
        if found := normalize_date(m.group(1)):
            return found
    return ""


def guess_title(text: str) -> str:
    """The first line when it reads like a title (short, not a sentence), else that line shortened.

    >>> guess_title("架起工业互联网这座桥\\n——来自深圳的产业发展调查")
    '架起工业互联网这座桥'
    >>> guess_title("在刚刚过去的2023年,深圳通信基站占全球产量1/2、电化学储能占全球产量约1/7。")
    '在刚刚过去的2023年,深圳通信基站占全球产量1/2…'
    """
    first = text.strip().split("\n", 1)[0].strip()
    cjk = han_count(first) > 0
    if len(first) <= (50 if cjk else 120) and not re.search(r"[。.，,;；:：]$", first):
        return first
    if cjk:  # cut at the last clause mark in the first 30 characters, if there is a late enough one
        cut = first[:30]
        marks = [i for i, c in enumerate(cut) if c in "，,、；;：:" and i >= 10]
        return (cut[: marks[-1]] if marks else cut) + "…"
    return first[:80].rsplit(" ", 1)[0].rstrip(",;: ") + "…"


def html_meta(html: str) -> dict[str, str]:
    """Title (og:title, <h1>, <title>), canonical URL and published date of an HTML page, where found.

    >>> html_meta('<title>深圳 - 网</title><link rel="canonical" href="https://x.cn/a"><h1>深圳</h1>')
    {'title': '深圳', 'url': 'https://x.cn/a'}
    """
    tree = LexborHTMLParser(limit_nesting(re.sub("[\x00\ud800-\udfff]", "", html)))

    def first(*pairs: tuple[str, str]) -> str:
        for selector, attr in pairs:
            node = tree.css_first(selector)
            value = (node.attributes.get(attr) if attr else node.text(strip=True)) if node else None
            if value and value.strip():
                return " ".join(value.split())
        return ""

    found = {
        "title": first(('meta[property="og:title"]', "content"), ("h1", ""), ("title", "")),
        "url": first(('link[rel="canonical"]', "href"), ('meta[property="og:url"]', "content")),
        "date": normalize_date(
            first(
                ('meta[property="article:published_time"]', "content"),
                ('meta[name="pubdate"]', "content"),
                ("time[datetime]", "datetime"),
            )
        ),
    }
    if not re.match(r"https?://", found["url"]):
        found["url"] = ""
    return {k: v for k, v in found.items() if v}


def first_url(fields: dict[str, Any]) -> str:
    """The first of ``from``, ``url``, ``source``, ``link``, ``canonical`` that is an http(s) URL, or ""."""
    for key in ("from", "url", "source", "link", "canonical"):
        value = fields.get(key)
        if isinstance(value, str) and re.match(r"https?://\S+$", value.strip()):
            return value.strip()
    return ""
