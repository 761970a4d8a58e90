"""A question that names the report it asks about: "根据《深圳日报》英文报道，…", "According to the
English report, …". The same news told in two languages often gives different figures (46,600
base stations in the English report, 超4.6万 and 4.76万 in Chinese ones), so such a question is
answered from the articles in the language it names, and the words that name the report are
not terms an answer's sentence must speak of.

Pure functions over the question's text. Does not retrieve (``rag.answer.evidence.gather``
keeps the hits in the asked language) or check answers (``rag.answer.review.terms``).
"""

from __future__ import annotations

import re

from rag.text.lang import HAN
from rag.types import Lang

__all__ = ["asked_language", "without_attribution"]

_ZH_REPORT = r"(?:报道|报导|新闻|文章|版本?|媒体|稿件?|消息)"
_LANGS: tuple[tuple[str, Lang], ...] = (
    (rf"(?:英文|英语){_ZH_REPORT}", "en"),
    (rf"(?:中文|汉语){_ZH_REPORT}", "zh"),
    (r"\bEnglish(?:-language)?\s+(?:report|article|story|version|coverage|media|press|news)", "en"),
    (r"\bChinese(?:-language)?\s+(?:report|article|story|version|coverage|media|press|news)", "zh"),
)
# the whole attribution: "根据《深圳日报》英文报道，", "According to the English report by X, "
_ZH_ATTRIBUTION = re.compile(
    rf"(?:根据|据|按照?|依据)?\s*(?:《[^》]{{1,20}}》|[^，,。？?\s]{{0,10}}?)\s*(?:的)?(?:英文|英语|中文|汉语)?{_ZH_REPORT}"
    r"(?:中|里|上)?(?:的说法|所说|称|显示)?[，,：:]?"
)
_ZH_OUTLET = re.compile(rf"《[^》]{{1,20}}》\s*(?:的)?{_ZH_REPORT}")  # 据《深圳日报》报道
_EN_ATTRIBUTION = re.compile(
    r"\b(?:(?:quoted|cited|mentioned|interviewed|featured)\s+)?"
    r"(?:according to|as reported by|per|in)\s+(?:the\s+)?(?:[A-Z][\w'’]*\s+){0,3}?"
    r"(?:(?:English|Chinese)(?:-language)?\s+)?(?:report|article|story|version|coverage)"
    r"(?:\s+(?:by|of|from)\s+(?:the\s+)?(?:[A-Z][\w'’]*\s*){1,4})?[,:]?\s*",
    re.IGNORECASE,
)


def asked_language(question: str) -> Lang | None:
    """The language of the report ``question`` asks about, None when it names none.

    >>> asked_language("根据《深圳日报》英文报道，深圳2020年建了多少个5G基站？")
    'en'
    >>> asked_language("According to the Chinese report, how many base stations were built?")
    'zh'
    >>> asked_language("深圳2020年建了多少个5G基站？") is None
    True
    >>> asked_language("英文报道的数字和中文报道一样吗？") is None
    True
    """
    named = {lang for pattern, lang in _LANGS if re.search(pattern, question, re.IGNORECASE)}
    return named.pop() if len(named) == 1 else None  # both: a comparison of the two


def without_attribution(question: str) -> str:
    """``question`` without the words naming the report it asks about: a report in a language,
    one an outlet in 《》 published, or in English any report named ("quoted in the Shenzhen
    Daily article"); left as is otherwise.

    >>> without_attribution("根据《深圳日报》英文报道，深圳2020年建了多少个5G基站？")
    '深圳2020年建了多少个5G基站？'
    >>> without_attribution("According to the English report by Shenzhen Daily, how many stations?")
    'how many stations?'
    >>> without_attribution("新闻报道说深圳建了多少个基站？")
    '新闻报道说深圳建了多少个基站？'
    >>> without_attribution("Who is the bureau director quoted in the Shenzhen Daily article?")
    'Who is the bureau director?'
    """
    if re.search(f"[{HAN}]", question):
        if asked_language(question) is None and not _ZH_OUTLET.search(question):
            return question
        return _ZH_ATTRIBUTION.sub("", question, count=1).strip()
    return re.sub(r"\s+(?=[?,.]|$)", "", _EN_ATTRIBUTION.sub("", question, count=1)).strip()
