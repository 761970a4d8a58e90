"""What an index is built with: one ``IndexSpec``, from which the manifest and the embedder's prompts come.

    IndexSpec.from_settings(settings)   embedder id, e5 prompts, chunking, second encoder, vector store
    spec.manifest(embedder, encoder2)   the manifest fields an index must have to be used with them
    chunk_params(settings)              the chunking part alone
    VectorOptions                       the vector store part (backend, exact/IVF threshold, recall)

``SentenceTransformerEmbedder.from_settings`` takes its query/passage prompts from the spec, the
build writes them into the manifest from the same spec, and loading checks the manifest against
``spec.manifest(...)``: the prompts the vectors were made with and the ones recorded cannot drift.
The model id and vector dimensions recorded are the ones the embedders passed in report.

Does not load models, read or write index files (``rag.index.manifest``) nor build (``rag.index.build``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rag.index.chunking import ChunkParams
from rag.index.lazy import known_dim
from rag.index.manifest import FORMAT_VERSION, Manifest
from rag.text.tokens import TOKENIZER_ID

if TYPE_CHECKING:
    from rag.config import Settings
    from rag.models.embedding import Embedder


@dataclass(frozen=True)
class VectorOptions:
    backend: str = "faiss"  # "faiss" (embedded, default) or "milvus" (rag.index.milvus; a file or a server)
    exact_max: int = 20_000  # exact IndexFlatIP up to this many vectors (~1 ms a search, 6 at 50k), IVF above
    recall_target: float = 0.98  # IVF: nprobe raised until recall@10 against exact search reaches this
    recall_queries: int = 200  # stored vectors used as queries for that measurement
    milvus_uri: str = ""  # Milvus: a milvus-lite file or a server URI ("" = milvus.db in the index folder)


@dataclass(frozen=True)
class IndexSpec:
    """The settings an index depends on. Two indexes of one spec (and embedders) are interchangeable."""

    embedder_id: str = ""  # the id the e5 embedder of the settings reports ("" = not from settings)
    query_prefix: str = "query: "  # e5 prompts: put before every question / passage embedded
    passage_prefix: str = "passage: "
    chunking: ChunkParams = field(default_factory=ChunkParams)
    encoder2: str = ""  # second encoder by name (rag.models.encoder2.load_encoder2), "" = none
    vectors: VectorOptions = field(default_factory=VectorOptions)

    @classmethod
    def from_settings(cls, settings: Settings) -> IndexSpec:
        """The spec of ``settings``.

        >>> from rag.config import Settings
        >>> spec = IndexSpec.from_settings(Settings(embedder="intfloat/multilingual-e5-small"))
        >>> spec.embedder_id, spec.prefixes, spec.chunking.target, spec.vectors.backend
        ('intfloat/multilingual-e5-small', ('query: ', 'passage: '), 240, 'faiss')
        """
        path = settings.embedder_path
        return cls(
            embedder_id=Path(path).name if Path(path).exists() else path,
            query_prefix=settings.query_prefix,
            passage_prefix=settings.passage_prefix,
            chunking=ChunkParams(
                settings.chunk_tokens, settings.chunk_overlap_tokens, settings.chunk_max_tokens
            ),
            encoder2=settings.encoder2,
            vectors=VectorOptions(
                backend=settings.vector_store,
                exact_max=settings.exact_search_max,
                recall_target=settings.ann_recall_target,
                milvus_uri=settings.milvus_uri,
            ),
        )

    @property
    def prefixes(self) -> tuple[str, str]:
        """(query prompt, passage prompt)."""
        return self.query_prefix, self.passage_prefix

    def manifest(
        self, embedder: Embedder, encoder2: Embedder | None = None, live: Manifest | None = None
    ) -> Manifest:
        """The manifest fields an index must have to be used with ``embedder`` (and ``encoder2``) under
        this spec; corpus fields empty. Given the ``live`` build's manifest, lazy embedders of the
        models it names are not loaded for their dimension (``rag.index.lazy.known_dim``)."""
        dim = known_dim(embedder, live.embedder_id, live.dim) if live else embedder.dim
        dim2 = known_dim(encoder2, live.encoder2_id, live.dim2) if live else (encoder2.dim if encoder2 else 0)
        return Manifest(
            FORMAT_VERSION,
            embedder.model_id,
            dim,
            self.query_prefix,
            self.passage_prefix,
            asdict(self.chunking),
            "",
            0,
            0,
            tokenizer=TOKENIZER_ID,
            encoder2_id=encoder2.model_id if encoder2 else "",
            dim2=dim2,
            backend=self.vectors.backend,
        )


def chunk_params(settings: Settings) -> ChunkParams:
    """The chunking of ``settings`` (``IndexSpec.from_settings(settings).chunking``)."""
    return IndexSpec.from_settings(settings).chunking


def target_manifest(
    embedder: Embedder,
    params: ChunkParams,
    prefixes: tuple[str, str],
    encoder2: Embedder | None = None,
    backend: str = "faiss",
    live: Manifest | None = None,
) -> Manifest:
    """``IndexSpec.manifest`` of a spec given by its parts (chunking, prompts, backend)."""
    spec = IndexSpec(
        query_prefix=prefixes[0],
        passage_prefix=prefixes[1],
        chunking=params,
        vectors=VectorOptions(backend=backend),
    )
    return spec.manifest(embedder, encoder2, live)
