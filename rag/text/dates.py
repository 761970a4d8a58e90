"""When an undated article was written, as far as its own words tell.

Some articles carry no date (a page whose date the cleaning could not find). Their text still
says when they were written at the earliest: a day it reports ("2023年11月27日，深圳召开…"), or
a year it calls past ("在刚刚过去的2023年" is January 2024 at the earliest). ``implied_date``
gives that month; a date announced for the future ("将于2025年3月1日起施行", "到2025年") does not
count.

``without_titles`` hides the years of titles (《中国统计年鉴2021》), which date no figure;
``years_of`` the years a figure of a sentence is about (the last named before it in its clause,
今年 in an article of a known year).

Pure functions over text. Does not read article metadata (``rag.ingest.docmeta`` does).
"""

from __future__ import annotations

import re

from rag.text.figures import YEAR

__all__ = ["DATE_ASKED", "DAY_ASKED", "MONTHS", "MONTH_NAMES", "implied_date", "without_titles", "years_of"]

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
MONTH_NAMES = "|".join(MONTHS)  # a regular-expression alternation of the English month names
_DAY_ASKED = (
    r"哪天|哪一天|何时|什么时候|几月|哪个?月|日期|\bwhen\b|\bwhat date\b|\b(?:which|what) (?:day|month)\b"
)
DAY_ASKED = re.compile(_DAY_ASKED, re.I)  # a question asking a day or a month
DATE_ASKED = re.compile(_DAY_ASKED + r"|哪一?年|\b(?:which|what) year\b", re.I)  # ... or a year

_DAY = re.compile(r"((?:19|20)\d\d)\s*年\s*(\d{1,2})\s*月\s*\d{1,2}\s*[日号]")
_PAST_YEAR = re.compile(r"(?:刚刚|刚)?过去的\s*((?:19|20)\d\d)\s*年|((?:19|20)\d\d)\s*年全年")
_FUTURE = re.compile(r"(?:将|将于|计划|预计|拟|到|至|截至|之前|前)\s*$")


def implied_date(text: str) -> str:
    """The earliest month (YYYY-MM) ``text`` can have been written in: after the last day it
    reports and the years it calls past; "" when it names neither.

    >>> implied_date("在刚刚过去的2023年，深圳通信基站占全球产量1/2。2023年11月27日，深圳召开发布会。")
    '2024-01'
    >>> implied_date("2023年11月27日，深圳召开发布会，新规将于2025年3月1日起施行。")
    '2023-11'
    >>> implied_date("到2025年，深圳要打造4个万亿元级产业集群。")
    ''
    """
    months = []
    for m in _DAY.finditer(text):
        if not _FUTURE.search(text[max(0, m.start() - 4) : m.start()]):
            months.append((int(m.group(1)), int(m.group(2))))
    for m in _PAST_YEAR.finditer(text):
        months.append((int(m.group(1) or m.group(2)) + 1, 1))
    months = [(y, mo) for y, mo in months if 1 <= mo <= 12]
    if not months:
        return ""
    year, month = max(months)
    return f"{year:04d}-{month:02d}"


_TITLE = re.compile(r"《[^》]{1,40}》|“[^”，,。；;]{1,12}”")  # a work's title, a short quoted name


def without_titles(text: str) -> str:
    """``text`` with the titles of works (《…》) and short quoted names blanked out, the same
    length: a year in a title ("“中国统计年鉴2021”显示，2020年出生率为8.52‰") is not a figure's.

    >>> without_titles("《中国统计年鉴2021》显示，2020年出生率为8.52‰。").strip()
    '显示，2020年出生率为8.52‰。'
    """
    return _TITLE.sub(lambda m: " " * len(m.group(0)), text)


def years_of(sentence: str, at: int, date: str = "") -> set[str]:
    """The years a span at ``at`` is about: the last year named before it in its clause, else
    those named before it in the sentence (a year after it is another clause's: "GDP为43214.85
    亿元，自2017年突破3万亿元以来"); a title's year is none (《中国统计年鉴2021》). A relative
    year (今年, 去年; not "比去年", a comparison) names one in an article of year ``date``.

    >>> s = "《中国统计年鉴2021》显示，2020年出生率为8.52‰，自2016年以来逐年下降。"
    >>> years_of(s, s.find("8.52")), years_of("GDP为43214.85亿元，自2017年突破3万亿元。", 4)
    ({'2020'}, set())
    >>> s = "今年一季度营收为586亿，比去年同期增长26%。"
    >>> years_of(s, s.find("586"), "2023"), years_of(s, s.find("26%"), "2023"), years_of(s, 9)
    ({'2023'}, {'2023'}, set())
    >>> years_of("2020年增长2%，2021年增长5%", 19)
    {'2021'}
    """
    plain = without_titles(sentence[:at])
    clause_start = max(plain.rfind(c) for c in "，,；;") + 1
    for whole, text in ((False, plain[clause_start:]), (True, plain)):
        if named := [m.group(1) for m in YEAR.finditer(text)]:
            return set(named) if whole else {named[-1]}
        if date and (words := _RELATIVE.findall(text)):
            return {str(int(date) - _YEARS_BACK[words[-1].casefold()])}
    return set()


_YEARS_BACK = {"今年": 0, "本年": 0, "this year": 0, "去年": 1, "上年": 1, "last year": 1, "前年": 2}
_RELATIVE = re.compile(r"(?<![比较与])(?:今年|本年|去年|上年|前年)|\b(?:this|last) year\b", re.I)
