"""Who gets in and what can leave: the address the server binds, a password off loopback, the
files the server serves, what uploads can reach.

``gradio_client`` uploads any local file it is given (``{"path": ...}`` or ``handle_file``)
before calling: the server then receives a file in its upload cache, as from a browser. The tests
here that send a server path as is stand for a client that does not upload (plain HTTP, or
``gradio_client`` with its upload step turned off).

Article and question text is escaped in the UI: tests/test_app.py
(``test_hostile_article_and_question_text_are_escaped``) and tests/test_robustness.py. Planted
instructions inside articles do not change behaviour: tests/test_trust.py.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import gradio
import httpx
import pytest
from fastapi.routing import iter_route_contexts
from gradio_client import Client, handle_file
from gradio_client.client import Endpoint
from gradio_client.exceptions import AppError

from rag.config import Settings
from rag.errors import RagError
from rag.web.app import is_loopback, launch_options
from tests.conftest import FIXTURE_DOCS, fixture_library
from tests.fakes import FakeGenerator
from tests.servers import in_process, serving

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


@pytest.mark.process
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
    with in_process(library, auth_user="ann", auth_password="correct horse") as url:
        for route in ("gradio_api/info", "config", "gradio_api/file=" + str(library.settings.corpus_dir)):
            assert httpx.get(url + route, timeout=10).status_code in (401, 403), route
        r = httpx.post(url + "gradio_api/call/answer", json={"data": ["深圳5G基站？", [], "auto", 5, True]})
        assert r.status_code in (401, 403)
        with pytest.raises(Exception):  # noqa: B017 - whatever the client raises, it gets nothing
            Client(url, verbose=False, auth=("ann", "wrong"))
        client = Client(url, verbose=False, auth=("ann", "correct horse"))
        assert client.predict("深圳5G基站建成多少？", [], "auto", 5, True, api_name="/answer")["citations"]


# What a visitor without the log-in may load: the log-in page and what it needs to render.
LOGIN_PAGE = {
    ("GET", "/"),
    ("HEAD", "/"),
    ("POST", "/login"),
    ("POST", "/login/"),
    ("GET", "/assets/{path:path}"),
    ("GET", "/static/{path:path}"),
    ("GET", "/theme.css"),
    ("GET", "/gradio_api/theme.css"),
    ("GET", "/favicon.ico"),
    ("GET", "/gradio_api/startup-events"),  # launch() calls it, without a log-in; it says true or false
}


def route_table(routes, prefix: str = "") -> list[tuple[str, str]]:
    """(method, path) of every route, mounted sub-apps (e.g. ``/v1``) included."""
    out = []
    for r in iter_route_contexts(routes):
        path = prefix + (r.path or "")
        sub = getattr(r.original_route, "routes", None)
        if sub is not None and not getattr(r, "methods", None):  # a Mount
            out += route_table(sub, path) or [("GET", path + "/x")]
        else:
            out += [(m, path) for m in sorted(r.methods or {"GET"})]
    return out


def status_without_log_in(url: str, method: str, path: str) -> int:
    """The status of ``method path`` (path parameters filled with 1) with no cookie; body unread."""
    filled = re.sub(r"\{[^}]+\}", "1", path)
    with httpx.Client(timeout=10, follow_redirects=False) as http:
        body = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
        with http.stream(method, url.rstrip("/") + filled, **body) as r:
            return r.status_code


def test_with_a_log_in_every_route_but_the_log_in_page_needs_it(library):
    with serving(library, auth_user="ann", auth_password="correct horse") as (url, demo):
        table = route_table(demo.server_app.routes)
        assert ("POST", "/gradio_api/cancel") in table and ("GET", "/config") in table
        open_ = []
        for method, path in table:
            if (method, path) in LOGIN_PAGE:
                continue
            code = status_without_log_in(url, method, path)
            if code not in (401, 403):
                open_.append(f"{method} {path}: {code}")
        assert not open_, "answered without the log-in:\n" + "\n".join(open_)
        assert httpx.get(url + "openapi.json").status_code == 401
        job = {"event_id": "x", "session_hash": "y", "fn_index": 0}
        cancel = httpx.post(url + "gradio_api/cancel", json=job)
        assert cancel.status_code == 401 and "success" not in cancel.text

        page = httpx.get(url, timeout=10)  # the log-in form, without the API description
        assert page.status_code == 200 and '"auth_required":true' in page.text
        assert not any(name in page.text for name in ("delete_article", "add_articles", "/answer"))
        loads = re.findall(r'(?:src|href)="\./(assets/[^"?]+)', page.text)
        assert len(loads) >= 2  # its script and stylesheet, and what it loads in turn:
        loads += ["theme.css", "static/js/iframeResizer.contentWindow.min.js", "favicon.ico"]
        for x in loads:
            assert httpx.get(url + x, timeout=10).status_code == 200, x

        http = httpx.Client(timeout=10)
        login = {"username": "ann", "password": "correct horse"}
        assert http.post(url + "login", data=login).status_code == 200
        assert http.get(url + "config").status_code == 200 and "auth_required" not in http.get(url).text
        assert "delete_article" in http.get(url).text
        client = Client(url, verbose=False, auth=("ann", "correct horse"))
        assert client.predict("深圳5G基站建成多少？", [], "auto", 5, False, api_name="/answer")["citations"]


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


FILE_META = {"_type": "gradio.FileData"}


@pytest.fixture
def in_cache():
    """A fresh folder inside Gradio's upload cache, removed afterwards."""
    import shutil
    import uuid

    folder = Path(gradio.utils.get_upload_folder()) / f"test-{uuid.uuid4().hex}"
    folder.mkdir(parents=True)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def raw_paths(monkeypatch):
    """``gradio_client`` without its upload step: file paths reach the server as they are."""
    monkeypatch.setattr(Endpoint, "_upload_file", lambda self, f, data_index: f)


def test_file_inputs_take_only_files_uploaded_to_this_server(library, tmp_path, in_cache, raw_paths):
    s = library.settings
    before = corpus_files(s)
    secret = tmp_path / "secret.txt"
    secret.write_text("---\ntitle: 机密 secret\n---\n服务器上的机密文件。 A server file, to stay out.")
    (in_cache / "link.txt").symlink_to(secret)
    (in_cache / "planted.txt").write_text(secret.read_text())  # in the cache, but never uploaded
    ups = "/.." * len(in_cache.parent.parts[1:])
    tries = {
        "outside": str(secret),
        "symlink": str(in_cache / "link.txt"),
        "dotdot": f"{in_cache.parent}{ups}{secret}",
        "planted": str(in_cache / "planted.txt"),
        "project": str(ROOT / "README.md"),
    }
    with in_process(library) as url:
        client = Client(url, verbose=False)
        tries["url"] = url + "config"
        for name, path in tries.items():
            with pytest.raises(AppError) as caught:
                client.predict([{"path": path, "meta": FILE_META}], api_name="/add_articles")
            assert json.dumps(path, ensure_ascii=False) in str(caught.value), name
            assert "only uploaded files are accepted" in str(caught.value), name
    assert corpus_files(s) == before and "机密" not in str(library.store.docs())


def test_a_file_uploaded_through_the_client_is_added(library, tmp_path):
    article = tmp_path / "bus_charging.md"
    article.write_text("---\ntitle: 深圳公交快充站\n---\n深圳2024年新建公交快充站120座。", "utf-8")
    with in_process(library) as url:
        status, _ = Client(url, verbose=False).predict([handle_file(str(article))], api_name="/add_articles")
    assert "Added" in status and "bus_charging.md" in corpus_files(library.settings)


def test_the_upload_check_resolves_symlinks_and_dotdot(tmp_path):
    from rag.web.guards import uploaded_file

    cache, outside = tmp_path / "cache", tmp_path / "outside.txt"
    (cache / "abc").mkdir(parents=True)
    outside.write_text("x")
    (cache / "abc" / "ok.txt").write_text("y")
    (cache / "abc" / "out.txt").symlink_to(outside)
    assert uploaded_file(str(cache / "abc" / "ok.txt"), cache) == (cache / "abc" / "ok.txt").resolve()
    for path in (outside, cache / "abc" / "out.txt", cache / "abc/../../outside.txt", cache, cache / "abc"):
        with pytest.raises(ValueError, match="only uploaded files are accepted"):
            uploaded_file(str(path), cache)
    with pytest.raises(ValueError, match="not a file uploaded"):  # in the cache, not uploaded to this server
        uploaded_file(str(cache / "abc" / "ok.txt"), cache, uploaded={"/elsewhere.txt"})
