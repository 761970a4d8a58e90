"""``bench speed``'s embedding measurement: the naive baseline against this project's embedder.

Baseline = sentence-transformers ``encode`` in fp32 with its default batch size; ours =
``SentenceTransformerEmbedder`` on the path chosen for this CPU; on the same real ~250-token chunks
(the CRUD news sample when ../shared is there, else the bundled articles), with the cosine between
the two and the achieved GFLOP/s (a BERT forward is about 2 x its encoder's parameters x tokens:
the embedding table is looked up, not multiplied). Does not load the generator.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import numpy as np

from rag.config import Settings
from rag.index.chunking import ChunkParams, chunk_spans
from rag.models.embedding import SentenceTransformerEmbedder

CRUD = Path("../shared/benchmarks/crud-news/news_1_1.txt")  # beside a checkout, when present


def median(xs: list[float]) -> float:
    """The median as a float; 0.0 for no values."""
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
        "baseline_chunks_per_s": len(texts) / median(t_base),
        "ours_chunks_per_s": len(texts) / median(t_ours),
        "ratio": median(t_base) / median(t_ours),
        "backend": ours.backend,
        "dtype": ours.dtype,
        "cosine_min": float(cos.min()),
        "cosine_mean": float(cos.mean()),
        "baseline_gflops": flops / median(t_base) / 1e9,
        "ours_gflops": flops / median(t_ours) / 1e9,
    }
