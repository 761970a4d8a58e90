from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.config import Settings
from rag.index.build import build_index
from rag.index.spec import chunk_params
from rag.types import DocMeta, Document
from tests.fakes import FakeEmbedder

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


def make_doc(
    doc_id: str,
    text: str,
    title: str = "",
    lang: str = "zh",
    date: str = "2021-01-20",
    url: str = "https://example.com/a",
) -> Document:
    import hashlib

    meta = DocMeta(doc_id, title or doc_id, date, url, lang, f"{doc_id}.txt")
    return Document(meta, text, hashlib.sha256(f"{title}\n{text}".encode()).hexdigest())


FIXTURE_DOCS = [
    make_doc(
        "zh_output",
        "深圳2020年规模以上工业总产值3.7万亿元，连续两年位居全国大中城市首位。\n"
        "深圳重视工业互联网应用，专项扶持资金4.55亿元。",
        "深圳工业总产值",
    ),
    make_doc("zh_5g", "2020年深圳建成5G基站超4.6万个，成为全国首个5G独立组网全覆盖的城市。", "深圳5G基站"),
    make_doc(
        "en_report",
        "The city built 46,600 base stations in 2020. Shenzhen's industrial output "
        "reached 3.7 trillion yuan.",
        "City's industrial output takes the lead",
        lang="en",
    ),
    make_doc(
        "zh_other",
        "武汉举办工业互联网大会，发布发展成效评估报告，创新工程带动投资近700亿元。",
        "工业互联网大会",
    ),
]


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        corpus_dir=tmp_path / "corpus",
        index_dir=tmp_path / "index",
        models_dir=tmp_path / "models",
        min_score=0.1,
        use_llm=False,
        grounding_check=False,
    )
    # grounding_check off: the fakes' canned answers do not answer the fixture questions, so the
    # check would withdraw them; test_trust and test_grounding switch it on.


def fixture_library(s: Settings, generator, encoder2=None):
    """The fixture articles written into ``s.corpus_dir`` as files, indexed with the fake embedder
    (and ``encoder2`` when given), and a pipeline on them answering with ``generator``."""
    from rag.answer.pipeline import Pipeline
    from rag.index.sync import build

    s.corpus_dir.mkdir()
    for d in FIXTURE_DOCS:
        (s.corpus_dir / f"{d.doc_id}.txt").write_text(f"---\ntitle: {d.meta.title}\n---\n{d.text}", "utf-8")
    emb = FakeEmbedder()
    build(s, emb, progress=False, encoder2=encoder2)
    return Pipeline.load(s, embedder=emb, generator=generator, encoder2=encoder2)


@pytest.fixture
def fixture_index(settings: Settings, fake_embedder: FakeEmbedder) -> Settings:
    build_index(FIXTURE_DOCS, fake_embedder, settings.index_dir, chunk_params(settings), progress=False)
    return settings


@pytest.fixture
def shared_dir() -> Path:
    if not (SHARED / "benchmarks").is_dir():
        pytest.skip("../shared/benchmarks is absent (the benchmark data is not part of this repository)")
    return SHARED


@pytest.fixture
def copy_seeds(tmp_path: Path) -> Path:
    dest = tmp_path / "articles"
    shutil.copytree(ROOT / "data" / "articles", dest)
    return dest


@pytest.fixture(scope="session")
def real_library(tmp_path_factory) -> tuple[Path, Path]:
    """A copy of data/articles indexed by ``python -m rag build`` with the real models, built once per
    run; returns (corpus folder, index folder). Tests that change them work on copies."""
    import os
    import subprocess
    import sys

    base = tmp_path_factory.mktemp("real")
    corpus, index = base / "articles", base / "index"
    shutil.copytree(ROOT / "data" / "articles", corpus)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    r = subprocess.run(
        [sys.executable, "-m", "rag", "build", "--quiet", "--corpus", str(corpus), "--index", str(index)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr
    return corpus, index


@pytest.fixture(scope="session")
def milvus_server(tmp_path_factory) -> Iterator[str]:
    """A Milvus standalone server (the ``milvus`` package's binary) on 127.0.0.1 and free ports,
    its data in a temporary folder, for the whole run; yields its URI. Fails with the server's
    log when it cannot start: the ``server`` tests are not optional."""
    import contextlib
    import socket
    import subprocess
    import time
    import urllib.request

    from milvus import MilvusServer  # a dev dependency (pyproject.toml)

    base = tmp_path_factory.mktemp("milvus")
    with contextlib.ExitStack() as stack:  # three distinct free ports: proxy, etcd client, etcd peer
        socks = [stack.enter_context(socket.socket()) for _ in range(3)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        proxy, client, peer = (sock.getsockname()[1] for sock in socks)
    # its embedded etcd listens on 2379/2380 unless told otherwise: a second server would clash
    (base / "etcd.yaml").write_text(
        f"listen-client-urls: http://localhost:{client}\nadvertise-client-urls: http://localhost:{client}\n"
        f"listen-peer-urls: http://localhost:{peer}\ninitial-advertise-peer-urls: http://localhost:{peer}\n"
        f"initial-cluster: default=http://localhost:{peer}\n"
    )
    server = MilvusServer(wait_for_started=False)
    server.set_base_dir(str(base))
    server.listen_port = proxy  # where its search for free ports starts
    server.config.set("etcd_port", client)
    try:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("ETCD_CONFIG_PATH", str(base / "etcd.yaml"))
            server.start()
        health, deadline = f"http://127.0.0.1:{server.webservice_port}/healthz", time.monotonic() + 300
        while server.server_proc.poll() is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(health, timeout=5) as r:
                    if b"OK" in r.read():
                        break
            except OSError:
                time.sleep(0.5)
        else:
            tails = "".join(
                f"\n--- {p.name}\n{p.read_text('utf-8', 'replace')[-2000:]}"
                for p in sorted((base / "logs").glob("*.log"))
            )
            pytest.fail(
                f"the Milvus server did not start (exit code {server.server_proc.poll()}, "
                f"or no healthy answer in 300 s); its logs:{tails}",
                pytrace=False,
            )
        yield f"http://127.0.0.1:{server.listen_port}"
    finally:
        if server.server_proc is not None:
            server.server_proc.terminate()  # a clean stop first: stop() kills after 1 s
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.server_proc.wait(timeout=5)
        server.stop()
