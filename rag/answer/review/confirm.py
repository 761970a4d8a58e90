"""The generator's own yes/no check of the sentence an answer relies on.

``check_messages`` is the short prompt (``prompts/check_*_{lang}.txt``) asking whether the
sentence stating the answer (``stating_text``) gives it as the answer to the question; the
reply's first token is read as yes (``YES[lang]``) or no (``NO[lang]``). ``unconfirmed_notice``
tells the reader why an answer was withdrawn after it.

Does not call the generator (the review is given a ``confirm`` function) and does not decide
the threshold (``Settings``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from rag.answer.review.support import Evidence, sentences_of, support
from rag.prompts import prompt_text
from rag.text.figures import CITATION_MARKER
from rag.text.lang import detect_lang
from rag.types import Lang

# the check as the review is given it: (messages, yes tokens, no tokens) -> P(yes)
Confirm = Callable[[list[dict[str, str]], tuple[str, ...], tuple[str, ...]], float]
YES: dict[Lang, tuple[str, ...]] = {"zh": ("是",), "en": ("yes", "Yes")}
NO: dict[Lang, tuple[str, ...]] = {"zh": ("否", "不"), "en": ("no", "No")}


def stating_text(question: str, answer: str, evidence: Sequence[Evidence], limit: int = 300) -> str:
    """The sentence of the cited passages that states ``answer`` with the one before it (the
    start of the first passage when none does), at most ``limit`` characters, after its
    article's title and date (``dated``).

    >>> ev = Evidence("深圳很大。全市建成5G基站46,000个。后来更多。")
    >>> stating_text("深圳建成多少5G基站？", "4.6万个[1]", [ev])
    '深圳很大。全市建成5G基站46,000个。'
    """
    texts = [e.text for e in evidence]
    places = support(question, answer, texts)
    if not places:
        return dated(evidence[0], texts[0][:limit]) if texts else ""
    i, j = places[0]
    sentences = sentences_of(texts[i])
    glue = "" if detect_lang(texts[i]) == "zh" else " "
    return dated(evidence[i], glue.join(sentences[max(j - 1, 0) : j + 1])[-limit:])


def dated(e: Evidence, text: str) -> str:
    """``text`` after the title and date of its article, as a reader sees them: a sentence that
    says "今年" or names no year answers a question about a year only with its article's date.

    >>> dated(Evidence("公羊队夺冠。", "超级碗", "2022-02-14"), "公羊队夺冠。")
    '（超级碗，2022-02-14）公羊队夺冠。'
    >>> dated(Evidence("公羊队夺冠。"), "公羊队夺冠。")
    '公羊队夺冠。'
    """
    head = "，".join(x for x in (e.title.strip(), e.date) if x)
    return f"（{head}）{text}" if head else text


def check_messages(
    question: str, answer: str, evidence: Sequence[Evidence], lang: Lang
) -> list[dict[str, str]]:
    """The short prompt that asks the generator whether the sentence stating ``answer`` gives it as
    the answer to ``question`` (``prompts/check_*_{lang}.txt``); the reply's first token is read
    as yes (``YES[lang]``) or no (``NO[lang]``), nothing is generated."""
    user = prompt_text(f"check_user_{lang}").format(
        source=stating_text(question, answer, evidence),
        question=question,
        answer=re.sub(r"\s+(?=[.,;。，；])", "", CITATION_MARKER.sub("", answer)).strip(),
    )
    return [
        {"role": "system", "content": prompt_text(f"check_system_{lang}")},
        {"role": "user", "content": user},
    ]


def unconfirmed_notice(p_yes: float, lang: Lang) -> str:
    """Why an answer was withdrawn after the generator's own check.

    >>> unconfirmed_notice(0.42, "zh")
    '模型写出了答案，但对照所依据的句子核对时未能确认（置信度 0.42）。'
    """
    if lang == "zh":
        return f"模型写出了答案，但对照所依据的句子核对时未能确认（置信度 {p_yes:.2f}）。"
    return (
        "An answer was written, but checked against the sentence it relies on it did not hold up "
        f"(confidence {p_yes:.2f})."
    )
