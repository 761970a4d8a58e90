"""The repairs code makes to a written answer before it is checked, and notes for the reader.

``repair`` drops figures the model echoed from the prompt ("4.76万 (47,600)") and parts of the
question it repeated after their numbers (``drop_echoed_parts``); for an English answer it also
rescales mis-scaled figures ("7.3 million" for 7.3万), writes Chinese figures the English way
("超过5亿元" -> "more than 500 million yuan"), gives people's names their English form, and
replaces an answer in the wrong language by a templated one. ``without_chinese_names`` is the
English answer as the checks read it; ``sentence_for_bare`` writes a bare fraction out as a
sentence.

Does not withdraw anything: the checks (``rag.answer.review.grounding`` and its neighbours) and the
review step (``rag.answer.review.verdict``) do.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.answer.question.parts import split_question
from rag.answer.review.trust import drop_echoed_figures, language_drift, language_fallback, rescale_figures
from rag.text.figures import CITATION_MARKER, Figure, find_figures, fraction_words
from rag.text.figures_en import english_figures
from rag.text.lang import HAN
from rag.text.names import english_names
from rag.types import Lang


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


def drop_echoed_parts(answer: str, parts: Sequence[str]) -> str:
    """``answer`` without the parts of the question it repeats after their numbers.

    >>> drop_echoed_parts("(1) 要多久？1分钟[1] (2) 有多少家？上万家[1]", ["要多久？", "有多少家？"])
    '(1) 1分钟[1] (2) 上万家[1]'
    """
    for k, part in enumerate(parts, 1):
        asked = re.escape(part.strip().rstrip("？?。.")) + r"\s*[？?:：]?\s*"
        answer = re.sub(rf"([(（]\s*{k}\s*[)）]\s*){asked}", r"\1", answer, count=1)
    return answer


def without_chinese_names(text: str) -> str:
    """``text`` without the Chinese names written after their English form (the checks read the
    English answer as written by the model).

    >>> without_chinese_names("Jia Xingdong (贾兴东) said so [1].")
    'Jia Xingdong said so [1].'
    """
    return re.sub(rf"\s*[(（][{HAN}]{{2,4}}[)）]", "", text)


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


def _without(text: str, figures: Sequence[Figure]) -> str:
    """``text`` without ``figures`` and citation markers."""
    for f in reversed(figures):
        text = text[: f.start] + text[f.end :]
    return CITATION_MARKER.sub("", text)
