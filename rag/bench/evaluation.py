"""Score the chat's pipeline on a question set: retrieval, answers, abstention, language, citations.

The question set (``rag.bench.questions``: JSON Lines, single questions or dialogues) is checked
before any question is asked. A single question is a dialogue of one turn; later turns are asked
with the earlier (question, answer) pairs as history, as the chat does. Answers are judged by
``rag.bench.scoring``.

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

Does not read question sets (``rag.bench.questions``), build indexes or load models itself
(``open_pipeline`` does, for the CLI), or format tables or charts (``rag.bench.report``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rag.answer.pipeline import Pipeline
from rag.answer.question.check import retrieval_query
from rag.bench.failures import failure_report
from rag.bench.questions import Question, QuestionSet, check_sources
from rag.bench.scoring import (
    HIT_KS,
    answer_language,
    first_hit_rank,
    is_correct,
    latency_summary,
    retrieval_metrics,
    share,
)
from rag.config import Settings
from rag.types import Answer


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
