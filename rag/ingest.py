"""Corpus -> index: load and clean every article, then build or update the index.

Used by ``python -m rag build`` and by the chat's set-up. The corpus is the folder
``settings.corpus_dir`` (one article a file, ``rag.loaders``) or, when ``settings.collection``
names one, a collection file streamed line by line (``rag.collections``: one article a line, or
JSON Lines). Does not parse files itself nor write the index format (``rag.index``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from .collections import Collection
from .config import Settings
from .embedding import Embedder, SentenceTransformerEmbedder
from .encoder2 import load_encoder2
from .index import BuildReport, build_index
from .loaders import LoadReport, load_corpus
from .pipeline import chunk_params
from .vectorstore import VectorOptions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestReport:
    load: LoadReport  # files skipped from the corpus folder (documents empty for a collection)
    build: BuildReport
    skipped_lines: tuple[str, ...] = ()  # a collection's skipped lines, "file:line: reason" (the first few)
    skipped_count: int = 0  # all of them


def vector_options(settings: Settings) -> VectorOptions:
    """The vector store settings of ``settings``."""
    return VectorOptions(backend=settings.vector_store, exact_max=settings.exact_search_max,
                         recall_target=settings.ann_recall_target, milvus_uri=settings.milvus_uri)


def build(settings: Settings, embedder: Embedder | None = None, progress: bool = True,
          on_progress: Callable[[int, int], None] | None = None,
          encoder2: Embedder | None = None) -> IngestReport:
    """Index ``settings.collection`` or ``settings.corpus_dir`` into ``settings.index_dir``
    (incrementally).

    The second encoder's vectors are stored when ``settings.encoder2`` names one (``encoder2``
    passes it in, loaded; otherwise it is loaded here)."""
    collection = Collection(settings.collection, settings.max_file_bytes) if settings.collection else None
    loaded = LoadReport((), ())
    if collection is None:
        loaded = load_corpus(settings.corpus_dir, settings.max_file_bytes)
        for name, reason in loaded.skipped:
            log.warning("skipped %s: %s", name, reason)
    embedder = embedder or SentenceTransformerEmbedder.from_settings(settings)
    encoder2 = encoder2 or load_encoder2(settings.encoder2)
    report = build_index(
        collection if collection is not None else loaded.documents,
        embedder,
        settings.index_dir,
        chunk_params(settings),
        (settings.query_prefix, settings.passage_prefix),
        progress=progress,
        on_progress=on_progress,
        encoder2=encoder2,
        options=vector_options(settings),
    )
    if collection is None:
        return IngestReport(loaded, report)
    return IngestReport(loaded, report, tuple(collection.skipped), collection.skipped_count)
