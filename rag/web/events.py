"""The page's events: a question asked, the chat cleared, articles added or deleted, the articles
tab opened, the page loaded; each wired to its handler with its concurrency.

Changes of the corpus run one at a time (``concurrency_id="corpus"``), the API's delete too
(``rag.web.endpoints``). Only the upload is a named API endpoint (``/add_articles``); the others
are private. Every handler takes the shared pipeline, or waits for the loader loading it
(``rag.web.loading``); the page's first listing never waits.

Does not create components (``rag.web.layout``) nor answer (``rag.web.chat``).
"""

from __future__ import annotations

import html
from collections.abc import Iterator, Sequence

import gradio as gr

from rag.answer.pipeline import Pipeline
from rag.errors import RagError
from rag.ingest import corpus
from rag.web.articles import add_articles, article_choices, articles_table, delete_article
from rag.web.chat import Reply, respond
from rag.web.guards import uploaded_file
from rag.web.layout import Page
from rag.web.loading import PipelineLoader, fresh, is_ready, loaded
from rag.web.render import EMPTY_SOURCES, Section

Listing = tuple[list[list], gr.Dropdown]  # the articles table, the delete dropdown


class Handlers:
    """The page's handlers over ``pipeline`` (or the loader loading it); ``cache``: Gradio's upload
    folder, the only place an added file may come from."""

    def __init__(self, pipeline: Pipeline | PipelineLoader, cache: str) -> None:
        self.pipeline, self.cache = pipeline, cache

    def chat(
        self, message: str, history: list[dict], lang: str, k: int, use_llm: bool, sections: Sequence[Section]
    ) -> Iterator[Reply]:
        yield from respond(message, history, self.pipeline, lang, k, use_llm, sections)

    @staticmethod
    def clear() -> tuple[list, str, list, str]:
        return [], EMPTY_SOURCES, [], ""

    def listing(self) -> Listing:
        docs = corpus.docs_of(fresh(self.pipeline).store)
        return articles_table(docs), gr.Dropdown(choices=article_choices(docs), value=None)

    def first_listing(self) -> Listing:  # on page load: never waits for the models
        return self.listing() if is_ready(self.pipeline) else ([], gr.Dropdown(choices=[], value=None))

    def add(
        self,
        paths: list[str] | None,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 - Gradio's way to report progress
    ) -> tuple[str, None]:
        try:
            for path in paths or []:  # UploadsOnlyBlocks checked them; this holds if Gradio changes
                uploaded_file(path, self.cache)
        except ValueError as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        try:
            return add_articles(paths or [], loaded(self.pipeline), progress), None
        except RagError as exc:
            return f"⚠️ {html.escape(str(exc))}", None

    def delete(self, doc_id: str) -> str:
        try:
            return delete_article(doc_id, loaded(self.pipeline))
        except RagError as exc:
            return f"⚠️ {html.escape(str(exc))}"


def wire(page: Page, handlers: Handlers, demo: gr.Blocks) -> None:
    """Connect the page's events to ``handlers``, inside the Blocks being built (``demo``)."""
    ask, articles = page.ask, page.articles
    turn = [ask.chatbot, ask.sources, ask.sections, ask.timings]
    ask.box.submit(
        handlers.chat,
        [ask.box, ask.chatbot, ask.lang, ask.k, ask.use_llm, ask.sections],
        turn,
        api_visibility="private",
    ).then(lambda: "", None, ask.box, api_visibility="private")
    ask.chatbot.clear(handlers.clear, None, turn, api_visibility="private")
    listed = [articles.table, articles.pick]
    articles.add.click(
        handlers.add,
        articles.files,
        [articles.status, articles.files],
        concurrency_limit=1,
        concurrency_id="corpus",
        api_name="add_articles",
    ).then(handlers.listing, None, listed, api_visibility="private")
    articles.delete.click(
        handlers.delete,
        articles.pick,
        articles.status,
        concurrency_limit=1,
        concurrency_id="corpus",
        api_visibility="private",
    ).then(handlers.listing, None, listed, api_visibility="private")
    articles.tab.select(handlers.listing, None, listed, api_visibility="private")
    demo.load(handlers.first_listing, None, listed, api_visibility="private")
