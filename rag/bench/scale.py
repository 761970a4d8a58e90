"""``python -m rag bench scale``: build, search and update an index of N articles, and measure it.

    replicate(source, n, out)   the CRUD sample replicated and shuffled to ``n`` distinct articles
                                (``rag.bench.scale_corpus``, with the ``HashEmbedder`` stand-in)
    run(settings, n, source)    -> dict of the figures below
    table(result)               the figures as a Markdown table

Figures: build time, chunks, peak RSS of this process, index size on disk, retrieval median and
p95 (the full hybrid ``Retriever.search``), recall@10 of the vector store against exact search
(on real questions, and as measured at build time on midpoints of stored vectors and on question
probes), and the time to add 100 articles and to delete 100 (``rag.index.build.update_index``: in
place, no rebuild).

``--embedder hash`` swaps e5 for ``HashEmbedder`` (hashed words and character bigrams, no
model): it measures the index machinery in minutes where e5 takes hours on 2 cores; its
retrieval figures say nothing about answer quality.

Does not change the project's own index: everything happens in a temporary folder.
"""

from __future__ import annotations

import random
import resource
import shutil
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.bench.scale_corpus import HashEmbedder, replicate
from rag.config import Settings
from rag.ingest.collections import Collection
from rag.models.embedding import Embedder

if TYPE_CHECKING:
    from rag.index.build import BuildReport
    from rag.index.chunking import ChunkParams
    from rag.index.vectors import VectorOptions

ADDED = 100  # articles added, then deleted, after the build


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def disk_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


def _percentiles(ms: list[float]) -> tuple[float, float]:
    return (float(np.median(ms)), float(np.percentile(ms, 95))) if ms else (0.0, 0.0)


@dataclass(frozen=True)
class _Setup:
    """What every step of a scale run shares: the settings, the models, the index parameters."""

    settings: Settings  # index_dir inside the work folder
    work: Path
    embedder: Embedder
    encoder2: Embedder | None
    params: ChunkParams
    prefixes: tuple[str, str]
    options: VectorOptions


def run(
    settings: Settings,
    articles: int,
    source: Path,
    embedder: str = "e5",
    encoder2: bool = False,
    queries: int = 100,
    workdir: Path | None = None,
) -> dict:
    """Build an index of ``articles`` replicated articles in ``workdir`` (default: a temporary
    folder, removed), search it with ``queries`` questions, add and delete 100 articles."""
    work = workdir or Path(tempfile.mkdtemp(prefix="rag-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        replicate(source, articles, work / "collection.txt")
        replicate(source, ADDED, work / "added.txt", first=articles)
        setup = _setup(settings, work, embedder, encoder2)
        built = _build(setup)
        searched, delete_ids = _search(setup, queries)
        return {**built, **searched, **_update(setup, delete_ids)}
    finally:
        if workdir is None:
            shutil.rmtree(work, ignore_errors=True)


def _setup(settings: Settings, work: Path, embedder: str, encoder2: bool) -> _Setup:
    """The models (e5 or the hash stand-in; the second encoder if asked) and index parameters."""
    from rag.index.spec import chunk_params
    from rag.index.sync import vector_options
    from rag.models.embedding import SentenceTransformerEmbedder
    from rag.models.encoder2 import load_encoder2

    emb = HashEmbedder() if embedder == "hash" else SentenceTransformerEmbedder.from_settings(settings)
    enc2 = load_encoder2(settings.encoder2) if encoder2 else None
    weight2 = settings.encoder2_weight if enc2 else 0.0
    settings = replace(settings, index_dir=work / "index", encoder2_weight=weight2)
    params, prefixes = chunk_params(settings), (settings.query_prefix, settings.passage_prefix)
    options = vector_options(settings)
    if options.backend == "milvus" and not options.milvus_uri:
        options = replace(options, milvus_uri=str(work / "milvus.db"))
    return _Setup(settings, work, emb, enc2, params, prefixes, options)


def _build(s: _Setup) -> dict:
    """Index the replicated collection: time, size on disk and peak memory."""
    from rag.index.build import build_index, live_build

    settings, options = s.settings, s.options
    t0 = time.perf_counter()
    report = build_index(
        Collection(s.work / "collection.txt", settings.max_file_bytes),
        s.embedder,
        settings.index_dir,
        s.params,
        s.prefixes,
        progress=True,
        encoder2=s.encoder2,
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
    return {
        "articles": report.n_docs,
        "chunks": report.n_chunks,
        "embedder": s.embedder.model_id,
        "encoder2": s.encoder2.model_id if s.encoder2 else "",
        "backend": options.backend,
        "build_s": round(build_s, 1),
        "embed_s": round(report.embed_seconds, 1),
        "peak_rss_mb": round(rss),
        "index_mb": round(size, 1),
    }


def _search(s: _Setup, queries: int) -> tuple[dict, list[str]]:
    """Time ``queries`` question-like searches and measure the vector store's recall against exact
    search; also picks the articles ``_update`` deletes."""
    from rag.answer.retrieve.search import Retriever
    from rag.index.build import IndexStore
    from rag.index.finish import question_like
    from rag.index.recall import exact_top_k, recall_at_k

    settings, emb = s.settings, s.embedder
    store = IndexStore.load(settings.index_dir)
    rng = random.Random(1)
    docs = store.docs()
    sample = rng.sample(docs, min(queries, len(docs)))
    questions = [question_like(store.doc_text(d.doc_id)) for d in sample]
    retriever = Retriever(store, emb, settings, s.encoder2)
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
    p50, p95 = _percentiles(ms)
    figures = {
        "vector_index": record.get("type", ""),
        "nlist": record.get("nlist", 0),
        "nprobe": record.get("nprobe", 0),
        "build_recall_at_10": record.get("recall_at_10", 1.0),
        "build_question_recall_at_10": record.get("question_recall_at_10"),
        "query_recall_at_10": round(recall, 4),
        "retrieval_p50_ms": round(p50, 1),
        "retrieval_p95_ms": round(p95, 1),
        "questions": len(ms),
    }
    return figures, delete_ids


def _update(s: _Setup, delete_ids: list[str]) -> dict:
    """Add the 100 articles after the collection, then delete 100 others, in place."""
    from rag.index.build import update_index

    def timed(**change: Any) -> tuple[BuildReport, float]:
        t0 = time.perf_counter()
        report = update_index(
            s.settings.index_dir,
            s.embedder,
            s.params,
            s.prefixes,
            encoder2=s.encoder2,
            options=s.options,
            **change,
        )
        return report, time.perf_counter() - t0

    add, add_s = timed(add=list(Collection(s.work / "added.txt", s.settings.max_file_bytes)))
    dele, delete_s = timed(remove=delete_ids)
    return {
        "add_100_s": round(add_s, 2),
        "add_100_embedded": add.embedded,
        "delete_100_s": round(delete_s, 2),
        "deleted": len(dele.removed_docs),
        "chunks_after": dele.n_chunks,
    }


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
