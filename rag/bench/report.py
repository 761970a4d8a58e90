"""Tables and a chart for evaluation and benchmark results.

Works on the JSON-ready dicts that ``rag.bench.evaluation.summarise``, ``rag.bench.xquad`` and
``rag.bench.rgb`` return (or the files ``--json`` saved). ``summary_tables`` and ``bench_table``
give Markdown tables, readable in a terminal too (with the failure classes of
``rag.bench.failures``); ``write_report`` writes ``report.md`` (the tables and the questions
answered wrongly, each with its failure class) and ``report.png`` (hit@k by question language
and by language pair, and the latency distribution). Charts use matplotlib's Agg canvas without
pyplot (no display, no global state) and ASCII labels (the default font has no Chinese).

Does not compute metrics.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

_RETRIEVAL = ("hit@1", "hit@3", "hit@5", "mrr")


def pct(v: float | None) -> str:
    """``pct(0.8333)`` -> '83.3%'; None -> '–'."""
    return "–" if v is None else f"{v:.1%}"


def ms(v: float | None) -> str:
    """``ms(1234.5)`` -> '1,234'; below 10 ms one decimal."""
    return "–" if v is None else f"{v:,.1f}" if v < 10 else f"{v:,.0f}"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table.

    >>> print(table(["a", "b"], [["1", "x|y"]]))
    | a | b |
    |---|---|
    | 1 | x\\|y |
    """

    def cell(s: object) -> str:
        return str(s).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(map(cell, header)) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(map(cell, row)) + " |" for row in rows]
    return "\n".join(lines)


def _metric_row(name: str, m: dict) -> list[str]:
    r = m["retrieval"]
    return [
        name,
        str(m["n"]),
        *(pct(r[k]) if k != "mrr" else ("–" if r[k] is None else f"{r[k]:.3f}") for k in _RETRIEVAL),
        pct(m["answer_accuracy"]),
        pct(m["abstention_accuracy"]),
        pct(m["language_match"]),
        pct(m["citation_precision"]),
    ]


_GROUP_HEADER = [
    "",
    "n",
    "hit@1",
    "hit@3",
    "hit@5",
    "MRR",
    "answer acc.",
    "abstention acc.",
    "language match",
    "citation prec.",
]


def summary_tables(result: dict) -> str:
    """Markdown: overall metrics, then one table per breakdown (language, language pair, kind, turn)."""
    run = result.get("run", {})
    lat = result["latency_ms"]
    head = (
        f"{result['n']} questions ({result['n_answerable']} answerable), k={run.get('k', '?')}, "
        f"mode {run.get('mode', '?')}"
    )
    lines = [f"### Overall: {head}", "", table(_GROUP_HEADER, [_metric_row("all", result)]), ""]
    extra = [
        ["abstained when answerable", pct(result["abstained_when_answerable"])],
        ["abstained when unanswerable", pct(result["abstained_when_unanswerable"])],
        ["answers too short to tell their language", str(result["language_neutral"])],
    ]
    if "follow_up_accuracy" in result:
        extra.append(["follow-up accuracy (turn ≥ 2)", pct(result["follow_up_accuracy"])])
    extra += [
        ["retrieval p50 (ms)", ms(lat["retrieve_p50"])],
        ["first token p50 (ms)", ms(lat["first_token_p50"])],
        ["total p50 / p95 (ms)", f"{ms(lat['total_p50'])} / {ms(lat['total_p95'])}"],
    ]
    lines += [table(["", "value"], extra), ""]
    breakdowns = (
        ("by_lang", "By question language"),
        ("by_pair", "By language pair (question→sources)"),
        ("by_kind", "By kind"),
        ("by_turn", "By dialogue turn"),
    )
    for key, title in breakdowns:
        if result.get(key):
            rows = [_metric_row(name, m) for name, m in result[key].items()]
            lines += [f"### {title}", "", table(_GROUP_HEADER, rows), ""]
    if result.get("failures", {}).get("failed"):
        lines += ["### Why answers failed", "", failure_table(result["failures"]), ""]
    return "\n".join(lines).rstrip() + "\n"


def failure_table(failures: dict) -> str:
    """Markdown: failures per class (rows) and question kind (columns), from ``rag.bench.failures``.

    >>> print(failure_table({"counts": {"refused": 2}, "by_kind": {"fact": {"refused": 2}},
    ...                      "failed": [{"class": "refused", "evidence_holds_answer": True}] * 2}))
    | class | all | answer in evidence | fact |
    |---|---|---|---|
    | refused | 2 | 2 | 2 |
    """
    kinds = list(failures["by_kind"])
    rows = []
    for cls, n in failures["counts"].items():
        held = sum(f["evidence_holds_answer"] for f in failures["failed"] if f["class"] == cls)
        rows.append([cls, str(n), str(held), *(str(failures["by_kind"][k].get(cls, 0)) for k in kinds)])
    return table(["class", "all", "answer in evidence", *kinds], rows)


def bench_table(result: dict) -> str:
    """One Markdown table for an XQuAD or RGB run."""
    lat = result["latency_ms"]
    if result["benchmark"] == "xquad":
        r, a = result["retrieval"], result["answer"]
        header = [
            "pair",
            "n",
            "paragraphs",
            "hit@1",
            "hit@5",
            "MRR",
            "F1",
            "EM",
            "contains",
            "abstained",
            "total p50 ms",
        ]
        row = [
            result["pair"],
            str(result["n"]),
            str(result["n_paragraphs"]),
            pct(r["hit@1"]),
            pct(r["hit@5"]),
            "–" if r["mrr"] is None else f"{r['mrr']:.3f}",
            pct(a["f1"]),
            pct(a["exact_match"]),
            pct(a["contains"]),
            pct(result["abstained"]),
            ms(lat["total_p50"]),
        ]
    else:
        header = [
            "data",
            "noise rate",
            "passages",
            "n",
            "accuracy",
            "rejection rate",
            "abstained",
            "citation prec.",
            "total p50 ms",
        ]
        row = [
            result["data"],
            f"{result['noise_rate']:g}",
            str(result["passages"]),
            str(result["n"]),
            pct(result["accuracy"]),
            pct(result["rejection_rate"]),
            pct(result["abstained"]),
            pct(result["citation_precision"]),
            ms(lat["total_p50"]),
        ]
    title = f"### {result['benchmark']} ({result['run']['mode']})"
    return f"{title}\n\n{table(header, [row])}\n"


def save_json(result: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def _wrong_answers(result: dict, limit: int = 200) -> str:
    def short(s: str, n: int = 90) -> str:
        s = " ".join(s.split())
        return s if len(s) <= n else s[: n - 1] + "…"

    why = {f["id"]: f["class"] for f in result.get("failures", {}).get("failed", [])}
    rows = [
        [
            q["id"],
            why.get(q["id"], "–"),
            short(q["question"], 60),
            short(" / ".join(q["answers"]) or "(abstain)", 40),
            short(q["answer"] + (f" (withdrawn draft: {q['draft']})" if q.get("draft") else "")),
            "–" if q["hit_rank"] is None else str(q["hit_rank"]),
        ]
        for q in result["questions"]
        if not q["correct"]
    ]
    if not rows:
        return "All answers were correct.\n"
    more = f"\n\n(and {len(rows) - limit} more)" if len(rows) > limit else ""
    header = ["id", "why", "question", "expected", "answer", "hit rank"]
    return table(header, rows[:limit]) + more + "\n"


def write_report(result: dict, out_dir: Path, title: str = "Evaluation report") -> list[Path]:
    """Write ``report.md`` and ``report.png`` into ``out_dir``; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    png = out_dir / "report.png"
    chart(result, png)
    run = result.get("run", {})
    info = ", ".join(f"{k}: {v}" for k, v in run.items())
    md = [
        f"# {title}",
        "",
        info,
        "",
        summary_tables(result),
        f"![hit@k and latency]({png.name})",
        "",
        "### Wrong answers",
        "",
        _wrong_answers(result),
    ]
    path = out_dir / "report.md"
    path.write_text("\n".join(md), encoding="utf-8")
    return [path, png]


def chart(result: dict, path: Path) -> None:
    """Three panels: hit@k by question language, hit@k by language pair, latency histogram."""
    import numpy as np
    from matplotlib.figure import Figure

    fig = Figure(figsize=(16, 4.8), layout="constrained")
    ax_lang, ax_pair, ax_lat = fig.subplots(1, 3, width_ratios=[1, 1.4, 1.2])
    _hit_bars(ax_lang, {"all": result, **result.get("by_lang", {})}, "hit@k by question language")
    _hit_bars(ax_pair, result.get("by_pair", {}), "hit@k by language pair (question→sources)")
    totals = [q["timings"]["total_ms"] for q in result["questions"]]
    retrieves = [q["timings"]["retrieve_ms"] for q in result["questions"]]
    lat = result["latency_ms"]
    # log-spaced bins: retrieval takes milliseconds, generation seconds
    low, high = max(min(retrieves + totals, default=1.0), 0.1), max(retrieves + totals, default=1.0)
    bins = np.geomspace(low, max(high, low * 1.01), 30)
    ax_lat.hist([retrieves, totals], bins=bins, label=["retrieval", "total"], color=["#8fb3d9", "#2b5d8a"])
    ax_lat.set_xscale("log")
    for key, style in (("total_p50", "--"), ("total_p95", ":")):
        if lat[key] is not None:
            label = f"{key.split('_')[1]} {lat[key]:,.0f} ms"
            ax_lat.axvline(lat[key], color="black", linestyle=style, label=label)
    ax_lat.set(title=f"latency per question (n={len(totals)})", xlabel="ms", ylabel="questions")
    ax_lat.legend()
    fig.suptitle(f"{result['n']} questions, mode {result.get('run', {}).get('mode', '?')}")
    fig.savefig(path, dpi=100)


def _hit_bars(ax, groups: dict, title: str) -> None:
    """Grouped bars of hit@1/3/5; ``groups`` maps a label to a metrics dict (``evaluation.metrics``)."""
    import numpy as np

    names = list(groups)
    x = np.arange(len(names))
    for i, k in enumerate(("hit@1", "hit@3", "hit@5")):
        values = [groups[n]["retrieval"][k] or 0.0 for n in names]
        bars = ax.bar(x + (i - 1) * 0.27, values, 0.27, label=k)
        ax.bar_label(bars, labels=[f"{v:.0%}" for v in values], fontsize=7)
    ax.set_xticks(x, [f"{n}\n(n={groups[n]['n_answerable']})" for n in names])
    ax.set(title=title, ylim=(0, 1.25), ylabel="share of answerable questions")
    ax.legend(loc="upper center", ncols=3, fontsize=8)
