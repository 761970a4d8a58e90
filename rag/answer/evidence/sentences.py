"""The sentences evidence is chosen from, and what the question adds to each one's score.

``candidate_sentences`` takes every sentence of the retrieved chunks and the sentence either
side of each chunk in its article; across languages (an English question over Chinese articles)
``lexical_sentences`` adds a few sentences of the hits' articles that share most of the
question's words through CC-CEDICT (``rag.text.lexicon``), though no hit's chunk holds them.
``sentence_bonus`` is what the question's years (a sentence naming another year and not the
asked one loses, one naming the asked year gains) and the kind of figure asked for (a share, an
amount, a date) add to a sentence's score, and a sentence holding no figure that may answer
loses when a figure is asked (``rag.answer.candidates.spans`` tells, as for the candidates); ``needs_context``
tells a sentence that opens with a pronoun or a connective ("其中", "他说", "It") and so brings the
sentence before it.

Does not embed or rank sentences (``rag.answer.evidence.pick`` does) and does not retrieve.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rag.answer.candidates.spans import kind_spans
from rag.answer.question.kind import answer_kind
from rag.answer.question.parts import years_asked
from rag.index.chunking import sentence_spans
from rag.text.dates import DAY_ASKED, MONTH_NAMES
from rag.text.figures import find_figures
from rag.text.figures_en import named_currencies
from rag.text.lang import detect_lang
from rag.text.lexicon import cross_scores
from rag.text.measures import said_of_another, unasked_forecast
from rag.types import Hit

PERCENT_ASKED = re.compile(
    r"比例|比重|占.*(?:多少|几)|百分之|百分比|几分之|增长了多少|增速"
    r"|\b(?:share|percent(?:age)?|rate|proportion|portion|fraction)s?\b",
    re.I,
)
_AMOUNT_ASKED = re.compile(
    r"多少|几[个家项]|多大|规模|how (?:many|much)|what (?:was|is) the (?:total|amount)", re.I
)
_DATE = re.compile(  # a day or a month: "7月", "11月28日", "2020年3月", "in July", "Nov. 28"
    rf"(?<![\d.])\d{{1,2}}月|(?-i:\b(?:{MONTH_NAMES})\b)|\b(?:jan|feb|mar|apr|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{{1,2}}\b"
    r"|\b\d{1,2}\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b",
    re.I,
)
# what a sentence holding no figure that may answer loses when a figure is asked: twice the year's
# or the kind's bonus, so that one of those alone does not lift it above a sentence that answers
_NO_FIGURE = 0.16
_NEEDS_CONTEXT = re.compile(
    r"^\s*[“\"]?(?:其中|其|这|该|此|它|他|她|同时|另外|此外|而|并|但|对此|据此|为此|"
    r"(?:it|this|these|that|they|he|she|its|their|also|meanwhile|however)\b)",
    re.I,
)


def sentence_bonus(question: str, sentence: str, doc_date: str = "") -> float:
    """What the question's years and the kind of figure asked add to a sentence's score.

    A sentence naming the asked year gains 0.08, one naming only other years loses 0.08, one
    naming none gains 0.04 when the article's date implies the year (dated that year or the
    next: "去年"); a question asking a share, a date or an amount in a currency other than the
    yuan gives 0.08 to a sentence holding one (few do), one asking an amount 0.04 to a sentence
    holding a figure (many do). A sentence holding no figure that may answer (``_own_figure``:
    none, or only another statistic's, another part of the year's, a forecast's) loses 0.16 when
    a figure is asked, whatever its years: a heading naming the year asked must not crowd out the
    sentence with the figure. A sentence forecasting its figures
    (预计, expected) loses 0.08 when the question asks what happened, unless its years were over
    when its article was written (a preliminary result).

    >>> q = "2020年深圳建成了多少5G基站？"
    >>> sentence_bonus(q, "2020年深圳建成5G基站超4.6万个。")
    0.12
    >>> sentence_bonus(q, "2023年深圳累计建成5G基站7.5万个。")
    -0.04
    >>> sentence_bonus(q, "2020年深圳5G建设工作会议召开。")  # a year alone answers no figure
    -0.16
    >>> sentence_bonus(q, "深圳建成5G基站超4.6万个。", "2021-01-20")
    0.08
    >>> usd = "深圳2020年3.7万亿元的工业总产值折合多少美元？"
    >>> sentence_bonus(usd, "3.7 trillion yuan (US$572 billion)."), sentence_bonus(usd, "总产值3.7万亿元。")
    (0.08, 0.04)
    >>> when = "大会是哪天召开的？"
    >>> sentence_bonus(when, "2023年11月28日,深圳召开大会。"), sentence_bonus(when, "大会很成功。")
    (0.08, 0.0)
    >>> sentence_bonus("In which month did growth turn positive?", "去年7月在一线城市中率先由负转正。")
    0.08
    >>> q = "2022年一季度中国经济增长率是多少"
    >>> guess, result = "预计2022年一季度中国经济同比增速4.4%。", "2022年一季度同比增长4.8%。"
    >>> sentence_bonus(q, guess), sentence_bonus(q, result)  # a forecast's figures may not answer
    (-0.16, 0.12)
    """
    years, found = years_asked(question), set(years_asked(sentence))
    if answer_kind(question) == "figure" and not _own_figure(question, sentence, found, doc_date):
        return -_NO_FIGURE  # a figure is asked, and this sentence holds none that may answer it
    bonus = 0.0
    if years and found & set(years):
        bonus += 0.08
    elif years and found:
        bonus -= 0.08
    elif years and doc_date[:4].isdigit() and {doc_date[:4], str(int(doc_date[:4]) - 1)} & set(years):
        bonus += 0.04
    figures = find_figures(sentence)
    if figures and unasked_forecast(question, sentence, len(sentence), found, doc_date):
        bonus -= 0.08  # a forecast, for a question asking what happened
    share = any(f.kind in ("percent", "points", "fraction") for f in figures)
    date = DAY_ASKED.search(question) and _DATE.search(sentence)
    money = figures and named_currencies(question) & named_currencies(sentence)  # not the yuan
    if (share and PERCENT_ASKED.search(question)) or date or money:
        bonus += 0.08  # the kind asked for, which few sentences hold
    elif figures and _AMOUNT_ASKED.search(question):
        bonus += 0.04  # a figure, which many sentences hold
    return round(bonus, 6)


def _own_figure(question: str, sentence: str, years: set[str], doc_date: str) -> bool:
    """Whether ``sentence`` holds a figure that may answer ``question``: one the candidate step
    would offer, not said of another statistic or part of the year (``said_of_another``), nor
    forecast for a question asking what happened (``unasked_forecast``).

    >>> q = "2022年一季度中国经济增长率是多少"
    >>> said = ("全年增长3.0%。", "一季度增长4.8%。", "预计一季度增长4.4%。")
    >>> [_own_figure(q, s, {"2022"}, "") for s in said]
    [False, True, False]
    """
    return any(
        not said_of_another(question, sentence, a)
        and not unasked_forecast(question, sentence, a, years, doc_date)
        for a, _ in kind_spans("figure+", sentence)
    )


def needs_context(sentence: str) -> bool:
    """Whether a sentence leans on the one before it for its subject.

    >>> needs_context("其中，华为占五分之一。"), needs_context("It grew 2%."), needs_context("深圳建成基站。")
    (True, True, False)
    """
    return bool(_NEEDS_CONTEXT.match(sentence))


def is_question(sentence: str) -> bool:
    """Whether a sentence asks a question (a Q&A page's "…的主演有谁？", a reporter's question):
    it holds no answer itself, the sentence after it does.

    >>> is_question("《沉香如屑》的主演有谁？"), is_question("Who won? "), is_question("他问：为何？他答了。")
    (True, True, False)
    """
    return sentence.rstrip().endswith(("？", "?"))


# The languages of the questions the dictionary serves (here, and the word scores of
# rag.answer.evidence.pick). Chinese questions were left out while the dictionary's score was
# added to BM25 for other-language sentences only (it lost 2 zh->zh seed questions for 2 zh->en
# gained); with one word score for both languages they gain (evidence holding the answer, seed
# set, generator off: 91 -> 93 of 105, q43 and q53, none lost).
CROSS_FROM = ("en", "zh")


@dataclass(frozen=True)
class Sentence:
    """A sentence of an article that may be shown, with the hit that brought it."""

    hit: Hit
    start: int  # span in the cleaned article
    end: int
    text: str
    index: int  # position among the article's sentences


def candidate_sentences(hits: Sequence[Hit], article: dict[str, str], per_hit: int = 1) -> list[Sentence]:
    """The sentences of the hits' chunks and ``per_hit`` sentences either side of each chunk,
    each once (the first hit that brings it keeps it), repeated texts dropped.

    >>> from rag.types import Chunk, DocMeta
    >>> text = "甲一。乙二。丙三。丁四。"
    >>> hit = Hit(Chunk("a#1", "a", "丙三。", 6, 9, "zh"), DocMeta("a", "", "", "", "zh"), 1.0, 1)
    >>> [s.text for s in candidate_sentences([hit], {"a": text})]
    ['乙二。', '丙三。', '丁四。']
    """
    out, seen, texts = [], set(), set()
    for hit in hits:
        doc = hit.chunk.doc_id
        spans = sentence_spans(article[doc])
        inside = [i for i, (a, b) in enumerate(spans) if a < hit.chunk.end and b > hit.chunk.start]
        if not inside:
            continue
        for i in range(max(0, inside[0] - per_hit), min(len(spans), inside[-1] + per_hit + 1)):
            a, b = spans[i]
            key = " ".join(article[doc][a:b].split())
            if (doc, i) in seen or key in texts:
                continue
            seen.add((doc, i))
            texts.add(key)
            out.append(Sentence(hit, a, b, article[doc][a:b], i))
    return out


LEXICAL_EXTRA = 2  # sentences per part found by rag.text.lexicon alone in the hits' other-language articles
LEXICAL_FLOOR = 0.4  # ... when they share at least this (weighted) share of the part's words


def lexical_sentences(
    questions: Sequence[str], hits: Sequence[Hit], article: dict[str, str], known: Sequence[Sentence]
) -> list[Sentence]:
    """Across languages (a question in ``CROSS_FROM``), the sentences of the hits' articles
    that share most of its words through the dictionary (``rag.text.lexicon``) though no hit's chunk
    holds them: up to ``LEXICAL_EXTRA`` per question, each brought by its article's first hit."""
    first: dict[str, Hit] = {}
    for hit in hits:
        first.setdefault(hit.chunk.doc_id, hit)
    seen = {(s.hit.chunk.doc_id, s.index) for s in known}
    out: list[Sentence] = []
    for question in questions:
        lang = detect_lang(question)
        if lang not in CROSS_FROM:
            continue
        pool = [
            (doc, i, a, b)
            for doc, h in first.items()
            if h.chunk.lang != lang
            for i, (a, b) in enumerate(sentence_spans(article[doc]))
            if (doc, i) not in seen
        ]
        scores = cross_scores(question, [article[d][a:b] for d, _, a, b in pool]) if pool else []
        for k in np.argsort(-np.asarray(scores), kind="stable")[:LEXICAL_EXTRA]:
            doc, i, a, b = pool[k]
            if scores[k] >= LEXICAL_FLOOR and (doc, i) not in seen:
                seen.add((doc, i))
                out.append(Sentence(first[doc], a, b, article[doc][a:b], i))
    return out
