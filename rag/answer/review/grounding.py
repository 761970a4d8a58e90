"""Is the answer about what was asked? The sentence that states it, checked against the question.

A small model shown passages that do not hold the answer still answers, from the nearest
sentence: asked how many died in a stampede in Kashmir, it gives the three of a stampede in
Rajasthan; asked about 2021, the 2020 figure. The answer's figure is in its source, so the
figure check passes, but the sentence stating it is about something else. These pure
functions find what of the question that sentence leaves out, and give the verdict:

* ``missing_terms`` the key terms missing around the supporting sentence (itself, the two
  before it, the title; names anywhere in the article), and ``off_topic`` when that makes
  the answer about something else;
* ``stated_in_sentence`` one cited sentence holds the answer's figures, the question's years
  (or the article's date implies them) and its subject: no check withdraws such an answer;
* ``ungrounded`` the verdict the pipeline acts on (the pure checks, in order), with the notice
  the reader is told.

The pieces live beside it: the question's key terms and their other-language forms in
``rag.answer.review.terms``, what a Chinese question asks of its subject in
``rag.answer.review.relation``, the passage as the checks read it and the sentences stating an answer
in ``rag.answer.review.support``, the answer's figures, counts and years in ``rag.answer.review.claims``,
the people it names in ``rag.answer.review.people``, the generator's own yes/no check in
``rag.answer.review.confirm``.

Across languages (an English question over a Chinese article, the corpus's worst case), a term
is matched through the glossary of ``rag.text.tokens``, the pinyin of the passage (``Bao'an`` in
宝安区, ``Jia Xingdong`` for 贾兴东) and the other telling of the same story
(``Evidence.story``); a term none of these can translate is not held against the passage.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.answer.review.claims import (
    other_year,
    other_year_notice,
    unstated,
    unstated_notice,
    unsupported_figures,
    unsupported_notice,
)
from rag.answer.review.people import answer_names, name_in
from rag.answer.review.relation import asked_relation, relation_said
from rag.answer.review.support import Evidence, read_so_far, sentences_of, support
from rag.answer.review.terms import (
    ANY_YEAR,
    Term,
    covered,
    covered_across,
    forgiven,
    key_terms,
    sub_questions,
    written_alike,
    year_covered,
)
from rag.text.figures import CITATION_MARKER, find_figures
from rag.text.lang import detect_lang
from rag.text.tokens import normalize, tokenize
from rag.types import Lang


def missing_terms(question: str, answer: str, evidence: Sequence[Evidence]) -> tuple[str, ...] | None:
    """The key terms of ``question`` missing around the best sentence stating ``answer``.

    A name must be in the title or the article up to the end of the supporting sentence
    (``read_so_far``); another term in the context of that sentence: itself, the two sentences
    before it and the title; a year is judged by
    ``year_covered``. Terms of the other language than the passage's are not checked. None when
    no sentence states the answer (nothing to judge).

    >>> q = "印控克什米尔地区寺庙踩踏事故死亡人数"
    >>> missing_terms(q, "3人", [Evidence("据报道，印度拉贾斯坦邦一座寺庙发生踩踏事故，造成3人死亡。")])
    ('印控', '克什米尔地区')
    >>> missing_terms(q, "12人", [Evidence("印控克什米尔地区一座寺庙发生踩踏事故，12人死亡。")])
    ()
    >>> missing_terms("小米MIX4的处理器是什么", "骁龙855", [Evidence("搭载骁龙855处理器的小米旗舰将发布。")])
    ('mix4',)
    """
    # the same story told in the other language is read too: the sentence there may name what
    # this telling leaves out (the city, the bureau's full name)
    tellings = list(dict.fromkeys(e.story for e in evidence if e.story))
    dates = {e.story: e.date for e in evidence if e.story}
    evidence = [*evidence, *(Evidence(t, "", dates[t], t) for t in tellings)]
    places = support(question, answer, [e.text for e in evidence])
    if not places:
        return None
    terms = key_terms(question)
    best: tuple[str, ...] | None = None
    english_names = any(t.proper and t.lang == "en" for t in terms)  # need the article's tokens
    for i, j in places:
        e = evidence[i]
        sentences = sentences_of(e.text)
        context = normalize(" ".join([e.title, *sentences[max(j - 2, 0) : j + 1]]))
        tokens = set(tokenize(context))
        so_far = normalize(read_so_far(e, sentences[j]))  # a name: introduced by the end of the sentence
        so_far_tokens = set(tokenize(so_far)) if english_names else set()
        src_lang = detect_lang(e.text)
        missing = []
        years = [t.text for t in terms if re.fullmatch(r"\d{4}", t.text)]
        dated = year_sentence(sentences, j, answer)  # where the answer's year is said
        # a change between years: the sentence of one of them is enough (each figure has its own)
        if len(years) > 1 and any(year_covered(y, dated, e.date) for y in years):
            years = []
        relation = asked_relation(question) if src_lang == "zh" else ()
        if not relation_said(relation, context):
            missing.append(relation[0].text)  # said of the subject: not what was asked
        for t in terms:
            if t in relation:
                continue  # judged with the relation: one of its words is enough
            if re.fullmatch(r"\d{4}", t.text):
                if t.text in years and not year_covered(t.text, dated, e.date):
                    missing.append(t.text)
            elif not written_alike(t, src_lang):
                if t.proper and covered_across(t, so_far, e.story) is False:
                    missing.append(t.text)
            elif not (covered(t, so_far, so_far_tokens) if t.proper else covered(t, context, tokens)):
                missing.append(t.text)
        left = forgiven(question, missing)  # 上海和北京: a sentence on one of them answers its part
        if best is None or len(left) < len(best):
            best = left
    return best


def year_sentence(sentences: Sequence[str], j: int, answer: str) -> str:
    """The sentence that says the year of ``answer``'s figure in ``sentences[j]``: that sentence
    when it names a year before the figure (or has no figure of the answer), else the sentence
    before when that names one (news gives the year once: "2021年，上海经济总量实现突破。GDP为
    43214.85亿元，…自2017年…": 2017 is another clause's), else ``sentences[j]``.

    >>> s = ["2021年，上海经济总量实现突破。", "GDP为43214.85亿元，自2017年突破3万亿元以来再上台阶。"]
    >>> year_sentence(s, 1, "43214.85亿元"), year_sentence(s, 0, "突破")
    ('2021年，上海经济总量实现突破。', '2021年，上海经济总量实现突破。')
    """
    sentence = sentences[j]
    figures = find_figures(CITATION_MARKER.sub("", answer))
    at = next((g.start for g in find_figures(sentence) if any(f.matches(g) for f in figures)), None)
    if at is None or ANY_YEAR.search(sentence[:at]):
        return sentence
    before = sentences[j - 1] if j else ""
    return before if ANY_YEAR.search(before) else sentence


def off_topic(
    question: str, answer: str, evidence: Sequence[Evidence], share: float = 0.5
) -> tuple[str, ...]:
    """The key terms missing around the sentence stating ``answer`` when they make it about
    something else than was asked: a name or a year of the question, or two or more terms that
    make at least ``share`` of its checked terms. () when the answer is on the topic, or when
    any part of a question that asks several things is.

    >>> off_topic("2021赛季中超冠军", "江苏苏宁", [Evidence("2020赛季中超联赛冠军为江苏苏宁。")])
    ('2021',)
    >>> ev = Evidence("全市建成5G基站4.6万个。", "深圳工业", "2021-03-01")
    >>> off_topic("深圳2020年建成多少5G基站？", "4.6万个", [ev])
    ()
    """
    langs = {detect_lang(e.text) for e in evidence}
    worst: tuple[str, ...] = ()
    for part in sub_questions(question):
        missing = missing_terms(part, answer, evidence)
        if not missing:
            return ()
        terms = key_terms(part)
        names = {t.text for t in terms if t.proper or re.fullmatch(r"\d{4}", t.text)}
        names |= {t.text for t in asked_relation(part)[:1]}  # the relation's word the check names
        checked = [t for t in terms if t.lang in langs or re.fullmatch(r"\d{4}", t.text)]
        if not (names & set(missing)) and (len(missing) < 2 or len(missing) < share * len(checked)):
            return ()
        worst = worst or missing
    return worst


def off_topic_notice(missing: Sequence[str], lang: Lang) -> str:
    """Why an answer was withdrawn for ``off_topic``.

    >>> off_topic_notice(["克什米尔地区"], "zh")
    '模型写出了答案，但资料中给出该答案的句子没有提到“克什米尔地区”，说的可能是另一件事。'
    """
    if lang == "zh":
        return f"模型写出了答案，但资料中给出该答案的句子没有提到“{'”“'.join(missing)}”，说的可能是另一件事。"
    return (
        "An answer was written, but the sentence of the sources that gives it does not mention "
        + ", ".join(f"“{m}”" for m in missing)
        + ", so it may be about something else."
    )


def ungrounded(question: str, answer: str, evidence: Sequence[Evidence], lang: Lang) -> str:
    """Why ``answer`` should be withdrawn, told in ``lang``, or "" when it stands: its figures
    are the sources' figures for another year than asked (``other_year``), none of its figures
    is in the passages it cites (``unsupported_figures``), or the sentence stating it lacks a
    name, a year or most terms of the question (``off_topic``). ``evidence`` is every passage
    shown, the cited ones first.

    >>> ungrounded("2021赛季中超冠军", "江苏苏宁[1]", [Evidence("2020赛季中超联赛冠军为江苏苏宁。")], "zh")
    '模型写出了答案，但资料中给出该答案的句子没有提到“2021”，说的可能是另一件事。'
    """
    texts = [e.text for e in evidence]
    if year := other_year(question, answer, texts):
        return other_year_notice(year, lang)
    if figures := unsupported_figures(question, answer, texts, lang):
        return unsupported_notice(figures, lang)
    if unstated(question, answer, texts):
        return unstated_notice(lang)
    if missing := off_topic(question, answer, evidence):
        return off_topic_notice(missing, lang)
    return ""


def stated_in_sentence(question: str, answer: str, evidence: Sequence[Evidence], cited: int = 0) -> bool:
    """Whether one sentence of the first ``cited`` passages (all when 0) holds the answer: every
    figure of it (beyond the question's), the question's year (one of them for a change between
    years; a sentence naming none fits when the article's date implies it) and its subject (its
    names, else one of its terms; across languages ``covered_across``). No check withdraws such
    an answer.

    >>> ev = [Evidence("2023年，深圳智能手机占全球产量1/7。", "深圳制造", "2024-01-10")]
    >>> stated_in_sentence("2023年深圳智能手机占全球产量的多少？", "1/7[1]", ev)
    True
    >>> q = "What share of the world's smartphones did Shenzhen make in 2023?"
    >>> stated_in_sentence(q, "One seventh [1].", ev)
    True
    >>> stated_in_sentence("2022年深圳智能手机占全球产量的多少？", "1/7[1]", ev)
    False
    """
    asked = find_figures(question)
    figures = [f for f in find_figures(answer) if not any(f.matches(g) for g in asked)]
    names = [] if figures else answer_names(question, answer)
    if not figures and not names:
        return False
    years = sorted(set(ANY_YEAR.findall(question)))
    terms = [t for t in key_terms(question) if not re.fullmatch(r"\d{4}", t.text)]
    subject = [t for t in terms if t.proper] or terms
    relation = asked_relation(question)
    for e in evidence[: cited or len(evidence)]:
        src_lang, sentences = detect_lang(e.text), sentences_of(e.text)
        for j, sentence in enumerate(sentences):
            stated = find_figures(sentence)
            if not all(any(f.matches(g) for g in stated) for f in figures):
                continue
            if not all(name_in(n, sentence) for n in names):
                continue
            fits = [year_covered(y, sentence, e.date) for y in years]
            if years and not (any(fits) if len(years) > 1 else fits[0]):
                continue
            context = normalize(" ".join([e.title, *sentences[max(j - 2, 0) : j + 1]]))
            if src_lang == "zh" and not relation_said(relation, context):
                continue  # the sentence says something else of the subject than was asked
            if _subject_said(question, subject, e, src_lang, sentence, context, subject is not terms):
                return True
    return False


def _subject_said(
    question: str,
    subject: Sequence[Term],
    e: Evidence,
    src_lang: str,
    sentence: str,
    context: str,
    names_asked: bool,
) -> bool:
    """Whether ``sentence`` of ``e`` (in ``src_lang``; ``context``: it with the title and the two
    before it) speaks of the question's ``subject``: every name, introduced by the end of the
    sentence, one of several joined being enough (``forgiven``), across languages where it can be
    judged; else, when no name is asked, most of the terms that can be judged."""
    so_far = normalize(read_so_far(e, sentence))  # a name: introduced by the end of the sentence
    so_far_tokens = set(tokenize(so_far)) if any(t.proper and t.lang == "en" for t in subject) else set()
    found = [
        covered_across(t, so_far, e.story)
        if not written_alike(t, src_lang)
        else covered(t, so_far, so_far_tokens)
        if t.proper
        else covered(t, context, set(tokenize(context)))
        for t in subject
    ]
    if not names_asked:  # most of the terms the sentence can be judged on
        judged = [f for f in found if f is not None]
        return 2 * sum(judged) >= len(judged)
    missing = forgiven(question, [t.text for t, f in zip(subject, found, strict=True) if f is False])
    found = [None if f is False and t.text not in missing else f for t, f in zip(subject, found, strict=True)]
    return False not in found and (any(found) or not any(written_alike(t, src_lang) for t in subject))
