"""Running the chat app for tests: in this process (fake models) or as ``python -m rag serve``.

Servers listen on 127.0.0.1 only, on a free port, and are stopped when the ``with`` block ends.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import gradio as gr
import httpx

from rag.answer.pipeline import Pipeline
from rag.web.app import build_app, launch

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def in_process(pipeline: Pipeline, **changes: object) -> Iterator[str]:
    """The app of ``pipeline`` (chat and /v1 API) served as ``python -m rag serve`` would (``app.launch``);
    yields its URL."""
    with serving(pipeline, **changes) as (url, _):
        yield url


@contextmanager
def serving(pipeline: Pipeline, **changes: object) -> Iterator[tuple[str, gr.Blocks]]:
    """``in_process``, yielding (URL, the launched Blocks: ``.server_app`` is its FastAPI app)."""
    settings = replace(pipeline.settings, host="127.0.0.1", port=free_port(), **changes)
    demo = build_app(pipeline)
    launch(demo, settings, pipeline, prevent_thread_lock=True, quiet=True)
    try:
        yield f"http://127.0.0.1:{settings.port}/", demo
    finally:
        demo.close()


@contextmanager
def subprocess_server(
    corpus: Path, index: Path, log: Path, *extra: str, timeout: float = 180
) -> Iterator[tuple[str, int]]:
    """``python -m rag serve --no-llm`` on 127.0.0.1 and a free port; yields (URL, pid)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    cmd = [
        sys.executable,
        "-m",
        "rag",
        "serve",
        "--no-llm",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--corpus",
        str(corpus),
        "--index",
        str(index),
        *extra,
    ]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_up(proc, url, log, timeout)
        yield url, proc.pid
    finally:
        stop(proc)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def wait_until_up(proc: subprocess.Popen, url: str, log: Path, timeout: float = 180) -> None:
    """Wait until ``url`` answers 200; RuntimeError with the log's tail if the server exits or is late."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"the server did not start in {timeout} s:\n{log.read_text()[-3000:]}")
        time.sleep(0.5)


def stop(proc: subprocess.Popen) -> None:
    """Stop a server as Ctrl+C would; killed if it has not exited 20 s later."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
