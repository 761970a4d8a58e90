"""RGB through the chat's own answer path: noise robustness and rejection.

Per query, ``passages`` passages are drawn (``rgb_context``) and indexed as the documents of a
temporary index, then the query is asked with k = passages. Accuracy: the answer contains every
part of the gold answer (a part is a string or a list of alternatives, ``rgb_correct``); an
abstention is never correct, though the passages it shows may hold the gold answer; at noise
rate 1.0 the rejection rate (share abstained) is the measure that matters. Does not download data
or modify the files.
"""

from __future__ import annotations

import json
import math
import random
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from rag.bench.benchmarks import answer_body, new_pipeline, passage_document, run_modes
from rag.bench.scoring import latency_summary, normalize, share
from rag.config import Settings
from rag.errors import QuestionSetError
from rag.models.embedding import Embedder, SentenceTransformerEmbedder
from rag.models.generator import Generator
from rag.types import Answer, Document, Timings


@dataclass(frozen=True)
class RgbItem:
    id: str
    query: str
    answer: tuple[tuple[str, ...], ...]  # required parts, each a tuple of alternatives
    positive: tuple[tuple[str, ...], ...]  # groups of passages: one group, or one per part (zh_int)
    negative: tuple[str, ...]


def load_rgb(path: Path) -> list[RgbItem]:
    """Read an RGB file: JSON Lines {"id", "query", "answer", "positive", "negative"}."""
    expected = (
        '{"id", "query", "answer": [str or [alternatives]], "positive": [str] or [[str]], "negative": [str]}'
    )
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise QuestionSetError(f"cannot read {path}: {exc}. Expected JSON Lines {expected}") from exc
    items = []
    for n, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
            parts = tuple(tuple(a) if isinstance(a, list) else (a,) for a in obj["answer"])
            pos = obj["positive"]
            groups = tuple(tuple(g) for g in pos) if pos and isinstance(pos[0], list) else (tuple(pos),)
            positive = tuple(tuple(p for p in g if p.strip()) for g in groups)
            item = RgbItem(
                str(obj["id"]), obj["query"], parts, positive, tuple(p for p in obj["negative"] if p.strip())
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise QuestionSetError(
                f"{path}, line {n}: expected {expected} ({type(exc).__name__}: {exc})"
            ) from None
        if not item.query.strip() or not parts or not all(isinstance(a, str) and a for p in parts for a in p):
            raise QuestionSetError(f"{path}, line {n}: expected a non-empty 'query' and 'answer' strings")
        items.append(item)
    if not items:
        raise QuestionSetError(f"{path} holds no queries; expected JSON Lines {expected}")
    return items


def rgb_context(item: RgbItem, passages: int, noise_rate: float, seed: int = 0) -> list[tuple[str, bool]]:
    """The ``passages`` (text, is_positive) shown for one query, in shuffled order.

    ceil(passages × noise_rate) are negatives and the rest positives, as in RGB's reference
    code (for 5 passages and rates 0.2, 0.4, 0.6, 0.8, 1.0 this is the exact product). Rate 1.0
    means negatives only; below it a shortage of one kind is filled with the other. Positives
    are taken in turn from each group (zh_int: one per answer part first). Sampling is seeded
    by ``seed`` and the query id, so a run is repeatable.
    """
    rng = random.Random(f"{seed}/{item.id}")
    groups = [rng.sample(g, len(g)) for g in item.positive]
    positives = [g[i] for i in range(max(map(len, groups), default=0)) for g in groups if i < len(g)]
    negatives = rng.sample(item.negative, len(item.negative))
    n_neg = min(passages, math.ceil(round(passages * noise_rate, 6)))
    if noise_rate < 1:
        n_neg = max(min(n_neg, len(negatives)), passages - len(positives))
    chosen = [(p, True) for p in positives[: passages - n_neg]] + [(p, False) for p in negatives[:n_neg]]
    rng.shuffle(chosen)
    return chosen


def rgb_correct(text: str, parts: Sequence[Sequence[str]]) -> bool:
    """Every part of the answer appears (any of its alternatives), as RGB's ``checkanswer``.

    >>> rgb_correct("特斯拉131万辆，比亚迪186.35万辆", [["1313851", "131万"], ["187万", "186.35万"]])
    True
    >>> rgb_correct("特斯拉131万辆", [["1313851", "131万"], ["187万", "186.35万"]])
    False
    """
    hay = normalize(text)
    return bool(parts) and all(any(normalize(a) in hay for a in alternatives) for alternatives in parts)


def run_rgb(
    path: Path,
    settings: Settings,
    noise_rate: float = 0.4,
    passages: int = 5,
    embedder: Embedder | None = None,
    generator: Generator | None = None,
    limit: int | None = None,
    seed: int = 0,
    progress: bool = True,
    skip: int = 0,
) -> dict:
    """Ask every query (the first ``limit`` after the first ``skip``) over its own ``passages``
    passages at ``noise_rate``."""
    from tqdm import tqdm

    if not 0 <= noise_rate <= 1 or passages < 1:
        raise QuestionSetError(
            f"expected a noise rate in [0, 1] and at least 1 passage, found {noise_rate} and {passages}"
        )
    items = load_rgb(path)[skip:]
    items = items[:limit] if limit else items
    embedder = embedder or SentenceTransformerEmbedder.from_settings(settings)
    settings = replace(settings, top_k=passages)
    records, timings = [], []
    with tempfile.TemporaryDirectory(prefix="rag-rgb-") as tmp:
        pipeline = None
        bar = tqdm(items, desc=f"rgb {Path(path).name}", unit="query", disable=not progress)
        for i, item in enumerate(bar):
            context = rgb_context(item, passages, noise_rate, seed)
            docs = [
                passage_document(f"{'pos' if positive else 'neg'}{j}", text, Path(path).name)
                for j, (text, positive) in enumerate(context)
            ]
            folder = Path(tmp) / f"q{i}"
            pipeline = new_pipeline(settings, docs, folder, embedder, generator, pipeline, False)
            answer = pipeline.ask(item.query, k=passages)
            timings.append(answer.timings)
            records.append(_record(item, docs, answer))
        if pipeline is not None:
            pipeline.store.close()
    run = {"k": passages, "seed": seed, "data_file": str(path), "limit": limit, "skip": skip}
    return _result(records, timings, Path(path).name, noise_rate, passages, run)


def _record(item: RgbItem, docs: Sequence[Document], answer: Answer) -> dict:
    """One query's JSON record: the passages shown, the answer and whether it is correct."""
    return {
        "id": item.id, "query": item.query, "answer_parts": [list(p) for p in item.answer],
        "context": [d.doc_id for d in docs], "answer": answer.text, "mode": answer.mode,
        "abstained": answer.abstained, "correct": rgb_correct(answer_body(answer), item.answer),
        "citations": [c.doc_id for c in answer.citations],
        "cited_texts": [c.text for c in answer.citations],
        "unverified_figures": list(answer.unverified_figures), "notices": list(answer.notices),
        "timings": answer.timings.to_json(),
    }  # fmt: skip


def _result(
    records: list[dict], timings: list[Timings], data: str, noise_rate: float, passages: int, run: dict
) -> dict:
    """The JSON report: accuracy, rejection, citation precision, latency, run settings, records."""
    cited = [c.startswith("pos") for r in records if not r["abstained"] for c in r["citations"]]
    return {
        "benchmark": "rgb",
        "data": data,
        "noise_rate": noise_rate,
        "passages": passages,
        "n": len(records),
        "accuracy": share(r["correct"] for r in records),
        "rejection_rate": share(r["abstained"] for r in records) if noise_rate >= 1 else None,
        "abstained": share(r["abstained"] for r in records),
        "citation_precision": share(cited) if noise_rate < 1 else None,
        "latency_ms": latency_summary(timings),
        "run": {"mode": run_modes(records), **run},
        "questions": records,
    }
