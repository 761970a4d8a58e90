"""XQuAD through the chat's own answer path: one file's paragraphs indexed, a parallel file's questions asked.

Every paragraph of the passages file becomes one document (``p0``, ``p1``… in file order) in a
temporary index; the questions of a parallel file are asked. A question's gold paragraph is the
paragraph of the passages file holding the same question id (by position when the id is absent).
Reports hit@1/3/5, MRR, SQuAD-style answer F1 and exact match (``squad_tokens``: Han characters
count one token each, as in MLQA's evaluation) and "contains" (the answer contains a gold answer,
``rag.bench.scoring.normalize``), labelled questions→passages, e.g. "en→zh" for English questions
over Chinese paragraphs. Does not download data or modify the files.
"""

from __future__ import annotations

import json
import re
import tempfile
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rag.bench.benchmarks import answer_body, new_pipeline, passage_document, run_modes
from rag.bench.scoring import (
    HIT_KS,
    answer_language,
    contains_answers,
    first_hit_rank,
    latency_summary,
    retrieval_metrics,
    share,
)
from rag.config import Settings
from rag.errors import QuestionSetError
from rag.models.embedding import Embedder, SentenceTransformerEmbedder
from rag.models.generator import Generator
from rag.text.lang import HAN, detect_lang
from rag.types import Answer, Hit, Timings


@dataclass(frozen=True)
class XquadQuestion:
    id: str
    question: str
    answers: tuple[str, ...]
    paragraph: int  # position of its paragraph in the file, counted across articles
    article: int = 0  # position of its article in the file


@dataclass(frozen=True)
class XquadFile:
    path: Path
    lang: str
    paragraphs: tuple[str, ...]
    questions: tuple[XquadQuestion, ...]


def load_xquad(path: Path) -> XquadFile:
    """Read a file in SQuAD 1.1 / XQuAD format: {"data": [{"paragraphs": [{"context", "qas"}]}]}."""
    expected = (
        'SQuAD/XQuAD JSON: {"data": [{"paragraphs": [{"context": str, '
        '"qas": [{"id", "question", "answers"}]}]}]}'
    )
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise QuestionSetError(f"cannot read {path}: {exc}. Expected {expected}") from exc
    articles = data.get("data") if isinstance(data, dict) else None
    if not isinstance(articles, list):
        raise QuestionSetError(f"{path}: expected {expected}, found no 'data' list")
    paragraphs: list[str] = []
    questions: list[XquadQuestion] = []
    for a, article in enumerate(articles):
        for p, par in enumerate(article.get("paragraphs", []) if isinstance(article, dict) else []):
            where = f"{path}: data[{a}].paragraphs[{p}]"
            if not isinstance(par, dict) or not isinstance(par.get("context"), str):
                raise QuestionSetError(f"{where}: expected an object with a 'context' string")
            for i, qa in enumerate(par.get("qas", [])):
                try:
                    answers = tuple(x["text"] for x in qa["answers"])
                    q = XquadQuestion(str(qa["id"]), qa["question"], answers, len(paragraphs), a)
                    questions.append(q)
                except (KeyError, TypeError):
                    raise QuestionSetError(
                        f"{where}.qas[{i}]: expected {{'id', 'question', 'answers': [{{'text'}}]}}"
                    ) from None
            paragraphs.append(par["context"])
    if not paragraphs:
        raise QuestionSetError(f"{path}: no paragraphs found; expected {expected}")
    lang = detect_lang(" ".join(paragraphs[:20]))
    return XquadFile(Path(path), lang, tuple(paragraphs), tuple(questions))


def squad_tokens(text: str) -> list[str]:
    """SQuAD answer normalisation (lower case, no punctuation or English articles), then tokens:
    each Han character is one token, other runs split at spaces.

    >>> squad_tokens("The Panthers' defense: 308 points!"), squad_tokens("黑豹队丢了 308分。")
    (['panthers', 'defense', '308', 'points'], ['黑', '豹', '队', '丢', '了', '308', '分'])
    """
    t = unicodedata.normalize("NFKC", text).lower()
    t = "".join(ch for ch in t if unicodedata.category(ch)[0] not in "PS")
    t = re.sub(r"\b(a|an|the)\b", " ", t)
    return re.findall(rf"[{HAN}]|[^\s{HAN}]+", t)


def squad_f1(prediction: str, gold: str) -> float:
    """Token-overlap F1 of SQuAD.

    >>> squad_f1("At Levi's Stadium", "Levi's Stadium"), round(squad_f1("在李维斯体育场", "李维斯体育场"), 4)
    (0.8, 0.9231)
    """
    pred, ref = squad_tokens(prediction), squad_tokens(gold)
    common = sum((Counter(pred) & Counter(ref)).values())
    if not pred or not ref or not common:
        return float(pred == ref)
    p, r = common / len(pred), common / len(ref)
    return 2 * p * r / (p + r)


def run_xquad(
    passages_path: Path,
    questions_path: Path,
    settings: Settings,
    embedder: Embedder | None = None,
    generator: Generator | None = None,
    limit: int | None = None,
    progress: bool = True,
    articles: tuple[int, int] | None = None,
) -> dict:
    """Index the paragraphs of ``passages_path``, ask the first ``limit`` questions of ``questions_path``.

    ``articles=(a, b)`` asks only the questions of articles a..b-1 (0-based, file order), e.g. to
    tune on one half and confirm on the other; every paragraph is indexed all the same."""
    from tqdm import tqdm

    passages, asked = load_xquad(passages_path), load_xquad(questions_path)
    questions, gold = _asked(passages, asked, limit, articles)
    docs = [passage_document(f"p{n}", text, passages.path.name) for n, text in enumerate(passages.paragraphs)]
    k = settings.top_k
    embedder = embedder or SentenceTransformerEmbedder.from_settings(settings)
    records, timings = [], []
    with tempfile.TemporaryDirectory(prefix="rag-xquad-") as tmp:
        pipeline = new_pipeline(settings, docs, Path(tmp) / "index", embedder, generator, None, progress)
        for q, g in tqdm(
            list(zip(questions, gold, strict=True)), desc="xquad", unit="question", disable=not progress
        ):
            answer = pipeline.ask(q.question, k=k)
            # second search for hit@5 and MRR, as in rag.bench.evaluation.run
            hits = pipeline.retriever.search(q.question, max(k, *HIT_KS)).hits
            timings.append(answer.timings)
            records.append(_record(q, g, answer, hits, asked.lang))
        pipeline.store.close()
    run = {
        "k": k,
        "passages_file": str(passages_path),
        "questions_file": str(questions_path),
        "limit": limit,
        "articles": f"{articles[0]}:{articles[1]}" if articles else "all",
    }
    return _result(records, timings, f"{asked.lang}→{passages.lang}", len(docs), run)


def _asked(
    passages: XquadFile, asked: XquadFile, limit: int | None, articles: tuple[int, int] | None
) -> tuple[tuple[XquadQuestion, ...], list[int]]:
    """The questions asked (of ``articles``, the first ``limit``) and the position of each one's gold
    paragraph in ``passages``; raises when the files are not parallel."""
    position = {q.id: q.paragraph for q in passages.questions}
    questions = asked.questions
    if articles:
        questions = tuple(q for q in questions if articles[0] <= q.article < articles[1])
    questions = questions[:limit] if limit else questions
    gold = [position.get(q.id, q.paragraph) for q in questions]
    if any(g >= len(passages.paragraphs) for g in gold):
        raise QuestionSetError(
            f"{asked.path} has questions beyond the {len(passages.paragraphs)} "
            f"paragraphs of {passages.path}: the files are not parallel"
        )
    return questions, gold


def _record(q: XquadQuestion, gold: int, answer: Answer, hits: Sequence[Hit], lang: str) -> dict:
    """One question's JSON record: the answer, its scores and where its paragraph was retrieved."""
    body = answer_body(answer)
    return {
        "id": q.id, "question": q.question, "answers": list(q.answers), "paragraph": f"p{gold}",
        "answer": answer.text, "mode": answer.mode, "abstained": answer.abstained,
        "hit_rank": first_hit_rank(hits, [f"p{gold}"]), "retrieved": [h.chunk.doc_id for h in hits],
        "f1": round(max(squad_f1(body, a) for a in q.answers), 4),
        "exact_match": max(squad_tokens(body) == squad_tokens(a) for a in q.answers),
        "contains": bool(body) and contains_answers(body, q.answers),
        "language_match": _language_match(answer, lang),
        "citations": [c.doc_id for c in answer.citations],
        "cited_texts": [c.text for c in answer.citations],
        "unverified_figures": list(answer.unverified_figures), "notices": list(answer.notices),
        "timings": answer.timings.to_json(),
    }  # fmt: skip


def _result(records: list[dict], timings: list[Timings], pair: str, n_paragraphs: int, run: dict) -> dict:
    """The JSON report: retrieval and answer metrics, latency, the run's settings and the records."""
    return {
        "benchmark": "xquad",
        "pair": pair,
        "n": len(records),
        "n_paragraphs": n_paragraphs,
        "retrieval": retrieval_metrics([r["hit_rank"] for r in records]),
        "answer": {
            "f1": _mean(r["f1"] for r in records),
            "exact_match": share(r["exact_match"] for r in records),
            "contains": share(r["contains"] for r in records),
        },
        "abstained": share(r["abstained"] for r in records),
        "language_match": share(r["language_match"] for r in records if r["language_match"] is not None),
        "latency_ms": latency_summary(timings),
        "run": {"mode": run_modes(records), **run},
        "questions": records,
    }


def _language_match(answer: Answer, lang: str) -> bool | None:
    found = answer_language(answer.text)
    return None if found is None else found == lang


def _mean(values) -> float | None:
    v = list(values)
    return round(sum(v) / len(v), 4) if v else None
