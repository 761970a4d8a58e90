"""A change between two years, computed by code: "how much did X grow from 2020 to 2023".

``computed_change`` copies the figure of each year from its cited sentence (``figure_for_year``)
and computes the difference here, never by the model, and the answer says so
(``COMPUTED_NOTE``). ``rag.answer.question.parts.asks_change`` tells such a question.

Does not find the sentences (``rag.answer.evidence.pick`` does) and does not check answers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.answer.evidence.sentences import PERCENT_ASKED
from rag.text.figures import Figure, find_figures
from rag.text.figures_en import english_amount
from rag.types import Lang


@dataclass(frozen=True)
class Computed:
    """An answer to a change question written by code: the two figures and their difference."""

    text: str  # with citation markers [n] of the passages holding the figures
    figures: tuple[Figure, Figure]
    difference: str  # the computed figure as written in the answer (not in any source)


COMPUTED_NOTE = {"zh": "（按两处数字计算）", "en": " (computed from the two figures)"}


def figure_for_year(question: str, sentence: str, year: str) -> Figure | None:
    """The figure of ``sentence`` that ``year`` refers to: the first of the kind the question
    asks (a share or an amount) after the year's mention, else the first of that kind.

    >>> figure_for_year("增加了多少个？", "2020年建成4.6万个，2023年累计7.5万个。", "2023").text
    '7.5万'
    >>> figure_for_year("增加了多少个？", "全市累计建成5G基站7.5万个。", "2023").text
    '7.5万'
    """
    figures = find_figures(sentence)
    if PERCENT_ASKED.search(question) and not re.search(r"多少个|多少家|how many", question):
        wanted = [f for f in figures if f.kind in ("percent", "points")] or figures
    else:
        wanted = [f for f in figures if f.kind == "amount"] or figures
    at = sentence.find(year)
    after = [f for f in wanted if at >= 0 and f.start > at]
    found = after or wanted
    return found[0] if found else None


def _unit(sentence: str, f: Figure) -> str:
    """The measure word or currency after a figure ("个", "元", "亿元" keeps only "元")."""
    m = re.match(r"\s?(?:多)?([个家根项座条名位倍次台辆只件人户所元吨]|美元|港元)", sentence[f.end :])
    return m.group(1) if m else ""


def _chinese_amount(value: float, like: Figure) -> str:
    """``value`` in the multiplier the source used for ``like`` (万, 亿): 2.9万 beside 4.6万.

    >>> _chinese_amount(29000.0, find_figures("4.6万")[0]), _chinese_amount(120.0, find_figures("1030")[0])
    ('2.9万', '120')
    """
    for word, scale in (("万亿", 10**12), ("亿", 10**8), ("万", 10**4)):
        if word in like.text:
            return f"{value / scale:.4f}".rstrip("0").rstrip(".") + word
    return f"{value:.4f}".rstrip("0").rstrip(".")


def computed_change(
    question: str, years: tuple[str, str], stated: Sequence[tuple[str, int]], lang: Lang
) -> Computed | None:
    """The templated answer to a change question, from the sentence stating each year's figure
    (``stated``: (sentence, citation number) for the earlier and the later year), or None when
    the two figures cannot be told apart safely (not found, of different kinds or units, or one
    sentence naming both years: that sentence states the change itself).

    >>> q = "从2020年到2023年，深圳5G基站增加了多少个？"
    >>> s1, s2 = "2020年深圳建成5G基站超4.6万个。", "截至2023年底，全市累计建成5G基站7.5万个。"
    >>> computed_change(q, ("2020", "2023"), [(s1, 1), (s2, 2)], "zh").text
    '2020年：4.6万个[1]；2023年：7.5万个[2]。增加2.9万个（按两处数字计算）。'
    >>> computed_change(q, ("2020", "2023"), [(s1, 1), (s2, 2)], "en").text
    '2020: 46,000 [1]; 2023: 75,000 [2]. An increase of 29,000 (computed from the two figures).'
    >>> computed_change(q, ("2020", "2023"), [("2023年比2020年增加2.9万个。", 1)] * 2, "zh") is None
    True
    """
    (s1, n1), (s2, n2) = stated
    if any(all(y in s for y in years) for s in (s1, s2)):
        return None
    f1, f2 = figure_for_year(question, s1, years[0]), figure_for_year(question, s2, years[1])
    if f1 is None or f2 is None or f1.kind != f2.kind or f1.kind == "fraction" or f1.value == f2.value:
        return None
    u1, u2 = _unit(s1, f1), _unit(s2, f2)
    if u1 != u2 and u1 and u2:
        return None
    unit = u1 or u2
    diff = f2.value - f1.value
    points = f1.kind in ("percent", "points")
    if lang == "zh":
        grew = "增加" if diff > 0 else "减少"
        amount = (
            f"{abs(diff):.4f}".rstrip("0").rstrip(".") + "个百分点"
            if points
            else _chinese_amount(abs(diff), f1) + unit
        )
        text = (
            f"{years[0]}年：{f1.text}{unit}[{n1}]；{years[1]}年：{f2.text}{unit}[{n2}]。"
            f"{grew}{amount}{COMPUTED_NOTE['zh']}。"
        )
    else:
        grew = "An increase" if diff > 0 else "A decrease"
        amount = (
            (f"{abs(diff):.4f}".rstrip("0").rstrip(".") + " percentage points")
            if points
            else english_amount(abs(diff))
        )
        currency = {"元": " yuan", "美元": " US dollars", "港元": " HK dollars"}.get(unit, "")
        amount += "" if points else currency
        en1, en2 = (f"{f.value:g}%" if points else english_amount(f.value) + currency for f in (f1, f2))
        text = f"{years[0]}: {en1} [{n1}]; {years[1]}: {en2} [{n2}]. {grew} of {amount}{COMPUTED_NOTE['en']}."
    return Computed(text, (f1, f2), amount)
