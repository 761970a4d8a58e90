"""Figures in Chinese and English text: parse them to values, write them in English.

Chinese news writes large numbers with 万 (10^4), 亿 (10^8) and 万亿 (10^12); a small model
answering in English gets them wrong ("7.3万" became "7.3 million"). These pure functions
give the exact English form so the prompt can show it next to the Chinese figure.

Does not handle numbers spelled in Chinese characters (三千) or fractions (五分之一).
"""

from __future__ import annotations

import re

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
