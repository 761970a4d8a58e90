"""Who gets in and what can leave: the address the server binds, a password off loopback, the
files the server serves, what uploads can reach.

Article and question text is escaped in the UI: tests/test_app.py
(``test_hostile_article_and_question_text_are_escaped``) and tests/test_robustness.py. Planted
instructions inside articles do not change behaviour: tests/test_trust.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from rag.config import Settings
from rag.errors import RagError
from rag.web.app import is_loopback, launch_options
from tests.conftest import FIXTURE_DOCS, fixture_library
from tests.fakes import FakeGenerator
from tests.servers import in_process

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def library(settings):
    s = replace(settings, encoder2="", use_llm=True, max_file_bytes=20_000)
    return fixture_library(s, FakeGenerator("深圳建成5G基站超4.6万个[1]。"))


def corpus_files(s: Settings) -> list[str]:
    return sorted(p.name for p in s.corpus_dir.iterdir() if not p.name.startswith("."))


# --------------------------------------------------------------------------- address and authentication


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2"])
def test_loopback_needs_no_password(host):
    assert is_loopback(host)
    options = launch_options(Settings(host=host))
    assert options["auth"] is None and options["share"] is False


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "10.0.0.5", "news.example.org", ""])
def test_any_other_address_needs_a_user_and_a_password(host):
    assert not is_loopback(host)
    with pytest.raises(RagError, match=r"RAG_AUTH_USER.*RAG_AUTH_PASSWORD"):
        launch_options(Settings(host=host))
    with pytest.raises(RagError, match="both"):
        launch_options(Settings(host=host, auth_user="ann"))
    options = launch_options(Settings(host=host, auth_user="ann", auth_password="long enough secret"))
    assert options["auth"] == [("ann", "long enough secret")] and options["server_name"] == host


def test_the_password_comes_from_the_environment_and_is_never_shown():
    s = Settings.from_env({"RAG_HOST": "0.0.0.0", "RAG_AUTH_USER": "ann", "RAG_AUTH_PASSWORD": "s3cret-pw"})
    assert (s.host, s.auth_user, s.auth_password) == ("0.0.0.0", "ann", "s3cret-pw")
    assert "s3cret-pw" not in repr(s) and "s3cret-pw" not in str(s)


def test_serve_refuses_a_public_address_without_a_password_before_loading_anything(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "rag",
            "serve",
            "--host",
            "0.0.0.0",
            "--port",
            "9",
            "--index",
            str(tmp_path / "none"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.startswith("error: refusing to serve on 0.0.0.0") and "RAG_AUTH_USER" in r.stderr
    assert "Traceback" not in r.stderr


def test_with_a_password_every_route_asks_for_it(library):
    from gradio_client import Client

    with in_process(library, auth_user="ann", auth_password="correct horse") as url:
        for route in ("gradio_api/info", "config", "gradio_api/file=" + str(library.settings.corpus_dir)):
            assert httpx.get(url + route, timeout=10).status_code in (401, 403), route
        r = httpx.post(url + "gradio_api/call/answer", json={"data": ["深圳5G基站？", [], "auto", 5, True]})
        assert r.status_code in (401, 403)
        with pytest.raises(Exception):  # noqa: B017 - whatever the client raises, it gets nothing
            Client(url, verbose=False, auth=("ann", "wrong"))
        client = Client(url, verbose=False, auth=("ann", "correct horse"))
        assert client.predict("深圳5G基站建成多少？", [], "auto", 5, True, api_name="/answer")["citations"]


# --------------------------------------------------------------------------- files


def test_the_server_serves_no_file_it_was_not_asked_to(library):
    s = library.settings
    article = s.corpus_dir / f"{FIXTURE_DOCS[0].doc_id}.txt"
    live = (s.index_dir / "current").resolve()
    targets = [
        "/etc/passwd",
        "/proc/self/environ",
        "/proc/self/cmdline",
        str(article),
        str(live / "manifest.json"),
        str(live / "chunks.sqlite"),
        str(ROOT / "app.py"),
        str(ROOT / "pyproject.toml"),
        "app.py",
        "../../../../../../etc/passwd",
        "%2Fetc%2Fpasswd",
        "..%2F..%2F..%2F..%2Fetc%2Fpasswd",
        "/etc/../etc/passwd",
        "//etc/passwd",
        "file:///etc/passwd",
    ]
    secrets = ["root:x:0:0", FIXTURE_DOCS[0].text[:12], "rag-news", "format_version", "SQLite format"]
    with in_process(library) as url:
        port = url.rsplit(":", 1)[1].strip("/")
        targets.append(f"http://127.0.0.1:{port}/config")  # the file route as a proxy to this machine
        for target in targets:
            for prefix in ("gradio_api/file=", "file=", "gradio_api/file/", "static/", "assets/"):
                r = httpx.get(url + prefix + target, timeout=10)
                assert r.status_code in (400, 403, 404, 405), (prefix, target, r.status_code)
                assert not any(x in r.text for x in secrets), (prefix, target)


def sse_outcome(url: str, api: str, data: list) -> tuple[str, str]:
    """Call ``api`` over plain HTTP; (event, data) of its last message ("complete" or "error")."""
    r = httpx.post(f"{url}gradio_api/call/{api}", json={"data": data}, timeout=10)
    r.raise_for_status()
    stream = httpx.get(f"{url}gradio_api/call/{api}/{r.json()['event_id']}", timeout=30).text
    events = [line.split(": ", 1)[1] for line in stream.splitlines() if line.startswith("event: ")]
    datas = [line.split(": ", 1)[1] for line in stream.splitlines() if line.startswith("data: ")]
    return events[-1], datas[-1]


def test_the_add_api_takes_only_files_uploaded_to_it(library):
    s = library.settings
    before = corpus_files(s)
    with in_process(library) as url:
        server_files = ("/etc/passwd", "/proc/self/environ", ROOT / "README.md", s.corpus_dir / "zh_5g.txt")
        for path in map(str, server_files):
            event, data = sse_outcome(
                url, "add_articles", [[{"path": path, "meta": {"_type": "gradio.FileData"}}]]
            )
            assert event == "error", (path, data)
    assert corpus_files(s) == before and "passwd" not in str(library.store.docs())


def test_uploads_over_the_size_limit_are_refused_at_the_door(library):
    with in_process(library) as url:
        r = httpx.post(url + "gradio_api/upload", files=[("files", ("big.txt", b"x" * 30_000))], timeout=10)
        assert r.status_code == 413 and "maximum allowed size" in r.text
        r = httpx.post(url + "gradio_api/upload", files=[("files", ("ok.txt", b"x" * 3_000))], timeout=10)
        assert r.status_code == 200


def test_an_upload_whose_name_walks_up_lands_in_the_corpus_folder_only(library, tmp_path):
    s = library.settings
    escaped = tmp_path / "escaped.txt"
    name = "../" * 12 + str(escaped).lstrip("/")
    text = "深圳2024年新建公交快充站120座，每辆车40分钟充满。".encode()
    with in_process(library) as url:
        r = httpx.post(url + "gradio_api/upload", files=[("files", (name, text))], timeout=10)
        assert r.status_code == 200
        (stored,) = r.json()
        assert ".." not in Path(stored).parts and not escaped.exists()
        uploaded = [[{"path": stored, "meta": {"_type": "gradio.FileData"}}]]
        event, data = sse_outcome(url, "add_articles", uploaded)
        assert event == "complete", data
        assert "Added" in json.loads(data)[0]
    assert not escaped.exists()
    assert "escaped.txt" in corpus_files(s)
    assert not [p for p in tmp_path.rglob("escaped*") if p.parent != s.corpus_dir]
