"""Question sets: the JSON Lines format of ``rag eval``, read and checked before any question is asked.

Two formats, told apart by the first line (eval/README.md describes both)::

    {"id": "q01", "lang": "zh", "question": "...", "answers": ["3.7万亿"], "all": false,
     "sources": ["000_862134049d5dfa6d"], "kind": "fact"}
    {"id": "d01", "lang": "zh", "kind": "follow-up",
     "turns": [{"question": "...", "answers": ["4.6万"], "sources": ["..."], "all": false}, ...]}

A single question is a dialogue of one turn. The whole file is checked: a bad line raises
``QuestionSetError`` with its line number, what was expected and what was found. Does not ask
questions or judge answers (``rag.bench.evaluation``, ``rag.bench.scoring``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.answer.question.check import check_question
from rag.errors import QuestionError, QuestionSetError

FORMAT_HELP = "see eval/README.md for the format"


@dataclass(frozen=True)
class Question:
    id: str  # "q01"; a dialogue turn is "<dialogue id>.<turn>", e.g. "d01.2"
    lang: str  # "zh" or "en", the language the question is written in
    question: str
    answers: tuple[str, ...]  # acceptable answer strings; () = unanswerable
    all_required: bool  # True: every answer string must appear ("all" in the file)
    sources: tuple[str, ...]  # ids of the documents that hold the answer
    kind: str  # free text, for grouping
    line: int  # 1-based line in the file
    dialogue: str = ""  # dialogue id; "" for a single question
    turn: int = 1

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


@dataclass(frozen=True)
class QuestionSet:
    path: Path
    format: str  # "questions" or "dialogues"
    dialogues: tuple[tuple[Question, ...], ...]  # a single question is a dialogue of one turn

    def __len__(self) -> int:
        return sum(len(d) for d in self.dialogues)


_REQUIRED = object()


def _is_text(v: object) -> bool:
    return isinstance(v, str) and bool(v.strip())


def _is_texts(v: object) -> bool:
    return isinstance(v, list) and all(_is_text(x) for x in v)


def _get(
    obj: dict, key: str, where: str, check: Callable[[Any], bool], expected: str, default: Any = _REQUIRED
) -> Any:
    if key not in obj:
        if default is not _REQUIRED:
            return default
        raise QuestionSetError(f"{where}: missing key {key!r}, expected {expected} ({FORMAT_HELP})")
    if not check(obj[key]):
        found = json.dumps(obj[key], ensure_ascii=False)
        raise QuestionSetError(f"{where}: {key!r} should be {expected}, found {found[:80]}")
    return obj[key]


def _question(
    obj: dict,
    line: int,
    where: str,
    dialogue: str = "",
    turn: int = 1,
    lang: str | None = None,
    kind: str | None = None,
) -> Question:
    qid = f"{dialogue}.{turn}" if dialogue else _get(obj, "id", where, _is_text, "a non-empty string")
    if lang is None or "lang" in obj:
        lang = _get(obj, "lang", where, lambda v: v in ("zh", "en"), '"zh" or "en"')
    text = _get(obj, "question", where, _is_text, "the question, a non-empty string")
    try:
        text = check_question(text)[0]
    except QuestionError as exc:
        raise QuestionSetError(f"{where}: the question cannot be asked: {exc}") from None
    answers = _get(obj, "answers", where, _is_texts, "a list of answer strings ([] = unanswerable)")
    sources = _get(obj, "sources", where, _is_texts, "a list of document ids")
    all_required = _get(obj, "all", where, lambda v: isinstance(v, bool), "true or false", default=False)
    if kind is None:
        kind = _get(obj, "kind", where, lambda v: isinstance(v, str), "a string", default="")
    if answers and not sources:
        raise QuestionSetError(
            f"{where}: 'answers' are given but 'sources' is empty; list the ids of the "
            "documents that hold the answer"
        )
    if sources and not answers:
        raise QuestionSetError(
            f"{where}: 'sources' are given but 'answers' is empty (which means "
            "unanswerable); give the answer strings or empty the sources"
        )
    if all_required and not answers:
        raise QuestionSetError(f"{where}: 'all' is true but 'answers' is empty")
    return Question(qid, lang, text, tuple(answers), all_required, tuple(sources), kind, line, dialogue, turn)


def _dialogue(obj: dict, line: int, where: str) -> tuple[Question, ...]:
    did = _get(obj, "id", where, _is_text, "a non-empty string")
    lang = _get(obj, "lang", where, lambda v: v in ("zh", "en"), '"zh" or "en"')
    kind = _get(obj, "kind", where, lambda v: isinstance(v, str), "a string", default="")
    turns = _get(
        obj,
        "turns",
        where,
        lambda v: isinstance(v, list) and len(v) > 0 and all(isinstance(t, dict) for t in v),
        "a non-empty list of turn objects",
    )
    return tuple(_question(t, line, f"{where}, turn {i}", did, i, lang, kind) for i, t in enumerate(turns, 1))


def load_question_set(path: Path, limit: int | None = None) -> QuestionSet:
    """Read and check a question set; ``limit`` keeps its first lines (questions or dialogues).

    Every line is checked, including those beyond ``limit``.
    """
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise QuestionSetError(
            f"cannot read the question set {path}: {exc}. Expected a UTF-8 JSON Lines file"
        ) from exc
    fmt = ""
    dialogues: list[tuple[Question, ...]] = []
    seen: dict[str, int] = {}
    for n, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        where = f"{path}, line {n}"
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise QuestionSetError(
                f"{where}: not valid JSON ({exc.msg} at column {exc.colno}); expected one "
                f"JSON object per line ({FORMAT_HELP})"
            ) from None
        if not isinstance(obj, dict):
            raise QuestionSetError(
                f"{where}: expected a JSON object, found {type(obj).__name__} ({FORMAT_HELP})"
            )
        this = "dialogues" if "turns" in obj else "questions"
        fmt = fmt or this
        if this != fmt:
            raise QuestionSetError(
                f"{where}: expected a {fmt[:-1]} like the first line of the file, found a "
                f"{this[:-1]} (one format per file)"
            )
        turns = _dialogue(obj, n, where) if fmt == "dialogues" else (_question(obj, n, where),)
        key = turns[0].dialogue or turns[0].id
        if key in seen:
            raise QuestionSetError(
                f"{where}: id {key!r} is already used on line {seen[key]}; ids must be unique"
            )
        seen[key] = n
        dialogues.append(turns)
    if not dialogues:
        raise QuestionSetError(
            f"{path} holds no questions; expected one JSON object per line ({FORMAT_HELP})"
        )
    return QuestionSet(Path(path), fmt, tuple(dialogues[:limit] if limit else dialogues))


def check_sources(qs: QuestionSet, doc_ids: Iterable[str]) -> None:
    """Raise when a question names a source document the index does not hold."""
    known = set(doc_ids)
    unknown = [(q.line, s) for d in qs.dialogues for q in d for s in q.sources if s not in known]
    if unknown:
        shown = "; ".join(f"line {n}: {s!r}" for n, s in unknown[:5])
        example = sorted(known)[0] if known else "none"
        raise QuestionSetError(
            f"{qs.path}: {len(unknown)} source id(s) are not in the index ({shown}). The index holds "
            f"{len(known)} documents (e.g. {example!r}): fix the ids, or index the right corpus with "
            "--corpus."
        )
