"""Corpus folder -> index: load and clean every article, then build or update the index.

Used by ``python -m rag build`` and by the chat's set-up. Does not parse files itself
(``rag.loaders``) nor write the index format (``rag.index``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from .config import Settings
from .embedding import Embedder, SentenceTransformerEmbedder
from .encoder2 import load_encoder2
from .index import BuildReport, build_index
from .loaders import LoadReport, load_corpus
from .pipeline import chunk_params

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestReport:
    load: LoadReport
    build: BuildReport


def build(settings: Settings, embedder: Embedder | None = None, progress: bool = True,
          on_progress: Callable[[int, int], None] | None = None,
          encoder2: Embedder | None = None) -> IngestReport:
    """Index ``settings.corpus_dir`` into ``settings.index_dir`` (incrementally).

    The second encoder's vectors are stored when ``settings.encoder2`` names one (``encoder2``
    passes it in, loaded; otherwise it is loaded here)."""
    loaded = load_corpus(settings.corpus_dir, settings.max_file_bytes)
    for name, reason in loaded.skipped:
        log.warning("skipped %s: %s", name, reason)
    embedder = embedder or SentenceTransformerEmbedder.from_settings(settings)
    encoder2 = encoder2 or load_encoder2(settings.encoder2)
    report = build_index(
        loaded.documents,
        embedder,
        settings.index_dir,
        chunk_params(settings),
        (settings.query_prefix, settings.passage_prefix),
        progress=progress,
        on_progress=on_progress,
        encoder2=encoder2,
    )
    return IngestReport(loaded, report)
