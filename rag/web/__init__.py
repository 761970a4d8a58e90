"""The web front: the Gradio chat app (``rag.web.app``).

Other stages use only the names below; ``python -m rag serve`` (or ``app.py``) calls ``main``.
"""

from rag.web.app import (
    add_articles,
    build_app,
    delete_article,
    is_loopback,
    launch,
    launch_options,
    main,
    respond,
)

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
