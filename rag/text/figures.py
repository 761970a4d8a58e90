"""Figures in Chinese and English text: find them and the values they stand for.

``find_figures`` gives the figures of a text in order, each a ``Figure`` with its value, kind
(amount, percent, percentage points, permille, fraction) and the rounding its written digits allow,
so "4.6万" in a source and "46,000" in an answer are the same figure. ``YEAR`` and
``CITATION_MARKER`` find what is not a figure. Fractions and percentages written in words
(七分之一, 百分之二, one seventh) are figures too (``word_figures``).

Does not write figures in English (``rag.text.figures_en``) and does not handle numbers spelled in
Chinese characters (三千) beyond the fractions and percentages written with 分之.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


def number_value(s: str) -> float:
    """The value of a number written with digits and thousands separators: "46,600" -> 46600.0"""
    return float(s.replace(",", ""))


_MULTIPLIERS = {
    "万亿": 10**12, "亿": 10**8, "千万": 10**7, "百万": 10**6, "万": 10**4,
    "trillion": 10**12, "billion": 10**9, "bn": 10**9, "million": 10**6, "mn": 10**6, "thousand": 10**3,
}  # fmt: skip
_PERCENT = {
    "%": "percent",
    "％": "percent",
    "percent": "percent",
    "per cent": "percent",
    "个百分点": "points",
    "percentage points": "points",
    "percentage point": "points",
    "‰": "permille",
}
_FULL_WIDTH = str.maketrans("０１２３４５６７８９．％", "0123456789.%")
_FIGURE = re.compile(
    r"(?<![A-Za-z0-9.\-/:])"  # not inside a word, a date, a ratio or a time
    r"(?P<sign>[-−](?=\d))?"  # a fall: 西藏（-24.2%）
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?:/(?P<den>\d+))?"  # 1/7
    r"(?:\s?(?P<mult>万亿|千万|百万|亿|万|trillion|billion|million|thousand|bn|mn)(?![A-Za-z]))?"
    r"(?:\s?(?P<pct>%|‰|个百分点|percentage points?|per ?cent)(?![A-Za-z]))?",
    re.IGNORECASE,
)
YEAR = re.compile(r"(?<!\d)((?:19|20)\d\d)(?=\s?年|\b)")  # 2020年, in 2020: a year, not a figure
CITATION_MARKER = re.compile(  # [1], [1, 2], 【3】: citation markers in an answer
    r"[\[【]\s*\d{1,3}(?:\s*[,，、]\s*\d{1,3})*\s*[\]】]"
)
_LIST_NUMBER = re.compile(r"(?m)^\s*(?:[(（]\d{1,2}[)）]|\d{1,2}[.、)）](?!\d))")
_DATE_AFTER = re.compile(
    r"\s?(?:年|月|日|号|时|点|分钟?(?!之)|秒|世纪|年代|[-–:]\d)|[A-Za-z]"
    r"|\s(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b",
    re.IGNORECASE,
)
_MEASURE_AFTER = re.compile(r"\s?[个家根项座条名位倍次台辆只件人户所元美港欧吨度米千克]")
_MONTHS = re.compile(r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s$", re.IGNORECASE)


@dataclass(frozen=True)
class Figure:
    """A number as written, with the value it stands for.

    ``kind`` is "percent", "points" (percentage points), "permille", "fraction" or "amount" (a count or a
    sum of money: the currency is not compared). ``tolerance`` is half a unit of the last digit
    written, so "4.6万" (tolerance 500) stands for any value in 45,500-46,500.
    """

    text: str
    value: float
    kind: str
    tolerance: float
    start: int
    end: int

    def matches(self, other: Figure) -> bool:
        """Whether ``other`` (a figure in a source) is this figure, allowing this one's rounding."""
        if {self.kind, other.kind} == {"fraction", "percent"}:  # 1/7 is 14.3%
            a, b = (x.value * (100 if x.kind == "fraction" else 1) for x in (self, other))
            return abs(a - b) <= max(self.tolerance, other.tolerance, 0.05) + abs(a) * 1e-9
        if self.kind != other.kind:
            return False
        return abs(self.value - other.value) <= self.tolerance + abs(self.value) * 1e-9


def figure_key(f: Figure) -> tuple[str, float]:
    """A figure as a comparable key: its kind and value rounded to 6 significant digits."""
    return f.kind, float(f"{f.value:.6g}")


_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_NUMERAL = r"[零〇一二两三四五六七八九十百]+|\d+(?:\.\d+)?"
CN_FRACTION = re.compile(rf"(?P<den>{_CN_NUMERAL}|百|千)分之(?P<num>{_CN_NUMERAL})")
_EN_ORDINALS = {
    "half": 2,
    "halves": 2,
    "third": 3,
    "quarter": 4,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
}
_EN_COUNTS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
}
_EN_FRACTION = re.compile(
    r"\b(?P<num>a|an|one|two|three|four|five|six|seven|eight|nine)[\s-]+"
    r"(?P<den>half|third|quarter|fourth|fifth|sixth|seventh|eighth|ninth|tenth)s?\b(?!-)",
    re.IGNORECASE,
)
_EN_WORDS = {v: k for k, v in _EN_COUNTS.items() if k not in ("a", "an")}


def cn_numeral(text: str) -> float | None:
    """The value of a small number written in Chinese characters or digits (up to 999), or None.

    >>> cn_numeral("七"), cn_numeral("八十八"), cn_numeral("十五"), cn_numeral("52.6"), cn_numeral("三百")
    (7.0, 88.0, 15.0, 52.6, 300.0)
    """
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    total, digit = 0, None
    for ch in text:
        if ch in _CN_DIGITS:
            digit = _CN_DIGITS[ch]
        elif ch in "十百":
            total += (1 if digit is None else digit) * (10 if ch == "十" else 100)
            digit = None
        else:
            return None
    return float(total + (digit or 0))


def fraction_words(value: float) -> str:
    """ "one seventh" for 1/7, "two thirds" for 2/3; the decimal when it is no simple fraction.

    >>> fraction_words(1 / 7), fraction_words(2 / 3), fraction_words(0.5), fraction_words(0.41)
    ('one seventh', 'two thirds', 'one half', '0.41')
    """
    names = {v: k for k, v in _EN_ORDINALS.items() if k not in ("halves", "fourth")}
    for den in range(2, 11):
        num = round(value * den)
        if 0 < num < den and abs(num / den - value) < 1e-9 and num in _EN_WORDS:
            return f"{_EN_WORDS[num]} {names[den]}" + ("s" if num > 1 else "")
    return f"{value:g}"


def word_figures(text: str) -> list[Figure]:
    """Fractions and percentages written in words: 七分之一, 百分之八十八, one seventh."""
    out = []
    for m in CN_FRACTION.finditer(text):
        den = {"百": 100.0, "千": 1000.0}.get(m.group("den")) or cn_numeral(m.group("den"))
        num = cn_numeral(m.group("num"))
        if not den or num is None:
            continue
        if den in (100, 1000) and m.group("den") in "百千":
            kind = "percent" if den == 100 else "permille"
            out.append(Figure(m.group(0), num, kind, 0.05, m.start(), m.end()))
        else:
            out.append(Figure(m.group(0), num / den, "fraction", 1e-9, m.start(), m.end()))
    for m in _EN_FRACTION.finditer(text):
        num, den = _EN_COUNTS[m.group("num").lower()], _EN_ORDINALS[m.group("den").lower()]
        if num < den:
            out.append(Figure(m.group(0), num / den, "fraction", 1e-9, m.start(), m.end()))
    return out


def find_figures(text: str) -> list[Figure]:
    """The figures in ``text``, in order; years, dates, times, ordinals, citation markers ``[1]``,
    list numbers, model names ("5G") and bare integers below 10 are left out.

    >>> text = "2020年建成5G基站超4.6万个[1]，52.6%的企业；1,030个项目"
    >>> [(f.text, f.value, f.kind) for f in find_figures(text)]
    [('4.6万', 46000.0, 'amount'), ('52.6%', 52.6, 'percent'), ('1,030', 1030.0, 'amount')]
    >>> text = "In 2020 it built 46,600 stations, 3.7 trillion yuan, 2 percent."
    >>> [(f.text, f.value) for f in find_figures(text)]
    [('46,600', 46600.0), ('3.7 trillion', 3700000000000.0), ('2 percent', 2.0)]
    >>> [f.text for f in find_figures("1. 第3名，11月28日，2021-01-20，14:10，占1/7，增长２％")]
    ['1/7', '２％']
    >>> [(f.text, f.kind) for f in find_figures("占七分之一，百分之八十八，about one seventh")]
    [('七分之一', 'fraction'), ('百分之八十八', 'percent'), ('one seventh', 'fraction')]
    >>> [(f.text, f.value) for f in find_figures("西藏（-24.2%），增长−0.5个百分点，2020-2023年，-30个")]
    [('-24.2%', -24.2), ('−0.5个百分点', -0.5), ('30', 30.0)]
    """
    plain = _masked(text)
    found = [f for m in _FIGURE.finditer(plain) if (f := _figure(m, plain, text)) is not None]
    words = word_figures(text)
    found = [f for f in found if not any(w.start <= f.start < w.end for w in words)]
    return sorted(found + words, key=lambda f: f.start)


def _masked(text: str) -> str:
    """``text`` with full-width digits made ASCII and citation markers and list numbers blanked
    out: the same length, so offsets still point into ``text``."""
    plain = text.translate(_FULL_WIDTH)
    plain = CITATION_MARKER.sub(lambda m: " " * len(m.group(0)), plain)
    return _LIST_NUMBER.sub(lambda m: " " * len(m.group(0)), plain)


def _figure(m: re.Match[str], plain: str, text: str) -> Figure | None:
    """The figure a match of ``_FIGURE`` in ``plain`` stands for, None when it is no figure (an
    ordinal, a date or time, a year, a single digit)."""
    num, den, mult, pct = m.group("num"), m.group("den"), m.group("mult"), m.group("pct")
    before, after = plain[max(0, m.start() - 12) : m.start()], plain[m.end() : m.end() + 4]
    if before.endswith("第") or _MONTHS.search(before) or (not mult and not pct and _DATE_AFTER.match(after)):
        return None
    mantissa = number_value(num)
    written = text[m.start() : m.end()].strip()
    if den:
        if mult or pct or not float(den):
            return None
        return Figure(written, mantissa / number_value(den), "fraction", 1e-9, m.start(), m.end())
    scale = _MULTIPLIERS[mult.lower()] if mult else 1
    decimals = len(num.split(".")[1]) if "." in num else 0
    if not mult and not pct and decimals == 0 and "," not in num:
        n = int(num)
        if n < 10 or (1900 <= n <= 2100 and not _MEASURE_AFTER.match(after)):
            return None  # single digits are often spelled out (四个, four); bare 1900-2100 is a year
    kind = _PERCENT[re.sub(r"\s+", " ", pct.lower())] if pct else "amount"
    tolerance = 0.5 * 10.0**-decimals * scale
    if m.group("sign") and kind == "amount":  # a dash before a count is punctuation, not a sign
        return Figure(written[1:], round(mantissa * scale, 6), kind, tolerance, m.start() + 1, m.end())
    sign = -1 if m.group("sign") else 1
    return Figure(written, round(sign * mantissa * scale, 6), kind, tolerance, m.start(), m.end())


_CHANGE_BEFORE = re.compile(
    r"(?:增加|增长|减少|下降|上升|提高|降低|提升|下滑|回落|(?<!新)增|减|涨|跌|(?<![至最更较许诸])[多少])了?"
    r"(?:超过|超|逾|近|约|将近|接近|不到)?\s*$"
    r"|\b(?:rose|grew|increased|fell|dropped|declined|improved|went (?:up|down))(?:\s+by)?"
    r"(?:\s+(?:about|nearly|over|more than))?\s*$",
    re.I,
)
_CHANGE_ASKED = re.compile(  # a question asking a change, not a level
    r"增|减|涨|跌|降|升|提高|节省|缩短|扩大|翻|多了|少了|变化|差|\b(?:grow|grew|grown|growth|increase|rise|rose"
    r"|fall|fell|drop|declin|change|more|fewer|less|up|down|improv|boost|rais|cut|reduc|lower|sav|shorten|expand"
    r"|gain|jump|climb|surg|slump|shrink|fast)",
    re.I,
)


_ELLIPTICAL = re.compile(r"呢[？?]?\s*$|^\s*(?:and|what about|how about)\b", re.I)  # "制造业投资呢？"


def asks_level(question: str) -> bool:
    """Whether ``question`` asks a level (a count, an amount), not a change; an elliptical
    follow-up ("制造业投资呢？", "And in 2023?") asks what the turn before it asked, so neither.

    >>> asks_level("2022年高考报名人数"), asks_level("报名人数增加了多少？"), asks_level("制造业投资呢？")
    (True, False, False)
    """
    return not _CHANGE_ASKED.search(question) and not _ELLIPTICAL.search(question)


def is_change(sentence: str, start: int) -> bool:
    """Whether the figure at ``start`` is said as a change (增加115万), not as the level reached
    (增长到, 增至, 达).

    >>> s = "与去年1078万人相比，今年报名人数增加115万，总数增长到1193万。"
    >>> [is_change(s, s.find(f)) for f in ("1078万", "115万", "1193万")]
    [False, True, False]
    >>> s = "Output grew by 2% to 3.7 trillion yuan, taking up one fifth of the total."
    >>> [is_change(s, s.find(f)) for f in ("2%", "3.7", "one fifth")]
    [True, False, False]
    """
    return bool(_CHANGE_BEFORE.search(sentence[max(0, start - 24) : start]))
