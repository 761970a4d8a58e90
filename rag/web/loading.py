"""The pipeline, loaded in a background thread while the page is already served.

``PipelineLoader(settings).start()`` runs ``Pipeline.load`` (or the ``load`` function given) in
a thread; ``wait()`` returns the pipeline once it is there, re-raising a load failure as a
``RagError`` for each caller; ``ready`` says whether waiting would block. ``loaded(p)`` accepts a
pipeline or a loader, so the chat, its API and the OpenAI-compatible API take either;
``fresh(p)`` also swaps in the live index when a build replaced it (``Pipeline.reload``).
``LOADING`` is the notice the chat shows while a question waits.

Does not retry a failed load, and does not time out: a question waits as long as loading takes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from rag.answer.pipeline import Pipeline
from rag.config import Settings
from rag.errors import RagError

LOADING = "正在加载模型…… / Loading the models…"
log = logging.getLogger("rag.app")


class PipelineLoader:
    """A pipeline being loaded: ``settings`` now, the rest from ``wait()``."""

    def __init__(self, settings: Settings, load: Callable[[Settings], Pipeline] = Pipeline.load) -> None:
        self.settings = settings
        self._load = load
        self._done = threading.Event()
        self._pipeline: Pipeline | None = None
        self._error: BaseException | None = None

    def start(self) -> PipelineLoader:
        threading.Thread(target=self._run, name="load-pipeline", daemon=True).start()
        return self

    def _run(self) -> None:
        t0 = time.perf_counter()
        try:
            self._pipeline = self._load(self.settings)
            log.info("models loaded in %.1f s", time.perf_counter() - t0)
        except BaseException as exc:  # noqa: BLE001 - kept and shown to every question, never lost
            log.error("loading the models failed: %s", exc)
            self._error = exc
        finally:
            self._done.set()

    @property
    def ready(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> Pipeline:
        """The pipeline, once loaded; RagError when loading failed (or ``timeout`` passed)."""
        if not self._done.wait(timeout):
            raise RagError("the models are still loading: try again in a moment")
        if self._pipeline is None:
            if isinstance(self._error, RagError):
                raise self._error
            raise RagError(f"the models could not be loaded ({self._error!r}): see the server's log")
        return self._pipeline


def loaded(pipeline: Pipeline | PipelineLoader) -> Pipeline:
    """``pipeline`` itself, or the one a loader is loading (waiting for it)."""
    return pipeline.wait() if isinstance(pipeline, PipelineLoader) else pipeline


def fresh(pipeline: Pipeline | PipelineLoader) -> Pipeline:
    """``loaded(pipeline)`` on the live index: articles added or removed since it loaded (by the
    chat or from the command line) are swapped in; an index that cannot be swapped in (e.g.
    rebuilt with other settings) is logged, and the loaded one keeps answering."""
    p = loaded(pipeline)
    try:
        p.reload()
    except RagError as exc:
        log.warning("kept the loaded index: %s", exc)
    return p


def is_ready(pipeline: Pipeline | PipelineLoader) -> bool:
    return not isinstance(pipeline, PipelineLoader) or pipeline.ready
