"""Figures written the English way: values of Chinese and English figures, and their English form.

Chinese news writes large numbers with 万 (10^4), 亿 (10^8) and 万亿 (10^12); a small model
answering in English gets them wrong ("7.3万" became "7.3 million"). These pure functions
give the exact English form so the prompt can show it next to the Chinese figure
(``annotate_for_english``).

``english_figures`` writes the Chinese figures left in an English answer the English way
("超过4.6万个" -> "more than 46,000"), so the figure an English reader sees is converted by code,
never by the model; ``english_figure`` writes one ``Figure`` of ``rag.text.figures``.

Does not find figures (``rag.text.figures``) and does not handle numbers spelled in Chinese
characters (三千) beyond the fractions and percentages written with 分之 (五分之一, 百分之二).
"""

from __future__ import annotations

import re

from rag.text.figures import CN_FRACTION, Figure, cn_numeral, fraction_words, number_value, word_figures
from rag.text.lang import HAN

_CN_UNITS = {"万亿": 10**12, "亿": 10**8, "万": 10**4}
_EN_UNITS = {"trillion": 10**12, "billion": 10**9, "million": 10**6, "thousand": 10**3}
_NUM = r"\d+(?:,\d{3})*(?:\.\d+)?"
_CN_FIGURE = re.compile(rf"({_NUM})\s*(万亿|亿|万)")
_EN_FIGURE = re.compile(rf"({_NUM})\s*(trillion|billion|million|thousand)?", re.IGNORECASE)


def cn_value(figure: str) -> float | None:
    """Value of a Chinese figure, or None.

    >>> cn_value("3.7万亿元"), cn_value("4.6万个"), cn_value("4.55亿"), cn_value("1,030")
    (3700000000000.0, 46000.0, 455000000.0, 1030.0)
    """
    m = _CN_FIGURE.search(figure)
    if m:
        return round(number_value(m.group(1)) * _CN_UNITS[m.group(2)], 6)
    m = re.search(_NUM, figure)
    return number_value(m.group(0)) if m else None


def en_value(figure: str) -> float | None:
    """Value of an English figure, or None.

    >>> en_value("3.7 trillion yuan"), en_value("46,600"), en_value("455 million")
    (3700000000000.0, 46600.0, 455000000.0)
    """
    m = _EN_FIGURE.search(figure)
    if not m:
        return None
    unit = (m.group(2) or "").lower()
    return round(number_value(m.group(1)) * _EN_UNITS.get(unit, 1), 6)


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
    """Add the English value after each 万/亿 figure, for a prompt answered in English; a currency
    other than the yuan is named in it (a small model reads 新元 as "new yuan").

    >>> annotate_for_english("总产值3.7万亿元，建成5G基站超4.6万个")
    '总产值3.7万亿 (3.7 trillion)元，建成5G基站超4.6万 (46,000)个'
    >>> annotate_for_english("3.7万亿元（约7585亿新元）")
    '3.7万亿 (3.7 trillion)元（约7585亿 (758.5 billion Singapore dollars)新元）'
    """

    def repl(m: re.Match[str]) -> str:
        value = english_amount(number_value(m.group(1)) * _CN_UNITS[m.group(2)])
        currency = _FOREIGN.match(text, m.end())
        return (
            f"{m.group(0)} ({value} {_CURRENCIES[currency.group(1)]})"
            if currency
            else f"{m.group(0)} ({value})"
        )

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
    "美金": "US dollars",
    "港元": "Hong Kong dollars",
    "港币": "Hong Kong dollars",
    "新元": "Singapore dollars",
    "新加坡元": "Singapore dollars",
    "欧元": "euros",
    "日元": "yen",
    "英镑": "pounds sterling",
}
_FOREIGN = re.compile(
    "(" + "|".join(sorted((c for c, en in _CURRENCIES.items() if en != "yuan"), key=len, reverse=True)) + ")"
)
_SYMBOLS = {"US$": "US dollars", "HK$": "Hong Kong dollars", "S$": "Singapore dollars"}


def _name_pattern(name: str) -> re.Pattern[str]:
    """An English currency name, each word singular or plural, "US" also "U.S."."""
    words = (re.escape(w[:-1]) + "s?" if w.endswith("s") else re.escape(w) for w in name.split())
    joined = r"\s".join(words).replace("US", r"U\.?S\.?")
    return re.compile(rf"\b{joined}\b", re.I)


# the currencies other than the yuan, as a text may name them: in Chinese, by a symbol, in English
_NAMED = [
    *((en, re.compile(re.escape(zh))) for zh, en in _CURRENCIES.items() if en != "yuan"),
    *((en, re.compile(rf"(?<![A-Za-z]){re.escape(sym)}")) for sym, en in _SYMBOLS.items()),
    *((en, _name_pattern(en)) for en in dict.fromkeys(_CURRENCIES.values()) if en != "yuan"),
]


def named_currencies(text: str) -> set[str]:
    """The currencies other than the yuan that ``text`` names, in either language, by their
    English names.

    >>> named_currencies("折合多少美元？"), named_currencies("3.7 trillion yuan (US$572 billion)")
    ({'US dollars'}, {'US dollars'})
    >>> named_currencies("约7585亿新元"), sorted(named_currencies("a pound sterling, 5 U.S. dollars"))
    ({'Singapore dollars'}, ['US dollars', 'pounds sterling'])
    """
    return {en for en, pattern in _NAMED if pattern.search(text)}


# a quantity without a figure: 上万家 (over ten thousand), 数千名, 近万个, 上百项
VAGUE_QUANTITY = re.compile(
    r"(?<![\d十百千万亿])(?P<how>[上数近几])(?P<size>十万|百万|千万|十|百|千|万|亿)多?"
    r"(?P<mw>[个家项座台辆名人件只吨种款条位所户])"
)
_VAGUE_SIZES = {
    "十": ("ten", "dozens"),
    "百": ("a hundred", "hundreds"),
    "千": ("a thousand", "thousands"),
    "万": ("ten thousand", "tens of thousands"),
    "十万": ("a hundred thousand", "hundreds of thousands"),
    "百万": ("a million", "millions"),
    "千万": ("ten million", "tens of millions"),
    "亿": ("a hundred million", "hundreds of millions"),
}
_QUALIFIER = "|".join(sorted(_QUALIFIERS, key=len, reverse=True))
_CURRENCY = "|".join(sorted(_CURRENCIES, key=len, reverse=True))
_MEASURES = {  # units of measurement, written out
    "平方公里": "square kilometres",
    "平方千米": "square kilometres",
    "平方米": "square metres",
    "公里": "kilometres",
    "千米": "kilometres",
    "公顷": "hectares",
    "亩": "mu",
    "千瓦时": "kilowatt-hours",
    "千瓦": "kilowatts",
    "兆瓦": "megawatts",
    "公斤": "kilograms",
    "千克": "kilograms",
    "米": "metres",
}
_MEASURE = "|".join(sorted(_MEASURES, key=len, reverse=True))
_CN_AMOUNT = re.compile(
    rf"(?:(?P<q>{_QUALIFIER})\s*)?(?P<num>{_NUM})\s*(?P<mult>万亿|亿|万)"
    rf"(?P<more>多)?\s*(?P<cur>{_CURRENCY})?(?P<mw>{_MEASURE}|[个家项座台辆名人件只吨])?"
)
# other measure words are dropped
_COUNT_NOUNS = {"倍": "times", "人": "people", "吨": "tonnes", **_MEASURES}
_CN_COUNT = re.compile(  # a count or multiple without 万/亿: 超1800个, 300多个, 199家, 2.5倍, 3.5平方公里
    rf"(?:(?P<q>{_QUALIFIER})\s*)?(?<![\d.,])(?P<num>{_NUM})\s*(?P<more>[多余])?"
    rf"(?P<mw>倍|{_MEASURE}|[个家项根座条名位次台辆只件户所吨款种人])?(?![{HAN}])"
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
    >>> english_figures("约7585亿新元 [1]")
    'about 758.5 billion Singapore dollars [1]'
    >>> english_figures("上万家 [1]; 数千名; 近万个")
    'over ten thousand [1]; thousands; nearly ten thousand'
    >>> english_figures("规划面积3.5平方公里 [1]; 120亩; 3.5万千瓦时")
    '规划面积3.5 square kilometres [1]; 120 mu; 35,000 kilowatt-hours'
    """

    def count(m: re.Match[str]) -> str:
        if not (m.group("q") or m.group("more") or m.group("mw")):
            return m.group(0)  # an English figure: left as it is
        words = [_QUALIFIERS[m.group("q")]] if m.group("q") else []
        words += ["more than"] if m.group("more") and not words else []
        number = m.group("num")
        words.append(english_amount(number_value(number)) if "." not in number else number)
        words += [_COUNT_NOUNS[m.group("mw")]] if m.group("mw") in _COUNT_NOUNS else []
        return " ".join(words)

    def amount(m: re.Match[str]) -> str:
        words = [_QUALIFIERS[m.group("q")]] if m.group("q") else []
        words += ["more than"] if m.group("more") and not words else []
        words.append(english_amount(number_value(m.group("num")) * _CN_UNITS[m.group("mult")]))
        words += [_CURRENCIES[m.group("cur")]] if m.group("cur") else []
        words += [_COUNT_NOUNS[m.group("mw")]] if m.group("mw") in _COUNT_NOUNS else []
        return " ".join(words)

    def vague(m: re.Match[str]) -> str:
        one, many = _VAGUE_SIZES[m.group("size")]
        return {"上": f"over {one}", "近": f"nearly {one}"}.get(m.group("how"), many)

    out = _CN_COUNT.sub(count, _CN_AMOUNT.sub(amount, VAGUE_QUANTITY.sub(vague, text)))
    for f in reversed(word_figures(out)):
        if re.search(f"[{HAN}]", f.text):
            value = (
                f"{f.value:g}%"
                if f.kind == "percent"
                else (f"{f.value:g}‰" if f.kind == "permille" else f"{fraction_words(f.value)} ({_ratio(f)})")
            )
            out = out[: f.start] + value + out[f.end :]
    return out.replace("％", "%")


def _ratio(f: Figure) -> str:
    """ "1/7" for the fraction written 七分之一."""
    m = CN_FRACTION.fullmatch(f.text)
    num, den = (cn_numeral(m.group(g)) if m else None for g in ("num", "den"))
    return f"{num:g}/{den:g}" if num is not None and den else f"{f.value:.3g}"


def english_figure(f: Figure) -> str:
    """``f`` as written in English: "4.6万" -> "46,000", "52.6%" -> "52.6%"."""
    if f.kind == "percent":
        return f"{f.value:g}%"
    if f.kind == "points":
        return f"{f.value:g} percentage points"
    if f.kind == "fraction":
        return re.sub(r"\s", "", f.text) if "/" in f.text else f"{fraction_words(f.value)}"
    return english_amount(f.value)
