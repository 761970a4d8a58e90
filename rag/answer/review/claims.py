"""The answer's own claims held against the passages: its figures, counts, dates and years.

Pure functions, each with the notice that tells the reader why an answer was withdrawn for it:
``restates_question`` an answer that only repeats the question's words;
``unsupported_figures`` an answer none of whose figures the passages state; ``unstated`` an
answer whose own words, counts (``uncounted``) or dates no passage holds; ``other_year`` the
sources' figures for another year than asked; ``only_changes`` a change given where the level
was asked. An answer of another kind than asked (a rate for a count, a figure for a name) is
``rag.answer.review.kinds``'s.

Does not check the subject of the sentence stating the answer (``rag.answer.review.grounding``) or the
people it names (``rag.answer.review.people``); figures merely unverified, with the answer kept, are
``rag.answer.review.trust``'s part.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.answer.review.support import own_tokens, sentences_of, support
from rag.answer.review.terms import ANY_YEAR
from rag.answer.review.trust import rescale_figures
from rag.text.dates import without_titles
from rag.text.figures import CITATION_MARKER, asks_level, find_figures, is_change
from rag.text.lang import detect_lang
from rag.text.tokens import normalize, tokenize
from rag.types import Lang

_COUNT = re.compile(  # a count or a date part: a number and a Chinese measure word
    r"(?<![\d.])(\d+(?:\.\d+)?)\s*(公里|千米|小时|分钟|[月日号次个人例家名位辆台岁天届艘架座项条场所枚只部套件倍吨斤亩周票])"
)


def unsupported_figures(
    question: str, answer: str, sources: Sequence[str], lang: Lang = "zh"
) -> tuple[str, ...]:
    """The answer's figures when it states some (beyond the question's own) and the sources
    state none of them: the answer is not drawn from them. An English answer's figures are
    first rescaled as the pipeline will show them ("7.3 million" for 7.3万 is 73,000).

    >>> unsupported_figures("2021年香港GDP增长了多少？", "增长了4.6%。[1]", ["香港GDP在1997年达到高点。"])
    ('4.6%',)
    >>> unsupported_figures("深圳建成多少5G基站？", "4.6万个，占全省40%[1]", ["建成5G基站4.6万个。"])
    ()
    """
    if lang == "en":
        answer, _ = rescale_figures(answer, sources)
    asked = find_figures(question)
    own = [f for f in find_figures(answer) if not any(f.matches(g) for g in asked)]
    stated = [g for s in sources for g in find_figures(s)]
    if not own or any(f.matches(g) for f in own for g in stated):
        return ()
    return tuple(dict.fromkeys(f.text for f in own))


def unsupported_notice(figures: Sequence[str], lang: Lang) -> str:
    """Why an answer was withdrawn for ``unsupported_figures``.

    >>> unsupported_notice(["4.6%"], "en")
    'An answer was written, but none of its figures (4.6%) is in the passages it cites.'
    """
    if lang == "zh":
        return f"模型写出了答案，但其中的数字（{'、'.join(figures)}）在所引资料中都找不到。"
    return (
        f"An answer was written, but none of its figures ({', '.join(figures)}) is in the passages it cites."
    )


# a yes/no or either/or question: an answer in its own words is a whole one ("深圳建成了5G基站")
_YES_NO = re.compile(
    r"是否|是不是|有没有|能否|可否|还是|吗\W*$|^\W*(?:did|does|do|is|are|was|were|has|have|had|can|could|will)\b"
    r"|\bor\b",
    re.IGNORECASE,
)


def restates_question(question: str, answer: str) -> bool:
    """Whether ``answer`` only repeats ``question``: two words or more, none of them its own
    (``own_tokens``); never for a yes/no or either/or question.

    >>> q = "华为和富士康获得了什么国家级称号？"
    >>> restates_question(q, "华为和富士康获得了国家级称号。[1]"), restates_question(q, "国家级示范企业[1]")
    (True, False)
    >>> q = "Which facility became the first incubation base?"
    >>> restates_question(q, "The facility became the first incubation base. [1]")
    True
    >>> restates_question("深圳是否建成了5G基站？", "深圳建成了5G基站[1]。")
    False
    """
    if _YES_NO.search(question.strip()):
        return False
    return len(set(tokenize(CITATION_MARKER.sub("", answer)))) >= 2 and not own_tokens(question, answer)


def restated_notice(lang: Lang) -> str:
    """Why an answer was withdrawn for ``restates_question``."""
    if lang == "zh":
        return "模型只是重复了问题，没有给出答案。"
    return "The model only repeated the question and gave no answer."


def unstated(question: str, answer: str, sources: Sequence[str]) -> bool:
    """Whether ``answer``, written in the sources' language, says something of its own (beyond
    the question's words) that no sentence of them shares: a claim the sources do not hold.

    >>> unstated("香港第七届立法会选举有多少个议席？", "7个议席。[1]", ["立法会设有18个事务委员会。"])
    True
    >>> unstated("香港立法会有多少个议席？", "90个议席[1]", ["新一届立法会共有90个议席。"])
    False
    """
    lang = detect_lang(answer)
    if not sources or any(detect_lang(s) != lang for s in sources):
        return False
    own = own_tokens(question, answer)
    return bool(own) and (
        not support(question, answer, sources) or bool(uncounted(question, answer, sources))
    )


def unstated_notice(lang: Lang) -> str:
    """Why an answer was withdrawn for ``unstated``."""
    if lang == "zh":
        return "模型写出了答案，但所引资料中没有这一说法。"
    return "An answer was written, but the passages it cites do not say so."


def uncounted(question: str, answer: str, sources: Sequence[str]) -> tuple[str, ...]:
    """The counts and dates of a Chinese ``answer`` ("25次", "1月7日" as "1月", "7日") that no
    source writes (a digit before them would make another number: "17日" is not "7日"); those
    the question writes are left out. Figures with 万, 亿, % are ``unverified_figures``' part;
    years are left to the year checks (an article's "2月4日" is of the year it appeared).

    >>> uncounted("美联储将加息几次？", "加息25次[1]", ["美联储3月加息25个基点，全年加息4次。"])
    ('25次',)
    >>> uncounted("春运何时开始？", "1月17日[1]", ["2022年春运从1月17日开始。"])
    ()
    >>> uncounted("用了多长时间？", "用了1个半月，转产只需1小时[1]", ["仅用一个半月；只需1个小时。"])
    ()
    """
    text = normalize(" ".join(sources))
    out = []
    for m in _COUNT.finditer(normalize(CITATION_MARKER.sub("", answer))):
        number, unit = m.group(1), m.group(2)
        forms = "|".join([re.escape(number), *_han_numbers(number)])
        # "1个小时" for "1小时", "一个半月" for "1个半月"
        pattern = rf"(?<![\d.{_HAN_DIGITS}])(?:{forms})\s*(?:个\s*)?{re.escape(unit)}"
        written = re.search(pattern, text) or re.search(pattern, normalize(question))
        if not written and m.group(0) not in out:
            out.append(m.group(0))
    return tuple(out)


_HAN_DIGITS = "〇零一二两三四五六七八九十百"


def _han_numbers(number: str) -> list[str]:
    """How Chinese writes a whole ``number`` below 100 in characters ([] for others).

    >>> _han_numbers("1"), _han_numbers("2"), _han_numbers("15"), _han_numbers("40"), _han_numbers("1.5")
    (['一'], ['二', '两'], ['十五'], ['四十'], [])
    """
    if not number.isdigit() or not 0 < int(number) < 100:
        return []
    digits = "零一二三四五六七八九"
    tens, ones = divmod(int(number), 10)
    if not tens:
        return [digits[ones], *(["两"] if ones == 2 else [])]
    head = ("" if tens == 1 else digits[tens]) + "十"
    return [head + (digits[ones] if ones else "")]


def only_changes(question: str, answer: str, sources: Sequence[str]) -> bool:
    """Whether every figure ``answer`` gives (beyond the question's) is one ``sources`` state
    only as a change ("报名人数增加115万") while ``question`` asks the level itself.

    >>> src = ["与去年1078万人相比，今年报名人数增加115万。"]
    >>> only_changes("今年高考报名人数是多少？", "报名人数为115万[1]", src)
    True
    >>> only_changes("今年高考报名人数增加了多少？", "115万[1]", src)
    False
    >>> only_changes("去年报名人数是多少？", "1078万[1]", src)
    False
    """
    if not asks_level(question):
        return False
    given = find_figures(question)
    own = [f for f in find_figures(CITATION_MARKER.sub("", answer)) if not any(f.matches(g) for g in given)]
    sentences = [t for s in sources for t in sentences_of(s)]
    for f in own:
        places = [(s, g.start) for s in sentences for g in find_figures(s) if f.matches(g)]
        if not places or not all(is_change(s, at) for s, at in places):
            return False
    return bool(own)


def only_changes_notice(lang: Lang) -> str:
    """Why an answer was withdrawn for ``only_changes``."""
    if lang == "zh":
        return "模型写出了答案，但资料中这个数字是增加或减少的量，不是问题所问的数值。"
    return (
        "An answer was written, but the sources give that figure as a change (a rise or a fall), "
        "not the value asked."
    )


def disowned_notice(lang: Lang) -> str:
    """Why an answer was withdrawn for ``rag.answer.candidates.extract.disowned``."""
    if lang == "zh":
        return "模型写出了答案，但资料中这个数值或名称属于别的年份、别的项目或别的人，不是问题所问的。"
    return (
        "An answer was written, but in the sources what it gives belongs to another year, item or "
        "person than the one asked."
    )


def other_year(question: str, answer: str, sources: Sequence[str]) -> str | None:
    """The year the sources give the answer's figures for, when the question asks about another.

    A small model asked about 2021 readily answers with the 2020 figure of a passage. Each
    figure of the answer (those the question states aside) is looked up in the sentences of
    ``sources`` stating it; when every such sentence names years before the figure and none is
    a year of the question, the earliest year they name is returned. None when the question
    names no year, a figure is in no source, or some sentence stating it names no year before
    it or the asked one (a year after it is another clause's: "…亿元，自2017年突破3万亿元以来").

    >>> other_year("2021年电影总票房是多少？", "300.67亿元[1]", ["2022年电影年度总票房为300.67亿元。"])
    '2022'
    >>> other_year("2020年深圳建成多少5G基站？", "超4.6万个[1]", ["2020年深圳建成5G基站超4.6万个。"]) is None
    True
    >>> other_year("截至2024年初建成多少5G基站？", "7.5万个[1]", ["全市累计建设5G基站7.5万个。"]) is None
    True
    >>> src = ["GDP为43214.85亿元，自2017年突破3万亿元以来再上台阶。"]
    >>> other_year("上海2021年的GDP是多少", "43214.85亿元[1]", src) is None
    True
    """
    asked = set(ANY_YEAR.findall(question))
    given = find_figures(question)
    figures = [f for f in find_figures(answer) if not any(f.matches(g) for g in given)]
    if not asked or not figures:
        return None
    sentences = [t for s in sources for t in sentences_of(s)]
    years: set[str] = set()
    for f in figures:
        stating = [t[: g.start] for t in sentences for g in find_figures(t) if f.matches(g)]
        found = [set(ANY_YEAR.findall(without_titles(t))) for t in stating]
        if not stating or any(not y or y & asked for y in found):
            return None
        years |= set().union(*found)
    return min(years)


def other_year_notice(year: str, lang: Lang) -> str:
    """Why an answer was withdrawn for ``other_year``.

    >>> other_year_notice("2020", "en")
    'An answer was written, but the sources give its figures for 2020, not for the year asked.'
    """
    if lang == "zh":
        return f"模型写出了答案，但资料中的这些数字是{year}年的，不是问题所问的年份。"
    return f"An answer was written, but the sources give its figures for {year}, not for the year asked."
