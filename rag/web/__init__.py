"""The web front: the Gradio chat app and the OpenAI-compatible API beside it.

app          build_app, launch, main: the server (``python -m rag serve``, ``app.py``)
layout       the page's components               events      their events and handlers
chat         one chat turn: respond()             render      answers and sources as HTML/Markdown
articles     add, delete and list articles        endpoints   the named API: /answer, /articles...
assets       the page's CSS and JS                arguments   the API's arguments, checked
guards       the log-in gate, uploads only        loading     the pipeline loaded in the background
openai_api   /v1 routes and server                openai_requests, openai_replies  its parsing, replies

Other stages use only the names below; ``python -m rag serve`` (or ``app.py``) calls ``main``.
"""

from rag.web.app import build_app, is_loopback, launch, launch_options, main
from rag.web.articles import add_articles, delete_article
from rag.web.chat import respond

__all__ = [
    "add_articles",
    "build_app",
    "delete_article",
    "is_loopback",
    "launch",
    "launch_options",
    "main",
    "respond",
]
