"""``bench speed``'s generator measurements: prompt reading, and answers against a naive prompt.

* prompt reading: tokens/s and GFLOP/s of reading a fresh prompt (about 2 x 1.5e9 x tokens);
* answers over the seed questions: ours (the pipeline's own answer, sentence windows within the
  prompt budget, cached system prompt) against a baseline prompt with the top-5 chunks pasted
  whole, same model: time to first token, total time, generation speed, and the time to first
  token broken down by the generator's stages (``stage_breakdown``).

Does not format tables (``rag.bench.speed_table``).
"""

from __future__ import annotations

import os
import time

from rag.answer.write.prompt import build_messages
from rag.bench.speed_embedding import CRUD, median
from rag.config import Settings

GENERATOR_PARAMS = 1.5e9  # Qwen2.5-1.5B: FLOPs of reading one prompt token ~ 2 x this


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
    t = median(seconds)
    return {
        "tokens": len(tokens),
        "tokens_per_s": len(tokens) / t,
        "gflops": 2 * GENERATOR_PARAMS * len(tokens) / t / 1e9,
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
    n = len(questions)
    rows: dict[str, dict] = {}
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
        return {k: median([r[k] for r in rows]) for k in rows[0]} if rows else {}

    s_ours, s_base = summary(ours), summary(base)
    return {
        "questions": len(questions),
        "ours": s_ours,
        "baseline": s_base,
        "ttft_ratio": s_base["first_token_s"] / max(s_ours["first_token_s"], 1e-9),
        "stages": stage_breakdown(timed),
        "per_question": timed,
    }
