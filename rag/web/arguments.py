"""The named API endpoints' arguments, checked: what a client sent, or a readable refusal.

Each function takes a value as it arrived (decoded JSON: text, number, true/false, null, list,
object) and returns it in the type the app needs, or raises ``ValueError`` saying what was
expected, what was found and what to send. The app turns that into ``gr.Error``, which clients
see as ``AppError``. Null stands for "not given" where an argument has a default.

It does not judge a question's content (``rag.answer.pipeline.check_question`` refuses empty or
letterless ones) nor whether a doc_id exists (``rag.ingest.corpus`` does).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

MAX_K = 20  # passages an API call may ask for (the UI slider stops at 10)
LANGS = ("auto", "zh", "en")


def describe(value: object) -> str:
    """``value`` as a client sent it, in JSON terms, shortened.

    >>> [describe(v) for v in (None, True, 12345, 2.5, "fr")]
    ['null', 'true', 'the number 12345', 'the number 2.5', 'the text "fr"']
    >>> describe(["a", 1]), describe({"x": 1})
    ('a list ["a", 1]', 'an object {"x": 1}')
    """
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, (int, float)):
        text = str(value)
        return f"the number {text if len(text) <= 30 else text[:30] + '…'}"
    if isinstance(value, str):
        return "the text " + json.dumps(value if len(value) <= 60 else value[:60] + "…", ensure_ascii=False)
    try:
        text = json.dumps(value, ensure_ascii=False, default=repr)
    except ValueError:
        text = repr(value)
    kind = "a list" if isinstance(value, (list, tuple)) else "an object"
    return f"{kind} {text if len(text) <= 80 else text[:80] + '…'}"


def question_arg(value: object) -> str:
    """The question, which must be text (emptiness is the pipeline's to judge).

    >>> question_arg("深圳5G基站？")
    '深圳5G基站？'
    >>> question_arg(12345)
    Traceback (most recent call last):
    ValueError: question must be text; found the number 12345. Send the question as a string, e.g. ...
    """
    if isinstance(value, str):
        return value
    raise ValueError(
        f"question must be text; found {describe(value)}. "
        'Send the question as a string, e.g. "深圳2020年建成了多少5G基站？".'
    )


def history_arg(value: object) -> list[tuple[str, str]]:
    """Earlier turns: a list of [question, answer] pairs of text; null is a new conversation.

    >>> history_arg([["深圳5G基站？", "4.6万个[1]。"]])
    [('深圳5G基站？', '4.6万个[1]。')]
    >>> history_arg("ab")
    Traceback (most recent call last):
    ValueError: history must be a list of [question, answer] pairs, ...; found the text "ab". Send [] ...
    """
    if value is None:
        return []
    pairs = list(value) if isinstance(value, (list, tuple)) else None
    if pairs is None or not all(
        isinstance(p, (list, tuple)) and len(p) == 2 and all(isinstance(t, str) for t in p) for p in pairs
    ):
        raise ValueError(
            "history must be a list of [question, answer] pairs, oldest first; "
            f"found {describe(value)}. Send [] for a new conversation."
        )
    return [(q, a) for q, a in pairs]


def lang_arg(value: object) -> str:
    """The answer language: "auto" (the question's), "zh" or "en"; null is "auto".

    >>> lang_arg("ZH"), lang_arg(None)
    ('zh', 'auto')
    >>> lang_arg("fr")
    Traceback (most recent call last):
    ValueError: lang must be "auto", "zh" or "en"; found the text "fr". Send "auto" to answer in ...
    """
    if value is None:
        return "auto"
    if isinstance(value, str) and value.strip().lower() in LANGS:
        return value.strip().lower()
    raise ValueError(
        f'lang must be "auto", "zh" or "en"; found {describe(value)}. '
        'Send "auto" to answer in the question\'s language.'
    )


def k_arg(value: object, default: int) -> int:
    """Passages to retrieve: a whole number from 1 to ``MAX_K``; null is ``default``.

    >>> k_arg(3, 5), k_arg(4.0, 5), k_arg(None, 5)
    (3, 4, 5)
    >>> k_arg("abc", 5)
    Traceback (most recent call last):
    ValueError: k must be a whole number of passages from 1 to 20; found the text "abc". Send a number ...
    """
    if value is None:
        return default
    number = value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if number is not None and 1 <= number <= MAX_K and float(number).is_integer():
        return int(number)
    raise ValueError(
        f"k must be a whole number of passages from 1 to {MAX_K}; found {describe(value)}. "
        f"Send a number such as {default} (the default)."
    )


def flag_arg(value: object, name: str, default: bool) -> bool:
    """A yes/no argument: true or false (or the text "true"/"false"); null is ``default``.

    >>> flag_arg(False, "use_llm", True), flag_arg("TRUE", "use_llm", False), flag_arg(None, "use_llm", True)
    (False, True, True)
    >>> flag_arg("no", "use_llm", True)
    Traceback (most recent call last):
    ValueError: use_llm must be true or false; found the text "no". Send false to quote the passages, ...
    """
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError(
        f"{name} must be true or false; found {describe(value)}. "
        "Send false to quote the passages, true to generate."
    )


def doc_id_arg(value: object) -> str:
    """An article's id, as ``/articles`` lists it.

    >>> doc_id_arg(" zh_5g ")
    'zh_5g'
    >>> doc_id_arg("")
    Traceback (most recent call last):
    ValueError: doc_id must be the id of an article, as /articles lists it (...); found the text "". ...
    """
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise ValueError(
        'doc_id must be the id of an article, as /articles lists it (e.g. "zh_5g"); '
        f"found {describe(value)}. Send one of those ids."
    )


@dataclass(frozen=True)
class AnswerArgs:
    question: str
    history: list[tuple[str, str]]
    lang: str
    k: int
    use_llm: bool


def answer_args(
    question: object,
    history: object,
    lang: object,
    k: object,
    use_llm: object,
    default_k: int = 5,
    default_llm: bool = True,
) -> AnswerArgs:
    """The ``/answer`` endpoint's arguments checked; ``ValueError`` on the first bad one.

    >>> answer_args("深圳？", None, "en", 3, "false")
    AnswerArgs(question='深圳？', history=[], lang='en', k=3, use_llm=False)
    """
    return AnswerArgs(
        question_arg(question),
        history_arg(history),
        lang_arg(lang),
        k_arg(k, default_k),
        flag_arg(use_llm, "use_llm", default_llm),
    )
