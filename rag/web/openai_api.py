"""The OpenAI-compatible API: ``GET /v1/models`` and ``POST /v1/chat/completions`` beside the chat.

Any OpenAI client or chat front end (base URL ``http://127.0.0.1:7860/v1``) asks the pipeline the
chat UI asks. Two models: ``news-qa`` (generated answers; when no generator is loaded, quoted
passages with a notice saying so) and ``news-qa-extractive`` (quoted passages, ``use_llm=False``).
The last user message is the question; earlier user/assistant pairs are the conversation history,
as in the chat. The assistant message is the answer with its ``[n]`` markers, its notices and a
sources list (title, date, link); the response also carries the structured citations (the objects
of ``rag ask --json``) in an extra top-level field ``citations``, in the last chunk when streaming.
An abstention is a normal message. ``max_tokens`` (or ``max_completion_tokens``) is clamped to the
server's ``max_new_tokens``; ``temperature``, ``top_p``, ``stop``, ``n`` and other options are
ignored.

Errors are OpenAI-style bodies ``{"error": {"message", "type", "param", "code"}}``: 400 a malformed
request, 401 a missing or wrong key, 404 an unknown model or path, 422 a question the pipeline
cannot use (empty, no letters), 503 the index unusable, 500 anything else (logged, never shown).

Log-in: with RAG_AUTH_USER / RAG_AUTH_PASSWORD set, every /v1 request needs
``Authorization: Bearer USER:PASSWORD`` (``OpenAI(api_key="USER:PASSWORD")``); without them any
key is accepted. Answers run at most ``concurrency`` at a time (later requests wait); generations
never overlap on the model, whose own lock (``LlamaGenerator``) the chat shares.

Does not: call tools or functions, return more than one choice, logprobs or ``usage`` (completion
tokens are not counted), serve embeddings or the legacy ``/v1/completions``.
"""

from __future__ import annotations

import asyncio
import copy
import hmac
import logging
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator, Generator, Iterable, Iterator, Sequence
from contextlib import aclosing
from dataclasses import dataclass, replace
from typing import TypeVar

import anyio
import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from rag.answer.pipeline import Pipeline
from rag.answer.question.check import check_question
from rag.config import Settings
from rag.errors import QuestionError, RagError
from rag.ingest import corpus
from rag.types import Answer, Citation
from rag.web.loading import PipelineLoader, loaded

log = logging.getLogger("rag.api")
T = TypeVar("T")

MODELS = {"news-qa": True, "news-qa-extractive": False}  # model id -> use_llm
OWNER = "rag-news"
SOURCES = "来源 · Sources"  # heading of the sources list; an assistant turn sent back is cut there
CORRECTION = "\n\n---\n核对后的答案 · Answer after checking:\n\n"  # when the checks changed sent text
NO_GENERATOR = "未加载生成模型，答案摘录原文。 / No generator is loaded: the answer quotes the passages."
ROLES = {"system", "developer", "user", "assistant", "tool", "function"}
PATHS = {"/v1/models": "GET", "/v1/chat/completions": "POST"}


class ApiError(Exception):
    """A request the API refuses, as an HTTP status and an OpenAI-style error body."""

    def __init__(
        self,
        status: int,
        message: str,
        type_: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.body = status, error_body(message, type_, code, param)

    def response(self) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if self.status == 401 else None
        return JSONResponse(self.body, self.status, headers)


def error_body(
    message: str, type_: str = "invalid_request_error", code: str | None = None, param: str | None = None
) -> dict:
    """The body of an error response.

    >>> error_body("no user message", code="no_question", param="messages")["error"]["code"]
    'no_question'
    """
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


@dataclass(frozen=True)
class ChatRequest:
    model: str
    question: str
    history: tuple[tuple[str, str], ...]  # (question, answer) pairs, oldest first
    stream: bool
    max_tokens: int  # already clamped to the server's max_new_tokens

    @property
    def use_llm(self) -> bool:
        return MODELS[self.model]


# --------------------------------------------------------------------------- requests


def _found(value: object) -> str:
    return f"{type(value).__name__} {str(value)[:60]!r}"


def message_text(content: object, where: str) -> str:
    """A message's text: a string, or a list of text parts (joined by newlines).

    >>> message_text([{"type": "text", "text": "深圳？"}, {"type": "text", "text": "Why?"}], "m")
    '深圳？\\nWhy?'
    >>> message_text([{"type": "image_url", "image_url": {"url": "x"}}], "messages[0].content")
    Traceback (most recent call last):
    ...
    rag.web.openai_api.ApiError: messages[0].content[0] must be a text part ({"type": "text", "text": \
"..."}): found dict "{'type': 'image_url', 'image_url': {'url': 'x'}}"; only text is supported
    """
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise ApiError(
            400,
            f"{where} must be a string or a list of text parts; found {_found(content)}",
            code="invalid_content",
            param=where,
        )
    parts = []
    for i, part in enumerate(content):
        if not (isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str)):
            raise ApiError(
                400,
                f'{where}[{i}] must be a text part ({{"type": "text", "text": "..."}}): '
                f'found {type(part).__name__} "{str(part)[:60]}"; only text is supported',
                code="invalid_content",
                param=where,
            )
        parts.append(part["text"])
    return "\n".join(parts)


def strip_sources(answer: str) -> str:
    """An assistant turn as the chat keeps it: without the sources list this API appended.

    >>> strip_sources("4.6万个[1]。\\n\\n**来源 · Sources**\\n- [1] 深圳5G基站 · 2021-01-20")
    '4.6万个[1]。'
    """
    return answer.split(f"**{SOURCES}**")[0].strip()


def conversation(messages: list) -> tuple[str, list[tuple[str, str]]]:
    """The question (the last message, from the user) and the earlier (question, answer) pairs.

    As in the chat (``rag.web.app.history_pairs``): a user message answered by the next assistant
    message makes a pair; system, developer and tool messages are skipped.

    >>> conversation([{"role": "system", "content": "Be brief."},
    ...               {"role": "user", "content": "深圳2020年建成多少5G基站？"},
    ...               {"role": "assistant", "content": "4.6万个[1]。"},
    ...               {"role": "user", "content": "那2023年呢？"}])
    ('那2023年呢？', [('深圳2020年建成多少5G基站？', '4.6万个[1]。')])
    """
    turns: list[tuple[str, str]] = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in ROLES:
            raise ApiError(
                400,
                f"messages[{i}] must be an object with a role ({', '.join(sorted(ROLES))}) "
                f"and a content; found {_found(m)}",
                code="invalid_message",
                param="messages",
            )
        if m["role"] == "user" or (m["role"] == "assistant" and m.get("content") is not None):
            turns.append((m["role"], message_text(m.get("content"), f"messages[{i}].content")))
    if not turns or turns[-1][0] != "user":
        found = "no user message" if all(r != "user" for r, _ in turns) else "an assistant message after it"
        raise ApiError(
            400,
            "the last user or assistant message must be the user's question; found "
            f"{found}. Send the question as a message with role 'user'.",
            code="no_question",
            param="messages",
        )
    pairs, question = [], None
    for role, text in turns[:-1]:
        if role == "user":
            question = text
        elif question is not None:
            pairs.append((question, strip_sources(text)))
            question = None
    return turns[-1][1], pairs


def _option(body: dict, name: str, kind: type[T]) -> T | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ApiError(
            400, f"{name} must be {kind.__name__}; found {_found(value)}", code="invalid_value", param=name
        )
    return value


def parse_request(body: object, max_new_tokens: int) -> ChatRequest:
    """The chat request of a JSON body; ApiError (400, 404, 422) when it cannot be answered.

    >>> r = parse_request({"model": "news-qa", "messages": [{"role": "user", "content": " 深圳？ "}],
    ...                    "max_tokens": 1000, "temperature": 0.2, "stream": True}, 256)
    >>> r.question, r.stream, r.max_tokens, r.use_llm
    ('深圳？', True, 256, True)
    >>> parse_request({"model": "gpt-4o", "messages": []}, 256)
    Traceback (most recent call last):
    ...
    rag.web.openai_api.ApiError: unknown model 'gpt-4o': use news-qa or news-qa-extractive (GET /v1/models)
    """
    if not isinstance(body, dict):
        raise ApiError(400, f"the body must be a JSON object with model and messages; found {_found(body)}")
    model = body.get("model")
    if not isinstance(model, str):
        raise ApiError(
            400,
            f"model is required: news-qa or news-qa-extractive; found {_found(model)}",
            code="invalid_value",
            param="model",
        )
    if model not in MODELS:
        raise ApiError(
            404,
            f"unknown model {model!r}: use news-qa or news-qa-extractive (GET /v1/models)",
            code="model_not_found",
            param="model",
        )
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ApiError(
            400,
            "messages must be a non-empty list of {role, content} objects, the question "
            f"last; found {_found(messages)}",
            code="invalid_value",
            param="messages",
        )
    question, history = conversation(messages)
    try:
        question, _ = check_question(question)
    except QuestionError as exc:
        raise ApiError(422, str(exc), code="invalid_question", param="messages") from None
    stream = _option(body, "stream", bool) or False
    limit = _option(body, "max_completion_tokens", int)
    limit = _option(body, "max_tokens", int) if limit is None else limit
    limit = max_new_tokens if limit is None else limit
    if limit < 1:
        raise ApiError(
            400, f"max_tokens must be at least 1; found {limit}", code="invalid_value", param="max_tokens"
        )
    return ChatRequest(model, question, tuple(history), stream, min(limit, max_new_tokens))


def authorized(header: str | None, settings: Settings) -> bool:
    """Whether an ``Authorization`` header lets a request in: any, without a log-in; else the key
    ``USER:PASSWORD`` of the server's log-in, as a Bearer token.

    >>> s = Settings(auth_user="ann", auth_password="s3cret")
    >>> [authorized(h, s) for h in (None, "Bearer ann", "Bearer ann:s3cret", "bearer  ann:s3cret")]
    [False, False, True, True]
    """
    if not settings.auth_user:
        return True
    scheme, _, key = (header or "").partition(" ")
    expected = f"{settings.auth_user}:{settings.auth_password}".encode()
    return scheme.lower() == "bearer" and hmac.compare_digest(key.strip().encode(), expected)


# --------------------------------------------------------------------------- responses


def sources_list(citations: Sequence[Citation]) -> str:
    """The cited passages' articles, one line each: [n] title · date · link.

    >>> c = Citation(1, "zh_5g", "深圳5G基站", "2021-01-20", "https://x.cn/a", "zh_5g#0", "…", 0, 1, "zh")
    >>> print(sources_list([c, replace(c, n=2, date="", url="")]))
    **来源 · Sources**
    - [1] 深圳5G基站 · 2021-01-20 · https://x.cn/a
    - [2] 深圳5G基站
    """
    lines = []
    for c in citations:
        link = c.url if c.url.startswith(("http://", "https://")) else ""
        lines.append(" · ".join(filter(None, [f"- [{c.n}] {c.title or c.doc_id}", c.date, link])))
    return "\n".join([f"**{SOURCES}**", *lines]) if lines else ""


def message_content(answer: Answer, notices: Sequence[str] = ()) -> str:
    """The assistant message: the answer, its notices as quotes, then its sources.

    >>> print(message_content(Answer("Not in the articles.", "en", True), ["No generator is loaded."]))
    Not in the articles.
    <BLANKLINE>
    > No generator is loaded.
    """
    quoted = [f"> {n}" for n in (*notices, *answer.notices)]
    return "\n\n".join(filter(None, [answer.text.strip(), *quoted, sources_list(answer.citations)]))


def content_deltas(answers: Iterable[Answer], notices: Sequence[str] = ()) -> Iterator[tuple[str, Answer]]:
    """(text to append, snapshot) as the answer grows; the last (its text possibly empty) finishes
    the message and holds the final answer.

    A snapshot that does not extend what was sent (a retry in the other language, figures the
    checks repaired, an answer withdrawn) sends nothing; the last delta then is ``CORRECTION``
    and the whole final message, since a stream cannot take text back.

    >>> snaps = [Answer(t, "zh", False) for t in ("深圳", "深圳建成4.6万个[1]", "深圳建成4.6万个[1]。")]
    >>> [d for d, _ in content_deltas(snaps)]
    ['深圳', '建成4.6万个[1]', '。', '']
    >>> [d for d, _ in content_deltas([snaps[1], Answer("没有找到。", "zh", True)])]
    ['深圳建成4.6万个[1]', '\\n\\n---\\n核对后的答案 · Answer after checking:\\n\\n没有找到。']
    """
    sent, last = "", None
    for last in answers:
        text = last.text.strip()  # whitespace waits for the text after it
        if not last.abstained and text.startswith(sent) and len(text) > len(sent):
            yield text[len(sent) :], last
            sent = text
    if last is None:
        return
    full = message_content(last, notices)
    yield (full[len(sent) :] if full.startswith(sent) else CORRECTION + full), last


def completion(cid: str, created: int, model: str, content: str, citations: Sequence[Citation]) -> dict:
    return {
        "id": cid, "object": "chat.completion", "created": created, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                     "finish_reason": "stop", "logprobs": None}],
        "citations": [c.to_json() for c in citations],
    }  # fmt: skip


def chunk(cid: str, created: int, model: str, delta: dict, finish: str | None = None) -> dict:
    return {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
    }


def sse(data: dict | str) -> str:
    """One server-sent event.

    >>> sse({"a": "深"}) + sse("[DONE]")
    'data: {"a":"深"}\\n\\ndata: [DONE]\\n\\n'
    """
    return f"data: {data if isinstance(data, str) else orjson.dumps(data).decode()}\n\n"


def failure(exc: Exception) -> ApiError:
    """The error a client sees when answering failed: the project's message, or nothing internal."""
    if isinstance(exc, QuestionError):
        return ApiError(422, str(exc), code="invalid_question", param="messages")
    if isinstance(exc, RagError):
        return ApiError(503, str(exc), "server_error", "unavailable")
    log.error("answering failed", exc_info=exc)
    return ApiError(
        500,
        "answering failed on the server; try again (the server's log has the cause)",
        "server_error",
        "internal_error",
    )


# --------------------------------------------------------------------------- server


class _EventStream(StreamingResponse):
    """Closes its events when the client goes away (Starlette leaves that to the garbage collector),
    so an abandoned answer gives the model back at once."""

    async def stream_response(self, send) -> None:
        async with aclosing(self.body_iterator):  # type: ignore[type-var] # an async generator here
            await super().stream_response(send)


@dataclass
class OpenAIApi:
    """The /v1 endpoints over ``pipeline``; ``routes()`` for the server (``rag.web.app.launch``)."""

    pipeline: Pipeline | PipelineLoader  # a loader while the server starts (rag.web.loading)
    settings: Settings  # the server's: its log-in (auth_user, auth_password) guards /v1 too
    concurrency: int = 4  # answers at once; the chat has as many of its own (rag.web.app.CONCURRENCY)

    def __post_init__(self) -> None:
        self.slots = asyncio.Semaphore(self.concurrency)
        self.created = int(time.time())

    def routes(self) -> list[Route]:
        methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
        return [
            Route("/v1/models", self.models, methods=["GET"]),
            Route("/v1/models/{model:path}", self.model, methods=["GET"]),  # "/v1/models/" too
            Route("/v1/chat/completions", self.chat, methods=["POST"]),
            Route("/v1/{rest:path}", self.unknown, methods=methods),
        ]

    def _check_key(self, request: Request) -> None:
        if not authorized(request.headers.get("authorization"), self.settings):
            said = "a wrong key" if request.headers.get("authorization") else "no key"
            raise ApiError(
                401,
                f"this server has a log-in: send the key USER:PASSWORD (RAG_AUTH_USER and "
                f"RAG_AUTH_PASSWORD joined by a colon) as 'Authorization: Bearer USER:PASSWORD'; "
                f"found {said}",
                code="invalid_api_key",
            )

    def _model(self, name: str) -> dict:
        return {"id": name, "object": "model", "created": self.created, "owned_by": OWNER}

    async def models(self, request: Request) -> JSONResponse:
        try:
            self._check_key(request)
        except ApiError as exc:
            return exc.response()
        return JSONResponse({"object": "list", "data": [self._model(m) for m in MODELS]})

    async def model(self, request: Request) -> JSONResponse:
        name = request.path_params["model"]
        if not name:
            return await self.models(request)
        try:
            self._check_key(request)
            if name not in MODELS:
                raise ApiError(
                    404,
                    f"unknown model {name!r}: this server has news-qa and news-qa-extractive",
                    code="model_not_found",
                )
        except ApiError as exc:
            return exc.response()
        return JSONResponse(self._model(name))

    async def unknown(self, request: Request) -> JSONResponse | StreamingResponse:
        path, method = request.url.path.rstrip("/"), request.method
        try:
            self._check_key(request)  # with a log-in, nothing under /v1 answers without it
        except ApiError as exc:
            return exc.response()
        if PATHS.get(path) == method:  # with a trailing slash
            return await (self.models if path == "/v1/models" else self.chat)(request)
        if PATHS.get(path, method) != method:
            return ApiError(
                405, f"{path} takes {PATHS[path]}, not {method}", code="method_not_allowed"
            ).response()
        offered = ", ".join(f"{m} {p}" for p, m in PATHS.items())
        return ApiError(
            404, f"no endpoint {method} {path}: this server offers {offered}", code="unknown_url"
        ).response()

    async def chat(self, request: Request) -> JSONResponse | StreamingResponse:
        try:
            self._check_key(request)
            try:
                body = await request.json()
            except ValueError as exc:
                raise ApiError(
                    400,
                    f"the body is not valid JSON ({exc}); send a JSON object with model and messages",
                    code="invalid_json",
                ) from None
            req = parse_request(body, self.pipeline.settings.max_new_tokens)
        except ApiError as exc:
            return exc.response()
        cid, created = f"chatcmpl-{secrets.token_hex(12)}", int(time.time())
        if req.stream:
            events = self._events(req, cid, created)
            return _EventStream(
                self._in_threads(events),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )
        async with self.slots:
            try:
                answer = await anyio.to_thread.run_sync(self._ask, req)
            except Exception as exc:  # noqa: BLE001 - the client gets an error body, never a trace
                return failure(exc).response()
        content = message_content(answer, self._notices(req))
        return JSONResponse(completion(cid, created, req.model, content, answer.citations))

    # ------------------------------------------------------------ answering (in worker threads)

    def _notices(self, req: ChatRequest) -> tuple[str, ...]:
        p = loaded(self.pipeline)
        if req.use_llm and p.generator is None and not p.notices:
            return (NO_GENERATOR,)  # served with --no-llm: say why the answer quotes
        return ()

    def _answers(self, req: ChatRequest) -> Iterator[Answer]:
        pipeline = loaded(self.pipeline)  # waits while the server is still loading the models
        try:
            corpus.refresh(pipeline)  # articles added or removed from the command line
        except RagError as exc:
            log.warning("kept the loaded index: %s", exc)
        if req.max_tokens < pipeline.settings.max_new_tokens:
            pipeline = copy.copy(pipeline)
            pipeline.settings = replace(pipeline.settings, max_new_tokens=req.max_tokens)
        return pipeline.stream(req.question, req.history, use_llm=req.use_llm)

    def _ask(self, req: ChatRequest) -> Answer:
        (answer,) = deque(self._answers(req), maxlen=1)  # the last snapshot, as Pipeline.ask
        return answer

    def _events(self, req: ChatRequest, cid: str, created: int) -> Generator[str, None, None]:
        """The stream's events: the role, the answer's deltas, the end with the citations, [DONE]."""
        yield sse(chunk(cid, created, req.model, {"role": "assistant", "content": ""}))
        answers: Iterator[Answer] = iter(())
        try:
            answers = self._answers(req)
            final: Answer | None = None
            for delta, final in content_deltas(answers, self._notices(req)):  # noqa: B007 - kept: the last
                if delta:
                    yield sse(chunk(cid, created, req.model, {"content": delta}))
            citations = [c.to_json() for c in final.citations] if final is not None else []
            yield sse({**chunk(cid, created, req.model, {}, "stop"), "citations": citations})
        except Exception as exc:  # noqa: BLE001 - the client gets an error event, never a trace
            yield sse(failure(exc).body)
        finally:
            getattr(answers, "close", lambda: None)()  # gives the model back when the client left mid-answer
        yield sse("[DONE]")

    async def _in_threads(self, events: Generator[str, None, None]) -> AsyncIterator[str]:
        """``events`` advanced in worker threads, at most ``concurrency`` streams at once."""
        async with self.slots:
            try:
                while (event := await anyio.to_thread.run_sync(next, events, None)) is not None:
                    yield event
            finally:
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(events.close)


def routes(pipeline: Pipeline | PipelineLoader, settings: Settings, concurrency: int = 4) -> list[Route]:
    """The /v1 routes of ``pipeline`` behind the log-in of ``settings``, for a Starlette or FastAPI app."""
    return OpenAIApi(pipeline, settings, concurrency).routes()
