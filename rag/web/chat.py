"""The chat turn: ``respond(message, history, pipeline, ...)``, a plain generator (testable without a
server) that yields the updated chat, the sources panel, the per-user source sections and a
timings line as the answer streams.

Per user: the chat history and the source sections (kept by Gradio in ``gr.State``), nothing in
globals. While the pipeline is still loading (``rag.web.loading``) the answer first reads
``LOADING`` and waits for it. Errors become one readable line, never a stack trace.

Does not lay out the page or wire its events (``rag.web.layout``, ``rag.web.events``) nor draw
HTML (``rag.web.render``).
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterator, Sequence

from rag.answer.pipeline import Pipeline
from rag.errors import RagError
from rag.types import Answer
from rag.web.loading import LOADING, PipelineLoader, fresh, is_ready
from rag.web.render import Section, answer_markdown, sources_html, sources_section, timings_line

log = logging.getLogger("rag.app")
FAILED = "⚠️ 出错了，请重试。 / Something went wrong, please try again."
_CITE_LINK = re.compile(r'<a class="cite" href="#src-\d+-\d+">(\[\d+\])</a>')
Reply = tuple[list[dict], str, list[Section], str]  # (chat messages, sources html, sections, timings)


def _content_text(content: object) -> str:
    """Text of a Gradio message content (a string, or a list of content blocks)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(_content_text(c) for c in content)
    if isinstance(content, dict):
        return str(content.get("text") or content.get("content") or "")
    return ""


def history_pairs(history: list[dict]) -> list[tuple[str, str]]:
    """(question, answer) pairs from Gradio's message list, oldest first, as plain text."""
    pairs, question = [], None
    for m in history or []:
        role, text = m.get("role"), _content_text(m.get("content"))
        if role == "user":
            question = text
        elif role == "assistant" and question is not None:
            pairs.append((html.unescape(question), html.unescape(_CITE_LINK.sub(r"\1", text))))
            question = None
    return pairs


def _warning(text: str) -> dict:
    return {"role": "assistant", "content": f"⚠️ {html.escape(text)}"}


def respond(
    message: str,
    history: list[dict],
    pipeline: Pipeline | PipelineLoader,
    lang: str = "auto",
    k: int = 5,
    use_llm: bool = True,
    sections: Sequence[Section] = (),
) -> Iterator[Reply]:
    """Answer ``message``: yields (chat messages, sources html, sections, timings line) as it streams.
    While the pipeline is still loading, the answer first reads ``LOADING``."""
    sections = list(sections or [])
    turn = len(sections) + 1
    chat = list(history or []) + [{"role": "user", "content": html.escape(message or "")}]
    chat.append({"role": "assistant", "content": "…" if is_ready(pipeline) else LOADING})
    panel = sources_html(sections)
    yield list(chat), panel, sections, ""
    try:
        p = fresh(pipeline)  # with the articles added or removed meanwhile, here or from the command line
    except RagError as exc:
        chat[-1] = _warning(str(exc))
        yield list(chat), panel, sections, ""
        return
    answer = None
    try:
        for answer in p.stream(message, history_pairs(history), lang=lang, k=int(k), use_llm=use_llm):
            chat[-1] = {"role": "assistant", "content": answer_markdown(answer, turn) or "…"}
            yield list(chat), panel, sections, ""
    except RagError as exc:
        answer, chat[-1] = None, _warning(str(exc))
    except Exception:  # noqa: BLE001 - never show a stack trace to the user
        log.exception("answering failed")
        answer, chat[-1] = None, {"role": "assistant", "content": FAILED}
    yield _finished(chat, sections, message, answer, turn)


def _finished(
    chat: list[dict], sections: list[Section], message: str, answer: Answer | None, turn: int
) -> Reply:
    """The last reply of a turn: its sources added to the panel, its timings."""
    citations = answer.citations if answer is not None else ()
    sections.append((message or "", sources_section(citations, turn)))
    return list(chat), sources_html(sections), sections, timings_line(answer) if answer is not None else ""
