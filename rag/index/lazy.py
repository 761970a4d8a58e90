"""Embedders loaded on first use, so that a build that finds nothing changed loads no model.

    LazyEmbedder(model_id, load)          the embedder ``load()`` returns, loaded when first needed
    known_dim(encoder, live_id, live_dim)  its dimension, from the live build when not loaded yet

Does not know which models exist (``rag.index.sync`` makes them) nor when a build needs one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from rag.models.embedding import Embedder, Kind


class LazyEmbedder:
    """An embedder loaded on first use of anything but ``model_id`` (``dim``, ``embed``,
    ``count_tokens``...): a build that finds nothing changed loads no model. ``model_id`` must be
    the one the loaded embedder reports."""

    # read through ``__getattr__``, which loads the model: annotated here for the Embedder protocol
    dim: int
    max_tokens: int

    def __init__(self, model_id: str, load: Callable[[], Embedder]) -> None:
        self.model_id = model_id  # before loading, the id the model is expected to report
        self._load = load
        self._model: Embedder | None = None

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def get(self) -> Embedder:
        if self._model is None:
            self._model = self._load()
            self.model_id = self._model.model_id  # the id the loaded model reports
        return self._model

    def embed(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        return self.get().embed(texts, kind)

    def count_tokens(self, text: str) -> int:
        return self.get().count_tokens(text)

    def __getattr__(self, name: str) -> Any:  # noqa: ANN401 - whatever the embedder has
        return getattr(self.get(), name)


def known_dim(encoder: Embedder | None, live_id: str, live_dim: int) -> int:
    """``encoder.dim``, taken from the live build's manifest when ``encoder`` is a LazyEmbedder not
    yet loaded of the model the live build names (so the check that nothing changed loads none)."""
    if encoder is None:
        return 0
    if isinstance(encoder, LazyEmbedder) and not encoder.loaded and encoder.model_id == live_id and live_dim:
        return live_dim
    return encoder.dim
