"""Score the chat's pipeline on a question set: retrieval, answers, abstention, language, citations.

A question set is JSON Lines in one of two formats, told apart by the first line
(eval/README.md describes both)::

    {"id": "q01", "lang": "zh", "question": "...", "answers": ["3.7万亿"], "all": false,
     "sources": ["000_862134049d5dfa6d"], "kind": "fact"}
    {"id": "d01", "lang": "zh", "kind": "follow-up",
     "turns": [{"question": "...", "answers": ["4.6万"], "sources": ["..."], "all": false}, ...]}

A single question is a dialogue of one turn; later turns are asked with the earlier
(question, answer) pairs as history, as the chat does. The whole file is checked before any
question is asked: a bad line raises ``QuestionSetError`` with its line number, what was
expected and what was found.

Definitions (``None`` where nothing could be measured):

* hit rank: rank of the first retrieved passage of any ``sources`` document among the top
  ``max(k, 5)``; hit@n = share of answerable questions with rank <= n; MRR = mean 1/rank,
  0 when the sources are not in the top ``max(k, 5)``.
* correct: an answerable question is correct when the system did not abstain and the
  normalised answer contains any (``"all": true``: every) normalised ``answers`` string; an
  unanswerable one (``answers: []``) when the system abstained. ``answer_accuracy`` is the
  share of all questions that are correct.
* ``abstention_accuracy``: share of all questions where the decision to abstain was right
  (abstained exactly when unanswerable), whatever the answer says.
* ``language_match``: share of answers written in the question's language (``answer_language``);
  answers too short to tell, such as a bare figure, are left out and counted in
  ``language_neutral``.
* ``citation_precision``: over answerable questions that were answered, the cited passages
  from a ``sources`` document divided by all cited passages.

Does not build indexes or load models itself (``open_pipeline`` does, for the CLI) and does
not format tables or charts (``rag.bench.report``).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag.answer.pipeline import Pipeline
from rag.answer.question import check_question, retrieval_query
from rag.bench.failures import failure_report
from rag.config import Settings
from rag.errors import QuestionError, RagError
from rag.text.figures import CITATION_MARKER
from rag.text.lang import HAN, detect_lang, han_count
from rag.types import Answer, Hit, Timings

HIT_KS = (1, 3, 5)
FORMAT_HELP = "see eval/README.md for the format"


class QuestionSetError(RagError):
    """A question-set or benchmark file cannot be used (bad JSON, missing key, unknown source)."""


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


# --------------------------------------------------------------------------- loading

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


# --------------------------------------------------------------------------- judging

_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_SPACE_BY_HAN = re.compile(rf"\s+(?=[{HAN}])|(?<=[{HAN}])\s+")


def normalize(text: str) -> str:
    """Text as answers are compared: NFKC (full-width to half-width), case-folded, citation
    markers and thousands separators removed, whitespace collapsed and dropped beside Han characters.

    >>> normalize("ＧＤＰ of ４６，６００ Base Stations [1]，约 4.6 万个")
    'gdp of 46600 base stations ,约4.6万个'
    """
    t = unicodedata.normalize("NFKC", text).casefold()
    t = CITATION_MARKER.sub("", t)
    t = _THOUSANDS.sub("", t)
    t = re.sub(r"\s+", " ", t)
    return _SPACE_BY_HAN.sub("", t).strip()


def contains_answers(text: str, answers: Sequence[str], all_required: bool = False) -> bool:
    """Whether ``text`` contains any (or every) answer string, both sides normalised.

    >>> contains_answers("建成5G基站超4.6万个[1]", ["4.6万", "46,000"])
    True
    >>> contains_answers("2,000", ["2000", "x"], all_required=True)
    False
    """
    if not answers:
        return False
    hay = normalize(text)
    found = [normalize(a) in hay for a in answers]
    return all(found) if all_required else any(found)


def answer_language(text: str) -> str | None:
    """The language an answer is written in, or None when it is too short to tell.

    Citation markers are ignored. An answer with fewer than 2 Han characters and fewer than
    4 Latin letters (a bare figure such as "46,600 [1]", "52.6%" or "5G") is neutral: it
    reads the same in both languages. A gloss in brackets (an English name's Chinese original,
    a Chinese figure's English value) does not count when the rest of the answer can tell.

    >>> answer_language("约4.6万个[1]。"), answer_language("About 46,000 [1]."), answer_language("46,600 [1]")
    ('zh', 'en', None)
    >>> answer_language("Li Qin (李钦) [1]."), answer_language("总产值3.7万亿元（572 billion US dollars）")
    ('en', 'zh')
    """
    t = CITATION_MARKER.sub("", unicodedata.normalize("NFKC", text))
    unglossed = re.sub(r"\([^()]*\)", "", t)
    if _tells(unglossed):
        return detect_lang(unglossed)
    return detect_lang(t) if _tells(t) else None


def _tells(text: str) -> bool:
    """Whether ``text`` has enough letters to tell its language (2 Han, or 4 Latin letters)."""
    return han_count(text) >= 2 or len(re.findall(r"[A-Za-z]", text)) >= 4


def first_hit_rank(hits: Sequence[Hit], sources: Iterable[str]) -> int | None:
    """Rank of the first hit from one of ``sources``, None when none was retrieved."""
    gold = set(sources)
    return next((h.rank for h in hits if h.chunk.doc_id in gold), None)


def is_correct(q: Question, answer: Answer) -> bool:
    if not q.answerable:
        return answer.abstained
    return not answer.abstained and contains_answers(answer.text, q.answers, q.all_required)


@dataclass(frozen=True)
class Result:
    question: Question
    answer: Answer
    hit_rank: int | None  # see first_hit_rank; None also for unanswerable questions
    retrieved: tuple[str, ...]  # doc ids of the top max(k, 5) passages, best first
    pair: str  # "en→zh": question language → languages of its sources ("" when it has none)

    @property
    def correct(self) -> bool:
        return is_correct(self.question, self.answer)

    @property
    def answer_lang(self) -> str | None:
        return answer_language(self.answer.text)

    @property
    def language_match(self) -> bool | None:
        lang = self.answer_lang
        return None if lang is None else lang == self.question.lang

    def to_json(self) -> dict:
        q, a = self.question, self.answer
        return {
            "id": q.id, "dialogue": q.dialogue, "turn": q.turn, "line": q.line, "lang": q.lang,
            "kind": q.kind, "pair": self.pair, "question": q.question, "answers": list(q.answers),
            "all": q.all_required, "sources": list(q.sources), "answer": a.text,
            "answer_lang": self.answer_lang, "mode": a.mode, "abstained": a.abstained,
            "correct": self.correct, "language_match": self.language_match, "hit_rank": self.hit_rank,
            "retrieved": list(self.retrieved), "citations": [c.doc_id for c in a.citations],
            "cited_chunks": [c.chunk_id for c in a.citations], "cited_texts": [c.text for c in a.citations],
            "unverified_figures": list(a.unverified_figures), "timings": a.timings.to_json(),
            "notices": list(a.notices), "evidence": list(a.trace.evidence), "draft": a.trace.draft,
            "stopped_by": a.trace.stopped_by,
        }  # fmt: skip


# --------------------------------------------------------------------------- running


def open_pipeline(settings: Settings, build_corpus: bool = False, progress: bool = True) -> Pipeline:
    """The chat's pipeline for ``settings``; with ``build_corpus``, first index ``settings.corpus_dir``
    into ``settings.index_dir`` (incremental: nearly free when the index is up to date)."""
    from rag.models.embedding import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder.from_settings(settings)
    if build_corpus:
        from rag.index.sync import build

        build(settings, embedder, progress=progress)
    return Pipeline.load(settings, embedder)


def run(qs: QuestionSet, pipeline: Pipeline, k: int | None = None, progress: bool = True) -> list[Result]:
    """Ask every question (each dialogue's turns in order, with history) and judge the answers."""
    from tqdm import tqdm

    k = k or pipeline.settings.top_k
    doc_lang = {d.doc_id: d.lang for d in pipeline.store.docs()}
    check_sources(qs, doc_lang)
    results = []
    with tqdm(total=len(qs), desc=f"eval {qs.path.name}", unit="question", disable=not progress) as bar:
        for dialogue in qs.dialogues:
            history: list[tuple[str, str]] = []
            for q in dialogue:
                answer = pipeline.ask(q.question, history, k=k)
                # Answer does not carry the hits it was built from, so retrieval is scored with a
                # second search for the same query over max(k, 5) passages (enough for hit@5 with
                # any k); it costs one more query embedding, a few milliseconds.
                hits = pipeline.retriever.search(retrieval_query(q.question, history), max(k, *HIT_KS)).hits
                langs = sorted({doc_lang[s] for s in q.sources})
                pair = f"{q.lang}→{'+'.join(langs)}" if langs else ""
                results.append(
                    Result(
                        q, answer, first_hit_rank(hits, q.sources), tuple(h.chunk.doc_id for h in hits), pair
                    )
                )
                history.append((q.question, answer.text))
                bar.update()
    return results


# --------------------------------------------------------------------------- summarising


def share(flags: Iterable[bool]) -> float | None:
    """Fraction of true values, rounded to 4 places; None for no values."""
    values = list(flags)
    return round(sum(values) / len(values), 4) if values else None


def retrieval_metrics(ranks: Sequence[int | None], ks: Sequence[int] = HIT_KS) -> dict:
    """hit@k and MRR from hit ranks (None = not retrieved).

    >>> retrieval_metrics([1, 2, None, 4])
    {'hit@1': 0.25, 'hit@3': 0.5, 'hit@5': 0.75, 'mrr': 0.4375}
    """
    out: dict[str, float | None] = {f"hit@{k}": share(r is not None and r <= k for r in ranks) for k in ks}
    out["mrr"] = round(float(np.mean([1 / r if r else 0.0 for r in ranks])), 4) if ranks else None
    return out


def percentile(values: Sequence[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 1) if len(values) else None


def latency_summary(timings: Sequence[Timings]) -> dict:
    """Medians (and the 95th percentile of the total) in ms; first token only where a model wrote."""
    total = [t.total_ms for t in timings]
    return {
        "retrieve_p50": percentile([t.retrieve_ms for t in timings], 50),
        "first_token_p50": percentile([t.first_token_ms for t in timings if t.first_token_ms > 0], 50),
        "total_p50": percentile(total, 50),
        "total_p95": percentile(total, 95),
    }


def metrics(results: Sequence[Result]) -> dict:
    answerable = [r for r in results if r.question.answerable]
    unanswerable = [r for r in results if not r.question.answerable]
    answered = [r for r in answerable if not r.answer.abstained]
    judged = [m for m in (r.language_match for r in results) if m is not None]
    return {
        "n": len(results),
        "n_answerable": len(answerable),
        "retrieval": retrieval_metrics([r.hit_rank for r in answerable]),
        "answer_accuracy": share(r.correct for r in results),
        "abstention_accuracy": share(r.answer.abstained != r.question.answerable for r in results),
        "abstained_when_answerable": share(r.answer.abstained for r in answerable),
        "abstained_when_unanswerable": share(r.answer.abstained for r in unanswerable),
        "language_match": share(judged),
        "language_neutral": len(results) - len(judged),
        "citation_precision": share(
            c.doc_id in r.question.sources for r in answered for c in r.answer.citations
        ),
    }


def _groups(results: Sequence[Result], key: Callable[[Result], str]) -> dict:
    keys = sorted({key(r) for r in results})
    return {k: metrics([r for r in results if key(r) == k]) for k in keys}


def summarise(results: Sequence[Result], **run_info: Any) -> dict:
    """The JSON report: overall metrics, latency, breakdowns and one record per question."""
    out = metrics(results)
    out["latency_ms"] = latency_summary([r.answer.timings for r in results])
    out["by_lang"] = _groups(results, lambda r: r.question.lang)
    out["by_kind"] = _groups(results, lambda r: r.question.kind or "-")
    out["by_pair"] = _groups([r for r in results if r.pair], lambda r: r.pair)
    if any(r.question.dialogue for r in results):
        out["by_turn"] = _groups(results, lambda r: str(r.question.turn))
        out["follow_up_accuracy"] = share(r.correct for r in results if r.question.turn >= 2)
    modes = sorted({r.answer.mode for r in results})
    out["run"] = {"mode": "+".join(modes), **run_info}
    out["questions"] = [r.to_json() for r in results]
    out["failures"] = failure_report(out["questions"], k=run_info.get("k") or 5)
    return out
