"""What a question asks for: a figure, a duration, a date, a name, or words (why, how, what
someone said). Pure text, read before anything is retrieved and again by the checks.

``answer_kind`` says which kind the candidate step offers spans of; ``asked_kind`` also counts a
title's holder (冠军, 得主) as a name asked (written freely, checked as a name); ``asks_count``,
``asks_person`` and ``asks_rate`` narrow a figure or a name asked; ``asks_why`` tells a question
to be answered in words.

Does not look at any passage.
"""

from __future__ import annotations

import re

from rag.text.dates import DATE_ASKED

_WHY_Q = re.compile(  # why, how, what someone said: answered in words
    r"为什么|为何|原因|如何|怎样|怎么|说了什么|表示了什么|有何|意义|"
    r"\bwhy\b|\bhow (?!many|much|long|fast|big|large|high|old)|"
    r"\bwhat did\b.*\b(?:say|said)\b|\bexplain\b|\bdescribe\b|\bwhat (?:title|role|kind|type)\b",
    re.I,
)
_COUNT_Q = re.compile(  # a count asked: a share is no answer
    r"多少(?:[个家根项座条名位次台辆只件户所吨款种]|人(?![力工]))|几[个家项座条名位台辆]|\bhow many\b", re.I
)
_DURATION_Q = re.compile(r"多长时间|多久|几个?(?:小时|天|月|年)|\bhow long\b", re.I)
# a growth, a rate or a share asked: a figure question no duration answers (unlike "缩短到了多少")
_RATE_Q = re.compile(
    r"增长|增速|增幅|涨幅|降幅|比重|占比|百分|比例|率|\bgr[eo]w|\brate\b|percent|share",
    re.I,
)
_FIGURE_Q = re.compile(
    r"多少|几[个家项倍次条名座台辆]|多大|多高|多快|比例|比重|百分之|占.{0,12}(?:几|多少)|"
    r"\bhow (?:many|much|fast|big|large|high)\b|"
    r"\bwhat (?:share|percentage|portion|proportion|fraction|amount|number)\b|\bby how\b|"
    r"\bwhat (?:was|is|were|are)\b[^?]*\b(?:output|value|revenue|income|profit|GDP|sales|investment"
    r"|population|growth rate|turnover)\b",  # a measure asked by its name
    re.I,
)
# a question that is a person's role (《四海》的导演): asks a name, a person's
_ROLE_Q = r"(?:导演|主演|编剧|作者|董事长|总裁|主席|总统|总理|首相|市长)[是为]?\s*[？?]?\s*$"
# one that is a title (澳网男单冠军) is written freely (a team, a film or a person may hold it), but
# a free answer to it is still checked as a name (``disowned``: the former holder)
_HOLDER_Q = re.compile(r"(?:冠军|得主|获得者)[是为]?\s*[？?]?\s*$")
_NAME_Q = re.compile(
    r"谁|哪[家位个所]|哪些|\bwho(?:m|se)?\b|\bwhich\b|\bwhat (?:company|firm|organi[sz]ation)\b|" + _ROLE_Q,
    re.I,
)

_PERSON_Q = re.compile(  # a person asked for: an organisation or a list item is no answer
    _ROLE_Q
    + r"|谁|哪位|什么人|\bwho(?:m|se)?\b|\bwhich (?:[\w'’-]+ ){0,3}?(?:executive|official|director|manager|"
    r"head|leader|chairman|chairwoman|president|mayor|minister|secretary|expert|professor|scientist|"
    r"engineer|researcher|person|spokes(?:man|woman|person)|founder|CEO|chief)\b",
    re.I,
)


def answer_kind(question: str) -> str | None:
    """What a question asks for: "duration", "date", "figure", "name", or None when it is to be
    answered in words (why, how, what someone said).

    >>> answer_kind("宝安区建成了多少个5G基站？"), answer_kind("How long did it take to raise mask output?")
    ('figure', 'duration')
    >>> answer_kind("In which month of 2020 did growth turn positive?"), answer_kind("工信局局长是谁？")
    ('date', 'name')
    >>> answer_kind("What was Shenzhen's industrial output value in 2020?"), answer_kind("《四海》的导演")
    ('figure', 'name')
    >>> answer_kind("Why did Shenzhen invest in 5G?"), answer_kind("How did the workshop change?")
    (None, None)
    """
    if asks_why(question):
        return None
    if _DURATION_Q.search(question):
        return "duration"
    if DATE_ASKED.search(question):
        return "date"
    if _FIGURE_Q.search(question):
        return "figure"
    if _NAME_Q.search(question):
        return "name"
    return None


def asked_kind(question: str) -> str | None:
    """``answer_kind``, and "name" for a title's holder (written freely, checked as a name).

    >>> asked_kind("2022年春节档首日票房冠军"), asked_kind("谁枪击了安倍晋三？"), asked_kind("票房是多少？")
    ('name', 'name', 'figure')
    """
    return answer_kind(question) or ("name" if _HOLDER_Q.search(question) else None)


def asks_count(question: str) -> bool:
    """Whether a count is asked ("多少个", "how many"): a share is no answer to it.

    >>> asks_count("建成多少个5G基站？"), asks_count("节省了多少人力？")
    (True, False)
    """
    return bool(_COUNT_Q.search(question))


def asks_person(question: str) -> bool:
    """Whether a person is asked (谁, a role, "which official"): an organisation is no answer.

    >>> asks_person("《四海》的导演"), asks_person("哪家公司收购了推特？")
    (True, False)
    """
    return bool(_PERSON_Q.search(question))


def asks_rate(question: str) -> bool:
    """Whether a growth, a rate or a share is asked: a figure question no duration answers.

    >>> asks_rate("2021年经济增长了多少？"), asks_rate("审批时间缩短到了多少？")
    (True, False)
    """
    return bool(_RATE_Q.search(question))


def asks_why(question: str) -> bool:
    """Whether a question is to be answered in words: why, how, what someone said.

    >>> asks_why("这次选举有何意义？"), asks_why("How many stations?"), asks_why("How did it change?")
    (True, False, True)
    """
    return bool(_WHY_Q.search(question))
