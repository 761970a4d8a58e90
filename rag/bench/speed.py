"""``python -m rag bench speed``: this project's fast paths against a naive baseline, in one run.

Measured side by side on this machine, medians of ``repeats`` runs (the machine is shared
and noisy: compare the ratios, which come from the same run):

* the CPU (model name, cores, clock, the ISA flags that matter), the embedding path chosen for it
  (``rag.models.embedding.choose_backend``) and the llama.cpp build (``scripts/install_llama.py``);
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
  with the peak memory.

Does not assert targets: it reports.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import replace
from pathlib import Path

import numpy as np

from rag.answer.prompt import build_messages
from rag.config import Settings
from rag.index.chunking import ChunkParams, chunk_spans
from rag.models.embedding import SentenceTransformerEmbedder

CRUD = Path("../shared/benchmarks/crud-news/news_1_1.txt")  # beside a checkout, when present
ISA_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16", "amx_int8")
GENERATOR_PARAMS = 1.5e9  # Qwen2.5-1.5B: FLOPs of reading one prompt token ~ 2 x this


def cpu_info(cpuinfo: str | None = None) -> dict:
    """Model name, logical CPUs, current clock (MHz) and the ISA flags of ``ISA_FLAGS`` present.

    >>> info = cpu_info("model name\\t: AMD EPYC\\ncpu MHz\\t\\t: 2445.4\\nflags\\t\\t: fpu avx2 fma\\n")
    >>> info["model"], info["mhz"], info["isa"]
    ('AMD EPYC', 2445.4, ['avx2', 'fma'])
    """
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            cpuinfo = ""
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    flags = set(fields.get("flags", "").split())
    return {
        "model": fields.get("model name", "unknown"),
        "cores": len(os.sched_getaffinity(0)),
        "mhz": float(fields.get("cpu MHz") or 0),
        "isa": [f for f in ISA_FLAGS if f in flags],
    }


def flops_per_cycle(isa: list[str], dtype: str = "float32") -> int:
    """Peak FLOP per cycle per core of the instruction set in use: two FMA units of 8 (AVX2) or 16
    (AVX-512) fp32 lanes; AVX512-BF16 dot products double that; AMX tiles 1024 in bfloat16. In
    int8 (llama.cpp's quantised dot products) 4x the fp32 lanes, AMX 2048.

    >>> flops_per_cycle(["avx2", "fma"]), flops_per_cycle(["avx2", "fma", "avx512f"])
    (32, 64)
    >>> flops_per_cycle(["avx512f", "avx512_bf16", "amx_bf16"], "bfloat16")
    1024
    >>> flops_per_cycle(["avx2", "fma"], "int8")
    128
    """
    if dtype == "int8":
        return 2048 if "amx_int8" in isa else 4 * flops_per_cycle(isa)
    if dtype == "bfloat16" and "amx_bf16" in isa:
        return 1024
    if dtype == "bfloat16" and "avx512_bf16" in isa:
        return 128
    if "avx512f" in isa:
        return 64
    return 32 if {"avx2", "fma"} <= set(isa) else 8


def peak_gflops(cpu: dict, dtype: str = "float32") -> float:
    """cores x clock x FLOP per cycle, in GFLOP/s.

    >>> round(peak_gflops({"cores": 2, "mhz": 2445.4, "isa": ["avx2", "fma"]}), 1)
    156.5
    """
    return cpu["cores"] * cpu["mhz"] / 1000 * flops_per_cycle(cpu["isa"], dtype)


def llama_build() -> str:
    """Which llama.cpp build is installed: amx, avx512, avx2 or generic (from its own report)."""
    try:
        import llama_cpp

        info = llama_cpp.llama_print_system_info().decode()
    except Exception:  # noqa: BLE001 - not installed or not loadable: say so in the table
        return "not installed"
    on = {part.split("=")[0].strip() for part in info.split("|") if part.strip().endswith("= 1")}
    for name, marker in (("amx", "AMX_INT8"), ("avx512", "AVX512"), ("avx2", "AVX2")):
        if marker in on:
            return name
    return "generic"


def _median(xs: list[float]) -> float:
    return float(statistics.median(xs)) if xs else 0.0


def sample_chunks(embedder: SentenceTransformerEmbedder, n: int, settings: Settings) -> list[str]:
    """``n`` real passages of ~250 tokens, in file order (not sorted by length)."""
    if CRUD.exists():
        texts = CRUD.read_text(encoding="utf-8").splitlines()[: n // 2 + 10]
    else:
        paths = sorted(settings.corpus_dir.iterdir())
        texts = [p.read_text(encoding="utf-8", errors="replace") for p in paths]
    out: list[str] = []
    params = ChunkParams(target=250, overlap=0, max_tokens=400)
    for t in texts:
        out.extend(t[a:b] for a, b in chunk_spans(t, embedder.count_tokens, params))
        if len(out) >= n:
            break
    return out[:n]


def encoder_params(path: str) -> int:
    """Parameters that multiply per token: the transformer layers, not the embedding table."""
    config = json.loads((Path(path) / "config.json").read_text(encoding="utf-8"))
    h, ff = config["hidden_size"], config["intermediate_size"]
    return config["num_hidden_layers"] * (4 * h * h + 2 * h * ff + 9 * h + ff)


def bench_embedding(settings: Settings, n: int = 256, repeats: int = 3) -> dict:
    from sentence_transformers import SentenceTransformer

    ours = SentenceTransformerEmbedder.from_settings(settings)
    texts = sample_chunks(ours, n, settings)
    base = SentenceTransformer(settings.embedder_path, device="cpu")
    prefixed = [settings.passage_prefix + t for t in texts]
    base.encode(prefixed[:8])
    ours.embed(texts[:8], "passage")
    t_base, t_ours = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        vb = base.encode(prefixed, convert_to_numpy=True)
        t_base.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        vo = ours.embed(texts, "passage")
        t_ours.append(time.perf_counter() - t0)
    vb = vb / np.linalg.norm(vb, axis=1, keepdims=True)
    cos = np.sum(vb * vo, axis=1)
    tokens = [ours.count_tokens(t) for t in texts]
    computed = sum(min(ours.count_tokens(t) + 2, ours.max_tokens) for t in prefixed)  # with <s> </s>
    flops = 2 * encoder_params(settings.embedder_path) * computed
    return {
        "chunks": len(texts),
        "median_tokens": int(np.median(tokens)),
        "baseline_chunks_per_s": len(texts) / _median(t_base),
        "ours_chunks_per_s": len(texts) / _median(t_ours),
        "ratio": _median(t_base) / _median(t_ours),
        "backend": ours.backend,
        "dtype": ours.dtype,
        "cosine_min": float(cos.min()),
        "cosine_mean": float(cos.mean()),
        "baseline_gflops": flops / _median(t_base) / 1e9,
        "ours_gflops": flops / _median(t_ours) / 1e9,
    }


def bench_prompt_reading(settings: Settings, n_tokens: int = 256, repeats: int = 3) -> dict:
    """Tokens/s and GFLOP/s of reading a fresh prompt of ``n_tokens`` (no cached state)."""
    from llama_cpp import Llama

    llm = Llama(
        model_path=str(settings.gguf_path),
        n_ctx=n_tokens + 64,
        verbose=False,
        n_threads=settings.n_threads or len(os.sched_getaffinity(0)),
    )
    text = CRUD.read_text(encoding="utf-8")[:4000] if CRUD.exists() else "新闻 news " * n_tokens
    tokens = llm.tokenize(text.encode("utf-8"), add_bos=False)[:n_tokens]
    seconds = []
    for _ in range(repeats):
        llm.reset()
        t0 = time.perf_counter()
        llm.eval(tokens)
        seconds.append(time.perf_counter() - t0)
    llm.close()
    t = _median(seconds)
    return {
        "tokens": len(tokens),
        "tokens_per_s": len(tokens) / t,
        "gflops": 2 * GENERATOR_PARAMS * len(tokens) / t / 1e9,
    }


def bench_retrieval(pipeline, questions: list[str], big: int = 10_000, repeats: int = 3) -> dict:
    from rag.answer.retrieval import Retriever
    from rag.index.vectors import FaissStore

    def timed(retriever) -> tuple[float, float]:
        ms = []
        for _ in range(repeats):
            for q in questions:
                t0 = time.perf_counter()
                retriever.search(q, pipeline.settings.top_k)
                ms.append((time.perf_counter() - t0) * 1000)
        return _median(ms), float(np.percentile(ms, 95))

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


def _generate(generator, messages, max_tokens: int) -> dict:
    t0 = time.perf_counter()
    first, n = 0.0, 0
    for _ in generator.stream(messages, max_tokens):
        n += 1
        if not first:
            first = time.perf_counter() - t0
    total = time.perf_counter() - t0
    return {
        "first_token_s": first,
        "total_s": total,
        "pieces": n,
        "gen_tok_s": (n - 1) / (total - first) if n > 1 and total > first else 0.0,
        "prompt_tokens": generator.count_tokens(messages),
    }


def stage_breakdown(questions: list[dict]) -> list[dict]:
    """Per stage of the generator (``rag.models.generator.Read``), over the questions timed: in how many
    it ran, and the tokens it read and the seconds it took per question, on average over all the
    questions (a stage that did not run counts 0), in the order the stages first ran. ``other``
    is the time to first token spent outside the generator (retrieval, evidence, checks).

    >>> rows = stage_breakdown([{"reads": [("candidate prompt", 90, 2.0)], "first_token_s": 2.5},
    ...                         {"reads": [("gate", 60, 1.0), ("answer prompt", 2, 0.5),
    ...                                    ("answer generation", 20, 1.5)], "first_token_s": 2.0}])
    >>> [(r["stage"], r["questions"], r["tokens"], r["seconds"])
    ...  for r in rows]  # doctest: +NORMALIZE_WHITESPACE
    [('candidate prompt', 1, 45.0, 1.0), ('gate', 1, 30.0, 0.5), ('answer prompt', 1, 1.0, 0.25),
     ('answer generation', 1, 10.0, 0.75), ('other, before the first token', 2, 0.0, 0.5)]
    """
    n, rows = len(questions), {}
    for q in questions:
        seen = set()
        for stage, tokens, seconds in q["reads"]:
            row = rows.setdefault(stage, {"stage": stage, "questions": 0, "tokens": 0.0, "seconds": 0.0})
            row["questions"] += stage not in seen
            row["tokens"] += tokens / n
            row["seconds"] += seconds / n
            seen.add(stage)
    before = [
        q["first_token_s"] - sum(s for st, _, s in q["reads"] if st not in AFTER_FIRST_TOKEN)
        for q in questions
    ]
    other = {
        "stage": "other, before the first token",
        "questions": n,
        "tokens": 0.0,
        "seconds": round(sum(before) / n, 6) if n else 0.0,
    }
    return [*rows.values(), other]


AFTER_FIRST_TOKEN = ("answer generation", "review")  # stages that do not delay the first token


def bench_generation(pipeline, questions: list[str]) -> dict:
    """Ours: the pipeline's own answer, with the generator's stages (``stage_breakdown``).
    Baseline: the top-5 chunks pasted whole, same model."""
    from rag.text.lang import detect_lang

    ours, base, timed = [], [], []
    generator = pipeline.generator
    for q in questions:
        reads = getattr(generator, "reads", [])
        reads.clear()
        t0 = time.perf_counter()
        a = pipeline.ask(q)
        ours.append(
            {
                "first_token_s": a.timings.first_token_ms / 1000,
                "total_s": time.perf_counter() - t0,
                "prompt_tokens": a.timings.prompt_tokens,
            }
        )
        stages = [(r.stage, r.tokens, round(r.seconds, 4)) for r in reads]
        timed.append({"question": q, **ours[-1], "reads": stages})
        r = pipeline.retriever.search(q, 5)
        messages = build_messages(q, [(h, h.chunk.text) for h in r.hits], detect_lang(q))
        base.append(_generate(generator, messages, pipeline.settings.max_new_tokens))

    def summary(rows: list[dict]) -> dict:
        return {k: _median([r[k] for r in rows]) for k in rows[0]} if rows else {}

    s_ours, s_base = summary(ours), summary(base)
    return {
        "questions": len(questions),
        "ours": s_ours,
        "baseline": s_base,
        "ttft_ratio": s_base["first_token_s"] / max(s_ours["first_token_s"], 1e-9),
        "stages": stage_breakdown(timed),
        "per_question": timed,
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _first_delta_s(url: str, question: str, model: str, t0: float, timeout: float) -> float | None:
    """Seconds from ``t0`` to the first answer text streamed by the /v1 API for ``question``."""
    body = json.dumps(
        {"model": model, "stream": True, "messages": [{"role": "user", "content": question}]}
    ).encode()
    request = urllib.request.Request(f"{url}v1/chat/completions", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        for line in response:
            if line.startswith(b"data: {"):
                choices = json.loads(line[6:]).get("choices") or [{}]
                if choices[0].get("delta", {}).get("content"):
                    return time.perf_counter() - t0
    return None


def bench_cold_start(
    settings: Settings, question: str = "深圳2020年建成多少5G基站？", timeout: float = 300
) -> dict:
    """``python -m rag serve`` from process start: ``ready_s`` to the page answering HTTP 200 (the
    models load after it, in the background), ``first_answer_s`` to the first answer text of a
    question asked through the /v1 API as soon as the page is up (it waits for the models), and
    the peak memory after that answer."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    env = dict(os.environ, RAG_INDEX=str(settings.index_dir), RAG_PORT=str(port))
    if not settings.use_llm:
        env["RAG_NO_LLM"] = "1"
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "rag", "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    ready = first = None
    try:
        while time.perf_counter() - t0 < timeout and proc.poll() is None:
            try:
                urllib.request.urlopen(url, timeout=1)
                ready = time.perf_counter() - t0
                break
            except OSError:
                time.sleep(0.1)
        if ready is not None:
            model = "news-qa" if settings.use_llm else "news-qa-extractive"
            try:
                first = _first_delta_s(url, question, model, t0, timeout)
            except OSError:
                first = None
        peak = 0
        status = Path(f"/proc/{proc.pid}/status")
        if status.exists():
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = int(line.split()[1]) // 1024
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return {"ready_s": ready, "first_answer_s": first, "peak_rss_mb": peak}


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
    out["cold_start"] = bench_cold_start(
        settings if with_llm else replace(settings, use_llm=False),
        questions[0] if questions else "深圳2020年建成多少5G基站？",
    )
    return out


def format_cpu(r: dict) -> str:
    """The CPU and the paths chosen for it, one line each."""
    c, e = r.get("cpu"), r["embedding"]
    if not c:
        return ""
    lines = [
        f"CPU: {c['model']}, {c['cores']} cores at {c['mhz']:.0f} MHz; ISA: {' '.join(c['isa']) or '-'}",
        f"embedding path: {e.get('backend', 'torch')} {e['dtype']}; llama.cpp build: "
        f"{r.get('llama_build', '?')}",
    ]
    return "\n".join(lines) + "\n\n"


def _physical_rows(r: dict) -> list[tuple[str, str, str, str]]:
    c, e, p = r.get("cpu"), r["embedding"], r.get("prompt_reading")
    if not c or "ours_gflops" not in e:
        return []
    peak = peak_gflops(c, "float32")
    rows = [
        (
            "embedding, GFLOP/s (peak fp32 " + f"{peak:.0f})",
            f"{e['baseline_gflops']:.1f}",
            f"{e['ours_gflops']:.1f}",
            f"{e['ours_gflops'] / peak:.0%} of peak",
        )
    ]
    if e["dtype"] == "bfloat16":
        rows[0] = (
            *rows[0][:3],
            f"{e['ours_gflops'] / peak_gflops(c, 'bfloat16'):.0%} of bf16 peak "
            f"{peak_gflops(c, 'bfloat16'):.0f}",
        )
    if p:
        int8 = peak_gflops(c, "int8")
        rows.append(
            (
                f"prompt reading, {p['tokens']} tokens",
                "",
                f"{p['tokens_per_s']:.0f} tokens/s, {p['gflops']:.1f} GFLOP/s",
                f"{p['gflops'] / int8:.0%} of int8 peak {int8:.0f}",
            )
        )
    return rows


def format_table(r: dict) -> str:
    e, rt = r["embedding"], r["retrieval"]
    rows = [
        (
            "embedding, chunks/s",
            f"{e['baseline_chunks_per_s']:.1f}",
            f"{e['ours_chunks_per_s']:.1f}",
            f"{e['ratio']:.2f}x (cosine min {e['cosine_min']:.4f}, {e.get('backend', 'torch')} {e['dtype']})",
        ),
        *_physical_rows(r),
        *(
            (
                f"retrieval p50 / p95, {rt[f'{s}_chunks']} chunks",
                "",
                f"{rt[f'{s}_p50_ms']:.1f} / {rt[f'{s}_p95_ms']:.1f} ms",
                "",
            )
            for s in ("corpus", "big")
        ),
    ]
    g = r.get("generation")
    if g:
        o, b = g["ours"], g["baseline"]
        rows += [
            ("prompt tokens (median)", f"{b['prompt_tokens']:.0f}", f"{o['prompt_tokens']:.0f}", ""),
            (
                "time to first token (median)",
                f"{b['first_token_s']:.2f} s",
                f"{o['first_token_s']:.2f} s",
                f"{g['ttft_ratio']:.2f}x",
            ),
            ("total answer time (median)", f"{b['total_s']:.2f} s", f"{o['total_s']:.2f} s", ""),
            ("generation (baseline prompt)", f"{b['gen_tok_s']:.1f} pieces/s", "", ""),
        ]
    c = r["cold_start"]
    ready = f"{c['ready_s'] or float('nan'):.1f} s / {c['peak_rss_mb']} MB"
    rows.append(("chat ready after start (page served) / peak RSS", "", ready, ""))
    if "first_answer_s" in c:
        first = c["first_answer_s"]
        rows.append(
            (
                "first question answered after start (first text)",
                "",
                f"{first:.1f} s" if first is not None else "-",
                "models load after the page",
            )
        )
    lines = ["| measure | baseline | this project | ratio |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c_} | {d} |" for a, b, c_, d in rows]
    return format_cpu(r) + "\n".join(lines) + format_stages(g.get("stages") if g else None)


def format_stages(stages: list[dict] | None) -> str:
    """The generator's stages as a second table (empty without them).

    >>> print(format_stages([{"stage": "gate", "questions": 3, "tokens": 40.0, "seconds": 0.9}]))
    <BLANKLINE>
    <BLANKLINE>
    | stage (per question, mean) | questions | tokens read | seconds |
    |---|---|---|---|
    | gate | 3 | 40.0 | 0.90 |
    """
    if not stages:
        return ""
    lines = [
        "",
        "",
        "| stage (per question, mean) | questions | tokens read | seconds |",
        "|---|---|---|---|",
    ]
    lines += [f"| {s['stage']} | {s['questions']} | {s['tokens']:.1f} | {s['seconds']:.2f} |" for s in stages]
    return "\n".join(lines)


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
