"""A question cut into the parts it asks, each made to stand alone: pure text, no models.

``split_question`` cuts a question with several parts (two questions in one, "…, and who…",
"2020年和2023年…分别…", "from 2020 to 2023") into parts; each part is retrieved on its own by
the pipeline. ``contained_parts`` gives an elliptical later part ("到2024年初全市累计有多少个？")
what it leaves out from the part before it. ``asks_change`` tells a question asking how much
something changed between two years (``rag.answer.evidence.change`` computes the answer).

Does not retrieve, score sentences (``rag.answer.evidence.pick`` does) or resolve a follow-up across
turns of a conversation (``rag.answer.question.followup`` does).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.answer.question.joined import RESPECTIVELY, ZH_ASK, by_joined
from rag.text.figures import YEAR
from rag.text.lang import detect_lang
from rag.text.tokens import pos_cut

_EN_ASK = re.compile(r"\b(?:who|what|when|where|which|why|how)\b", re.I)
_EN_AND = re.compile(r",?\s+and\s+(?=(?:who|what|when|where|which|why|how)\b)", re.I)
_ZH_COMMA = re.compile(r"[，,；;]|以及|并且|同时")
_QUESTION_END = re.compile(r"(?<=[？?])\s*")
_JOIN = r"\s*(?:和|与|及|、|,|and|&)\s*"
_RANGE = r"\s*(?:到|至|—|–|-|to|and)\s*"
_CHANGE = re.compile(
    r"(?:增加|增长|提高|提升|上升|减少|下降|降低|多|少|涨|跌|变化)了?多少|变化|"
    r"\bhow much (?:did|has|have|had|was|were)\b.*\b(?:grow|increase|rise|fall|drop|decline|decrease|change)|"
    r"\bby how (?:much|many)\b|\bhow many more\b|\bchange\b|\bgrowth\b.*\bbetween\b",
    re.I,
)


def _asks(text: str) -> bool:
    return bool(ZH_ASK.search(text) or _EN_ASK.search(text))


def _clauses(sentence: str) -> list[str]:
    """One question sentence cut where each side asks something of its own."""
    if detect_lang(sentence) == "en":
        pieces = _EN_AND.split(sentence)
    else:
        pieces, rest = [], sentence
        while m := next(
            (m for m in _ZH_COMMA.finditer(rest) if _asks(rest[: m.start()]) and _asks(rest[m.end() :])), None
        ):
            pieces.append(rest[: m.start()])
            rest = rest[m.end() :]
        pieces.append(rest)
    pieces = [p.strip(" ，,；;") for p in pieces if p.strip(" ，,；;")]
    whole = [_asks(p) and (detect_lang(p) == "zh" or len(p.split()) > 1) for p in pieces]
    if len(pieces) > 1 and not all(whole):
        return [sentence]  # a side asking nothing of its own, or a lone "When" (of "When and where…")
    return pieces


def years_asked(question: str) -> list[str]:
    """The distinct years a question names, in order.

    >>> years_asked("从2020年到2023年，深圳5G基站增加了多少个？2020年呢")
    ['2020', '2023']
    """
    return list(dict.fromkeys(m.group(1) for m in YEAR.finditer(question)))


def _year_pair(part: str, change: bool) -> re.Match[str] | None:
    """Where ``part`` names two years side by side: joined (和, and), or as a range when it asks
    for a change (a range without a change, "2020-2023年累计…", is one period, not two parts)."""
    y = r"((?:19|20)\d\d)\s*年?"
    versus = r"\s*(?:与|和|同|较|比|compared (?:with|to))\s*"
    m = None
    if change:  # 2023年与2020年相比 / in 2023 compared with 2020
        m = re.search(rf"(?:in\s+)?{y}{versus}{y}(?:相比|比较)", part, re.I) or re.search(
            rf"(?:in\s+)?{y}\s*compared (?:with|to)\s*{y}", part, re.I
        )
    m = m or re.search(rf"(?:从|from\s+|between\s+|in\s+)?{y}{_JOIN}(?:in\s+)?{y}", part, re.I)
    if m is None and change:
        m = re.search(rf"(?:从|from\s+|between\s+)?{y}{_RANGE}{y}", part, re.I)
    return m


def _by_year(part: str, change: bool) -> list[str]:
    """``part`` once per year when it names two years side by side, else ``[part]``."""
    m = _year_pair(part, change)
    if m is None:
        return [part]
    en = detect_lang(part) == "en"
    out = []
    for year in sorted((m.group(1), m.group(2))):
        text = part[: m.start()] + (f"in {year}" if en else f"{year}年") + part[m.end() :]
        text = RESPECTIVELY.sub(" " if en else "", text)
        if change and not en:  # each year's part asks for that year's figure
            text = re.sub(r"(?:增加|增长|提高|提升|上升|减少|下降|降低|多|少|涨|跌)了?(多少)", r"\1", text)
        out.append(re.sub(r"\s+([?,.])", r"\1", re.sub(r"\s{2,}", " ", text)).strip())
    return out


def split_question(question: str) -> list[str]:
    """The parts of a question that asks several things; ``[question]`` when it asks one.

    Parts are: questions of their own (two ？, or "…, and who/how many…", "…，…又是多少"),
    and one part per year when two years are asked side by side (和 / 分别 / respectively /
    both), or compared for a change (从…到 / from … to / 与…相比 / compared with).

    >>> split_question("深圳规上工业增加值2020年增长了多少？2023年1—11月又增长了多少？")
    ['深圳规上工业增加值2020年增长了多少？', '2023年1—11月又增长了多少？']
    >>> split_question("Who presented Shenzhen's 2020 results, and who headed the bureau in 2023?")
    ["Who presented Shenzhen's 2020 results", 'who headed the bureau in 2023?']
    >>> split_question("深圳2020年和2023年的5G基站分别有多少个？")
    ['深圳2020年的5G基站有多少个？', '深圳2023年的5G基站有多少个？']
    >>> split_question("从2020年到2023年，深圳5G基站增加了多少个？")
    ['2020年，深圳5G基站多少个？', '2023年，深圳5G基站多少个？']
    >>> split_question("How much did Shenzhen's output grow from 2020 to 2023?")
    ["How much did Shenzhen's output grow in 2020?", "How much did Shenzhen's output grow in 2023?"]
    >>> split_question("What were the output in 2020 and 2023 respectively?")
    ['What were the output in 2020?', 'What were the output in 2023?']
    >>> split_question("华为和富士康获得了什么称号？")
    ['华为和富士康获得了什么称号？']
    >>> split_question("2018-2020年深圳累计投资多少？")
    ['2018-2020年深圳累计投资多少？']
    """
    parts: list[str] = []
    for sentence in filter(None, (s.strip() for s in _QUESTION_END.split(question.strip()))):
        for clause in _clauses(sentence):
            by_year = _by_year(clause, bool(_CHANGE.search(clause)))
            parts.extend(by_year if len(by_year) > 1 else by_joined(clause))
    return parts or [question]


# An elliptical later part ("到2024年初全市累计有多少个？", "局长又是谁？", "how many did the city
# have?", "its output") takes from the part before it what it leaves out.
_ZH_MEASURE = "个家项座台辆名位根条所户件次倍吨元"
_ZH_BARE = re.compile(rf"(?:多少|几)([{_ZH_MEASURE}])(?=[呢吗]?\s*[？?]?\s*$)")
_ZH_AFTER = re.compile(rf"(?:多少|几)[{_ZH_MEASURE}]([^，,；;。？?呢吗的]{{1,12}}?)\s*[呢吗]?\s*[？?]?\s*$")
_ZH_BEFORE = re.compile(
    r"([^，,；;。？?的了在中有是为]{1,10}?)(?:又|还|则|也)?(?:是|有|为)(?:谁|多少|什么|哪)"
)
_ZH_WHO = re.compile(r"([^，,；;。？?的了在中]{1,10}?)((?:又|还|则|也)?是谁)")
_EN_AUX = r"(?:had|has|have|did|do|does|were|was|are|is|will|would|could|can)"
_EN_BARE = re.compile(rf"\bhow (many|much)\s+(?={_EN_AUX}\b)", re.I)
_EN_NOUN = re.compile(rf"\bhow (?:many|much)\s+((?:(?!{_EN_AUX}\b)[\w'’-]+\s+){{1,5}}?){_EN_AUX}\b", re.I)
_EN_BACK = re.compile(r"\b(?:its|their|the city's|the city’s)\s+", re.I)
_EN_NAME = re.compile(r"(?<!^)(?<![.?!]\s)\b([A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)*?)(?:'s|’s)\b")


def _zh_thing(part: str) -> str:
    """What a Chinese part asks about: the noun after "多少个", else the one before "是谁/有多少".

    >>> _zh_thing("宝安区建成了多少个5G基站？"), _zh_thing("发布成绩单的工信局局长是谁？")
    ('5G基站', '工信局局长')
    """
    m = _ZH_AFTER.search(part) or _ZH_BEFORE.search(part)
    return m.group(1).strip() if m else ""


def _zh_places(text: str) -> list[str]:
    return [w for w, flag in pos_cut(text) if flag == "ns"]


def self_contained(part: str, before: str) -> str:
    """``part`` with what it leaves out taken from the part ``before`` it: the thing counted
    after a bare measure word or "how many", a shorter title of the same person ("局长" after
    "工信局局长"), the place when it names none, and the name "its" / "the city's" stand for.
    A part that leaves nothing out is returned unchanged.

    >>> self_contained("到2024年初深圳全市累计有多少个？", "宝安区在2021年的报道中建成了多少个5G基站？")
    '到2024年初深圳全市累计有多少个5G基站？'
    >>> self_contained("2024年初介绍新型工业化成效的局长又是谁？",
    ...                "发布深圳2020年工业成绩单的工信局局长是谁？")
    '深圳2024年初介绍新型工业化成效的工信局局长又是谁？'
    >>> self_contained("现在平台上入驻了多少家制造商？", "云工厂给非标零部件报价要多长时间？")
    '现在平台上入驻了多少家制造商？'
    >>> self_contained("how many did Shenzhen have citywide by early 2024?",
    ...                "By 2021, how many 5G base stations had Bao'an district built")
    'how many 5G base stations did Shenzhen have citywide by early 2024?'
    >>> self_contained("how fast did its new energy vehicle production grow in 2023?",
    ...                "What was Shenzhen's industrial output in 2020")
    "how fast did Shenzhen's new energy vehicle production grow in 2023?"
    """
    if detect_lang(part) == "en":
        return _en_contained(part, before)
    thing, out = _zh_thing(before), part
    if thing and (m := _ZH_BARE.search(out)):
        out = out[: m.end()] + thing + out[m.end() :]
    elif thing and (m := _ZH_WHO.search(out)) and thing.endswith(m.group(1)) and thing != m.group(1):
        out = out[: m.start(1)] + thing + out[m.end(1) :]
    places = _zh_places(before)
    if out != part and places and not _zh_places(out):
        out = places[0] + out
    return out


def contained_parts(parts: Sequence[str]) -> list[str]:
    """Each part made to stand alone with the one before it (``self_contained``).

    >>> contained_parts(["宝安区建成了多少个5G基站？", "到2024年初深圳全市累计有多少个？"])
    ['宝安区建成了多少个5G基站？', '到2024年初深圳全市累计有多少个5G基站？']
    """
    out: list[str] = []
    for part in parts:
        out.append(self_contained(part, out[-1]) if out else part)
    return out


def _en_contained(part: str, before: str) -> str:
    out = part
    noun = _EN_NOUN.search(before)
    if noun and (m := _EN_BARE.search(out)) and m.group(1).lower() in noun.group(0).lower():
        out = out[: m.end()] + noun.group(1) + out[m.end() :]
    name = _EN_NAME.search(before)
    if name and not _EN_NAME.search(out) and name.group(1) not in out:
        out = _EN_BACK.sub(f"{name.group(1)}'s ", out, count=1)
    return out


def asks_change(question: str) -> tuple[str, str] | None:
    """The (earlier, later) years of a question asking how much something changed between them.

    >>> asks_change("从2020年到2023年，深圳5G基站增加了多少个？")
    ('2020', '2023')
    >>> asks_change("How much did output grow from 2020 to 2023?")
    ('2020', '2023')
    >>> asks_change("2020年深圳规上工业增加值增长了多少？") is None
    True
    """
    m = _year_pair(question, True)
    if m is None or not _CHANGE.search(question) or m.group(1) == m.group(2):
        return None
    a, b = sorted((m.group(1), m.group(2)))
    return a, b
