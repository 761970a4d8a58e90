"""Serving before the models are loaded (rag.web.loading): the page answers at once, a question
asked meanwhile shows a notice and is answered once the (fake, held back) loader finishes."""

from __future__ import annotations

import threading
from dataclasses import replace

import httpx
import openai
import pytest

from rag.errors import IndexError_
from rag.web import respond
from rag.web.loading import LOADING, PipelineLoader
from tests.conftest import fixture_library
from tests.fakes import FakeGenerator
from tests.servers import in_process

REPLY = "深圳建成5G基站超4.6万个[1]。"
QUESTION = "深圳5G基站建成多少？"


def held_back(settings):
    """A loader whose load returns the fixture pipeline only once ``gate`` is set."""
    s = replace(settings, use_llm=True, encoder2="")
    pipeline = fixture_library(s, FakeGenerator(REPLY))
    gate = threading.Event()

    def slow_load(_settings):
        gate.wait()
        return pipeline

    return PipelineLoader(s, slow_load).start(), gate


def test_a_question_asked_while_loading_shows_a_notice_then_is_answered(settings):
    loader, gate = held_back(settings)
    steps = respond(QUESTION, [], loader)
    chat, _, _, timings = next(steps)
    assert chat[-1] == {"role": "assistant", "content": LOADING} and timings == ""
    assert not loader.ready
    gate.set()
    chat, sources, sections, timings = list(steps)[-1]
    assert "4.6万" in chat[-1]["content"] and "⚠️" not in chat[-1]["content"]
    assert 'id="src-1-1"' in sources and len(sections) == 1 and "total" in timings


def test_a_question_after_loading_shows_no_notice(settings):
    loader, gate = held_back(settings)
    gate.set()
    loader.wait()
    steps = list(respond(QUESTION, [], loader))
    assert all(LOADING not in step[0][-1]["content"] for step in steps)
    assert "4.6万" in steps[-1][0][-1]["content"]


def test_a_failed_load_is_a_message_in_the_chat_not_a_crash(settings):
    def broken(_settings):
        raise IndexError_("no index in index/: run `python -m rag build` first")

    loader = PipelineLoader(settings, broken).start()
    chat = list(respond(QUESTION, [], loader))[-1][0]
    assert chat[-1]["content"].startswith("⚠️") and "rag build" in chat[-1]["content"]


def test_the_page_is_served_before_loading_and_the_api_waits_for_it(settings):
    loader, gate = held_back(settings)
    with in_process(loader) as url:
        assert httpx.get(url, timeout=30).status_code == 200
        assert not loader.ready  # the page came first
        client = openai.OpenAI(base_url=f"{url}v1", api_key="x", max_retries=0, timeout=60)
        got: dict = {}

        def ask() -> None:
            got["reply"] = client.chat.completions.create(
                model="news-qa", messages=[{"role": "user", "content": QUESTION}]
            )

        asking = threading.Thread(target=ask)
        asking.start()
        gate.set()
        asking.join(60)
        assert "4.6万" in got["reply"].choices[0].message.content


def test_the_cross_language_dictionary_is_read_while_the_pipeline_loads(settings, monkeypatch):
    """Read in the loading pool beside the models (0.2 s from its copy), so the first English
    question does not wait for it; and not at all when loading fails before."""
    events = []
    monkeypatch.setattr("rag.answer.pipeline.warm_up_lexicon", lambda: events.append("dictionary"))
    loader, gate = held_back(settings)
    gate.set()
    loader.wait()
    assert events == ["dictionary"]

    def broken(_settings):
        raise IndexError_("no index")

    failed = PipelineLoader(settings, broken).start()
    assert "no index" in list(respond(QUESTION, [], failed))[-1][0][-1]["content"]
    assert events == ["dictionary"]


def test_jieba_warm_up_leaves_the_dictionary_to_the_loader(monkeypatch):
    from rag.text import lexicon, tokens

    monkeypatch.setattr(lexicon, "warm_up", lambda: pytest.fail("the dictionary was read at load"))
    tokens.warm_up()
