"""``bench speed``'s whole processes: ``rag serve`` to the page and to a first answer; build; ask.

``bench_cold_start`` starts the chat in a child process on a free port and polls it; the question
goes through the OpenAI-compatible /v1 API as soon as the page is up (the models load in the
background). Reports the peak memory of the child. Does not keep the child running.
``bench_commands`` times the two commands a user runs most, each as its own process.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from rag.config import Settings


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


def _timed(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    """Seconds ``python -m rag ARGS`` takes from start to exit, and what it printed."""
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "rag", *args], env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if done.returncode:
        raise RuntimeError(f"`rag {' '.join(args)}` failed: {done.stderr[-500:]}")
    return seconds, done.stdout


def bench_commands(settings: Settings, question: str, repeats: int = 3) -> dict:
    """Whole processes over ``settings``' corpus, medians over ``repeats``: ``rag build`` into an
    empty folder (every article embedded: the baseline), then again on it, unchanged, and
    ``rag ask QUESTION`` on it (with the first token as it reports it)."""
    fresh = tempfile.mkdtemp(prefix="rag-bench-")
    env = dict(os.environ, RAG_INDEX=fresh, RAG_CORPUS=str(settings.corpus_dir))
    if not settings.use_llm:
        env["RAG_NO_LLM"] = "1"
    try:
        full = _timed(["build"], env)[0]
        unchanged = [_timed(["build"], env)[0] for _ in range(repeats)]
        asks = [_timed(["ask", "--json", question], env) for _ in range(repeats)]
    finally:
        shutil.rmtree(fresh, ignore_errors=True)
    first = [json.loads(out)["timings"]["first_token_ms"] / 1000 for _, out in asks]
    return {
        "build_full_s": full,
        "build_unchanged_s": statistics.median(unchanged),
        "ask_s": statistics.median(s for s, _ in asks),
        "ask_first_token_s": statistics.median(first),
    }
