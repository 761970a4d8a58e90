"""The chat UI in a real browser, as a person uses it (marked ``browser``).

A server runs ``python -m rag serve`` with the real embedder and extractive answers
(``--no-llm``, for speed) over a copy of the bundled articles and an index in tmp; Debian's
Chromium (``/usr/bin/chromium``, installed by ``scripts/install_browser.sh``) driven by
Playwright asks in Chinese and in English, follows up, clicks a citation, uploads an article,
asks about it and deletes it. Every step is saved to ``screenshots/`` for a person to look at.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from rag.config import Settings
from rag.models.prepare import models_ready
from rag.web.loading import LOADING

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
# no background connections: the network is closed here and Chromium would retry them
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# A wait, not a measure: on a loaded 2-core machine re-indexing an upload took over 2 min.
ANSWER_WAIT_MS = 300_000
ARTICLE = """---
title: "Shenzhen opens 120 fast-charging stations for electric buses"
date: 2024-03-02
url: https://example.com/news/bus-charging
---
Shenzhen opened 120 new fast-charging stations for electric buses in February 2024, the city's
transport bureau said on Saturday. Each station charges a bus in about 40 minutes.
Bureau director Li Ming said the network would reach 300 stations by the end of 2024.
"""

LONG_REPORT = "---\ntitle: Shenzhen factory survey, 2024\ndate: 2024-06-01\n---\n" + "\n".join(
    f"Survey line {i}: plant {i % 37} in district {i % 11} raised output by {i % 23 + 1} percent "
    f"and hired {i % 90 + 10} workers for its robot line number {i}."
    for i in range(600)
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """URL of a chat server over a copy of the articles; stopped after the module."""
    if not models_ready(Settings()):
        pytest.fail("models are not prepared: run `python -m rag prepare` (make test does)")
    work = tmp_path_factory.mktemp("ui")
    articles, index = work / "articles", work / "index"
    shutil.copytree(ROOT / "data" / "articles", articles)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    paths = ["--corpus", str(articles), "--index", str(index)]
    subprocess.run(
        [sys.executable, "-m", "rag", "build", *paths, "--quiet"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=900,
        capture_output=True,
    )
    port = _free_port()
    log = (work / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "rag", "serve", *paths, "--no-llm", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 600
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"the server exited ({proc.returncode}): {(work / 'server.log').read_text()[-2000:]}"
                )
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("the server did not answer within 10 minutes")
            time.sleep(1)
        yield {"url": url, "articles": articles}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')"
    )
    if not CHROMIUM.exists():
        pytest.skip(
            "Chromium is not installed at /usr/bin/chromium: run scripts/install_browser.sh "
            "(needs apt-get and root; `make test` runs it)"
        )
    SHOTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)  # fresh profile each launch
        yield b
        b.close()


@pytest.fixture
def page(browser, server, request):
    """A fresh page; the browser's language (Gradio's own labels follow it) is zh-CN unless parametrised."""
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale=getattr(request, "param", "zh-CN")
    )
    p = context.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda exc: errors.append(str(exc)))
    p.set_default_timeout(ANSWER_WAIT_MS)
    p.goto(server["url"])
    p.wait_for_selector("#question textarea")
    yield p
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def shot(page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def ask(page, question: str, turn: int) -> str:
    """Type a question, submit it, wait for its sources; returns the last answer's text."""
    page.fill("#question textarea", question)
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#sources .src[id^='src-{turn}-']")
    return page.locator(".message.bot, [data-testid='bot']").last.inner_text()


def wait_text(page, selector: str, text: str, present: bool = True) -> None:
    """Wait until the element's visible text contains ``text`` (or no longer does)."""
    page.wait_for_function(
        "([sel, text, present]) => { const el = document.querySelector(sel);"
        " return !!el && el.innerText.includes(text) === present; }",
        arg=[selector, text, present],
    )


def record_bot_messages(page) -> None:
    """Keep every text the last bot message shows, to check that the answer streams in."""
    page.evaluate("""() => {
        window.__seen = [];
        new MutationObserver(() => {
            const bots = document.querySelectorAll("[data-testid='bot']");
            if (bots.length) window.__seen.push(bots[bots.length - 1].innerText);
        }).observe(document.body, {subtree: true, childList: true, characterData: true});
    }""")


def test_chat_in_both_languages_with_citations_and_follow_ups(page):
    shot(page, "01_start")
    record_bot_messages(page)
    answer = ask(page, "深圳2020年建成了多少5G基站？", 1)
    seen = [text.strip() for text in page.evaluate("window.__seen") if text.strip()]
    # the placeholder (the loading notice when the models are still loading), then the answer
    assert seen[0] in ("…", LOADING) and seen[-1].startswith("最相关的原文"), seen[:3]
    assert "最相关的原文" in answer and "[1]" in answer
    assert page.locator("a.cite[href='#src-1-1']").count() >= 1
    first = page.locator("#src-1-1")
    assert first.locator("mark").count() == 1 and first.locator("mark").inner_text().strip()
    assert "5G" in page.locator("#sources").inner_text()
    shot(page, "02_zh_answer")

    answer = ask(page, "那到2024年初呢？", 2)  # a follow-up: only answerable with the first question
    assert "[1]" in answer and "5G" in page.locator("#sources section").inner_text()
    assert page.locator("#sources details").count() == 1  # the first answer's sources, folded
    shot(page, "03_zh_follow_up")

    answer = ask(page, "How many 5G base stations did Shenzhen build in 2020?", 3)
    assert "Most relevant passages" in answer and "[1]" in answer
    assert "Q3: How many 5G base stations" in page.locator("#sources section").inner_text()
    shot(page, "04_en_answer")

    answer = ask(page, "And who said that?", 4)
    assert "[1]" in answer
    shot(page, "05_en_follow_up")

    page.locator("#sources").evaluate("el => el.scrollTop = el.scrollHeight")  # scroll the source away
    cite = page.locator("a.cite[href='#src-4-1']").first
    cite.click()
    target = page.locator("#src-4-1")
    page.wait_for_function("() => document.getElementById('src-4-1').classList.contains('flash')")
    page.wait_for_timeout(800)  # the smooth scroll
    box, panel = target.bounding_box(), page.locator("#sources").bounding_box()
    assert box and panel and panel["y"] - 1 <= box["y"] <= panel["y"] + panel["height"], (box, panel)
    assert page.url.rstrip("/") == page.url.split("#")[0].rstrip("/")  # no navigation
    shot(page, "06_citation_clicked")

    page.get_by_text("设置 · Settings").click()
    page.get_by_text("English", exact=True).click()
    answer = ask(page, "深圳2020年规上工业总产值是多少？", 5)
    assert "Most relevant passages" in answer  # answer language forced to English
    assert "检索 retrieval" in page.locator("#timings").inner_text()
    shot(page, "07_settings_answer_language")


@pytest.mark.parametrize("page", ["en-US"], indirect=True)
def test_upload_an_article_ask_about_it_and_delete_it(page, server, tmp_path):
    upload = tmp_path / "bus charging (2024).md"
    upload.write_text(ARTICLE, "utf-8")
    page.get_by_role("tab", name="文章 · Articles").click()
    wait_text(page, "#articles", "City’s industrial output takes the lead")
    shot(page, "08_articles")

    docx = tmp_path / "notes.docx"
    docx.write_bytes(b"PK\x03\x04 not an article")
    page.set_input_files("#upload input[type=file]", [str(docx)])
    page.get_by_text("Invalid file type: notes.docx").first.wait_for()
    shot(page, "09_rejected_type")

    report = tmp_path / "long report.md"  # long enough for the progress bar to show for a while
    report.write_text(LONG_REPORT, "utf-8")
    page.set_input_files("#upload input[type=file]", [str(upload), str(report)])
    wait_text(page, "#upload", "bus charging (2024).md")
    page.click("#add")
    page.wait_for_function(
        "() => /Reading the files|Embedding passages|Finishing the index/"
        ".test(document.querySelector('#upload').innerText)",
        polling=100,
    )
    shot(page, "10_indexing_progress")
    wait_text(page, "#corpus-status", "Added")
    status = page.locator("#corpus-status").inner_text()
    assert "Shenzhen opens 120 fast-charging stations" in status and "bus_charging_2024" in status
    assert "long_report" in status
    wait_text(page, "#articles", "Shenzhen opens 120 fast-charging stations for electric buses")
    assert (server["articles"] / "bus_charging_2024.md").exists()
    shot(page, "11_uploaded")

    page.get_by_role("tab", name="问答 · Ask").click()
    answer = ask(page, "How many fast-charging stations for electric buses did Shenzhen open?", 1)
    assert "120" in answer
    assert "Shenzhen opens 120 fast-charging stations" in page.locator("#sources").inner_text()
    shot(page, "12_ask_uploaded")

    page.get_by_role("tab", name="文章 · Articles").click()
    page.locator("#pick input").click()
    page.locator("#pick input").fill("bus_charging")
    page.get_by_role(
        "option", name="Shenzhen opens 120 fast-charging stations for electric buses (bus_charging_2024)"
    ).click()
    page.click("#delete")
    wait_text(page, "#corpus-status", "Deleted")
    wait_text(page, "#articles", "fast-charging", present=False)
    assert not (server["articles"] / "bus_charging_2024.md").exists()
    shot(page, "13_deleted")
