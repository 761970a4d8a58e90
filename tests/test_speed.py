"""The fast paths stay numerically equivalent to the reference (real encoder, marked ``models``)."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pytest

from rag.bench.speed_cpu import cpu_info, peak_gflops
from rag.bench.speed_generation import stage_breakdown
from rag.bench.speed_startup import _first_delta_s, bench_commands
from rag.bench.speed_table import format_table
from rag.config import Settings
from rag.models.embedding import SentenceTransformerEmbedder
from rag.models.prepare import models_ready
from tests.conftest import fixture_library
from tests.fakes import FakeGenerator
from tests.servers import in_process

TEXTS = [
    "深圳2020年规模以上工业总产值3.7万亿元，连续两年位居全国大中城市首位。",
    "The city built 46,600 base stations and nearly 10,000 multi-function poles.",
    "深圳 built 4.6万 5G基站 in 2020 🎉，全国首个 full coverage 城市！",
    "工业互联网，一头连着传统工业制造业，一头连着新一代信息技术。" * 6,
]


@pytest.mark.models
def test_fast_embedder_matches_fp32_reference():
    settings = Settings()
    if not models_ready(settings):
        pytest.fail("models are not prepared: run `python -m rag prepare`")
    fast = SentenceTransformerEmbedder.from_settings(settings)  # the path chosen for this CPU
    ref = SentenceTransformerEmbedder(settings.embedder_path, dtype="float32", backend="torch")
    for kind in ("passage", "query"):
        a, b = fast.embed(TEXTS, kind), ref.embed(TEXTS, kind)
        assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
        assert float(np.min(np.sum(a * b, axis=1))) >= 0.999


@pytest.fixture
def result() -> dict:
    """The figures every speed table has: embedding, retrieval and cold start (a test adds or replaces)."""
    return {
        "embedding": {
            "baseline_chunks_per_s": 20.0,
            "ours_chunks_per_s": 60.0,
            "ratio": 3.0,
            "cosine_min": 0.9999,
            "dtype": "bfloat16",
        },
        "retrieval": {
            "corpus_chunks": 38,
            "corpus_p50_ms": 20.0,
            "corpus_p95_ms": 30.0,
            "big_chunks": 10000,
            "big_p50_ms": 25.0,
            "big_p95_ms": 35.0,
        },
        "cold_start": {"ready_s": 12.0, "peak_rss_mb": 3000},
    }


def test_speed_table_shows_ratios(result):
    table = format_table(result)
    assert "| embedding, chunks/s | 20.0 | 60.0 | 3.00x" in table
    assert "10000 chunks" in table and "12.0 s / 3000 MB" in table
    result["cold_start"] = {"ready_s": 5.0, "first_answer_s": 21.5, "peak_rss_mb": 3000}
    table = format_table(result)
    assert "| chat ready after start (page served) / peak RSS |  | 5.0 s / 3000 MB |" in table
    assert "| first question answered after start (first text) |  | 21.5 s |" in table


def test_speed_table_gives_the_commands_as_whole_processes(result):
    result["commands"] = {
        "build_full_s": 12.0,
        "build_unchanged_s": 0.5,
        "ask_s": 8.0,
        "ask_first_token_s": 2.5,
    }
    table = format_table(result)
    assert "| `rag build`, unchanged corpus, whole process | 12.0 s (empty index) | 0.5 s | 24.0x |" in table
    assert "| `rag ask` one question, whole process |  | 8.0 s | first token 2.5 s of it |" in table


@pytest.mark.models
@pytest.mark.process
def test_the_commands_are_timed_as_the_processes_a_user_runs(tmp_path):
    # a real build into an empty folder, then the unchanged build and one question, each a process
    (tmp_path / "a.txt").write_text("深圳5G\n\n2020年，深圳建成5G基站4.6万个。", "utf-8")
    c = bench_commands(
        replace(Settings(), corpus_dir=tmp_path, use_llm=False), "深圳建成多少5G基站？", repeats=1
    )
    assert c["build_full_s"] > 0 and c["build_unchanged_s"] > 0
    assert 0 <= c["ask_first_token_s"] <= c["ask_s"]


def test_speed_table_breaks_the_first_token_down_by_stage(result):
    result["generation"] = {
        "ours": {"prompt_tokens": 120, "first_token_s": 2.0, "total_s": 3.0},
        "baseline": {"prompt_tokens": 900, "first_token_s": 9.0, "total_s": 10.0, "gen_tok_s": 12.0},
        "ttft_ratio": 4.5,
        "stages": stage_breakdown(
            [
                {
                    "reads": [
                        ("restore", 0, 0.1),
                        ("candidate prompt", 80, 1.6),
                        ("candidate options", 30, 0.6),
                    ],
                    "first_token_s": 2.5,
                }
            ]
        ),
    }
    table = format_table(result)
    assert "| stage (per question, mean) | questions | tokens read | seconds |" in table
    assert "| candidate prompt | 1 | 80.0 | 1.60 |" in table
    assert "| other, before the first token | 1 | 0.0 | 0.20 |" in table


def test_the_first_answer_is_timed_on_the_api_stream(settings):
    s = replace(settings, use_llm=True, encoder2="")
    pipeline = fixture_library(s, FakeGenerator("深圳建成5G基站超4.6万个[1]。"))
    with in_process(pipeline) as url:
        t0 = time.perf_counter()
        assert _first_delta_s(url, "深圳5G基站建成多少？", "news-qa", t0, 60) is not None


def test_speed_table_names_the_cpu_paths_and_the_physical_limit(result):
    cpu = cpu_info("model name\t: AMD EPYC\ncpu MHz\t\t: 2500.0\nflags\t\t: fpu avx2 fma f16c\n")
    cpu["cores"] = 2
    assert peak_gflops(cpu) == 160.0  # 2 cores x 2.5 GHz x 32 FLOP (AVX2: two 8-lane FMA units)
    result |= {
        "cpu": cpu,
        "llama_build": "avx2",
        "embedding": {
            "baseline_chunks_per_s": 5.0,
            "ours_chunks_per_s": 10.0,
            "ratio": 2.0,
            "cosine_min": 0.99999,
            "backend": "openvino",
            "dtype": "float32",
            "baseline_gflops": 20.0,
            "ours_gflops": 40.0,
        },
        "prompt_reading": {"tokens": 256, "tokens_per_s": 120.0, "gflops": 360.0},
    }
    table = format_table(result)
    assert table.startswith("CPU: AMD EPYC, 2 cores at 2500 MHz; ISA: avx2 fma\n")
    assert "embedding path: openvino float32; llama.cpp build: avx2" in table
    assert "| embedding, GFLOP/s (peak fp32 160) | 20.0 | 40.0 | 25% of peak |" in table
    assert "120 tokens/s, 360.0 GFLOP/s | 56% of int8 peak 640 |" in table  # quantised dot products
