"""The chat UI: a thin Gradio adapter over ``rag.answer.pipeline.Pipeline`` and ``rag.ingest.corpus``.

``respond(message, history, pipeline, ...)`` is a plain generator (testable without a
server) that yields the updated chat, the sources panel, the per-user source sections and a
timings line as the answer streams; ``build_app(pipeline)`` returns the Blocks; ``main()``
serves the page on 127.0.0.1 at once and loads the pipeline in the background
(``rag.web.loading``): a question asked meanwhile shows a loading notice and waits for it.

Per user: the chat history and the source sections (``gr.State``), nothing in globals. The
pipeline and the corpus are shared: adding or deleting an article re-indexes (``rag.ingest.corpus``)
and swaps ``pipeline.store`` for everyone.

Sources: each answer's citations, grouped by story (``Pipeline.story_groups``: articles that
report the same news, e.g. one in Chinese and its English version, share a group) and then by
article; each passage shows its cited span highlighted in a little context. A marker ``[n]``
in an answer links to ``#src-<turn>-<n>``; ``JS`` turns the click into a scroll within the page.
All article and question text is HTML-escaped before it reaches the page.
"""

from __future__ import annotations

import html
import ipaddress
import logging
import re
from collections.abc import Iterator, Sequence
from urllib.parse import urlparse

import gradio as gr
from starlette.middleware import Middleware

from rag.answer.pipeline import Pipeline
from rag.config import Settings
from rag.errors import RagError
from rag.index.build import IndexStore
from rag.ingest import corpus
from rag.types import Answer, Citation
from rag.web import openai_api
from rag.web.arguments import answer_args, doc_id_arg
from rag.web.guards import LoginGate, UploadsOnlyBlocks, uploaded_file
from rag.web.loading import LOADING, PipelineLoader, is_ready, loaded

log = logging.getLogger("rag.app")

EXAMPLES = [
    "深圳2020年建成了多少5G基站？",
    "How many 5G base stations did Shenzhen build in 2020?",
    "2023年深圳智能手机产量占全球多少？",
    "Who is the director of the Shenzhen Industry and Information Bureau?",
]
LANG_NAMES = {"zh": "中文", "en": "English"}
EMPTY_SOURCES = (
    '<p class="hint">提问后，这里显示答案引用的原文。<br>The passages an answer cites appear here.</p>'
)
TABLE_HEADERS = ["编号 · ID", "标题 · Title", "日期 · Date", "语言 · Language", "段落 · Chunks"]
Section = tuple[str, str]  # (question, sources html of its answer)

CSS = """
#sources { max-height: 64vh; overflow-y: auto !important; padding-right: 4px; }
#sources .hint, .timings p { color: var(--body-text-color-subdued); font-size: 0.85em; }
#sources details > summary { cursor: pointer; color: var(--body-text-color-subdued); margin: 6px 0; }
#sources .q { font-weight: 600; margin: 2px 0 6px; }
#sources .story { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 6px 10px;
                  margin: 8px 0; }
#sources .story-label { font-size: 0.8em; color: var(--body-text-color-subdued); }
#sources .doc + .doc { border-top: 1px dashed var(--border-color-primary); margin-top: 6px;
                       padding-top: 6px; }
#sources .doc-title { font-weight: 600; }
#sources .meta, #sources .also { color: var(--body-text-color-subdued); font-size: 0.82em; }
#sources .src { margin: 6px 0; padding: 4px 8px; border-left: 3px solid var(--color-accent);
                scroll-margin: 60px; }
#sources .src .n { font-weight: 700; color: var(--color-accent); }
#sources .ctx { color: var(--body-text-color-subdued); }
#sources mark { background: #fde68a; color: #1f2937; padding: 0 1px; }
#sources .src.flash { animation: src-flash 1.8s ease-out; }
@keyframes src-flash { from { background: rgba(250, 204, 21, 0.5); } to { background: transparent; } }
a.cite { text-decoration: none; font-weight: 600; font-size: 0.8em; vertical-align: super; }
.timings { min-height: 1.4em; }
#delete { align-self: flex-end; }
"""
JS = """
() => {
  document.addEventListener('click', (event) => {
    const link = event.target.closest && event.target.closest('a[href^="#src-"]');
    if (!link) return;
    event.preventDefault();
    event.stopPropagation();
    const target = document.getElementById(link.getAttribute('href').slice(1));
    if (!target) return;
    const folded = target.closest('details');
    if (folded) folded.open = true;
    target.scrollIntoView({behavior: 'smooth', block: 'center'});
    target.classList.remove('flash');
    void target.offsetWidth;
    target.classList.add('flash');
  }, true);
}
"""


# --------------------------------------------------------------------------- chat


def _content_text(content: object) -> str:
    """Text of a Gradio message content (a string, or a list of content blocks)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(_content_text(c) for c in content)
    if isinstance(content, dict):
        return str(content.get("text") or content.get("content") or "")
    return ""


_CITE_LINK = re.compile(r'<a class="cite" href="#src-\d+-\d+">(\[\d+\])</a>')


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


def answer_markdown(answer: Answer, turn: int) -> str:
    """The answer escaped, each ``[n]`` a link to its source, notices as quotes."""
    text = re.sub(
        r"\[(\d{1,2})\]", rf'<a class="cite" href="#src-{turn}-\1">[\1]</a>', html.escape(answer.text)
    )
    return text + "".join(f"\n\n> {html.escape(n)}" for n in answer.notices)


def timings_line(answer: Answer) -> str:
    t = answer.timings
    parts = [f"检索 retrieval {t.retrieve_ms:.0f} ms"]
    if answer.mode == "llm" and t.first_token_ms:
        parts.append(f"首字 first token {t.first_token_ms / 1000:.1f} s")
    parts.append(f"共 total {t.total_ms / 1000:.1f} s")
    parts.append("生成 generated" if answer.mode == "llm" else "摘录 extractive")
    return " · ".join(parts)


def _link(url: str) -> str:
    if not url.startswith(("http://", "https://")):
        return ""
    host = urlparse(url).netloc.removeprefix("www.") or url
    return (
        f' · <a href="{html.escape(url, quote=True)}" target="_blank" rel="noopener noreferrer">'
        f"{html.escape(host)}</a>"
    )


def _passage(c: Citation, store: IndexStore | None, turn: int) -> str:
    text = store.doc_text(c.doc_id) if store is not None else ""
    before, span, after = (
        corpus.context_window(text, c.start, c.end) if text[c.start : c.end] == c.text else ("", c.text, "")
    )
    return (
        f'<div class="src" id="src-{turn}-{c.n}"><span class="n">[{c.n}]</span> '
        f'<span class="ctx">{html.escape(before)}</span><mark>{html.escape(span)}</mark>'
        f'<span class="ctx">{html.escape(after)}</span></div>'
    )


def sources_section(
    citations: Sequence[Citation],
    turn: int,
    store: IndexStore | None = None,
    story_of: dict[str, str] | None = None,
) -> str:
    """One answer's sources: stories, then articles (title, date, language, link), then passages."""
    if not citations:
        return '<p class="hint">没有引用来源。 · No sources cited.</p>'
    story_of = story_of or {}
    docs = {d.doc_id: d for d in store.docs()} if store is not None else {}
    out = []
    for story in corpus.group_citations(citations, story_of):
        cited = {cs[0].doc_id for cs in story}
        key = story_of.get(story[0][0].doc_id)
        others = sorted(d for d, g in story_of.items() if key and g == key and d not in cited and d in docs)
        label = ""
        if len(story) + len(others) > 1:
            langs = " + ".join(
                dict.fromkeys(
                    LANG_NAMES[x] for x in [cs[0].lang for cs in story] + [docs[d].lang for d in others]
                )
            )
            label = f'<div class="story-label">同一新闻 · Same story ({langs})</div>'
        parts = []
        for cs in story:
            c = cs[0]
            meta = " · ".join(filter(None, [html.escape(c.date), LANG_NAMES[c.lang], html.escape(c.doc_id)]))
            parts.append(
                f'<div class="doc"><div class="doc-title">{html.escape(c.title)}</div>'
                f'<div class="meta">{meta}{_link(c.url)}</div>'
                + "".join(_passage(x, store, turn) for x in cs)
                + "</div>"
            )
        also = "".join(
            f'<div class="also">也见 · Also: {html.escape(docs[d].title)} · {html.escape(docs[d].date)} · '
            f"{LANG_NAMES[docs[d].lang]}{_link(docs[d].url)}</div>"
            for d in others
        )
        out.append(f'<div class="story">{label}{"".join(parts)}{also}</div>')
    return "".join(out)


def sources_html(sections: Sequence[Section]) -> str:
    """All of a conversation's sources, newest first; older answers' sources folded."""
    if not sections:
        return EMPTY_SOURCES
    blocks = []
    for i, (question, body) in enumerate(reversed(sections)):
        q = f"问 · Q{len(sections) - i}: {html.escape(question)}"
        if i == 0:
            blocks.append(f'<section><div class="q">{q}</div>{body}</section>')
        else:
            blocks.append(f"<details><summary>{q}</summary>{body}</details>")
    return "".join(blocks)


def respond(
    message: str,
    history: list[dict],
    pipeline: Pipeline | PipelineLoader,
    lang: str = "auto",
    k: int = 5,
    use_llm: bool = True,
    sections: Sequence[Section] = (),
) -> Iterator[tuple[list[dict], str, list[Section], str]]:
    """Answer ``message``: yields (chat messages, sources html, sections, timings line) as it streams.
    While the pipeline is still loading, the answer first reads ``LOADING``."""
    sections = list(sections or [])
    turn = len(sections) + 1
    chat = list(history or []) + [{"role": "user", "content": html.escape(message or "")}]
    chat.append({"role": "assistant", "content": "…" if is_ready(pipeline) else LOADING})
    panel = sources_html(sections)
    yield list(chat), panel, sections, ""
    try:
        pipeline = loaded(pipeline)
    except RagError as exc:
        chat[-1] = {"role": "assistant", "content": f"⚠️ {html.escape(str(exc))}"}
        yield list(chat), panel, sections, ""
        return
    _refresh(pipeline)  # articles added or removed from the command line
    store = pipeline.store  # the index this answer is read from, even if another one is swapped in
    answer = None
    try:
        for answer in pipeline.stream(message, history_pairs(history), lang=lang, k=int(k), use_llm=use_llm):
            chat[-1] = {"role": "assistant", "content": answer_markdown(answer, turn) or "…"}
            yield list(chat), panel, sections, ""
    except RagError as exc:
        answer, chat[-1] = None, {"role": "assistant", "content": f"⚠️ {html.escape(str(exc))}"}
    except Exception:  # noqa: BLE001 - never show a stack trace to the user
        log.exception("answering failed")
        answer = None
        chat[-1] = {
            "role": "assistant",
            "content": "⚠️ 出错了，请重试。 / Something went wrong, please try again.",
        }
    citations = answer.citations if answer is not None else ()
    sections.append((message or "", sources_section(citations, turn, store, _stories(pipeline))))
    yield list(chat), sources_html(sections), sections, timings_line(answer) if answer is not None else ""


def _refresh(pipeline: Pipeline) -> None:
    try:
        corpus.refresh(pipeline)
    except RagError as exc:  # e.g. rebuilt with other settings: keep answering from the loaded index
        log.warning("kept the loaded index: %s", exc)


def _stories(pipeline: Pipeline) -> dict[str, str]:
    """``{doc_id: story}`` of the pipeline's index (``Pipeline.story_groups``), or {}."""
    try:
        return dict(getattr(pipeline, "story_groups", None) or {})
    except Exception:  # noqa: BLE001 - grouping is a nicety: never lose the sources over it
        log.exception("grouping the sources by story failed")
        return {}


# --------------------------------------------------------------------------- articles


def articles_table(docs: Sequence[corpus.DocInfo]) -> list[list]:
    return [[d.doc_id, d.title, d.date or "—", LANG_NAMES[d.lang], d.chunks] for d in docs]


def article_choices(docs: Sequence[corpus.DocInfo]) -> list[tuple[str, str]]:
    return [(f"{d.title[:60]} ({d.doc_id})", d.doc_id) for d in docs]


def add_report_markdown(report: corpus.AddReport) -> str:
    lines = []
    if report.added:
        lines.append("**已添加 · Added** — 现在可以提问了 · you can ask about them now")
        lines += [
            f"- {html.escape(d.title)} · `{d.doc_id}` · {d.date or '—'} · {LANG_NAMES[d.lang]} · "
            f"{d.chunks} 段 chunks"
            for d in report.added
        ]
    if report.rejected:
        lines.append("**未添加 · Not added**")
        lines += [f"- `{html.escape(name)}`: {html.escape(reason)}" for name, reason in report.rejected]
    if report.build is not None:
        b = report.build
        lines.append(
            f"\n索引 · Index: {b.n_docs} 篇 articles, {b.n_chunks} 段 chunks "
            f"(embedded {b.embedded}, {b.seconds:.1f} s)"
        )
    return "\n".join(lines)


def add_articles(paths: Sequence[str], pipeline: Pipeline, progress=None) -> str:
    """Add uploaded files to the shared corpus, re-index, swap the pipeline's store."""
    if not paths:
        return "请先选择文件。 · Choose one or more files first."

    def on_progress(done: int, total: int) -> None:
        if progress is None:
            return
        if done < total:
            progress(done / total, desc=f"嵌入段落 · Embedding passages {done}/{total}")
        else:  # what follows (second encoder, keyword index, writing) reports no steps
            progress(1.0, desc="完成索引 · Finishing the index…")

    if progress is not None:
        progress(0, desc="读取文件 · Reading the files…")
    report = corpus.add_files(
        pipeline.settings,
        paths,
        embedder=pipeline.embedder,
        encoder2=getattr(pipeline, "encoder2", None),
        on_progress=on_progress,
    )
    if report.build is not None:
        corpus.swap_store(pipeline)
    return add_report_markdown(report)


def delete_article(doc_id: str, pipeline: Pipeline) -> str:
    if not doc_id:
        return "请先选择文章。 · Choose an article first."
    report = corpus.remove_doc(
        pipeline.settings, doc_id, embedder=pipeline.embedder, encoder2=getattr(pipeline, "encoder2", None)
    )
    corpus.swap_store(pipeline)
    return (
        f"已删除 · Deleted `{html.escape(doc_id)}` ({html.escape(', '.join(report.files))}). "
        f"索引 · Index: {report.build.n_docs} 篇 articles, {report.build.n_chunks} 段 chunks."
    )


# --------------------------------------------------------------------------- app


def build_app(pipeline: Pipeline | PipelineLoader) -> gr.Blocks:
    """The Blocks over ``pipeline``, or over the one a loader is loading (each handler waits for it;
    ``main`` detaches its store once loaded)."""
    s = pipeline.settings
    if isinstance(pipeline, PipelineLoader):
        has_llm = s.use_llm  # the generator is loading: answers are extractive if it fails, with a notice
    else:
        has_llm = pipeline.generator is not None
        corpus.detach(pipeline.store)  # keeps answering while a build replaces its folder

    def current() -> Pipeline:
        return loaded(pipeline)

    def listing() -> tuple[list[list], gr.Dropdown]:
        _refresh(current())
        docs = corpus.docs_of(current().store)
        return articles_table(docs), gr.Dropdown(choices=article_choices(docs), value=None)

    def first_listing() -> tuple[list[list], gr.Dropdown]:  # on page load: never waits for the models
        return listing() if is_ready(pipeline) else ([], gr.Dropdown(choices=[], value=None))

    with UploadsOnlyBlocks(title="新闻问答 · News Q&A", analytics_enabled=False) as demo:
        gr.Markdown(
            "## 新闻问答 · News Q&A\n用中文或英文提问，答案注明出处，点击 [1] 查看原文。 "
            "Ask in Chinese or English; answers cite their sources — click [1] to read the passage."
        )
        with gr.Tabs():
            with gr.Tab("问答 · Ask", id="ask"):
                with gr.Row():
                    with gr.Column(scale=3):
                        chatbot = gr.Chatbot(
                            label="对话 · Chat",
                            height=460,
                            buttons=["copy"],
                            feedback_options=None,
                            placeholder="可以追问，例如“那2023年呢？” · "
                            "Follow-up questions keep the context.",
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
                            lang = gr.Radio(
                                [("自动 · Auto", "auto"), ("中文", "zh"), ("English", "en")],
                                value=s.answer_lang,
                                label="回答语言 · Answer language",
                            )
                            k = gr.Slider(
                                1, 10, value=s.top_k, step=1, label="检索段落数 · Passages retrieved"
                            )
                            use_llm = gr.Checkbox(
                                value=has_llm and s.use_llm,
                                interactive=has_llm,
                                label="生成式回答 · Generated answers",
                                info="关闭时摘录原文（更快） · Off: quote the passages (faster)"
                                if has_llm
                                else "未加载生成模型，答案摘录原文 · "
                                "No generator loaded: answers quote the passages",
                            )
                sections = gr.State([])
            with gr.Tab("文章 · Articles", id="articles") as articles_tab:
                gr.Markdown(
                    "上传 .txt、.md、.html 或 .pdf 文件（每个不超过 "
                    f"{s.max_file_bytes // 1_000_000} MB），索引后即可提问。 · Upload .txt, .md, .html or "
                    f".pdf files (up to {s.max_file_bytes // 1_000_000} MB each); "
                    "ask about them once indexed."
                )
                files = gr.File(
                    file_count="multiple",
                    file_types=list(corpus.UPLOAD_TYPES),
                    type="filepath",
                    label="选择文件 · Choose files",
                    elem_id="upload",
                    height=140,
                )
                add_btn = gr.Button("添加并索引 · Add and index", variant="primary", elem_id="add")
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
                    del_btn = gr.Button("删除 · Delete", variant="stop", scale=1, elem_id="delete")

        def _chat(message, history, lang_, k_, llm_, sections_):
            yield from respond(message, history, pipeline, lang_, k_, llm_, sections_)

        def _add(paths, progress=gr.Progress()):  # noqa: B008 - Gradio's way to report progress
            try:
                for path in paths or []:  # UploadsOnlyBlocks checked them; this holds if Gradio changes
                    uploaded_file(path, demo.GRADIO_CACHE)
            except ValueError as exc:
                raise gr.Error(str(exc), print_exception=False) from None
            try:
                return add_articles(paths or [], current(), progress), None
            except RagError as exc:
                return f"⚠️ {html.escape(str(exc))}", None

        def _delete(doc_id):
            try:
                return delete_article(doc_id, current())
            except RagError as exc:
                return f"⚠️ {html.escape(str(exc))}"

        def _clear():
            return [], EMPTY_SOURCES, [], ""

        private = {"api_visibility": "private"}
        box.submit(
            _chat,
            [box, chatbot, lang, k, use_llm, sections],
            [chatbot, sources, sections, timings],
            **private,
        ).then(lambda: "", None, box, **private)
        chatbot.clear(_clear, None, [chatbot, sources, sections, timings], **private)
        add_btn.click(
            _add,
            files,
            [status, files],
            concurrency_limit=1,
            concurrency_id="corpus",
            api_name="add_articles",
        ).then(listing, None, [table, pick], **private)
        del_btn.click(_delete, pick, status, concurrency_limit=1, concurrency_id="corpus", **private).then(
            listing, None, [table, pick], **private
        )
        articles_tab.select(listing, None, [table, pick], **private)
        demo.load(first_listing, None, [table, pick], **private)

        def answer(
            question: str,
            history: list[list[str]] | None = None,
            lang: str = "auto",
            k: int = 5,
            use_llm: bool = True,
        ) -> dict:
            """Answer a question (earlier [question, answer] pairs for follow-ups): the Answer as JSON."""
            try:
                a = answer_args(question, history, lang, k, use_llm, s.top_k, has_llm and s.use_llm)
            except ValueError as exc:
                raise gr.Error(str(exc), print_exception=False) from None
            try:
                p = current()
                _refresh(p)
                return p.ask(a.question, a.history, lang=a.lang, k=a.k, use_llm=a.use_llm).to_json()
            except RagError as exc:
                raise gr.Error(str(exc)) from exc

        def articles() -> list[dict]:
            """The indexed articles: doc_id, title, date, lang, chunks, source, url."""
            p = current()
            _refresh(p)
            return [d.to_json() for d in corpus.docs_of(p.store)]

        def delete(doc_id: str) -> dict:
            """Delete one article by its doc_id and re-index; returns the remaining count."""
            try:
                doc_id = doc_id_arg(doc_id)
            except ValueError as exc:
                raise gr.Error(str(exc), print_exception=False) from None
            try:
                delete_article(doc_id, current())
            except RagError as exc:
                raise gr.Error(str(exc)) from exc
            return {"deleted": doc_id, "articles": len(current().store.docs())}

        gr.api(answer, api_name="answer")
        gr.api(articles, api_name="articles")
        gr.api(delete, api_name="delete_article", concurrency_limit=1, concurrency_id="corpus")
    return demo


CONCURRENCY = 4  # questions answered at once; later ones wait in Gradio's queue and are shown their place


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only.

    >>> [is_loopback(h) for h in ("127.0.0.1", "localhost", "[::1]", "0.0.0.0", "192.168.1.2")]
    [True, True, True, False, False]
    """
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host.lower() == "localhost"


def launch_options(settings: Settings) -> dict:
    """Gradio ``launch()`` arguments for ``settings``; RagError when the address is unsafe to serve on.

    The app binds 127.0.0.1 unless told otherwise. Any other address (0.0.0.0, a LAN or public
    interface) lets other machines in, so it needs a log-in (RAG_AUTH_USER / RAG_AUTH_PASSWORD).
    With a log-in set, ``guards.LoginGate`` asks for it on every route but the log-in page's;
    FastAPI's own docs and route list (``/openapi.json``, ``/docs``) are off. Gradio serves no
    file outside its upload cache (no ``allowed_paths``) and refuses uploads over ``max_file_bytes``.
    """
    user, password = settings.auth_user, settings.auth_password
    if bool(user) != bool(password):
        raise RagError(
            "set both RAG_AUTH_USER and RAG_AUTH_PASSWORD (found only "
            f"{'RAG_AUTH_USER' if user else 'RAG_AUTH_PASSWORD'}), or neither to serve on 127.0.0.1 only"
        )
    if not is_loopback(settings.host) and not user:
        raise RagError(
            f"refusing to serve on {settings.host or '(all addresses)'} without a log-in: other machines "
            "could reach it. Set RAG_AUTH_USER and RAG_AUTH_PASSWORD in the environment, or serve on "
            "127.0.0.1 (the default) and put a reverse proxy with its own authentication in front."
        )
    return {
        "server_name": settings.host,
        "server_port": settings.port,
        "share": False,
        "auth": [(user, password)] if user else None,
        "css": CSS,
        "js": JS,
        "show_error": False,
        "max_file_size": settings.max_file_bytes,
        "app_kwargs": {
            "openapi_url": None,
            "docs_url": None,
            "redoc_url": None,
            "middleware": [Middleware(LoginGate)],
        },
    }


def launch(
    demo: gr.Blocks, settings: Settings, pipeline: Pipeline | PipelineLoader | None = None, **extra: object
) -> None:
    """Queue and serve ``demo`` as ``python -m rag serve`` does (``extra``: more launch() arguments;
    its ``app_kwargs`` are merged with ours, middleware added inside the log-in gate); with
    ``pipeline``, the OpenAI-compatible API beside it under /v1 (``rag.web.openai_api``)."""
    options = launch_options(settings)
    theirs = dict(extra.pop("app_kwargs", None) or {})  # type: ignore[call-overload]
    ours = options["app_kwargs"]
    middleware = ours["middleware"] + list(theirs.get("middleware", []))
    options["app_kwargs"] = {**theirs, **ours, "middleware": middleware}
    if pipeline is not None:
        options["app_kwargs"]["routes"] = openai_api.routes(pipeline, settings, CONCURRENCY)
    demo.queue(default_concurrency_limit=CONCURRENCY).launch(**options, **extra)


def load_for_serving(settings: Settings) -> Pipeline:
    """``Pipeline.load``, its store detached (answers go on while a build replaces its folder) and
    its notices logged."""
    pipeline = Pipeline.load(settings)
    corpus.detach(pipeline.store)
    for notice in pipeline.notices:
        log.warning(notice)
    return pipeline


def main(settings: Settings | None = None) -> None:
    """Serve the page now and load the models meanwhile: questions asked before they are loaded
    wait for them (``rag.web.loading``)."""
    settings = settings or Settings.from_env()
    launch_options(settings)  # an unsafe address is refused before anything loads
    loader = PipelineLoader(settings, load_for_serving).start()
    launch(build_app(loader), settings, loader)


if __name__ == "__main__":
    main()
