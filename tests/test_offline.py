"""Offline means offline: the chat server opens no connection beyond this machine.

Unless told not to, Gradio reports usage to api.gradio.app and asks it for the latest version, and
the model hub's client sends telemetry; ``rag.config.set_offline`` (run by every command) turns
them off. The test serves the fixture index (fake embedder, no generator) with ``rag serve``
through a wrapper that records every name lookup of, and connection to, anything but this machine
(and refuses it); loads the page, its assets and config; asks a question; and expects the record to
be empty. With Chromium installed, a browser test also loads the page and asks, and expects no
request for anything but the server.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from rag.config import OFFLINE_ENV, set_offline
from tests.servers import stop, wait_until_up

pytestmark = pytest.mark.process  # these tests serve the chat in a child process with network calls recorded

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "深圳5G基站建成多少？"

# Runs ``rag serve`` (argv: its flags) with the socket module watched and the fake embedder.
WRAPPER = r"""
import errno, ipaddress, os, socket, sys

LOG = os.environ["CONNECTIONS_LOG"]


def remote(host):
    host = (host.decode() if isinstance(host, bytes) else str(host)).strip("[]").split("%")[0]
    if host.lower() == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True  # a name to look up


def record(what, target):
    with open(LOG, "a", encoding="utf-8") as f:
        f.write(f"{what} {target!r}\n")


def getaddrinfo(host, *args, _original=socket.getaddrinfo, **kwargs):
    if host is not None and remote(host):
        record("getaddrinfo", host)
        raise socket.gaierror(socket.EAI_NONAME, "refused by the test: no outbound connection")
    return _original(host, *args, **kwargs)


def watched(original, refuse):
    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and remote(address[0]):
            record(original.__name__, address)
            return refuse()
        return original(self, address)
    return connect


def refused():
    raise ConnectionRefusedError(errno.ECONNREFUSED, "refused by the test: no outbound connection")


socket.getaddrinfo = getaddrinfo
socket.socket.connect = watched(socket.socket.connect, refused)
socket.socket.connect_ex = watched(socket.socket.connect_ex, lambda: errno.ECONNREFUSED)

sys.path.insert(0, os.environ["CHECKOUT"])
import rag.models.embedding
from tests.fakes import FakeEmbedder

embedder_class = rag.models.embedding.SentenceTransformerEmbedder
embedder_class.from_settings = classmethod(lambda cls, settings: FakeEmbedder())
from_env = rag.config.Settings.from_env.__func__  # the fake's cosines are low: as tests/conftest.py
rag.config.Settings.from_env = classmethod(lambda cls, env=None, **kw: from_env(cls, env, min_score=0.1,
                                                                                **kw))
import rag.__main__


sys.exit(rag.__main__.main(["serve", "--no-llm", *sys.argv[1:]]))
"""


def test_set_offline_turns_off_the_hub_gradio_analytics_and_the_version_check(monkeypatch):
    for key in OFFLINE_ENV:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")  # a value already set is kept
    set_offline()
    assert os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"
    assert os.environ["HF_HUB_DISABLE_TELEMETRY"] == "1"
    assert os.environ["HF_HUB_OFFLINE"] == "0"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load_page(url: str) -> str:
    """The page, and what a browser fetches with it from the server; the page's HTML."""
    page = httpx.get(url, timeout=30)
    assert page.status_code == 200
    for path in ("config", "gradio_api/info", "theme.css"):
        assert httpx.get(url + path, timeout=30).status_code == 200, path
    assets = set(re.findall(r'(?:src|href)="\.?/?(assets/[^"]+)"', page.text))
    assert assets, page.text[:2000]
    for asset in sorted(assets):
        assert httpx.get(url + asset, timeout=30).status_code == 200, asset
    return page.text


@dataclass(frozen=True)
class Served:
    url: str
    connections: Path  # what the wrapper recorded: one line a lookup or connection beyond loopback
    log: Path  # the server's output


@pytest.fixture
def served(fixture_index, tmp_path: Path) -> Iterator[Served]:
    """``rag serve --no-llm`` of the fixture index through WRAPPER, on a free port; stopped after
    the test, which then finds the record empty and no traceback in the log."""
    s = fixture_index
    wrapper, connections, log = tmp_path / "serve.py", tmp_path / "connections.log", tmp_path / "server.log"
    wrapper.write_text(WRAPPER, "utf-8")
    connections.touch()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAG_", "GRADIO_", *OFFLINE_ENV))}
    env.update(CONNECTIONS_LOG=str(connections), CHECKOUT=str(ROOT))
    cmd = [
        sys.executable,
        str(wrapper),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--corpus",
        str(s.corpus_dir),
        "--index",
        str(s.index_dir),
    ]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT)
    served = Served(f"http://127.0.0.1:{port}/", connections, log)
    try:
        wait_until_up(proc, served.url, log)
        yield served
    finally:
        stop(proc)
    assert connections.read_text() == "", f"outbound connections attempted:\n{connections.read_text()}"
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]


def test_the_server_opens_no_outbound_connection(served: Served):
    from gradio_client import Client

    assert httpx.get(served.url + "config", timeout=30).json()["analytics_enabled"] is False
    html = load_page(served.url)
    external = re.findall(r'(?:src|href)="(https?://[^"]+)"', html)
    assert external == [], "the page would make the browser fetch these"
    result = Client(served.url, verbose=False).predict(QUESTION, [], "auto", 5, True, api_name="/answer")
    assert result["citations"], result
    assert served.connections.read_text() == ""  # and again when the server has stopped (the fixture)


@pytest.mark.browser
def test_the_page_in_a_browser_fetches_nothing_from_elsewhere(served: Served):
    """Chromium loads the chat and asks a question; every request for another origin is recorded
    and refused. (Gradio's script bundle holds a Google Fonts loader, for pages embedded elsewhere.)"""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    from tests.test_browser import CHROMIUM, CHROMIUM_ARGS

    if not CHROMIUM.exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM}: run scripts/install_browser.sh")
    elsewhere: list[str] = []

    def only_the_server(route) -> None:
        if route.request.url.startswith(served.url):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.route("**/*", only_the_server)
            page.set_default_timeout(120_000)  # a wait, not a measure: the machine may be loaded
            page.goto(served.url)
            page.fill("#question textarea", QUESTION)
            page.keyboard.press("Enter")
            page.wait_for_selector("#sources .src[id^='src-1-']")
        finally:
            browser.close()
    assert elsewhere == []
