"""The page's components: the ask tab (chat, question box, sources, settings) and the articles tab
(upload, table, delete), created inside the Blocks being built and returned as one ``Page``.

Does not wire events nor answer (``rag.web.events``), and holds no state: ``Page.sections`` is a
``gr.State``, one per user.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from rag.config import Settings
from rag.ingest.uploads import UPLOAD_TYPES
from rag.web.articles import TABLE_HEADERS
from rag.web.render import EMPTY_SOURCES

EXAMPLES = [
    "深圳2020年建成了多少5G基站？",
    "How many 5G base stations did Shenzhen build in 2020?",
    "2023年深圳智能手机产量占全球多少？",
    "Who is the director of the Shenzhen Industry and Information Bureau?",
]
HEADER = (
    "## 新闻问答 · News Q&A\n用中文或英文提问，答案注明出处，点击 [1] 查看原文。 "
    "Ask in Chinese or English; answers cite their sources — click [1] to read the passage."
)


@dataclass(frozen=True)
class AskTab:
    chatbot: gr.Chatbot
    box: gr.Textbox  # the question
    timings: gr.Markdown
    sources: gr.HTML
    lang: gr.Radio  # answer language: auto, zh, en
    k: gr.Slider  # passages retrieved
    use_llm: gr.Checkbox
    sections: gr.State  # the user's (question, sources html) pairs (rag.web.render.Section)


@dataclass(frozen=True)
class ArticlesTab:
    tab: gr.Tab
    files: gr.File
    add: gr.Button
    status: gr.Markdown
    table: gr.Dataframe
    pick: gr.Dropdown  # the article to delete
    delete: gr.Button


@dataclass(frozen=True)
class Page:
    ask: AskTab
    articles: ArticlesTab


def page(settings: Settings, has_llm: bool) -> Page:
    """The page's components, created in the current Blocks; ``has_llm``: a generator is (being) loaded."""
    gr.Markdown(HEADER)
    with gr.Tabs():
        with gr.Tab("问答 · Ask", id="ask"):
            ask = _ask_tab(settings, has_llm)
        with gr.Tab("文章 · Articles", id="articles") as tab:
            articles = _articles_tab(settings, tab)
    return Page(ask, articles)


def _ask_tab(s: Settings, has_llm: bool) -> AskTab:
    with gr.Row():
        with gr.Column(scale=3):
            chatbot = gr.Chatbot(
                label="对话 · Chat",
                height=460,
                buttons=["copy"],
                feedback_options=None,
                placeholder="可以追问，例如“那2023年呢？” · Follow-up questions keep the context.",
            )
            box = gr.Textbox(
                placeholder="输入问题… · Ask a question…",
                show_label=False,
                submit_btn=True,
                elem_id="question",
            )
            timings = gr.Markdown(elem_classes="timings", elem_id="timings")
            gr.Examples(EXAMPLES, inputs=box, label="示例问题 · Example questions")
        with gr.Column(scale=2):
            gr.Markdown("#### 来源 · Sources")
            sources = gr.HTML(EMPTY_SOURCES, elem_id="sources")
            with gr.Accordion("设置 · Settings", open=False):
                lang, k, use_llm = _settings(s, has_llm)
    return AskTab(chatbot, box, timings, sources, lang, k, use_llm, gr.State([]))


def _settings(s: Settings, has_llm: bool) -> tuple[gr.Radio, gr.Slider, gr.Checkbox]:
    """The answer language, the passages retrieved, generated or quoted answers."""
    lang = gr.Radio(
        [("自动 · Auto", "auto"), ("中文", "zh"), ("English", "en")],
        value=s.answer_lang,
        label="回答语言 · Answer language",
    )
    k = gr.Slider(1, 10, value=s.top_k, step=1, label="检索段落数 · Passages retrieved")
    use_llm = gr.Checkbox(
        value=has_llm and s.use_llm,
        interactive=has_llm,
        label="生成式回答 · Generated answers",
        info="关闭时摘录原文（更快） · Off: quote the passages (faster)"
        if has_llm
        else "未加载生成模型，答案摘录原文 · No generator loaded: answers quote the passages",
    )
    return lang, k, use_llm


def _articles_tab(s: Settings, tab: gr.Tab) -> ArticlesTab:
    mb = s.max_file_bytes // 1_000_000
    gr.Markdown(
        f"上传 .txt、.md、.html 或 .pdf 文件（每个不超过 {mb} MB），索引后即可提问。 · Upload .txt, .md, "
        f".html or .pdf files (up to {mb} MB each); ask about them once indexed."
    )
    files = gr.File(
        file_count="multiple",
        file_types=list(UPLOAD_TYPES),
        type="filepath",
        label="选择文件 · Choose files",
        elem_id="upload",
        height=140,
    )
    add = gr.Button("添加并索引 · Add and index", variant="primary", elem_id="add")
    status = gr.Markdown(elem_id="corpus-status")
    table = gr.Dataframe(
        headers=TABLE_HEADERS,
        interactive=False,
        wrap=True,
        elem_id="articles",
        column_widths=["22%", "46%", "12%", "10%", "10%"],
    )
    with gr.Row():
        pick = gr.Dropdown(label="要删除的文章 · Article to delete", scale=4, elem_id="pick")
        delete = gr.Button("删除 · Delete", variant="stop", scale=1, elem_id="delete")
    return ArticlesTab(tab, files, add, status, table, pick, delete)
