"""``python -m rag bench scale``: build, search and update an index of N articles, and measure it.

    replicate(source, n, out)   the CRUD sample (1,930 articles, one a line) replicated and shuffled
                                to ``n`` articles; copy c > 0 of an article is dated c days later
                                and starts with "（第c+1次转载）", so its id, text and vector differ
    run(settings, n, source)    -> dict of the figures below
    table(result)               the figures as a Markdown table

Figures: build time, chunks, peak RSS of this process, index size on disk, retrieval median and
p95 (the full hybrid ``Retriever.search``), recall@10 of the vector store against exact search
(on real questions, and as measured at build time on midpoints of stored vectors and on question
probes), and the time to add 100
articles and to delete 100 (``rag.index.build.update_index``: in place, no rebuild).

``--embedder hash`` swaps e5 for ``HashEmbedder`` (hashed words and character bigrams, no
model): it measures the index machinery in minutes where e5 takes hours on 2 cores; its
retrieval figures say nothing about answer quality.

Does not change the project's own index: everything happens in a temporary folder.
"""

from __future__ import annotations

import hashlib
import random
import re
import resource
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from rag.config import Settings
from rag.errors import CorpusError
from rag.ingest.collections import Collection, parse_crud_line
from rag.models.embedding import l2_normalize

ADDED = 100  # articles added, then deleted, after the build


class HashEmbedder:
    """A deterministic stand-in for e5 (384-d): words and Han bigrams hashed into the vector."""

    model_id = "hash-384"
    dim = 384
    max_tokens = 512

    def count_tokens(self, text: str) -> int:
        return len(re.findall(r"[A-Za-z0-9]+|[^\sA-Za-z0-9]", text))

    def embed(self, texts: Sequence[str], kind: str) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            han = re.findall(r"[\u4e00-\u9fff]", t)
            feats = re.findall(r"[a-z0-9]+", t.lower()) + [a + b for a, b in zip(han, han[1:], strict=False)]
            for f in feats:
                h = int.from_bytes(hashlib.blake2b(f.encode(), digest_size=4).digest(), "little")
                out[i, h % self.dim] += 1
            out[i, 0] += 0.05
        return l2_normalize(out)


def replicate(source: Path, n: int, out: Path, first: int = 0, seed: int = 0) -> int:
    """Write articles ``first .. first + n - 1`` of the endless replication of ``source`` to
    ``out``, shuffled; returns how many were written."""
    base = []
    with open(source, encoding="utf-8") as f:
        for line in f:
            try:
                base.append(parse_crud_line(line.strip()))
            except ValueError:
                continue
    if not base:
        raise CorpusError(f"{source} holds no article in the CRUD format ([ date ] ，正文：text)")
    order = list(range(first, first + n))
    random.Random(seed + first).shuffle(order)
    with open(out, "w", encoding="utf-8") as f:
        for i in order:
            day, text = base[i % len(base)]
            copy = i // len(base)
            if copy:
                day = (date.fromisoformat(day or "2023-01-01") + timedelta(days=copy)).isoformat()
                text = f"（第{copy + 1}次转载）{text}"
            f.write(f"[ {day} ] ，正文：{text}\n")
    return n


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def disk_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


def _percentiles(ms: list[float]) -> tuple[float, float]:
    return (float(np.median(ms)), float(np.percentile(ms, 95))) if ms else (0.0, 0.0)


def run(
    settings: Settings,
    articles: int,
    source: Path,
    embedder: str = "e5",
    encoder2: bool = False,
    queries: int = 100,
    workdir: Path | None = None,
) -> dict:
    from rag.answer.retrieval import Retriever
    from rag.index.build import IndexStore, build_index, live_build, update_index
    from rag.index.finish import question_like
    from rag.index.recall import exact_top_k, recall_at_k
    from rag.index.spec import chunk_params
    from rag.index.sync import vector_options
    from rag.models.embedding import SentenceTransformerEmbedder
    from rag.models.encoder2 import load_encoder2

    work = workdir or Path(tempfile.mkdtemp(prefix="rag-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        replicate(source, articles, work / "collection.txt")
        replicate(source, ADDED, work / "added.txt", first=articles)
        emb = HashEmbedder() if embedder == "hash" else SentenceTransformerEmbedder.from_settings(settings)
        enc2 = load_encoder2(settings.encoder2) if encoder2 else None
        weight2 = settings.encoder2_weight if enc2 else 0.0
        settings = replace(settings, index_dir=work / "index", encoder2_weight=weight2)
        params, prefixes = chunk_params(settings), (settings.query_prefix, settings.passage_prefix)
        options = vector_options(settings)
        if options.backend == "milvus" and not options.milvus_uri:
            options = replace(options, milvus_uri=str(work / "milvus.db"))

        t0 = time.perf_counter()
        report = build_index(
            Collection(work / "collection.txt", settings.max_file_bytes),
            emb,
            settings.index_dir,
            params,
            prefixes,
            progress=True,
            encoder2=enc2,
            options=options,
        )
        build_s = time.perf_counter() - t0
        rss = peak_rss_mb()
        size = disk_mb(live_build(settings.index_dir) or settings.index_dir)
        if options.backend == "milvus" and "://" not in options.milvus_uri:
            size += (
                disk_mb(Path(options.milvus_uri))
                if Path(options.milvus_uri).is_dir()
                else Path(options.milvus_uri).stat().st_size / 2**20
            )

        store = IndexStore.load(settings.index_dir)
        rng = random.Random(1)
        docs = store.docs()
        sample = rng.sample(docs, min(queries, len(docs)))
        questions = [question_like(store.doc_text(d.doc_id)) for d in sample]
        retriever = Retriever(store, emb, settings, enc2)
        retriever.search(questions[0], settings.top_k)  # warm-up (jieba's dictionary)
        ms = []
        for q in questions:
            ms.append(retriever.search(q, settings.top_k).ms)
        qv = emb.embed(questions, kind="query")
        approx = store.vector_store().search(qv, 10)[0]
        exact = exact_top_k(store.vectors(), np.flatnonzero(store.row_langs != ""), qv, 10)[0]
        recall = recall_at_k(approx, exact)
        record = store.manifest.vectors.get("e5", {})
        delete_ids = [d.doc_id for d in rng.sample(docs, min(ADDED, len(docs)))]
        store.close()

        added = list(Collection(work / "added.txt", settings.max_file_bytes))
        t0 = time.perf_counter()
        add = update_index(
            settings.index_dir, emb, params, prefixes, add=added, encoder2=enc2, options=options
        )
        add_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        dele = update_index(
            settings.index_dir, emb, params, prefixes, remove=delete_ids, encoder2=enc2, options=options
        )
        delete_s = time.perf_counter() - t0
        p50, p95 = _percentiles(ms)
        return {
            "articles": report.n_docs,
            "chunks": report.n_chunks,
            "embedder": emb.model_id,
            "encoder2": enc2.model_id if enc2 else "",
            "backend": options.backend,
            "build_s": round(build_s, 1),
            "embed_s": round(report.embed_seconds, 1),
            "peak_rss_mb": round(rss),
            "index_mb": round(size, 1),
            "vector_index": record.get("type", ""),
            "nlist": record.get("nlist", 0),
            "nprobe": record.get("nprobe", 0),
            "build_recall_at_10": record.get("recall_at_10", 1.0),
            "build_question_recall_at_10": record.get("question_recall_at_10"),
            "query_recall_at_10": round(recall, 4),
            "retrieval_p50_ms": round(p50, 1),
            "retrieval_p95_ms": round(p95, 1),
            "questions": len(ms),
            "add_100_s": round(add_s, 2),
            "add_100_embedded": add.embedded,
            "delete_100_s": round(delete_s, 2),
            "deleted": len(dele.removed_docs),
            "chunks_after": dele.n_chunks,
        }
    finally:
        if workdir is None:
            shutil.rmtree(work, ignore_errors=True)


def table(r: dict) -> str:
    rows = [
        ("articles / chunks", f"{r['articles']:,} / {r['chunks']:,}"),
        ("embedder", r["embedder"] + (f" + {r['encoder2']}" if r["encoder2"] else "")),
        ("build", f"{r['build_s']:.1f} s (embedding {r['embed_s']:.1f} s)"),
        ("peak RSS", f"{r['peak_rss_mb']:,} MB"),
        ("index on disk", f"{r['index_mb']:.1f} MB"),
        (
            "vector index",
            f"{r['backend']} {r['vector_index']}"
            + (f" nlist={r['nlist']} nprobe={r['nprobe']}" if r["nlist"] else ""),
        ),
        (
            "recall@10 vs exact",
            f"{r['build_recall_at_10']:.3f} (build, midpoints of stored vectors) / "
            + (
                f"{q:.3f} (build, question probes) / "
                if (q := r.get("build_question_recall_at_10")) is not None
                else ""
            )
            + f"{r['query_recall_at_10']:.3f} (questions)",
        ),
        (
            "retrieval median / p95",
            f"{r['retrieval_p50_ms']:.1f} / {r['retrieval_p95_ms']:.1f} ms "
            f"({r['questions']} questions, hybrid)",
        ),
        ("add 100 articles", f"{r['add_100_s']:.2f} s ({r['add_100_embedded']} chunks embedded)"),
        ("delete 100 articles", f"{r['delete_100_s']:.2f} s"),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(
        [
            f"| {'measure':<{width}} | value |",
            f"|{'-' * (width + 2)}|-------|",
            *(f"| {k:<{width}} | {v} |" for k, v in rows),
        ]
    )
