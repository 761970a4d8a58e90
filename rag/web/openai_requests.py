"""The OpenAI-compatible API's requests: a chat-completions body checked and turned into a
``ChatRequest`` (the question, the conversation before it, the model, the options), the key
checked, and the errors a client is sent (``ApiError``: an HTTP status and an OpenAI-style body).

See ``rag.web.openai_api`` for what the API accepts. Does not answer nor write replies
(``rag.web.openai_replies``), and does not judge a question beyond ``check_question``.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import TypeVar

from starlette.responses import JSONResponse

from rag.answer.question.check import check_question
from rag.config import Settings
from rag.errors import QuestionError

T = TypeVar("T")

MODELS = {"news-qa": True, "news-qa-extractive": False}  # model id -> use_llm
SOURCES = "来源 · Sources"  # heading of the sources list; an assistant turn sent back is cut there
ROLES = {"system", "developer", "user", "assistant", "tool", "function"}


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


def _found(value: object) -> str:
    return f"{type(value).__name__} {str(value)[:60]!r}"


def message_text(content: object, where: str) -> str:
    """A message's text: a string, or a list of text parts (joined by newlines).

    >>> message_text([{"type": "text", "text": "深圳？"}, {"type": "text", "text": "Why?"}], "m")
    '深圳？\\nWhy?'
    >>> message_text([{"type": "image_url", "image_url": {"url": "x"}}], "messages[0].content")
    Traceback (most recent call last):
    ...
    rag.web.openai_requests.ApiError: messages[0].content[0] must be a text part ({"type": "text", "text": \
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

    As in the chat (``rag.web.chat.history_pairs``): a user message answered by the next assistant
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
    rag.web.openai_requests.ApiError: unknown model 'gpt-4o': use news-qa or news-qa-extractive \
(GET /v1/models)
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
