"""``python -m rag bench speed``: this project's fast paths against a naive baseline, in one run.

Measured side by side on this machine, medians of ``repeats`` runs (the machine is shared
and noisy: compare the ratios, which come from the same run):

* the CPU (model name, cores, clock, the ISA flags that matter), the embedding path chosen for it
  (``rag.models.embed_backend.choose_backend``) and the llama.cpp build (``scripts/install_llama.py``);
* embedding throughput on real ~250-token chunks (CRUD news sample when ../shared is there,
  else the bundled articles): baseline = sentence-transformers ``encode`` in fp32 with its
  default batch size; ours = ``SentenceTransformerEmbedder`` on the chosen path; with the
  cosine between the two;
* achieved GFLOP/s of embedding and of the generator's prompt reading next to the CPU's peak for
  the instruction set in use (``peak_gflops``): a BERT forward is about 2 x its encoder's
  parameters x tokens (the embedding table is looked up, not multiplied), prompt reading about
  2 x 1.5e9 x tokens;
* retrieval latency (question in, passages out, no generator) at the corpus size and at 10k
  chunks (the corpus vectors plus random unit vectors);
* time to first token, generation tokens/s and total answer time over the first ``questions``
  seed questions: ours (sentence windows within the prompt budget, cached system prompt)
  against a baseline prompt with the top-5 chunks pasted whole;
* cold start of the chat: process start to the page answering, and to the first answer text of
  a question asked as soon as the page is up (the models load in the background meanwhile),
  with the peak memory;
* the commands as whole processes: ``rag build`` on the unchanged corpus against a build into an
  empty folder, and ``rag ask`` one question (with the first token it reports).

The measurements live beside this module, one concern each: ``speed_cpu`` (the CPU and its
peak), ``speed_embedding``, ``speed_generation`` (prompt reading, answers, stages),
``speed_startup`` (cold start, whole commands) and ``speed_table`` (the report); this module
times retrieval and runs them all. Does not assert targets: it reports.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from rag.bench.speed_cpu import cpu_info, llama_build
from rag.bench.speed_embedding import bench_embedding, median
from rag.bench.speed_generation import bench_generation, bench_prompt_reading
from rag.bench.speed_startup import bench_cold_start, bench_commands
from rag.bench.speed_table import format_table
from rag.config import Settings


def bench_retrieval(pipeline, questions: list[str], big: int = 10_000, repeats: int = 3) -> dict:
    from rag.answer.retrieve.search import Retriever
    from rag.index.vectors import FaissStore

    def timed(retriever) -> tuple[float, float]:
        ms = []
        for _ in range(repeats):
            for q in questions:
                t0 = time.perf_counter()
                retriever.search(q, pipeline.settings.top_k)
                ms.append((time.perf_counter() - t0) * 1000)
        return median(ms), float(np.percentile(ms, 95))

    retriever = pipeline.retriever
    small = timed(retriever)
    # 10k chunks: the real vectors plus random unit vectors, searched the same way
    store = pipeline.store
    real = np.asarray(store.vectors(), dtype=np.float32)
    rng = np.random.default_rng(0)
    extra = rng.standard_normal((max(big - len(real), 0), real.shape[1])).astype(np.float32)
    extra /= np.linalg.norm(extra, axis=1, keepdims=True)
    big_store = FaissStore.new(real.shape[1])  # exact, as the index is below VectorOptions.exact_max
    ids = np.arange(len(real) + len(extra))
    big_store.add(ids, np.vstack([real, extra]), [*store.row_langs[: len(real)], *([""] * len(extra))])
    original, manifest = store._stores["e5"], store.manifest
    n_chunks = manifest.n_chunks
    try:  # the same store object, its e5 vector store swapped for the larger one
        store._stores["e5"], store.manifest = big_store, replace(manifest, n_chunks=len(big_store))
        large = timed(Retriever(store, pipeline.embedder) if isinstance(retriever, Retriever) else retriever)
    finally:
        store._stores["e5"], store.manifest = original, manifest
    return {
        "corpus_chunks": n_chunks,
        "corpus_p50_ms": small[0],
        "corpus_p95_ms": small[1],
        "big_chunks": len(big_store),
        "big_p50_ms": large[0],
        "big_p95_ms": large[1],
    }


def run_speed(settings: Settings, questions: list[str], repeats: int = 3, with_llm: bool = True) -> dict:
    from rag.answer.pipeline import Pipeline

    out: dict = {
        "cpu": cpu_info(),
        "llama_build": llama_build(),
        "embedding": bench_embedding(settings, repeats=repeats),
    }
    pipeline = Pipeline.load(settings if with_llm else replace(settings, use_llm=False))
    out["retrieval"] = bench_retrieval(pipeline, questions, repeats=repeats)
    if with_llm and pipeline.generator is not None:
        out["generation"] = bench_generation(pipeline, questions)
    del pipeline
    if with_llm:
        out["prompt_reading"] = bench_prompt_reading(settings, repeats=repeats)
    plain = settings if with_llm else replace(settings, use_llm=False)
    question = questions[0] if questions else "深圳2020年建成多少5G基站？"
    out["cold_start"] = bench_cold_start(plain, question)
    out["commands"] = bench_commands(plain, question, repeats)
    return out


def main(
    settings: Settings,
    questions_file: Path,
    n_questions: int,
    repeats: int,
    json_out: Path | None,
    with_llm: bool = True,
) -> dict:
    questions = []
    for line in questions_file.read_text(encoding="utf-8").splitlines():
        if line.strip():
            q = json.loads(line)
            if q.get("answers"):
                questions.append(q["question"])
    result = run_speed(settings, questions[:n_questions], repeats, with_llm)
    print(format_table(result))
    if json_out:
        json_out.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    return result
