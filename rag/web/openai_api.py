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

This module serves the routes (``OpenAIApi``, ``routes``); a request is parsed and checked in
``rag.web.openai_requests`` and the reply written in ``rag.web.openai_replies``.

Does not: call tools or functions, return more than one choice, logprobs or ``usage`` (completion
tokens are not counted), serve embeddings or the legacy ``/v1/completions``.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator, Generator, Iterator
from contextlib import aclosing
from dataclasses import dataclass, replace

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from rag.answer.pipeline import Pipeline
from rag.config import Settings
from rag.types import Answer
from rag.web.loading import PipelineLoader, fresh, loaded
from rag.web.openai_replies import chunk, completion, content_deltas, failure, message_content, sse
from rag.web.openai_requests import MODELS, ApiError, ChatRequest, authorized, parse_request

log = logging.getLogger("rag.api")

OWNER = "rag-news"
NO_GENERATOR = "未加载生成模型，答案摘录原文。 / No generator is loaded: the answer quotes the passages."
PATHS = {"/v1/models": "GET", "/v1/chat/completions": "POST"}


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
        pipeline = fresh(self.pipeline)  # waits while loading; with the articles added or removed since
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
