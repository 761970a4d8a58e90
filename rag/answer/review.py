"""The review of a written answer: one step that repairs it, keeps it or withdraws it, and says why.

``review(question, draft, evidence, lang)`` runs, in order:

1. repairs (``rag.answer.trust``, ``rag.text.figures``, ``rag.text.names``): echoed figures dropped; for
   an English
   answer, mis-scaled figures and Chinese figures written the English way by code
   ("超过5亿元" -> "more than 500 million yuan"), people's names given their English form;
   an answer in the wrong language replaced by a templated one;
2. the withdrawal checks (``rag.answer.grounding``): an answer of only citation markers, figures of another
   year, figures no passage states, words no passage holds, a sentence about something else, and
   (``confirm``, Chinese questions) the generator's own yes/no check of the stating sentence. An
   answer whose figure, year and subject are all in one cited sentence
   (``grounding.stated_in_sentence``) is never withdrawn by them;
3. what the reader is told with a kept answer: the figures no cited passage states, the names
   replaced; a bare figure ("1/7 [1]") becomes a sentence.

Conflicting values in other articles and the date of a "latest" answer need the index, so the
pipeline adds them after the review (``rag.answer.conflicts``, ``trust.date_note``). Does not call the
models itself: ``confirm`` is passed in.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rag.answer.evidence import split_question
from rag.answer.grounding import (
    NO,
    YES,
    Evidence,
    check_messages,
    cross_tokens,
    off_topic_notice,
    stated_in_sentence,
    support,
    unconfirmed_notice,
    unfound_names,
    unfound_names_notice,
    ungrounded,
    unnamed_role,
    wrong_measure,
    wrong_measure_notice,
)
from rag.answer.trust import (
    drop_echoed_figures,
    language_drift,
    language_fallback,
    rescale_figures,
    unverified_figures,
    unverified_notice,
)
from rag.index.chunking import sentence_spans
from rag.text.figures import CITATION_MARKER, find_figures, fraction_words
from rag.text.figures_en import english_figures
from rag.text.lang import detect_lang
from rag.text.names import english_names
from rag.text.tokens import expand_query, tokenize
from rag.types import Lang

Confirm = Callable[[list[dict[str, str]], tuple[str, ...], tuple[str, ...]], float]  # P(yes)


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
) -> Verdict:
    """Review ``draft`` against ``evidence`` (every passage shown, the ``cited`` first; all cited
    when 0). ``english_texts`` are English articles of the cited stories (names' English forms);
    ``checks=False`` repairs and notes only; ``written=False`` (quoted passages, the extractive
    answer) leaves its words alone and checks its figures only.

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
        unverified = unverified_figures(text, sources, question)
        return Verdict(True, text, (), tuple(unverified_notice(unverified, lang)), unverified)
    stories = [e.story for e in evidence[: cited or len(evidence)] if e.story]  # the other language's telling
    text, notes = repair(question, draft, sources, lang, english_texts, stories)
    if not _words(text):
        return Verdict(False, text, (_EMPTY[lang],))
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
            why, ok = _why(part, piece, ev, known, lang, len(own), confirm, min_confirm)
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
    marks = list(re.finditer(r"[(（]\s*(\d)\s*[)）]", answer))
    if [int(m.group(1)) for m in marks] != list(range(1, n + 1)):
        return None
    starts = [0] + [m.start() for m in marks[1:]]
    return [(a, b) for a, b in zip(starts, [*starts[1:], len(answer)], strict=True)]


def drop_echoed_parts(answer: str, parts: Sequence[str]) -> str:
    """``answer`` without the parts of the question it repeats after their numbers.

    >>> drop_echoed_parts("(1) 要多久？1分钟[1] (2) 有多少家？上万家[1]", ["要多久？", "有多少家？"])
    '(1) 1分钟[1] (2) 上万家[1]'
    """
    for k, part in enumerate(parts, 1):
        asked = re.escape(part.strip().rstrip("？?。.")) + r"\s*[？?:：]?\s*"
        answer = re.sub(rf"([(（]\s*{k}\s*[)）]\s*){asked}", r"\1", answer, count=1)
    return answer


def repair(
    question: str,
    draft: str,
    sources: Sequence[str],
    lang: Lang,
    english_texts: Sequence[str] = (),
    stories: Sequence[str] = (),
) -> tuple[str, tuple[str, ...]]:
    """The draft with the repairs made by code, and notes for the reader about them. People's
    names are looked for in ``sources`` and ``stories`` (the same stories in the other language).

    >>> repair("How much?", "It raised 超过5亿元 [1], said Xindong Jia [1].",
    ...        ["贾兴东说，募资超过5亿元。"], "en", ["Jia Xingdong said"])
    ('It raised more than 500 million yuan [1], said Jia Xingdong [1].', ())
    """
    text = drop_echoed_figures(draft, lang)
    parts = split_question(question)
    text = drop_echoed_parts(text, parts) if len(parts) > 1 else text
    if lang != "en":
        return text, ()
    text, _ = rescale_figures(text, sources)
    text = english_figures(text)
    text, _ = english_names(text, [*sources, *stories], english_texts, question)
    if language_drift(without_chinese_names(text), lang):
        text = language_fallback(text, lang)
    return text, ()


def without_chinese_names(text: str) -> str:
    """``text`` without the Chinese names written after their English form (the checks read the
    English answer as written by the model).

    >>> without_chinese_names("Jia Xingdong (贾兴东) said so [1].")
    'Jia Xingdong said so [1].'
    """
    return re.sub(r"\s*[(（][\u3400-\u9fff]{2,4}[)）]", "", text)


def sentence_for_bare(answer: str, lang: Lang) -> str:
    """An English answer that is only a fraction and its citation ("1/7 [1]") written out as an
    English reader says it; other answers as they are (a bare count reads as an answer, and the
    benchmarks score its words).

    >>> sentence_for_bare("1/7 [1]", "en"), sentence_for_bare("1/7[1]", "zh")
    ('One seventh (1/7) [1].', '1/7[1]')
    >>> sentence_for_bare("About 46,000 base stations [1].", "en"), sentence_for_bare("46,600 [1]", "en")
    ('About 46,000 base stations [1].', '46,600 [1]')
    """
    figures = find_figures(answer)
    if lang != "en" or len(figures) != 1 or figures[0].kind != "fraction" or "/" not in figures[0].text:
        return answer
    if re.search(r"[^\W\d_]", _without(answer, figures)):
        return answer
    f = figures[0]
    markers = "".join(m.group(0) for m in CITATION_MARKER.finditer(answer))
    words = fraction_words(f.value)
    if words == f"{f.value:g}":  # no simple fraction: nothing to spell
        return answer
    return f"{words[0].upper()}{words[1:]} ({f.text}) {markers}".rstrip() + "."


def _without(text: str, figures: Sequence) -> str:
    for f in reversed(figures):
        text = text[: f.start] + text[f.end :]
    return CITATION_MARKER.sub("", text)


def _words(text: str) -> bool:
    """Whether ``text`` says anything beyond citation markers and punctuation."""
    return bool(re.search(r"[^\W_]", CITATION_MARKER.sub("", text)))


# ---------------------------------------------------------------- what the reader is shown


def recited(answer: str, sources: Sequence[str]) -> str:
    """``answer`` with each marker ``[n]`` (numbering ``sources`` from 1) moved to the one other
    source that states the figures of the words before it, when source ``n`` states none of them:
    a small model cites [1] for a figure it read in [2].

    >>> recited("占1/7[1]，增长5.5%[1]。", ["增长5.5%。", "智能手机占全球产量1/7。"])
    '占1/7[2]，增长5.5%[1]。'
    """
    stated = [find_figures(s) for s in sources]
    out, last, moved = [], 0, False
    for m in CITATION_MARKER.finditer(answer):
        out.append(answer[last : m.start()])
        figures = find_figures(answer[last : m.start()])
        n = int(re.sub(r"\D", "", m.group(0)) or 0)
        marker = m.group(0)
        if figures and re.fullmatch(r"[\[【]\s*\d+\s*[\]】]", marker) and 1 <= n <= len(sources):
            others = [
                i
                for i in range(len(sources))
                if i != n - 1 and all(any(f.matches(g) for g in stated[i]) for f in figures)
            ]
            # either way round: 4.6万 (rounded) states the 46,600 of another telling
            none_here = not any(f.matches(g) or g.matches(f) for f in figures for g in stated[n - 1])
            if none_here and len(others) == 1:
                marker, moved = f"[{others[0] + 1}]", True
        out.append(marker)
        last = m.end()
    return "".join(out) + answer[last:] if moved else answer


def cited_sentence(question: str, answer: str, n: int, passage: str) -> tuple[int, int] | None:
    """The span in ``passage`` of the sentence that states what ``answer`` cites ``[n]`` for (the
    words before each ``[n]``, back to the previous marker or sentence end); None when no sentence
    shares anything with them.

    >>> p = "在2023年，深圳通信基站占全球产量1/2。智能手机占全球产量1/7。"
    >>> a, b = cited_sentence("深圳智能手机占全球产量多少？", "占1/7[1]。", 1, p)
    >>> p[a:b]
    '智能手机占全球产量1/7。'
    """
    clauses, last = [], 0
    for m in CITATION_MARKER.finditer(answer):
        if re.fullmatch(rf"[\[【]\s*{n}\s*[\]】]", m.group(0)):
            clause = answer[last : m.start()]
            clauses.append(re.split(r"(?<=[。！？!?;；])|(?<=\.\s)", clause.strip())[-1] or clause)
        last = m.end()
    if not clauses:
        return None
    spans = sentence_spans(passage)
    figures = find_figures(" ".join(clauses))
    for a, b in spans if figures else []:  # the sentence stating the clause's figures, first
        if all(any(f.matches(g) for g in find_figures(passage[a:b])) for f in figures):
            return a, b
    places = support(question, " ".join(clauses), [passage])
    return spans[places[0][1]] if places else None


def closest_passages(
    question: str, texts: Sequence[str], groups: Sequence[str], n: int = 2
) -> list[tuple[int, int, int]]:
    """(passage, start, end) of the sentences closest to ``question`` in at most ``n`` passages of
    different articles (``groups``), best first: those sharing the most of the question's terms
    (either language; ties by passage order).

    >>> texts = ["深圳很大。智能手机占全球产量1/7。", "无关。"]
    >>> closest_passages("深圳智能手机占全球产量多少？", texts, ["a", "b"])
    [(0, 5, 18), (1, 0, 3)]
    """
    asked = set(tokenize(question)) | set(expand_query(question))
    best: list[tuple[int, int, int, int]] = []
    for i, text in enumerate(texts):
        spans = sentence_spans(text) or [(0, len(text))]
        scored = [(len(asked & (set(tokenize(text[a:b])) | cross_tokens(text[a:b]))), a, b) for a, b in spans]
        shared, a, b = max(scored, key=lambda x: x[0])  # first of the best
        best.append((-shared, i, a, b))
    out: list[tuple[int, int, int]] = []
    seen: set[str] = set()
    for _, i, a, b in sorted(best):
        if groups[i] not in seen and len(out) < n:
            seen.add(groups[i])
            out.append((i, a, b))
    return out


def abstention_text(head: str, sentences: Sequence[str], lang: Lang, limit: int = 160) -> str:
    """The abstention (``head``, the prompt's sentence) followed by the closest sentences found,
    numbered as their citations. A sentence in the other language is not quoted (the reply stays in
    the question's language): it is named, and the sources panel shows it.

    >>> print(abstention_text("资料中没有找到这个问题的答案。", ["智能手机占全球产量1/7。"], "zh"))
    资料中没有找到这个问题的答案。
    未能确认答案；最相关的资料是：
    [1] 智能手机占全球产量1/7。
    >>> print(abstention_text("No answer.", ["智能手机占全球产量1/7。", "Phones: 1/7 of the world's."], "en"))
    No answer.
    I could not confirm an answer; the most relevant passages are:
    [1] (a passage in Chinese, shown under the sources)
    [2] Phones: 1/7 of the world's.
    """
    if not sentences:
        return head
    intro = (
        "未能确认答案；最相关的资料是："
        if lang == "zh"
        else "I could not confirm an answer; the most relevant passages are:"
    )
    other = "（一段英文资料，见来源）" if lang == "zh" else "(a passage in Chinese, shown under the sources)"

    def line(k: int, s: str) -> str:
        if detect_lang(s) != lang:
            return f"[{k}] {other}"
        text = re.sub(r"\s+", " ", s.strip())
        return f"[{k}] {text[:limit]}" + ("…" if len(text) > limit else "")

    return "\n".join([head, intro, *(line(k, s) for k, s in enumerate(sentences, 1))])


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
