"""The candidate answers of a question: the spans of the kind it asks for, taken from the evidence.

Most news questions ask for a figure, a date, a name or an item of a list. For those:

* ``rag.answer.question.kind.answer_kind`` says which (None for why / how / what-someone-said
  questions: those are written freely);
* ``extract_candidates`` takes every span of that kind from the evidence sentences
  (``rag.answer.candidates.spans``). Code handles years: a candidate whose sentence is about
  another year than the question asks is dropped, and so is a value the question itself states
  or a figure forecast (预计) for a question asking what happened;
  a question asking a person keeps people's names only, when the evidence names one, and one
  asking an amount in a currency other than the yuan ("折合多少美元") amounts in that currency;
* ``disowned`` tells the review when a freely written answer gives only spans that these rules
  do not offer (another year's figure, a former holder, a share for a level).

The model then chooses among them (``rag.answer.candidates.choice``) and code writes the chosen
one (``rag.answer.candidates.writing``).

Does not call the model, choose among candidates or retrieve.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from rag.answer.candidates.owners import foreign
from rag.answer.candidates.spans import disjoint, dotted_person, kind_spans
from rag.answer.question.kind import answer_kind, asked_kind, asks_count, asks_person, asks_rate
from rag.answer.question.parts import years_asked
from rag.answer.review.relation import asked_relation, relation_said
from rag.answer.review.terms import Term
from rag.index.chunking import sentence_spans
from rag.text.dates import years_of
from rag.text.figures import CITATION_MARKER, find_figures
from rag.text.figures_en import named_currencies
from rag.text.lang import HAN
from rag.text.measures import unasked_forecast
from rag.text.names import chinese_names
from rag.text.tokens import normalize, tokenize

_YUAN = re.compile(r"元|\byuan\b|\bRMB", re.I)
MAX_CANDIDATES = 8  # each costs a few tokens of scoring; more sentences make a longer prompt


@dataclass(frozen=True)
class Candidate:
    """A span of an evidence sentence that may be the answer."""

    text: str  # exactly as the source writes it
    kind: str  # "figure", "duration", "date", "name", "item" or "list" (items joined by 、)
    passage: int  # 0-based passage it comes from
    sentence: str  # the sentence holding it (shown to the scorer)
    date: str = ""  # its article's date (YYYY-MM-DD), when known


def _people(candidates: list[Candidate]) -> list[Candidate]:
    """Of name ``candidates``, for a question asking a person: those that may be one (a Chinese
    person's name, jieba's ``nr``, or an English name) when any Chinese person's name is among
    them; all of them otherwise (a name jieba misses stays a candidate).

    >>> cs = [Candidate("RGB电子有限公司", "name", 0, "创维-RGB电子有限公司生产车间。"),
    ...       Candidate("尹占江", "name", 1, "创维-RGB公司总裁助理尹占江告诉记者。")]
    >>> [c.text for c in _people(cs)]
    ['尹占江']
    """
    people = [c for c in candidates if c.text in chinese_names(c.sentence) or dotted_person(c.text)]
    if not people:
        return candidates
    return [c for c in candidates if c in people or not re.search(f"[{HAN}]", c.text)]


def extract_candidates(question: str, passages: Sequence[str], dates: Sequence[str] = ()) -> list[Candidate]:
    """The spans of the kind ``question`` asks for in the sentences of ``passages``, best passage
    first, without repeats (a span said twice is offered with the sentence saying more of the
    question: the relation asked, then more of its words), without those the question itself
    states, and without those of a sentence about another year than the one the question asks;
    a sentence naming no year is about its article's year or the year before (``dates``: each
    passage's article date).

    >>> q = "2020年深圳建成了多少个5G基站？"
    >>> [c.text for c in extract_candidates(q, ["2020年，深圳建成5G基站超4.6万个。2023年累计建成7.5万个。"])]
    ['超4.6万个']
    >>> [c.text for c in extract_candidates("2022年深圳建成了多少个5G基站？", ["深圳建成5G基站超4.6万个。"],
    ...                                     ["2021-01-20"])]
    []
    >>> oil = "塔里木油田2021年的油气产量是多少？"
    >>> said_twice = ["油田产量达到3182万吨。", "塔里木油田产量达到3182万吨。"]
    >>> [(c.text, c.passage) for c in extract_candidates(oil, said_twice)]
    [('3182万吨', 1)]
    >>> minerva = ["Minerva在MATH数据集上获得了50%的分数。", "Minerva在MATH上的准确率高达50%。"]
    >>> [(c.text, c.passage) for c in extract_candidates("Minerva在MATH数据集上的准确率是多少？", minerva)]
    [('50%', 1)]
    >>> [c.text for c in extract_candidates("发布成绩单的局长是谁？", ["局长贾兴东透露上述信息。"])]
    ['贾兴东']
    >>> usd = "深圳2020年3.7万亿元的工业数据折合多少美元？"
    >>> [c.text for c in extract_candidates(usd, ["Output grew 2% to 3.7 trillion yuan (US$572 billion)."])]
    ['US$572 billion']
    >>> [c.text for c in extract_candidates("When was the base named?", ["In March 2020, Bao'an was named."])]
    ['March 2020']
    >>> [c.text for c in extract_candidates("疫情初期用了多长时间把口罩日产量从2万只提升到1000万只？",
    ...                                     ["仅用一个半月时间将口罩日产量从2万只提升到1000万只。"])]
    ['一个半月']
    """
    kind = answer_kind(question)
    if kind is None:
        return []
    in_question = {round(f.value, 6) for f in find_figures(question)}
    count = asks_count(question)
    money = named_currencies(question) if kind == "figure" else set()  # 折合多少美元: not the yuan
    folded_q = question.casefold()
    out: list[tuple[Candidate, bool]] = []  # each candidate, and whether it is in a currency asked
    seen: dict[str, int] = {}  # a candidate's text -> its place in ``out``
    words, relation = set(tokenize(question)), asked_relation(question)
    for candidate, own in _spans(question, kind, passages, dates):
        text = candidate.text
        if not own or text.casefold() in folded_q:
            continue  # a byline, a change for a level, another item's figure, another year's
        if text in seen:  # said again: kept with the sentence that says more of the question
            first = out[seen[text]]
            if _says(words, relation, candidate.sentence) > _says(words, relation, first[0].sentence):
                out[seen[text]] = (candidate, first[1])
            continue
        if kind == "figure" and not _figure_fits(text, in_question, count):
            continue
        seen[text] = len(out)
        out.append((candidate, bool(money & named_currencies(text))))
    return _preferred(out, kind == "name" and asks_person(question))[:MAX_CANDIDATES]


def _spans(
    question: str, kind: str, passages: Sequence[str], dates: Sequence[str]
) -> Iterator[tuple[Candidate, bool]]:
    """Every span of ``kind`` in the sentences of ``passages``, in order, with whether it is the
    question's own: not a span of something else (``owners.foreign``), nor of a sentence about
    another year than the question asks (a sentence naming none is about its article's year,
    ``dates``, or the year before), nor a forecast when the question asks what happened."""
    asked = set(years_asked(question))
    for n, passage in enumerate(passages):
        date = dates[n][:4] if n < len(dates) and dates[n][:4].isdigit() else ""
        implied = {date, str(int(date) - 1)} if date else set()
        for a, b in sentence_spans(passage):
            sentence = passage[a:b].strip()
            for s, e in disjoint(kind_spans(_span_kind(question, kind), sentence)):
                text = sentence[s:e].strip(" ，,。.")
                if not text:
                    continue
                years = years_of(sentence, s, date) or implied
                other_year = bool(asked and kind != "date" and years and not years & asked)
                guess = kind == "figure" and unasked_forecast(question, sentence, s, years, date)
                own = not other_year and not guess and not foreign(question, sentence, (s, e), kind)
                yield Candidate(text, kind, n, sentence, dates[n] if n < len(dates) else ""), own


def _span_kind(question: str, kind: str) -> str:
    """The spans ``kind_spans`` looks for: a figure question may be answered by a duration
    ("figure+": 缩短到了多少 -> 1个小时), unless it asks a growth, a rate or a share.

    >>> _span_kind("审批时间缩短到了多少？", "figure"), _span_kind("2021年经济增长了多少？", "figure")
    ('figure+', 'figure')
    """
    return "figure+" if kind == "figure" and not asks_rate(question) else kind


def disowned(question: str, answer: str, passages: Sequence[str], dates: Sequence[str] = ()) -> bool:
    """Whether the figures, dates or names ``answer`` gives (of the kind ``question`` asks) are
    found in ``passages`` only as spans the candidate step does not offer: another year's,
    another item's, a change or a share for a level, a former holder (``_spans``). A freely
    written answer copies such spans as readily as the scorer would choose them.

    >>> src = ["《中国统计年鉴2021》显示，2020年中国人口出生率为8.52‰。"]
    >>> disowned("我国2021年人口出生率是多少", "8.52‰[1]", src)
    True
    >>> disowned("2020年人口出生率是多少", "8.52‰", src)
    False
    >>> disowned("2022年澳网男单冠军", "德约科维奇[1]", ["德约科维奇是卫冕冠军。"])
    True
    """
    kind = asked_kind(question)
    if kind is None:
        return False
    plain = CITATION_MARKER.sub("", answer)
    asked = find_figures(question)
    figures = [f for f in find_figures(plain) if not any(f.matches(g) for g in asked)]
    owned, others = False, False
    for candidate, own in _spans(question, kind, passages, dates):
        spans = find_figures(candidate.text) if kind in ("figure", "duration") else []
        given = any(f.matches(g) for f in figures for g in spans) if spans else candidate.text in plain
        owned, others = owned or (given and own), others or (given and not own)
    return others and not owned


def _says(words: set[str], relation: tuple[Term, ...], sentence: str) -> tuple[bool, int]:
    """How much of the question ``sentence`` says: whether it says the relation asked
    (``asked_relation``), then how many of the question's search tokens ``words`` it holds."""
    return relation_said(relation, normalize(sentence)), len(words & set(tokenize(sentence)))


def _figure_fits(text: str, in_question: set[float], count: bool) -> bool:
    """Whether the figure span ``text`` may answer: not a value the question states, and an
    amount when a count is asked ("how many" is not answered by a share)."""
    figures = find_figures(text)
    if any(round(f.value, 6) in in_question for f in figures):
        return False
    return not (count and any(f.kind != "amount" for f in figures))


def _preferred(rows: list[tuple[Candidate, bool]], person: bool) -> list[Candidate]:
    """Of the candidates in ``rows`` (each with whether it is an amount in a currency asked),
    those in a currency asked when there are (currencies are code's job), else none that
    converts another amount of its sentence (``_converted``); then people, when a person is
    asked (``_people``).

    >>> s = "总产值3.7万亿元（约7585亿新元）。"
    >>> rows = [(Candidate(t, "figure", 0, s), False) for t in ("3.7万亿元", "7585亿新元")]
    >>> [c.text for c in _preferred(rows, False)]
    ['3.7万亿元']
    >>> s = "总交易额达687亿美元（约合人民币4364亿元）。"
    >>> rows = [(Candidate(t, "figure", 0, s), False) for t in ("687亿美元", "4364亿元")]
    >>> [c.text for c in _preferred(rows, False)]
    ['687亿美元']
    """
    found = [c for c, priced in rows if priced]
    if not found:
        bracketed = {c.sentence for c, _ in rows if _converted(c)}  # the brackets say which converts
        yuan = {c.sentence for c, _ in rows if _YUAN.search(c.text) and not named_currencies(c.text)}
        yuan -= bracketed  # else another currency converts the yuan: 3.7万亿元，约7585亿新元
        found = [
            c for c, _ in rows if not _converted(c) and not (c.sentence in yuan and named_currencies(c.text))
        ]
    return _people(found) if person else found


# an amount given again in another currency: "687亿美元（约合人民币4364亿元）", "3.7万亿元（约7585亿新元）"
_CONVERTED = re.compile(
    r"(?:[\d亿万元]|yuan|dollars?|[mbr]illion)\s*[（(]\s*(?:约合?|折合|合|相当于|即)?\s*(?:人民币|RMB)?\s*$",
    re.I,
)


def _converted(candidate: Candidate) -> bool:
    """Whether ``candidate`` is an amount its sentence gives in brackets after another one (the
    same amount converted into another currency), so not the figure the source reports.

    >>> _converted(Candidate("4364亿元", "figure", 0, "总额687亿美元（约合人民币4364亿元）。"))
    True
    >>> _converted(Candidate("687亿美元", "figure", 0, "总额687亿美元（约合人民币4364亿元）。"))
    False
    """
    at = candidate.sentence.find(candidate.text)
    return at > 0 and bool(_CONVERTED.search(candidate.sentence[:at]))
