"""Is the answer of the kind asked? A rate is no count, a figure no name, a judgement no fact.

Pure functions, each with the notice that tells the reader why an answer was withdrawn for it:
``wrong_measure`` a rate or a share given where a count was asked; ``figure_for_name`` only a
figure given where a name was asked (a champion, a director, "who", "which company"). The small
model, shown passages that do not name the one asked for, copies the nearest figure instead;
``only_judgement`` only set phrases (成语) where a fact was asked: "选举结果众望所归" copies a
passage's praise of a result it never names.
"""

from __future__ import annotations

import re

from rag.answer.question.kind import asked_kind, asks_why
from rag.text.figures import CITATION_MARKER, find_figures
from rag.text.tokens import pos_cut
from rag.types import Lang

_COUNTED = "辆台个人家座艘架部套件条项只名位次"  # measure words of a count
_RATE_ASKED = re.compile(r"百分|比例|占比|比重|percent|share|rate|proportion", re.IGNORECASE)
_COUNT_ASKED = re.compile(
    rf"(?:多少\s*[{_COUNTED}吨元]|几\s*[{_COUNTED}])(?!力|民|均|工)|\bhow many\b", re.IGNORECASE
)  # not 多少人力 (labour saved), 多少人均
_UNITS = "万亿千百元美金港币欧个人次家名位辆台吨年月日号"  # what a figure's unit is written with


def wrong_measure(question: str, answer: str) -> bool:
    """Whether ``question`` asks for a count ("多少辆", "how many") and every figure ``answer``
    gives is a rate or a share (a growth rate is not an output in vehicles).

    >>> wrong_measure("深圳2023年新能源汽车产量是多少辆？", "产量增长125.8%[1]")
    True
    >>> wrong_measure("建成多少个5G基站？", "4.6万个，占40%[1]"), wrong_measure("节省了多少人力？", "88%[1]")
    (False, False)
    >>> wrong_measure("增长了多少？", "5.5%[1]"), wrong_measure("How many percent?", "12% [1]")
    (False, False)
    """
    if not _COUNT_ASKED.search(question) or _RATE_ASKED.search(question):
        return False
    asked = find_figures(question)
    own = [f for f in find_figures(CITATION_MARKER.sub("", answer)) if not any(f.matches(g) for g in asked)]
    return bool(own) and all(f.kind in ("percent", "points", "permille") for f in own)


def figure_for_name(question: str, answer: str) -> bool:
    """Whether ``question`` asks for a name (``asked_kind``: who, which company, a champion, a
    director) and ``answer`` gives only figures: what is left of it without them is the
    question's own words, units and punctuation.

    >>> q = "2022年春节档首日票房冠军"
    >>> figure_for_name(q, "8.31亿元[1]"), figure_for_name(q, "票房8.31亿元。[1]")
    (True, True)
    >>> figure_for_name(q, "《长津湖之水门桥》，8.31亿元[1]"), figure_for_name("票房是多少？", "8.31亿元[1]")
    (False, False)
    """
    if asked_kind(question) != "name":
        return False
    plain = CITATION_MARKER.sub("", answer)
    figures = find_figures(plain)
    for f in reversed(figures):
        plain = plain[: f.start] + plain[f.end :]
    left = re.sub(r"[\W\d_]|[" + _UNITS + "]", "", plain)
    return bool(figures) and all(c in question for c in left)


def only_judgement(question: str, answer: str) -> bool:
    """Whether ``answer`` adds to ``question`` only set phrases (jieba's 成语 tag "i") and words
    that carry nothing (particles, conjunctions, adverbs, 是): a judgement with no fact in it
    (who won, what happened, how much). A question asking why or how may be answered so.

    >>> q = "香港第六任行政长官选举结果？"
    >>> only_judgement(q, "香港第六任行政长官选举结果：众望所归、人心所向。[1]")
    True
    >>> only_judgement(q, "李家超当选，众望所归[1]")
    False
    >>> only_judgement("这次选举有何意义？", "众望所归[1]"), only_judgement("Who won?", "Labor won [1].")
    (False, False)
    """
    if asks_why(question):
        return False
    tagged = [(w, t) for w, t in pos_cut(CITATION_MARKER.sub("", answer)) if w.strip() and w not in question]
    return any(t == "i" for _, t in tagged) and all(
        t == "i" or t in _EMPTY_TAGS or w in _EMPTY_WORDS for w, t in tagged
    )


# particles, conjunction, adverb, preposition, punctuation, modal, interjection, pronoun
_EMPTY_TAGS = frozenset("u uj ul uz ug uv ud c d p x y e r".split())  # noqa: SIM905
_EMPTY_WORDS = frozenset("是 为 有 了".split())  # noqa: SIM905


def wrong_measure_notice(lang: Lang) -> str:
    """Why an answer was withdrawn for ``wrong_measure``."""
    if lang == "zh":
        return "模型写出了答案，但只给出了比率，没有给出问题所问的数量。"
    return "An answer was written, but it gives only a rate, not the number asked for."


def figure_for_name_notice(lang: Lang) -> str:
    """Why an answer was withdrawn for ``figure_for_name``."""
    if lang == "zh":
        return "模型写出了答案，但只给出了数字，没有给出问题所问的名称。"
    return "An answer was written, but it gives only a figure, not the name asked for."


def only_judgement_notice(lang: Lang) -> str:
    """Why an answer was withdrawn for ``only_judgement``."""
    if lang == "zh":
        return "模型写出了答案，但只给出了评价，没有给出问题所问的事实。"
    return "An answer was written, but it gives only a judgement, not the fact asked for."
