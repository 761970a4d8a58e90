"""The model chooses among the candidates: the scoring prompt, the options, and the decision.

``candidate_messages`` is the short prompt the generator scores the candidates under (the
sentences holding them, the question, and the instruction to copy the answer or say
``NOT_STATED``; a sentence naming no year is shown after its article's month when the question
asks a year); ``scoring_options`` lists each figure in every form a reply may write it ("7.5万"
for "超过7.5万个") and ``merged_scores`` adds up their probabilities; ``choose`` turns the
log-probabilities into a ``Choice``: answer with the best candidate, abstain when "not stated"
wins or no candidate is likely, or leave the question to free generation on a tie.

Does not call the model (the pipeline passes the generator's scores in), find candidates
(``rag.answer.candidates.extract``) or write the answer (``rag.answer.candidates.writing``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.answer.candidates.extract import Candidate
from rag.answer.question.parts import years_asked
from rag.text.dates import MONTHS
from rag.text.figures import YEAR, find_figures
from rag.text.tokens import tokenize
from rag.types import Lang

NOT_STATED = "NOT_STATED"
MAX_SENTENCE_CHARS = 160  # a long sentence is cut around its candidates to keep the prompt short


@dataclass(frozen=True)
class Choice:
    """What the scores decide: ``"answer"`` (with ``candidate``), ``"abstain"`` or ``"undecided"``
    (left to free generation), with the winner's probability among the options."""

    decision: str
    candidate: Candidate | None
    probability: float
    reason: str = ""


def _shown(sentence: str, texts: Sequence[str], question: str = "") -> str:
    """``sentence`` cut to ``MAX_SENTENCE_CHARS`` around one of its candidates ``texts``: the cut
    holding most of ``question``'s words (the first candidate's on a tie). A sentence listing
    several figures may name what the question asks about far after its first one.

    >>> s = "Of the firms, " + ", ".join(f"{n} percent cut item {n}" for n in range(10, 19)) + "."
    >>> ["cut item 17" in _shown(s, ["10 percent", "17 percent"], q) for q in ("Which cut item 17?", "")]
    [True, False]
    """
    if len(sentence) <= MAX_SENTENCE_CHARS:
        return sentence
    words = set(tokenize(question))
    half = MAX_SENTENCE_CHARS // 2
    cuts = [sentence[a : a + MAX_SENTENCE_CHARS] for a in _cut_starts(sentence, texts, half)]
    return max(cuts, key=lambda cut: len(words & set(tokenize(cut))))


def _cut_starts(sentence: str, texts: Sequence[str], half: int) -> list[int]:
    """Where a cut centred on each of ``texts`` in ``sentence`` starts, in the order of ``texts``."""
    starts = [sentence.find(t) for t in texts if t in sentence] or [0]
    return list(dict.fromkeys(max(0, a - half) for a in starts))


INSTRUCTION = {
    "zh": f"只根据资料回答问题：原样照抄资料中的答案词语，不加其他文字。资料没有答案时只回答 {NOT_STATED}。",
    "en": f"Answer the question from the text only: copy the answer's words exactly as the text writes "
    f"them, nothing else. If the text does not give the answer, reply {NOT_STATED}.",
}


def candidate_messages(question: str, candidates: Sequence[Candidate], lang: Lang) -> list[dict[str, str]]:
    """The short chat prompt the candidates are scored under: the sentences holding them and the
    question (the reply the candidates complete is the whole answer).

    >>> c = Candidate("15条", "figure", 0, "已完成15条线路的建模。")
    >>> candidate_messages("完成了多少条线路的建模？", [c], "zh")[1]["content"]
    '资料：\\n已完成15条线路的建模。\\n\\n问题：完成了多少条线路的建模？'
    """
    sentences: dict[str, list[str]] = {}
    dated: dict[str, str] = {}
    for c in candidates:
        sentences.setdefault(c.sentence, []).append(c.text)
        dated.setdefault(c.sentence, c.date)
    year_asked = bool(years_asked(question))
    shown = {s: _shown(s, texts, question) for s, texts in sentences.items()}
    text = "\n".join(_dated(shown[s], dated[s] if year_asked else "", lang) for s in sentences)
    user = f"资料：\n{text}\n\n问题：{question}" if lang == "zh" else f"Text:\n{text}\n\nQuestion: {question}"
    return [{"role": "system", "content": INSTRUCTION[lang]}, {"role": "user", "content": user}]


def surface_forms(candidate: Candidate) -> list[str]:
    """The ways a reply may write ``candidate``: as the source does, and for a figure also without
    its qualifier, its unit, or both (a reply "7.5万" gives the candidate "超过7.5万个").

    >>> surface_forms(Candidate("超过7.5万个", "figure", 0, ""))
    ['超过7.5万个', '7.5万', '超过7.5万', '7.5万个']
    >>> surface_forms(Candidate("nearly 10,000", "figure", 0, ""))
    ['nearly 10,000', '10,000']
    """
    text = candidate.text
    figures = find_figures(text) if candidate.kind == "figure" else []
    if len(figures) != 1:
        return [text]
    f = figures[0]
    forms = [text, f.text, text[: f.end].strip(), text[f.start :].strip()]
    return [t for t in dict.fromkeys(forms) if t]


def scoring_options(
    candidates: Sequence[Candidate], other_forms: Sequence[Sequence[str]] = ()
) -> tuple[list[str], list[int]]:
    """The options to score for ``candidates`` (each one's surface forms, then its
    ``other_forms``: the same in the reply's language; a form another candidate already has
    left to that one) then ``NOT_STATED``, and the index of the candidate each option stands
    for (``len(candidates)`` for ``NOT_STATED``).

    >>> cs = [Candidate("超4.6万个", "figure", 0, ""), Candidate("4.6万", "figure", 0, "")]
    >>> scoring_options(cs)
    (['超4.6万个', '超4.6万', '4.6万个', '4.6万', 'NOT_STATED'], [0, 0, 0, 1, 2])
    >>> scoring_options(cs[:1], [["more than 46,000", "46,000"]])[0]
    ['超4.6万个', '4.6万', '超4.6万', '4.6万个', 'more than 46,000', '46,000', 'NOT_STATED']
    """
    options, owner = [], []
    taken = {c.text for c in candidates}
    for i, c in enumerate(candidates):
        for form in [*surface_forms(c), *(other_forms[i] if i < len(other_forms) else ())]:
            if form == c.text or (form not in taken and form not in options):
                options.append(form)
                owner.append(i)
    return [*options, NOT_STATED], [*owner, len(candidates)]


def merged_scores(scores: Sequence[tuple[float, int]], owner: Sequence[int]) -> list[tuple[float, int]]:
    """One (log-probability, tokens) per candidate and ``NOT_STATED`` from the scores of the
    options ``scoring_options`` gave: the probabilities of a candidate's forms added up, its
    tokens those of its first form.

    >>> [(round(lp, 3), n) for lp, n in merged_scores([(-1.0, 3), (-1.0, 2), (-0.5, 4)], [0, 0, 1])]
    [(-0.307, 3), (-0.5, 4)]
    """
    out: dict[int, tuple[float, int]] = {}
    for (lp, n), i in zip(scores, owner, strict=True):
        if i in out:
            top = max(out[i][0], lp)
            out[i] = (top + math.log(math.exp(out[i][0] - top) + math.exp(lp - top)), out[i][1])
        else:
            out[i] = (lp, n)
    return [out[i] for i in sorted(out)]


def _dated(sentence: str, date: str, lang: Lang) -> str:
    """``sentence`` after its article's month when it names no year itself (``date``: YYYY-MM-DD,
    "" for none): a question about "early 2024" is answered by a cumulative figure of an article
    of January 2024, whose sentence says no year.

    >>> _dated("全市累计建设5G基站超过7.5万个。", "2024-01-10", "zh")
    '（2024年1月的报道）全市累计建设5G基站超过7.5万个。'
    >>> _dated("The city built 46,600 base stations.", "2021-01-21", "en")
    '(reported in January 2021) The city built 46,600 base stations.'
    >>> _dated("2020年，深圳建成5G基站4.76万个。", "2021-01-21", "zh")
    '2020年，深圳建成5G基站4.76万个。'
    """
    m = re.fullmatch(r"((?:19|20)\d\d)-(\d\d)(?:-\d\d)?", date[:10] if date else "")
    if not m or YEAR.search(sentence) or not 1 <= int(m.group(2)) <= 12:
        return sentence
    year, month = m.group(1), int(m.group(2))
    if lang == "zh":
        return f"（{year}年{month}月的报道）{sentence}"
    return f"(reported in {MONTHS[month - 1]} {year}) {sentence}"


def probabilities(scores: Sequence[tuple[float, int]], length_power: float = 0.0) -> list[float]:
    """The options' probabilities among themselves from (log-probability, tokens) pairs; with
    ``length_power`` > 0 each log-probability is first divided by its tokens to that power.

    >>> [round(p, 3) for p in probabilities([(-1.0, 2), (-1.0, 3), (-3.0, 1)])]
    [0.468, 0.468, 0.063]
    """
    values = [lp / max(1, n) ** length_power for lp, n in scores]
    top = max(values)
    weights = [math.exp(v - top) for v in values]
    return [w / sum(weights) for w in weights]


def choose(
    candidates: Sequence[Candidate],
    scores: Sequence[tuple[float, int]],
    *,
    min_probability: float = 0.5,
    min_likely: float = 0.2,
    tie_margin: float = 0.1,
    length_power: float = 0.0,
    cross_language: bool = False,
) -> Choice:
    """The decision from the scores of ``candidates`` followed by the "not stated" option's.

    Abstain when "not stated" wins, or when the best candidate's probability is below
    ``min_likely``; answer when it reaches ``min_probability`` and leads the next candidate by
    ``tie_margin``; otherwise undecided. When the question and the sentences are in different
    languages (``cross_language``) "not stated" wins far too often (a Chinese span is an unlikely
    reply to an English question), so its win (or no candidate being likely) leaves the question
    undecided instead; and so does it for names and list items, which the extraction misses
    more often (a company jieba does not tag is no candidate, and "not stated" then wins).

    >>> cs = [Candidate("15条", "figure", 0, "s"), Candidate("39条", "figure", 0, "s")]
    >>> choose(cs, [(-0.2, 3), (-3.0, 3), (-4.0, 4)]).candidate.text
    '15条'
    >>> choose(cs, [(-5.0, 3), (-5.0, 3), (-0.1, 4)]).decision
    'abstain'
    """
    p = probabilities(scores, length_power)
    *cand_p, stated_p = p
    if not candidates:
        return Choice("undecided", None, 0.0, "no candidate")
    trusted = not cross_language and candidates[0].kind in ("figure", "duration", "date")
    order = sorted(range(len(cand_p)), key=lambda i: -cand_p[i])
    best = order[0]
    if stated_p > cand_p[best]:
        return Choice("abstain" if trusted else "undecided", None, stated_p, "not stated")
    if cand_p[best] < min_likely:
        return Choice("abstain" if trusted else "undecided", None, cand_p[best], "no candidate likely")
    second = cand_p[order[1]] if len(order) > 1 else 0.0
    if cand_p[best] - second < tie_margin:
        return Choice("undecided", candidates[best], cand_p[best], "tie")
    if cand_p[best] < min_probability:
        return Choice("undecided", candidates[best], cand_p[best], "not likely enough")
    return Choice("answer", candidates[best], cand_p[best])
