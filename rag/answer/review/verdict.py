"""The review of a written answer: one step that repairs it, keeps it or withdraws it, and says why.

``review(question, draft, evidence, lang)`` runs, in order:

1. repairs (``rag.answer.review.repair``): echoed figures dropped; for an English answer, mis-scaled
   figures and Chinese figures written the English way by code ("超过5亿元" -> "more than 500
   million yuan"), people's names given their English form; an answer in the wrong language
   replaced by a templated one;
2. the withdrawal checks: an answer of only citation markers or of the question's own words
   (``rag.answer.review.claims.restates_question``), names no source gives and a role
   no sentence says (``rag.answer.review.people``), a rate for a count, a figure for a name or
   a judgement for a fact (``rag.answer.review.kinds``), a span the sources give
   to something else (``rag.answer.candidates.extract.disowned``), figures of another year,
   figures no passage states, words no passage holds (``rag.answer.review.claims``), a sentence about
   something else (``rag.answer.review.grounding``), and (``confirm``, Chinese questions) the
   generator's own yes/no check of the stating sentence (``rag.answer.review.confirm``). An answer
   whose figure, year and subject are all in one cited sentence
   (``grounding.stated_in_sentence``) is withdrawn only for its names, the role asked or its
   measure; a question of several numbered parts has each part of the answer reviewed against
   its own;
3. what the reader is told with a kept answer: the figures no cited passage states, the names
   replaced; a bare figure ("1/7 [1]") becomes a sentence.

Conflicting values in other articles and the date of a "latest" answer need the index, so the
pipeline adds them after the review (``rag.answer.review.conflicts``, ``trust.date_note``); where the
citations point is ``rag.answer.review.cited``, what an abstention shows ``rag.answer.write.abstention``.
Does not call the models itself: ``confirm`` is passed in.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.answer.candidates.extract import disowned
from rag.answer.question.parts import split_question
from rag.answer.review.claims import (
    disowned_notice,
    only_changes,
    only_changes_notice,
    other_year,
    other_year_notice,
    restated_notice,
    restates_question,
)
from rag.answer.review.confirm import NO, YES, Confirm, check_messages, unconfirmed_notice
from rag.answer.review.grounding import off_topic_notice, stated_in_sentence, ungrounded
from rag.answer.review.kinds import (
    figure_for_name,
    figure_for_name_notice,
    only_judgement,
    only_judgement_notice,
    wrong_measure,
    wrong_measure_notice,
)
from rag.answer.review.people import unfound_names, unfound_names_notice, unnamed_role
from rag.answer.review.relation import not_asked
from rag.answer.review.repair import repair, sentence_for_bare, without_chinese_names
from rag.answer.review.support import Evidence
from rag.answer.review.trust import (
    drop_echoed_figures,
    rescale_figures,
    unverified_figures,
    unverified_notice,
)
from rag.text.figures import CITATION_MARKER
from rag.types import Lang


@dataclass(frozen=True)
class Verdict:
    """What the review decided: keep the (repaired) ``text`` or withdraw it, with the reasons."""

    keep: bool
    text: str  # the repaired answer (the draft as repaired, also when withdrawn)
    reasons: tuple[str, ...] = ()  # why it was withdrawn, for the reader
    notes: tuple[str, ...] = ()  # shown with a kept answer
    unverified: tuple[str, ...] = ()  # figures no cited passage states
    held: bool = False  # one cited sentence holds its figure, year and subject


def review(
    question: str,
    draft: str,
    evidence: Sequence[Evidence],
    lang: Lang,
    *,
    cited: int = 0,
    confirm: Confirm | None = None,
    min_confirm: float = 0.0,
    english_texts: Sequence[str] = (),
    checks: bool = True,
    written: bool = True,
    chosen: bool = False,
) -> Verdict:
    """Review ``draft`` against ``evidence`` (every passage shown, the ``cited`` first; all cited
    when 0). ``english_texts`` are English articles of the cited stories (names' English forms);
    ``checks=False`` repairs and notes only; ``written=False`` (quoted passages, the extractive
    answer) leaves its words alone and checks its figures only; ``chosen`` (a span the model chose
    among the passages' candidates) also whether its sentence is about what was asked.

    >>> ev = [Evidence("2023年，深圳智能手机占全球产量1/7。", "深圳制造", "2024-01-10")]
    >>> v = review("What share of the world's smartphones did Shenzhen make in 2023?", "1/7 [1]", ev, "en")
    >>> v.keep, v.text, v.held
    (True, 'One seventh (1/7) [1].', True)
    >>> review("深圳建成多少基站？", "[1] [2]", ev, "zh").reasons
    ('模型没有写出答案，只给了引用编号。',)
    """
    sources = [f"{e.title}\n{e.text}" for e in evidence[: cited or len(evidence)]]
    if not written:
        text = drop_echoed_figures(draft, lang)
        text = rescale_figures(text, sources)[0] if lang == "en" else text
        if chosen and checks and (missing := not_asked(question, text, evidence, cited)):
            return Verdict(False, text, (off_topic_notice(missing, lang),))
        unverified = unverified_figures(text, sources, question)
        return Verdict(True, text, (), tuple(unverified_notice(unverified, lang)), unverified)
    stories = [e.story for e in evidence[: cited or len(evidence)] if e.story]  # the other language's telling
    text, notes = repair(question, draft, sources, lang, english_texts, stories)
    if not _words(text):
        return Verdict(False, text, (_EMPTY[lang],))
    if checks and restates_question(question, text):
        return Verdict(False, text, (restated_notice(lang),))
    known = [t for e in evidence for t in (e.text, e.article, e.story) if t] + list(english_texts)
    parts = split_question(question) if checks else [question]
    spans = answer_parts(text, len(parts)) if len(parts) > 1 else None
    held = False
    if spans:  # each part of the answer checked against its own part of the question
        text, failed, held = _review_parts(parts, text, spans, evidence, known, lang, confirm, min_confirm)
        if len(failed) == len(parts):
            return Verdict(False, text, (next(filter(None, failed), _NOT_FOUND[lang]),))
        notes = (*notes, *filter(None, failed))
    elif checks:
        why, held = _why(question, text, evidence, known, lang, cited, confirm, min_confirm)
        if why:
            return Verdict(False, text, (why,))
    unverified = unverified_figures(text, sources, question)
    text = sentence_for_bare(text, lang)
    return Verdict(True, text, (), (*unverified_notice(unverified, lang), *notes), unverified, held)


def _why(
    question: str,
    text: str,
    evidence: Sequence[Evidence],
    known: Sequence[str],
    lang: Lang,
    cited: int,
    confirm: Confirm | None,
    min_confirm: float,
) -> tuple[str, bool]:
    """Why ``text`` (an answer to ``question``) is withdrawn, "" when it stands; and whether one
    of the first ``cited`` passages holds its figure, year and subject. A name no source gives
    (``known``: passages, articles, other tellings) or only a rate for a count withdraws it even
    then; the other checks never withdraw such an answer."""
    checked = without_chinese_names(text) if lang == "en" else text
    if names := unfound_names(question, checked, known):
        return unfound_names_notice(names, lang), False
    if wrong_measure(question, checked):
        return wrong_measure_notice(lang), False
    if figure_for_name(question, checked):
        return figure_for_name_notice(lang), False
    if only_judgement(question, checked):
        return only_judgement_notice(lang), False
    texts = [e.text for e in evidence]
    if only_changes(question, checked, texts):
        return only_changes_notice(lang), False
    if disowned(question, checked, texts, [e.date for e in evidence]):
        year = other_year(question, checked, texts)
        return other_year_notice(year, lang) if year else disowned_notice(lang), False
    if role := unnamed_role(question, checked, evidence):
        return off_topic_notice([role], lang), False
    if stated_in_sentence(question, checked, evidence, cited):
        return "", True
    if why := ungrounded(question, checked, evidence, lang):
        return why, False
    if confirm is not None and min_confirm > 0 and lang == "zh":
        p = confirm(check_messages(question, text, evidence, lang), YES[lang], NO[lang])
        if p < min_confirm:
            return unconfirmed_notice(p, lang), False
    return "", False


def _review_parts(
    parts: Sequence[str],
    text: str,
    spans: Sequence[tuple[int, int]],
    evidence: Sequence[Evidence],
    known: Sequence[str],
    lang: Lang,
    confirm: Confirm | None,
    min_confirm: float,
) -> tuple[str, list[str], bool]:
    """Each numbered part of ``text`` reviewed against its own part of the question and the
    passages it cites (those first). Returns the text with each withdrawn or unanswered part
    replaced by a "not found" line; one entry per such part (the numbered reason, "" when the
    model itself said the sources do not answer it); and whether every part is held by its
    sentence."""
    out, failed, held = [], [], True
    for k, (part, (a, b)) in enumerate(zip(parts, spans, strict=True), 1):
        piece = text[a:b]
        markers = (int(n) for n in re.findall(r"\[(\d+)\]", piece))
        own = list(dict.fromkeys(n for n in markers if 1 <= n <= len(evidence)))
        ev = [evidence[n - 1] for n in own] + [e for i, e in enumerate(evidence, 1) if i not in own]
        unanswered = bool(_SAYS_NOT_FOUND.search(piece))
        why, ok = "", False
        if not unanswered:
            label = _PART_LABEL.match(piece.lstrip())  # "(2)" is no figure of the answer
            body = piece.lstrip()[label.end() :] if label else piece
            why, ok = _why(part, body, ev, known, lang, len(own), confirm, min_confirm)
        held = held and ok
        if why or unanswered:
            failed.append(f"({k}) {why}" if why else "")
            piece = f"({k}) {PART_NOT_FOUND[lang]}" + ("\n" if piece.endswith("\n") else " ")
        out.append(piece)
    return text[: spans[0][0]] + "".join(out).rstrip() + text[spans[-1][1] :], failed, held


def answer_parts(answer: str, n: int) -> list[tuple[int, int]] | None:
    """The spans of the ``n`` numbered parts of ``answer`` ("(1) … (2) …"), the first from the
    start; None unless it numbers exactly 1 to ``n`` in order.

    >>> a = "(1) 增长了2%。[1] (2) 增长了5.5%。[2]"
    >>> [a[x:y] for x, y in answer_parts(a, 2)], answer_parts("增长了2%。[1]", 2)
    (['(1) 增长了2%。[1] ', '(2) 增长了5.5%。[2]'], None)
    """
    marks = list(_PART_LABEL.finditer(answer))
    if [int(m.group(1)) for m in marks] != list(range(1, n + 1)):
        return None
    starts = [0] + [m.start() for m in marks[1:]]
    return [(a, b) for a, b in zip(starts, [*starts[1:], len(answer)], strict=True)]


def _words(text: str) -> bool:
    """Whether ``text`` says anything beyond citation markers and punctuation."""
    return bool(re.search(r"[^\W_]", CITATION_MARKER.sub("", text)))


_PART_LABEL = re.compile(r"[(（]\s*(\d)\s*[)）]")  # "(2)", the number of a part of an answer
_SAYS_NOT_FOUND = re.compile(
    r"没有找到|未提及|没有提到|未说明|not in the sources"
    r"|not (?:mentioned|specified|stated|given)"
    r"|do(?:es)? not (?:say|mention|state|answer)",
    re.IGNORECASE,
)  # how a part answers that the sources do not say
_NOT_FOUND: dict[Lang, str] = {
    "zh": "模型认为资料中没有这些问题的答案。",
    "en": "The model found no answer to any part in the passages.",
}
PART_NOT_FOUND: dict[Lang, str] = {
    "zh": "资料中没有找到这一问的答案。",
    "en": "The articles do not answer this part.",
}
_EMPTY: dict[Lang, str] = {
    "zh": "模型没有写出答案，只给了引用编号。",
    "en": "The model wrote no answer, only citation markers.",
}
