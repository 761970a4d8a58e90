"""Figures in Chinese and English text: parse them to values, write them in English.

Chinese news writes large numbers with 万 (10^4), 亿 (10^8) and 万亿 (10^12); a small model
answering in English gets them wrong ("7.3万" became "7.3 million"). These pure functions
give the exact English form so the prompt can show it next to the Chinese figure.

``english_figures`` writes the Chinese figures left in an English answer the English way
("超过4.6万个" -> "more than 46,000"), so the figure an English reader sees is converted by code,
never by the model.

Does not handle numbers spelled in Chinese characters (三千) beyond the fractions and
percentages written with 分之 (五分之一, 百分之二).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CN_UNITS = {"万亿": 10**12, "亿": 10**8, "万": 10**4}
_EN_UNITS = {"trillion": 10**12, "billion": 10**9, "million": 10**6, "thousand": 10**3}
_NUM = r"\d+(?:,\d{3})*(?:\.\d+)?"
_CN_FIGURE = re.compile(rf"({_NUM})\s*(万亿|亿|万)")
_EN_FIGURE = re.compile(rf"({_NUM})\s*(trillion|billion|million|thousand)?", re.IGNORECASE)


def _num(s: str) -> float:
    return float(s.replace(",", ""))


def cn_value(figure: str) -> float | None:
    """Value of a Chinese figure, or None.

    >>> cn_value("3.7万亿元"), cn_value("4.6万个"), cn_value("4.55亿"), cn_value("1,030")
    (3700000000000.0, 46000.0, 455000000.0, 1030.0)
    """
    m = _CN_FIGURE.search(figure)
    if m:
        return round(_num(m.group(1)) * _CN_UNITS[m.group(2)], 6)
    m = re.search(_NUM, figure)
    return _num(m.group(0)) if m else None


def en_value(figure: str) -> float | None:
    """Value of an English figure, or None.

    >>> en_value("3.7 trillion yuan"), en_value("46,600"), en_value("455 million")
    (3700000000000.0, 46600.0, 455000000.0)
    """
    m = _EN_FIGURE.search(figure)
    if not m:
        return None
    unit = (m.group(2) or "").lower()
    return round(_num(m.group(1)) * _EN_UNITS.get(unit, 1), 6)


def english_amount(value: float) -> str:
    """An English rendering of ``value``.

    >>> english_amount(3.7e12), english_amount(46000), english_amount(4.55e8), english_amount(9.1648e11)
    ('3.7 trillion', '46,000', '455 million', '916.48 billion')
    """
    for word, scale in (("trillion", 10**12), ("billion", 10**9), ("million", 10**6)):
        if value >= scale:
            return f"{_trim(value / scale)} {word}"
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _trim(x: float) -> str:
    return f"{x:.4f}".rstrip("0").rstrip(".")


def annotate_for_english(text: str) -> str:
    """Add the English value after each 万/亿 figure, for a prompt answered in English.

    >>> annotate_for_english("总产值3.7万亿元，建成5G基站超4.6万个")
    '总产值3.7万亿 (3.7 trillion)元，建成5G基站超4.6万 (46,000)个'
    """

    def repl(m: re.Match[str]) -> str:
        value = _num(m.group(1)) * _CN_UNITS[m.group(2)]
        return f"{m.group(0)} ({english_amount(value)})"

    return _CN_FIGURE.sub(repl, text)


_QUALIFIERS = {
    "超过": "more than",
    "超": "more than",
    "逾": "more than",
    "多于": "more than",
    "高于": "more than",
    "将近": "nearly",
    "接近": "nearly",
    "近": "nearly",
    "大约": "about",
    "约": "about",
    "不到": "less than",
    "不足": "less than",
    "少于": "less than",
}
_CURRENCIES = {
    "人民币": "yuan",
    "元": "yuan",
    "美元": "US dollars",
    "港元": "Hong Kong dollars",
    "欧元": "euros",
}
_QUALIFIER = "|".join(sorted(_QUALIFIERS, key=len, reverse=True))
_CURRENCY = "|".join(sorted(_CURRENCIES, key=len, reverse=True))
_CN_AMOUNT = re.compile(
    rf"(?:(?P<q>{_QUALIFIER})\s*)?(?P<num>{_NUM})\s*(?P<mult>万亿|亿|万)"
    rf"(?P<more>多)?\s*(?P<cur>{_CURRENCY})?(?P<mw>[个家项座台辆名人件只吨])?"
)
_COUNT_NOUNS = {"倍": "times", "人": "people", "吨": "tonnes"}  # other measure words are dropped
_CN_COUNT = re.compile(  # a count or multiple without 万/亿: 超1800个, 300多个, 199家, 2.5倍
    rf"(?:(?P<q>{_QUALIFIER})\s*)?(?<![\d.,])(?P<num>{_NUM})\s*(?P<more>[多余])?"
    r"(?P<mw>倍|[个家项根座条名位次台辆只件户所吨款种人])?(?![\u4e00-\u9fff])"
)


def english_figures(text: str) -> str:
    """``text`` (an English answer) with its Chinese figures written the English way, by code:
    万/亿 values with their qualifier and currency, percentages and fractions written with 分之.

    >>> english_figures("Shenzhen built 4.6万个 base stations [1], output 3.7万亿元 [2].")
    'Shenzhen built 46,000 base stations [1], output 3.7 trillion yuan [2].'
    >>> english_figures("It raised 超过5亿元 [1], 七分之一 of the total, up 百分之二.")
    'It raised more than 500 million yuan [1], one seventh (1/7) of the total, up 2%.'
    >>> english_figures("超1800个 [1]; 300多个; 199家; 2.5倍; 3000人; 2020年 and 35 projects.")
    'more than 1,800 [1]; more than 300; 199; 2.5 times; 3,000 people; 2020年 and 35 projects.'
    """

    def count(m: re.Match[str]) -> str:
        if not (m.group("q") or m.group("more") or m.group("mw")):
            return m.group(0)  # an English figure: left as it is
        words = [_QUALIFIERS[m.group("q")]] if m.group("q") else []
        words += ["more than"] if m.group("more") and not words else []
        number = m.group("num")
        words.append(english_amount(_num(number)) if "." not in number else number)
        words += [_COUNT_NOUNS[m.group("mw")]] if m.group("mw") in _COUNT_NOUNS else []
        return " ".join(words)

    def amount(m: re.Match[str]) -> str:
        words = [_QUALIFIERS[m.group("q")]] if m.group("q") else []
        words += ["more than"] if m.group("more") and not words else []
        words.append(english_amount(_num(m.group("num")) * _CN_UNITS[m.group("mult")]))
        words += [_CURRENCIES[m.group("cur")]] if m.group("cur") else []
        return " ".join(words)

    out = _CN_COUNT.sub(count, _CN_AMOUNT.sub(amount, text))
    for f in reversed(_word_figures(out)):
        if re.search(r"[\u4e00-\u9fff]", f.text):
            value = (
                f"{f.value:g}%"
                if f.kind == "percent"
                else (f"{f.value:g}‰" if f.kind == "permille" else f"{fraction_words(f.value)} ({_ratio(f)})")
            )
            out = out[: f.start] + value + out[f.end :]
    return out.replace("％", "%")


def _ratio(f: Figure) -> str:
    """ "1/7" for the fraction written 七分之一."""
    m = _CN_FRACTION.fullmatch(f.text)
    num, den = (cn_numeral(m.group(g)) if m else None for g in ("num", "den"))
    return f"{num:g}/{den:g}" if num is not None and den else f"{f.value:.3g}"


# --------------------------------------------------------------------------- finding figures

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


def english_figure(f: Figure) -> str:
    """``f`` as written in English: "4.6万" -> "46,000", "52.6%" -> "52.6%"."""
    if f.kind == "percent":
        return f"{f.value:g}%"
    if f.kind == "points":
        return f"{f.value:g} percentage points"
    if f.kind == "fraction":
        return re.sub(r"\s", "", f.text) if "/" in f.text else f"{fraction_words(f.value)}"
    return english_amount(f.value)


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
_CN_FRACTION = re.compile(rf"(?P<den>{_CN_NUMERAL}|百|千)分之(?P<num>{_CN_NUMERAL})")
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


def _word_figures(text: str) -> list[Figure]:
    """Fractions and percentages written in words: 七分之一, 百分之八十八, one seventh."""
    out = []
    for m in _CN_FRACTION.finditer(text):
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
    """
    plain = text.translate(_FULL_WIDTH)  # same length: offsets still point into ``text``
    plain = CITATION_MARKER.sub(lambda m: " " * len(m.group(0)), plain)
    plain = _LIST_NUMBER.sub(lambda m: " " * len(m.group(0)), plain)
    out = []
    for m in _FIGURE.finditer(plain):
        num, den, mult, pct = m.group("num"), m.group("den"), m.group("mult"), m.group("pct")
        before, after = plain[max(0, m.start() - 12) : m.start()], plain[m.end() : m.end() + 4]
        if (
            before.endswith("第")
            or _MONTHS.search(before)
            or (not mult and not pct and _DATE_AFTER.match(after))
        ):
            continue
        mantissa = _num(num)
        if den:
            if mult or pct or not float(den):
                continue
            out.append(
                Figure(
                    text[m.start() : m.end()].strip(),
                    mantissa / _num(den),
                    "fraction",
                    1e-9,
                    m.start(),
                    m.end(),
                )
            )
            continue
        scale = _MULTIPLIERS[mult.lower()] if mult else 1
        decimals = len(num.split(".")[1]) if "." in num else 0
        if not mult and not pct and decimals == 0 and "," not in num:
            n = int(num)
            if n < 10 or (1900 <= n <= 2100 and not _MEASURE_AFTER.match(after)):
                continue  # single digits are often spelled out (四个, four); bare 1900-2100 is a year
        kind = _PERCENT[re.sub(r"\s+", " ", pct.lower())] if pct else "amount"
        tolerance = 0.5 * 10.0**-decimals * scale
        out.append(
            Figure(
                text[m.start() : m.end()].strip(),
                round(mantissa * scale, 6),
                kind,
                tolerance,
                m.start(),
                m.end(),
            )
        )
    words = _word_figures(text)
    out = [f for f in out if not any(w.start <= f.start < w.end for w in words)]
    return sorted(out + words, key=lambda f: f.start)
