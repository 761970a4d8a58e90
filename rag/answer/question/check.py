"""The question as typed, made usable: checked and cut to length, its answer language, and the
text to retrieve with (a follow-up made to stand alone).

Does not retrieve or answer anything, and does not rewrite a follow-up itself
(``rag.answer.question.followup`` does).
"""

from __future__ import annotations

import unicodedata

from rag.answer.question.followup import History, standalone
from rag.errors import QuestionError
from rag.text.lang import detect_lang
from rag.types import Lang

__all__ = ["MAX_QUESTION_CHARS", "History", "check_question", "pick_lang", "retrieval_query"]

MAX_QUESTION_CHARS = 1000  # longer questions are cut, with a notice


def check_question(question: str) -> tuple[str, list[str]]:
    """The question stripped and cut to ``MAX_QUESTION_CHARS``, with notices; raises if unusable.

    >>> check_question("  深圳？ ")
    ('深圳？', [])
    """
    q = (question or "").strip()
    if not q:
        raise QuestionError("问题是空的，请输入问题。 / The question is empty: please type a question.")
    if not any(unicodedata.category(ch)[0] in "LN" for ch in q):
        raise QuestionError(
            "问题里没有文字或数字，请用中文或英文提问。 / The question has no letters or digits: "
            "please ask in Chinese or English."
        )
    notices = []
    if len(q) > MAX_QUESTION_CHARS:
        notices.append(
            f"问题过长，只用了前{MAX_QUESTION_CHARS}个字。 / The question was cut to its first "
            f"{MAX_QUESTION_CHARS} of {len(q)} characters; ask a shorter question."
        )
        q = q[:MAX_QUESTION_CHARS]
    return q, notices


def pick_lang(question: str, setting: str) -> Lang:
    """The answer language: the setting when it names one ("zh", "en"), else the question's."""
    if setting == "zh":
        return "zh"
    if setting == "en":
        return "en"
    return detect_lang(question)


def retrieval_query(question: str, history: History) -> str:
    """The text to retrieve with: the question made to stand alone (``rag.answer.question.followup``), an
    elliptical follow-up with the earlier questions it needs (at most two) in front.

    >>> retrieval_query("那2023年呢？", [("2020年深圳建成多少5G基站？", "4.6万个[1]")])
    '2023年深圳建成多少5G基站？'
    >>> chain = [("云工厂平台入驻了多少家制造商？", "上万家"), ("它上半年撮合了多少采购？", "100多亿元")]
    >>> retrieval_query("同比增长了多少？", chain)
    '（接着问“云工厂平台入驻了多少家制造商”“它上半年撮合了多少采购”）同比增长了多少？'
    >>> retrieval_query("Who heads Bao'an district's industry bureau?", [("And who said that?", "")])
    "Who heads Bao'an district's industry bureau?"
    """
    return standalone(question, history).query
