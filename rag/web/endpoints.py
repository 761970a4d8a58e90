"""The named API endpoints beside the page, for ``gradio_client`` and HTTP clients:
``/answer`` (the Answer as JSON, as ``rag ask --json``), ``/articles`` (the indexed articles) and
``/delete_article`` (one at a time with the page's own changes). ``/add_articles`` is the page's
upload event (``rag.web.events``).

Arguments are checked (``rag.web.arguments``): a bad one is a ``gr.Error`` saying what to send,
which clients see as ``AppError``; so is the project's own error (``RagError``). No server path or
stack trace reaches a client.

Does not serve the OpenAI-compatible API (``rag.web.openai_api``).
"""

from __future__ import annotations

import gradio as gr

from rag.answer.pipeline import Pipeline
from rag.errors import RagError
from rag.ingest import corpus
from rag.web.arguments import answer_args, doc_id_arg
from rag.web.articles import delete_article
from rag.web.loading import PipelineLoader, fresh, loaded


def register(pipeline: Pipeline | PipelineLoader, llm_default: bool) -> None:
    """Add the endpoints over ``pipeline`` to the Blocks being built; ``llm_default``: whether
    ``/answer`` generates when the client does not say."""
    s = pipeline.settings

    def answer(
        question: str,
        history: list[list[str]] | None = None,
        lang: str = "auto",
        k: int = 5,
        use_llm: bool = True,
    ) -> dict:
        """Answer a question (earlier [question, answer] pairs for follow-ups): the Answer as JSON."""
        try:
            a = answer_args(question, history, lang, k, use_llm, s.top_k, llm_default)
        except ValueError as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        try:
            return fresh(pipeline).ask(a.question, a.history, lang=a.lang, k=a.k, use_llm=a.use_llm).to_json()
        except RagError as exc:
            raise gr.Error(str(exc)) from exc

    def articles() -> list[dict]:
        """The indexed articles: doc_id, title, date, lang, chunks, source, url."""
        return [d.to_json() for d in corpus.docs_of(fresh(pipeline).store)]

    def delete(doc_id: str) -> dict:
        """Delete one article by its doc_id and re-index; returns the remaining count."""
        try:
            doc_id = doc_id_arg(doc_id)
        except ValueError as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        try:
            delete_article(doc_id, loaded(pipeline))
        except RagError as exc:
            raise gr.Error(str(exc)) from exc
        return {"deleted": doc_id, "articles": len(loaded(pipeline).store.docs())}

    gr.api(answer, api_name="answer")
    gr.api(articles, api_name="articles")
    gr.api(delete, api_name="delete_article", concurrency_limit=1, concurrency_id="corpus")
