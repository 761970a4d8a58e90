"""The chat server: ``build_app(pipeline)`` returns the Gradio Blocks; ``main()`` serves the page on
127.0.0.1 at once and loads the pipeline in the background (``rag.web.loading``): a question asked
meanwhile shows a loading notice and waits for it. The OpenAI-compatible API is served beside it
under /v1 (``rag.web.openai_api``).

    layout      the page's components                chat        one chat turn: respond()
    events      the page's events and handlers       render      the answer and sources as HTML
    endpoints   the named API (/answer, /articles..)  articles    add, delete and list articles
    assets      the page's CSS and JS                 guards      the log-in gate, uploads only

Per user: the chat history and the source sections (``gr.State``), nothing in globals. The
pipeline and the corpus are shared: adding or deleting an article re-indexes (``rag.ingest.corpus``)
and swaps the pipeline's store for everyone (``Pipeline.reload``).

Does not answer (``rag.answer``) nor draw the page (the modules above): it puts them together and
serves them, refusing an address other machines could reach without a log-in.
"""

from __future__ import annotations

import ipaddress
import logging

import gradio as gr
from starlette.middleware import Middleware

from rag.answer.pipeline import Pipeline
from rag.config import Settings
from rag.errors import RagError
from rag.index.reload import detach
from rag.web import endpoints, events, layout, openai_api
from rag.web.assets import CSS, JS
from rag.web.guards import LoginGate, UploadsOnlyBlocks
from rag.web.loading import PipelineLoader

log = logging.getLogger("rag.app")


def build_app(pipeline: Pipeline | PipelineLoader) -> gr.Blocks:
    """The Blocks over ``pipeline``, or over the one a loader is loading (each handler waits for it;
    ``main`` detaches its store once loaded)."""
    s = pipeline.settings
    if isinstance(pipeline, PipelineLoader):
        has_llm = s.use_llm  # the generator is loading: answers are extractive if it fails, with a notice
    else:
        has_llm = pipeline.generator is not None
        detach(pipeline.store)  # keeps answering while a build replaces its folder
    with UploadsOnlyBlocks(title="新闻问答 · News Q&A", analytics_enabled=False) as demo:
        page = layout.page(s, has_llm)
        events.wire(page, events.Handlers(pipeline, demo.GRADIO_CACHE), demo)
        endpoints.register(pipeline, has_llm and s.use_llm)
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
    detach(pipeline.store)
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
