"""What a figure in a news sentence measures, and whether the sentence forecasts it.

* ``said_of_another`` whether a figure is said of another statistic (GDP, fiscal revenue,
  exports...; each by a name of its own whatever the language) or another part of the year
  (一季度, 上半年, 全年, Q1) than the question names: the last one named before the figure in its
  sentence is the one it is said of ("财政收入整体下滑……西藏（-24.2%）" is fiscal revenue's, not
  the economy's; "全年增长3.0%，一季度增长4.8%": 3.0% is the year's);
* ``forecast`` whether a figure is said in a sentence that forecasts it (预计, 预测, expected),
  ``asks_forecast`` whether a question asks for one, and ``unasked_forecast`` a forecast given
  for a question asking what happened (one "expected" for a year already over when its article
  was written is a preliminary result).

Only statistics news keeps apart are listed; a figure said of none of them is nobody's in
particular and answers any question. Pure text: does not find figures
(``rag.text.figures``) nor decide what to do with them.
"""

from __future__ import annotations

import re

_MEASURES = {  # each statistic by its words; at one place the first listed that fits is read
    "gdp": r"GDP|国内生产总值|地区生产总值|生产总值"
    r"|(?<!数字)(?<!实体)(?<!工业)(?<!民营)(?<!海洋)经济(?:同比)?(?:增长|增速|总量)"  # not 数字经济's
    r"|economic growth|gross domestic product|\beconomy (?:grew|grow|expanded)",
    "fiscal": r"财政收入|一般公共预算收入|税收|fiscal revenue|tax revenue",
    "trade": r"进出口|外贸|foreign trade|imports and exports|exports and imports",
    "exports": r"出口|\bexports?\b",
    "imports": r"进口|\bimports?\b",
    "retail": r"社会消费品零售总额|社零|零售额|retail sales",
    "investment": r"投资|\binvestment\b",
    "population": r"人口|\bpopulation\b",
    "income": r"可支配收入|居民收入|disposable income",
    "profit": r"利润|\bprofits?\b",
    "revenue": r"营业收入|营收|\brevenues?\b",
}
_MEASURE = re.compile("|".join(f"(?P<{name}>{words})" for name, words in _MEASURES.items()), re.I)
_PERIODS = {  # the parts of a year news reports figures for; at one place the first that fits
    "q1_3": r"前三季度|first three quarters",
    "q1": r"第?一季度|首季|\bQ1\b|first quarter",
    "q2": r"第?二季度|\bQ2\b|second quarter",
    "q3": r"第?三季度|\bQ3\b|third quarter",
    "q4": r"第?四季度|\bQ4\b|fourth quarter",
    "h1": r"上半年|\bH1\b|first half",
    "h2": r"下半年|\bH2\b|second half",
    "year": r"全年|full[- ]year|whole year",
}
_PERIOD = re.compile("|".join(f"(?P<{name}>{words})" for name, words in _PERIODS.items()), re.I)
_FORECAST = re.compile(
    r"预计|预期|预估|预测|有望|\b(?:forecasts?|forecasted|expected|projected|predicted|estimated)\b", re.I
)
_FORECAST_ASKED = re.compile(
    r"预计|预期|预估|预测|有望|目标|计划|\b(?:forecast|expect|project|predict|will|target|plan)", re.I
)


def said_of_another(question: str, sentence: str, start: int) -> bool:
    """Whether the figure at ``start`` of ``sentence`` is said of another statistic or part of the
    year than ``question`` names (False when the question or the sentence names none).

    >>> s = "全年国内生产总值增长3.0%，一季度增长4.8%。"
    >>> [said_of_another("2022年一季度中国经济增长率？", s, s.find(f)) for f in ("3.0%", "4.8%")]
    [True, False]
    >>> s = "上半年财政收入整体下滑，其中西藏（-24.2%）降幅最大；全市GDP增长5.1%，出口增长8%。"
    >>> [said_of_another("上半年西藏经济增长了多少？", s, s.find(f)) for f in ("-24.2%", "5.1%", "8%")]
    [True, False, True]
    >>> questions = ("数字经济增长了多少", "How fast did the economy grow?")
    >>> [said_of_another(q, "数字经济增加值增长10%。", 10) for q in questions]
    [False, False]
    """
    for pattern in (_MEASURE, _PERIOD):
        asked, said = _named(pattern, question), _last_named(pattern, sentence[:start])
        if asked and said and said not in asked:
            return True
    return False


def _named(pattern: re.Pattern[str], text: str) -> set[str]:
    return {m.lastgroup for m in pattern.finditer(text) if m.lastgroup}


def _last_named(pattern: re.Pattern[str], text: str) -> str | None:
    found = [m.lastgroup for m in pattern.finditer(text)]
    return found[-1] if found else None


def forecast(sentence: str, start: int) -> bool:
    """Whether the figure at ``start`` is said in a sentence forecasting it (预计 before it).

    >>> s = "预计2022年一季度中国经济同比增速4.4%，二季度为4.8%。"
    >>> forecast(s, s.find("4.4%")), forecast(s, s.find("4.8%")), forecast("今日公布的增速为4.8%。", 8)
    (True, True, False)
    """
    return bool(_FORECAST.search(sentence[:start]))


def asks_forecast(question: str) -> bool:
    """Whether ``question`` asks what was forecast, expected or planned, not what happened.

    >>> asks_forecast("“鹏城云脑Ⅲ”预计哪一年建成？"), asks_forecast("2022年一季度中国经济增长率是多少")
    (True, False)
    """
    return bool(_FORECAST_ASKED.search(question))


def unasked_forecast(question: str, sentence: str, at: int, years: set[str], date: str) -> bool:
    """Whether the figure at ``at`` is forecast (``forecast``) for a question asking what happened
    (not ``asks_forecast``): a figure "expected" for years (``years``) already over when its
    article was written (``date``, YYYY...) is a preliminary result, not a forecast.

    >>> s = "预计2022年一季度中国经济同比增速4.4%。"
    >>> [unasked_forecast(q, s, 19, {"2022"}, "") for q in ("一季度增长率？", "预计增长多少？")]
    [True, False]
    >>> s = "2020年工业增加值预计增长2%。"
    >>> unasked_forecast("2020年工业增加值增长多少？", s, 15, {"2020"}, "2021-01-20")
    False
    """
    if asks_forecast(question) or not forecast(sentence, at):
        return False
    return not (date[:4].isdigit() and years and max(years) < date[:4])
