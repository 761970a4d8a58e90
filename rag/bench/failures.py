"""Why an answer failed: one class for every wrong or refused answer of an evaluation run.

Works on the per-question records of ``rag.bench.evaluation`` (``Result.to_json``), which carry what the
pipeline's ``Trace`` saw: the passages given to the generator (``evidence``), the draft a check
withdrew (``draft``) and what stopped an abstaining answer (``stopped_by``).

The classes, in the order they are decided:

* ``answered unanswerable``: the sources do not hold an answer and the system gave one;
* ``retrieval miss``: no source article among the top k passages retrieved;
* ``withdrawn``: a check withdrew a draft that was right;
* ``refused``: the model wrote NO_ANSWER, the pre-generation gate fired, a check withdrew a draft
  that was wrong, or nothing relevant was found although a source article was retrieved;
* ``scoring``: the answer states the expected figure in another form the matcher missed (same
  value: "46,000" for "4.6万");
* ``reading error``: the expected answer was in the evidence given to the model, the answer is wrong;
* ``evidence cut``: a source article was retrieved but the passages given to the model do not hold
  the expected answer.

Whether the evidence holds the answer is decided on the answer strings (``contains_answers``) or on
the value of a figure in them, so an answer given in the other language's words is not seen: such
questions count as evidence cuts. Each failure record also says whether the evidence held the
answer, so refusals with the answer in hand can be told apart.

Does not run questions (``rag.bench.evaluation``) or format tables (``rag.bench.report``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from rag.bench.scoring import contains_answers
from rag.text.figures import figure_key, find_figures

CLASSES = (
    "retrieval miss",
    "evidence cut",
    "reading error",
    "refused",
    "withdrawn",
    "scoring",
    "answered unanswerable",
)


def same_figure(text: str, answers: Sequence[str]) -> bool:
    """Whether ``text`` states the value of a figure of ``answers`` (in any of its written forms).

    >>> same_figure("about 46,000 stations [1]", ["4.6万"]), same_figure("4.6 million", ["4.6万"])
    (True, False)
    >>> same_figure("占全球七分之一", ["1/7"]), same_figure("增长12%", ["12万"])
    (True, False)
    """
    wanted = {figure_key(f) for a in answers for f in find_figures(a)}
    return bool(wanted) and any(figure_key(f) in wanted for f in find_figures(text))


def evidence_holds(record: dict) -> bool:
    """Whether the evidence given to the model holds the expected answer (its words or a figure's value)."""
    evidence = "\n".join(record.get("evidence") or [])
    answers = record["answers"]
    if contains_answers(evidence, answers, record["all"]):
        return True
    return not record["all"] and same_figure(evidence, answers)


def classify(record: dict, k: int = 5) -> str | None:
    """The failure class of one evaluation record, or None when it was right.

    >>> base = {"answers": ["4.6万"], "all": False, "sources": ["a"], "retrieved": ["b", "a"],
    ...         "evidence": ["建成5G基站4.6万个"], "draft": "", "stopped_by": ""}
    >>> classify({**base, "correct": True, "abstained": False, "answer": "4.6万 [1]"})
    >>> classify({**base, "correct": False, "abstained": False, "answer": "46,000 [1]"})
    'scoring'
    >>> classify({**base, "correct": False, "abstained": False, "answer": "4.7万 [1]"})
    'reading error'
    >>> classify({**base, "correct": False, "abstained": False, "answer": "4.7万", "evidence": ["其他"]})
    'evidence cut'
    >>> classify({**base, "correct": False, "abstained": True, "answer": "", "draft": "4.6万 [1]",
    ...           "stopped_by": "check"})
    'withdrawn'
    >>> classify({**base, "correct": False, "abstained": True, "answer": "", "stopped_by": "model"})
    'refused'
    >>> classify({**base, "correct": False, "abstained": False, "answer": "x", "retrieved": ["b"]})
    'retrieval miss'
    >>> classify({**base, "answers": [], "correct": False, "abstained": False, "answer": "x"})
    'answered unanswerable'
    """
    if record["correct"]:
        return None
    answers = record["answers"]
    if not answers:
        return "answered unanswerable"
    if not set(record["retrieved"][:k]) & set(record["sources"]):
        return "retrieval miss"
    if record["abstained"]:
        draft = record.get("draft") or ""
        if record.get("stopped_by") == "check" and contains_answers(draft, answers, record["all"]):
            return "withdrawn"
        return "refused"
    if not record["all"] and same_figure(record["answer"], answers):
        return "scoring"
    return "reading error" if evidence_holds(record) else "evidence cut"


def failure_report(records: Sequence[dict], k: int = 5) -> dict:
    """Counts per class, overall and per question kind, and the failed questions with their class.

    >>> recs = [{"id": "q1", "kind": "fact", "correct": True, "answers": ["1"], "all": False}]
    >>> failure_report(recs)["counts"]
    {}
    """
    failed = []
    for r in records:
        cls = classify(r, k)
        if cls is not None:
            holds = bool(r["answers"]) and evidence_holds(r)
            failed.append(
                {
                    "id": r["id"],
                    "kind": r.get("kind") or "-",
                    "class": cls,
                    "evidence_holds_answer": holds,
                    "stopped_by": r.get("stopped_by", ""),
                }
            )
    by_kind: dict[str, Counter] = {}
    for f in failed:
        by_kind.setdefault(f["kind"], Counter())[f["class"]] += 1
    counts = Counter(f["class"] for f in failed)
    return {
        "counts": {c: counts[c] for c in CLASSES if counts[c]},
        "by_kind": {kind: {c: n[c] for c in CLASSES if n[c]} for kind, n in sorted(by_kind.items())},
        "failed": failed,
    }
