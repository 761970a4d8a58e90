"""The OpenAI-compatible API (rag.web.openai_api) through the official ``openai`` client and ``curl``,
against the chat server started as ``python -m rag serve`` starts it (in this process, fake models)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from rag.answer.write.prompt import NO_ANSWER
from rag.config import Settings
from rag.errors import IndexError_
from rag.prompts import prompt_text
from rag.types import Answer
from rag.web.openai_api import NO_GENERATOR, routes
from rag.web.openai_replies import CORRECTION
from rag.web.openai_requests import conversation
from tests.conftest import fixture_library
from tests.fakes import FakeGenerator, LockingGenerator
from tests.servers import in_process

REPLY = "深圳建成5G基站超4.6万个[1]。"
QUESTION = "深圳5G基站建成多少？"
BAD = openai.BadRequestError
KEY = "ann:s3 cret:x"  # the password has a space and a colon


def library(base: Path, generator, **changes) -> object:
    s = Settings(
        corpus_dir=base / "corpus",
        index_dir=base / "index",
        models_dir=base / "models",
        **{"min_score": 0.1, "use_llm": True, "grounding_check": False, "encoder2": "", **changes},
    )
    return fixture_library(s, generator)


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[str, object]]:
    """(base URL of /v1, pipeline) of a server without a log-in."""
    pipeline = library(tmp_path_factory.mktemp("api"), LockingGenerator(REPLY))
    with in_process(pipeline) as url:
        yield f"{url}v1", pipeline


@pytest.fixture
def client(served) -> openai.OpenAI:
    return openai.OpenAI(base_url=served[0], api_key="anything", max_retries=0, timeout=60)


def ask(question: str = QUESTION) -> list[dict]:
    return [{"role": "user", "content": question}]


def test_models_lists_the_model_and_its_extractive_variant(client):
    assert [m.id for m in client.models.list()] == ["news-qa", "news-qa-extractive"]
    assert client.models.retrieve("news-qa-extractive").owned_by == "rag-news"
    with pytest.raises(openai.NotFoundError, match="news-qa"):
        client.models.retrieve("gpt-4o")


def test_an_answer_carries_markers_sources_and_citations(client, served):
    pipeline = served[1]
    r = client.chat.completions.create(
        model="news-qa", messages=ask(), temperature=0.7, top_p=0.5, seed=3, extra_body={"frobnicate": True}
    )  # ignored, not errors
    assert r.object == "chat.completion" and r.model == "news-qa" and r.choices[0].finish_reason == "stop"
    content = r.choices[0].message.content
    assert content.startswith(REPLY)
    assert "**来源 · Sources**\n- [1] 深圳5G基站" in content
    expected = pipeline.ask(QUESTION, use_llm=True).to_json()["citations"]  # as `rag ask --json`
    assert r.model_extra["citations"] == expected and expected[0]["doc_id"] == "zh_5g"


def test_streaming_sends_the_same_message_in_pieces_then_the_citations(client):
    whole = client.chat.completions.create(model="news-qa", messages=ask()).choices[0].message.content
    chunks = list(client.chat.completions.create(model="news-qa", messages=ask(), stream=True))
    assert {c.object for c in chunks} == {"chat.completion.chunk"} and len({c.id for c in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    deltas = [c.choices[0].delta.content for c in chunks if c.choices[0].delta.content]
    assert len(deltas) > 3 and "".join(deltas) == whole
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert [c["n"] for c in last.model_extra["citations"]] == [1]
    assert all("citations" not in c.model_extra for c in chunks[:-1])


def test_a_follow_up_is_answered_with_the_conversation_before_it(client):
    follow = "那2023年呢？"  # elliptical: alone, there is nothing to read it with
    alone = client.chat.completions.create(model="news-qa", messages=ask(follow))
    assert "按上文理解为" not in alone.choices[0].message.content
    first = client.chat.completions.create(model="news-qa", messages=ask()).choices[0].message.content
    messages = [
        {"role": "system", "content": "Answer briefly."},
        *ask(),
        {"role": "assistant", "content": first},
        *ask(follow),
    ]
    r = client.chat.completions.create(model="news-qa", messages=messages)
    assert "按上文理解为：2023年深圳5G基站建成多少？" in r.choices[0].message.content
    assert r.model_extra["citations"][0]["doc_id"] == "zh_5g"


def test_an_abstention_is_a_normal_message(client, served):
    generator = served[1].generator
    generator.reply = NO_ANSWER  # the model finds no answer in the passages
    try:
        question = ask("How many 5G base stations will Shenzhen have in 2030?")
        r = client.chat.completions.create(model="news-qa", messages=question)
        chunks = list(client.chat.completions.create(model="news-qa", messages=question, stream=True))
    finally:
        generator.reply = REPLY
    content = r.choices[0].message.content
    assert content.startswith(prompt_text("abstain_en")) and r.choices[0].finish_reason == "stop"
    # the closest passages are shown with their citations, as the chat shows them
    cited = r.model_extra["citations"]
    assert ("I could not confirm an answer" in content) == bool(cited)
    assert all(f"[{c['n']}]" in content for c in cited)
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert streamed == content and chunks[-1].model_extra["citations"] == cited


def test_the_extractive_model_quotes_without_generating(client, served):
    generator = served[1].generator
    before = len(generator.seen)
    r = client.chat.completions.create(model="news-qa-extractive", messages=ask())
    assert len(generator.seen) == before
    assert "4.6万" in r.choices[0].message.content and r.model_extra["citations"][0]["doc_id"] == "zh_5g"


def test_max_tokens_is_clamped_to_the_servers_limit(client, served):
    generator, limit = served[1].generator, served[1].settings.max_new_tokens
    client.chat.completions.create(model="news-qa", messages=ask(), max_tokens=5)
    client.chat.completions.create(model="news-qa", messages=ask(), max_completion_tokens=7)
    client.chat.completions.create(model="news-qa", messages=ask(), max_tokens=100_000)
    assert generator.max_tokens[-3:] == [5, 7, limit]


@pytest.mark.parametrize(
    ("create", "error", "message"),
    [
        ({"messages": []}, openai.BadRequestError, "messages must be a non-empty list"),
        ({"messages": [{"role": "system", "content": "Be brief."}]}, BAD, "no user message"),
        (
            {"messages": [*ask(), {"role": "assistant", "content": "…"}]},
            openai.BadRequestError,
            "an assistant message after it",
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]},
            openai.BadRequestError,
            "only text is supported",
        ),
        ({"messages": [{"role": "user", "content": 42}]}, BAD, "a string or a list of text"),
        ({"messages": [{"role": "robot", "content": "hi"}]}, BAD, "must be an object with a role"),
        ({"messages": ask(), "max_tokens": 0}, openai.BadRequestError, "at least 1"),
        ({"messages": ask(), "extra_body": {"stream": "yes"}}, openai.BadRequestError, "stream must be bool"),
        ({"messages": ask("  ？！ ")}, openai.UnprocessableEntityError, "no letters or digits"),
        ({"messages": ask(), "model": "gpt-4o"}, openai.NotFoundError, "unknown model 'gpt-4o'"),
    ],
)
def test_bad_requests_get_openai_errors_with_our_message(client, create, error, message):
    with pytest.raises(error, match=message) as caught:
        client.chat.completions.create(**{"model": "news-qa", **create})
    assert caught.value.body["message"] and caught.value.body["type"] == "invalid_request_error"


def test_malformed_bodies_wrong_methods_and_paths_get_error_bodies(served):
    url = served[0]
    cases = [
        (httpx.post(f"{url}/chat/completions", content=b"{not json"), 400, "not valid JSON"),
        (httpx.post(f"{url}/chat/completions", json=["a list"]), 400, "must be a JSON object"),
        (httpx.post(f"{url}/chat/completions", json={"messages": ask()}), 400, "model is required"),
        (httpx.get(f"{url}/chat/completions"), 405, "takes POST"),
        (httpx.post(f"{url}/completions", json={}), 404, "this server offers GET /v1/models"),
        (httpx.post(f"{url}/chat/completions/", json={"model": "news-qa", "messages": []}), 400, "non-empty"),
    ]
    for r, status, message in cases:
        assert r.status_code == status, r.text
        assert message in r.json()["error"]["message"] and "Traceback" not in r.text
    assert len(httpx.get(f"{url}/models/").json()["data"]) == 2


def test_the_log_in_guards_the_api(served):
    pipeline = served[1]
    user, password = KEY.split(":", 1)
    with in_process(pipeline, auth_user=user, auth_password=password) as url:
        for key in ("wrong", "ann", f"{user}:wrong", password):
            with pytest.raises(openai.AuthenticationError, match="USER:PASSWORD"):
                openai.OpenAI(base_url=f"{url}v1", api_key=key, max_retries=0).models.list()
        bare = httpx.post(f"{url}v1/chat/completions", json={"model": "news-qa", "messages": ask()})
        assert bare.status_code == 401 and bare.json()["error"]["code"] == "invalid_api_key"
        assert bare.headers["www-authenticate"] == "Bearer"
        assert httpx.get(f"{url}v1/no/such/path").status_code == 401  # says nothing without the key
        right = openai.OpenAI(base_url=f"{url}v1", api_key=KEY, max_retries=0)
        assert [m.id for m in right.models.list()] == ["news-qa", "news-qa-extractive"]
        assert right.chat.completions.create(model="news-qa", messages=ask()).model_extra["citations"]


@pytest.mark.process
def test_curl_sees_the_raw_event_stream(served):
    body = json.dumps({"model": "news-qa", "stream": True, "messages": ask()})
    r = subprocess.run(
        ["curl", "-sS", "-N", "--max-time", "60", f"{served[0]}/chat/completions",
         "-H", "Content-Type: application/json", "-H", "Authorization: Bearer anything", "-d", body],
        capture_output=True, text=True, timeout=90, check=True,
    )  # fmt: skip
    events = [e for e in r.stdout.split("\n\n") if e.strip()]
    assert all(e.startswith("data: ") for e in events) and events[-1] == "data: [DONE]"
    chunks = [json.loads(e.removeprefix("data: ")) for e in events[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks).startswith(REPLY)
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop" and chunks[-1]["citations"][0]["n"] == 1


def test_a_client_leaving_mid_answer_gives_the_model_back(served):
    url, pipeline = served
    generator = pipeline.generator
    generator.delay, generator.reply = 0.02, REPLY * 30  # about 5 s of writing
    try:
        body, written = {"model": "news-qa", "stream": True, "messages": ask()}, generator.written
        with httpx.stream("POST", f"{url}/chat/completions", json=body, timeout=60) as r:
            lines = r.iter_lines()
            assert next(line for line in lines if '"content":"深圳' in line)
        # the server notices at its next write and closes the answer: the model's lock is released
        # and the rest of the answer is never written
        assert generator.lock.acquire(timeout=60)
        generator.lock.release()
        assert generator.written - written < len(generator.reply) / 2
        generator.delay, generator.reply = 0.0, REPLY
        r = openai.OpenAI(base_url=url, api_key="x", max_retries=0).chat.completions.create(
            model="news-qa", messages=ask()
        )
        assert r.choices[0].message.content.startswith(REPLY)
    finally:
        generator.delay, generator.reply = 0.0, REPLY


def test_without_a_generator_news_qa_quotes_the_passages_and_says_so(tmp_path):
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    pipeline = library(tmp_path, None, use_llm=False)  # as `rag serve --no-llm`
    with TestClient(Starlette(routes=routes(pipeline, pipeline.settings))) as http:
        r = http.post("/v1/chat/completions", json={"model": "news-qa", "messages": ask()})
        assert r.status_code == 200
        content = r.json()["choices"][0]["message"]["content"]
        assert "4.6万" in content and f"> {NO_GENERATOR}" in content and "[1]" in content
        r = http.post("/v1/chat/completions", json={"model": "news-qa-extractive", "messages": ask()})
        assert NO_GENERATOR not in r.json()["choices"][0]["message"]["content"]


def test_an_answer_the_checks_rewrite_is_resent_whole_after_a_separator(tmp_path, monkeypatch):
    """A stream cannot take text back: when the final answer does not extend what was sent (here
    withdrawn), the last delta is the correction with the whole final message."""
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    pipeline = library(tmp_path, FakeGenerator(REPLY))
    shown = Answer("深圳建成", "zh", False)
    withdrawn = Answer("资料中没有答案。", "zh", True, notices=("未核实",))
    monkeypatch.setattr(pipeline, "stream", lambda *a, **k: iter([shown, withdrawn]))
    with TestClient(Starlette(routes=routes(pipeline, pipeline.settings))) as http:
        body = {"model": "news-qa", "messages": ask(), "stream": True}
        events = [e for e in http.post("/v1/chat/completions", json=body).text.split("\n\n") if e]
    deltas = [json.loads(e[6:])["choices"][0]["delta"].get("content") for e in events[:-1]]
    assert [d for d in deltas if d] == ["深圳建成", f"{CORRECTION}资料中没有答案。\n\n> 未核实"]


@pytest.mark.parametrize(
    ("fault", "status", "shown"),
    [
        (IndexError_("the index is unreadable: run `python -m rag build`"), 503, "run `python -m rag build`"),
        (RuntimeError("/srv/secret/path exploded"), 500, "answering failed on the server"),
    ],
)
def test_a_failing_answer_is_an_error_body_or_event_without_internals(
    tmp_path, monkeypatch, fault, status, shown
):
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    pipeline = library(tmp_path, FakeGenerator(REPLY))

    def failing(*args, **kwargs):
        yield Answer("深圳", "zh", False)
        raise fault

    monkeypatch.setattr(pipeline, "stream", failing)
    with TestClient(Starlette(routes=routes(pipeline, pipeline.settings))) as http:
        body = {"model": "news-qa", "messages": ask()}
        r = http.post("/v1/chat/completions", json=body)
        streamed = http.post("/v1/chat/completions", json={**body, "stream": True})
    assert r.status_code == status and shown in r.json()["error"]["message"]
    events = [e for e in streamed.text.split("\n\n") if e]
    assert events[-1] == "data: [DONE]" and shown in json.loads(events[-2][6:])["error"]["message"]
    assert "secret" not in r.text + streamed.text and "Traceback" not in r.text + streamed.text


def test_conversation_drops_the_sources_list_of_earlier_answers():
    earlier = f"{REPLY}\n\n**来源 · Sources**\n- [1] 深圳5G基站 · 2021-01-20"
    messages = [
        *ask(),
        {"role": "assistant", "content": [{"type": "text", "text": earlier}]},
        {"role": "user", "content": [{"type": "text", "text": "那2023年呢？"}]},
    ]
    assert conversation(messages) == ("那2023年呢？", [(QUESTION, REPLY)])


# --------------------------------------------------------------------------- real models


@pytest.mark.models
def test_rag_serve_offers_the_api(real_library, tmp_path):
    """``python -m rag serve --no-llm``, started as a user starts it, answers on /v1 too."""
    from tests.servers import subprocess_server

    corpus, index = real_library
    with subprocess_server(corpus, index, tmp_path / "serve.log") as (url, _):
        client = openai.OpenAI(base_url=f"{url}v1", api_key="anything", max_retries=0, timeout=120)
        assert [m.id for m in client.models.list()] == ["news-qa", "news-qa-extractive"]
        r = client.chat.completions.create(model="news-qa", messages=ask("深圳2020年规上工业总产值是多少？"))
        content = r.choices[0].message.content
        assert "3.7万亿" in content and "[1]" in content and f"> {NO_GENERATOR}" in content
        assert r.model_extra["citations"] and "**来源 · Sources**\n- [1] " in content


@pytest.mark.models
def test_the_real_model_streams_the_answer_it_gives(real_library):
    """The generator's stream as deltas: joined, they give the non-streamed message (after a
    correction when the checks changed text already sent)."""
    from rag.answer.pipeline import Pipeline

    corpus, index = real_library
    pipeline = Pipeline.load(Settings(corpus_dir=corpus, index_dir=index))
    assert pipeline.generator is not None, pipeline.notices
    with in_process(pipeline) as url:
        client = openai.OpenAI(base_url=f"{url}v1", api_key="anything", max_retries=0, timeout=300)
        question = ask("How many 5G base stations did Shenzhen build in 2020?")
        chunks = list(client.chat.completions.create(model="news-qa", messages=question, stream=True))
        whole = client.chat.completions.create(model="news-qa", messages=question)
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks)
    content = whole.choices[0].message.content
    assert streamed == content or streamed.endswith(CORRECTION + content), streamed
    assert "[1]" in content and "**来源 · Sources**" in content
    assert chunks[-1].model_extra["citations"] == whole.model_extra["citations"] != []
