"""``bench speed``'s figures as text: the CPU lines, the main table, the generator's stages.

Works on the dict ``rag.bench.speed.run_speed`` returns (or the file ``--json`` saved). Does not
measure anything.
"""

from __future__ import annotations

from rag.bench.speed_cpu import peak_gflops


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
    rows += _command_rows(r.get("commands"))
    lines = ["| measure | baseline | this project | ratio |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c_} | {d} |" for a, b, c_, d in rows]
    return format_cpu(r) + "\n".join(lines) + format_stages(g.get("stages") if g else None)


def _command_rows(c: dict | None) -> list[tuple[str, str, str, str]]:
    """The whole-process rows: ``rag build`` unchanged against a full build, ``rag ask``."""
    if not c:
        return []
    return [
        (
            "`rag build`, unchanged corpus, whole process",
            f"{c['build_full_s']:.1f} s (empty index)",
            f"{c['build_unchanged_s']:.1f} s",
            f"{c['build_full_s'] / c['build_unchanged_s']:.1f}x",
        ),
        (
            "`rag ask` one question, whole process",
            "",
            f"{c['ask_s']:.1f} s",
            f"first token {c['ask_first_token_s']:.1f} s of it",
        ),
    ]


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
