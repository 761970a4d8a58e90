"""The chat UI: a thin Gradio adapter over ``rag.pipeline.Pipeline``.

``respond(message, history, pipeline, ...)`` is a plain generator (testable without a
server) that yields the updated chat and the sources panel; ``build_app(pipeline)`` returns
the Blocks; ``main()`` loads the read-only pipeline once and serves it on 127.0.0.1.
Everything per user lives in the chat history Gradio passes in, never in globals. All
article and question text is HTML-escaped before it reaches the page.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Iterator

import gradio as gr

from rag.config import Settings
from rag.errors import RagError
from rag.pipeline import Pipeline
from rag.types import Answer, Citation

log = logging.getLogger("rag.app")

EXAMPLES = [
    "深圳2020年规上工业总产值是多少？",
    "How many 5G base stations did Shenzhen build in 2020?",
    "2023年深圳智能手机产量占全球多少？",
    "What share of Shenzhen's industrial firms cut costs with the industrial internet?",
]
CSS = """
.src { border-left: 3px solid #9ca3af; padding: 4px 10px; margin: 8px 0; }
.src mark { background: #fde68a; }
.src .meta { color: #6b7280; font-size: 0.85em; }
"""


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
    """(question, answer) pairs from Gradio's message list, oldest first."""
    pairs, question = [], None
    for m in history or []:
        role, text = m.get("role"), _content_text(m.get("content"))
        if role == "user":
            question = text
        elif role == "assistant" and question is not None:
            pairs.append((html.unescape(question), html.unescape(text)))
            question = None
    return pairs


def sources_html(citations: tuple[Citation, ...]) -> str:
    """The sources panel: one escaped block per citation, cited span highlighted."""
    if not citations:
        return ""
    blocks = []
    for c in citations:
        link = (
            f'<a href="{html.escape(c.url, quote=True)}" target="_blank" rel="noopener noreferrer">'
            f"{html.escape(c.url)}</a>"
            if c.url.startswith(("http://", "https://"))
            else ""
        )
        blocks.append(
            f'<div class="src" id="src-{c.n}"><b>[{c.n}] {html.escape(c.title)}</b>'
            f'<div class="meta">{html.escape(c.date)} · {c.lang} · {html.escape(c.doc_id)} {link}</div>'
            f"<p><mark>{html.escape(c.text)}</mark></p></div>"
        )
    return "\n".join(blocks)


def answer_markdown(answer: Answer) -> str:
    text = html.escape(answer.text)
    notes = "".join(f"\n\n> {html.escape(n)}" for n in answer.notices)
    return text + notes


def respond(
    message: str, history: list[dict], pipeline: Pipeline, lang: str = "auto", k: int = 5, use_llm: bool = True
) -> Iterator[tuple[list[dict], str]]:
    """Answer ``message``: yields (chat messages, sources html) as the answer streams."""
    pairs = history_pairs(history)
    chat = list(history or []) + [{"role": "user", "content": html.escape(message or "")}]
    chat.append({"role": "assistant", "content": "…"})
    yield list(chat), ""
    try:
        answer = None
        for answer in pipeline.stream(message, pairs, lang=lang, k=int(k), use_llm=use_llm):
            chat[-1] = {"role": "assistant", "content": answer_markdown(answer) or "…"}
            yield list(chat), ""
        if answer is not None:
            yield list(chat), sources_html(answer.citations)
    except RagError as exc:
        chat[-1] = {"role": "assistant", "content": f"⚠️ {html.escape(str(exc))}"}
        yield list(chat), ""
    except Exception:  # noqa: BLE001 - never show a stack trace to the user
        log.exception("answering failed")
        chat[-1] = {"role": "assistant", "content": "⚠️ 出错了，请重试。 / Something went wrong, please try again."}
        yield list(chat), ""


def build_app(pipeline: Pipeline) -> gr.Blocks:
    with gr.Blocks(title="深圳工业新闻问答 · Shenzhen industry news Q&A") as demo:
        gr.Markdown("## 新闻问答 · News Q&A\n用中文或英文提问，答案附带来源。 Ask in Chinese or English; answers cite their sources.")
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(label="对话 / Chat", height=480)
                box = gr.Textbox(placeholder="输入问题… / Ask a question…", show_label=False, submit_btn=True)
                gr.Examples(EXAMPLES, inputs=box)
            with gr.Column(scale=2):
                sources = gr.HTML(label="来源 / Sources")
                with gr.Accordion("设置 / Settings", open=False):
                    lang = gr.Radio(["auto", "zh", "en"], value=pipeline.settings.answer_lang, label="回答语言 / Answer language")
                    k = gr.Slider(1, 10, value=pipeline.settings.top_k, step=1, label="检索段落数 / Passages")
                    use_llm = gr.Checkbox(value=pipeline.generator is not None, label="生成式回答 / Generated answers (off = quotes)")

        def _respond(message, history, lang_, k_, llm_):
            yield from respond(message, history, pipeline, lang_, k_, llm_)

        box.submit(_respond, [box, chatbot, lang, k, use_llm], [chatbot, sources], api_name="ask").then(
            lambda: "", None, box, api_name=False
        )
    return demo


def main(settings: Settings | None = None) -> None:
    settings = settings or Settings.from_env()
    pipeline = Pipeline.load(settings)
    for notice in pipeline.notices:
        log.warning(notice)
    demo = build_app(pipeline)
    demo.queue(default_concurrency_limit=4).launch(
        server_name=settings.host, server_port=settings.port, share=False, css=CSS, show_error=False
    )


if __name__ == "__main__":
    main()
