"""The OpenAI-compatible API's replies: the assistant message (the answer, its notices, its sources
list), the text deltas of a streamed answer, the response and chunk bodies, server-sent events,
and the error a failure becomes.

Does not parse requests (``rag.web.openai_requests``) nor serve (``rag.web.openai_api``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence

import orjson

from rag.errors import QuestionError, RagError
from rag.types import Answer, Citation
from rag.web.openai_requests import SOURCES, ApiError

log = logging.getLogger("rag.api")
CORRECTION = "\n\n---\n核对后的答案 · Answer after checking:\n\n"  # when the checks changed sent text


def sources_list(citations: Sequence[Citation]) -> str:
    """The cited passages' articles, one line each: [n] title · date · link.

    >>> from dataclasses import replace
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
