"""The Milvus vector store: the ``rag.index.vectors.VectorStore`` interface over pymilvus's ``MilvusClient``.

The same code talks to a local milvus-lite file (``uri`` ending in ``.db``: one process at a
time, the quick tests) or to a Milvus server or cluster (``http://host:19530``; several chat
replicas can share it; the ``server`` tests start one). Selected with ``RAG_VECTOR_STORE=milvus``
and ``RAG_MILVUS_URI`` (README "Large corpora"); FAISS stays the default.

One collection per embedding space and full build: ``id`` (the chunk row, primary key),
``vector`` (FLOAT_VECTOR, inner product) and ``lang`` (a question is searched within one
language by a filter). milvus-lite indexes with FLAT (exact); a server with AUTOINDEX.
Incremental builds add to and delete from the live collection in place, which a running chat
tolerates: ``rag.index.store.IndexStore`` ignores ids its own build does not know. A full build makes
new collections and keeps the previous build's until the next full build (as a loaded FAISS build
outlives its deleted folder): chats still reading the previous build, in this process or another,
answer from it until they move to the new one (``Pipeline.reload``, before each question in
the chat). Collections older than that are dropped.

Does not store chunk text or article metadata (those stay in the build's SQLite file).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rag.errors import IndexError_
from rag.index.manifest import Manifest, live_build, read_manifest

log = logging.getLogger(__name__)
_BATCH = 2_000  # rows per insert request


def resolve_uri(uri: str, index_dir: Path) -> str:
    """A server URI as given; a lite file relative to the index folder made absolute.

    >>> resolve_uri("http://milvus:19530", Path("/x")), resolve_uri("", Path("/idx"))
    ('http://milvus:19530', '/idx/milvus.db')
    """
    if "://" in uri:
        return uri
    path = Path(uri or "milvus.db")
    return str(path if path.is_absolute() else index_dir / path)


def collection_name(index_dir: Path, folder: Path, space: str) -> str:
    """A collection per index folder, build and space: several indexes can share one server.

    >>> collection_name(Path("/idx"), Path("/idx/builds/2024-1"), "e5")
    'rag_02ace442_e5_2024_1'
    """
    return f"{_prefix(index_dir)}{space}_{''.join(c if c.isalnum() else '_' for c in folder.name)}"


def _prefix(index_dir: Path) -> str:
    """What the names of an index folder's collections start with."""
    return f"rag_{hashlib.sha1(str(index_dir.resolve()).encode()).hexdigest()[:8]}_"


def drop_collections(index_dir: Path, previous: Manifest) -> list[str]:
    """After a full build replaced ``previous``: drop the index folder's collections other than the
    live build's and ``previous``'s (kept for the chats still reading it; see the module docstring),
    on the servers or files either uses. Returns the names dropped. Never fails the build, which
    is already live: a server that cannot be reached is logged, and cleaned at the next full build.
    """
    live = live_build(index_dir)
    builds = [previous] + ([read_manifest(live)] if live is not None else [])
    records = [r for m in builds if m.backend == "milvus" for r in m.vectors.values()]
    keep = {r.get("collection") for r in records}
    dropped = []
    for uri in sorted({resolve_uri(r.get("uri", ""), index_dir) for r in records}):
        try:
            client = _client(uri)
            for name in client.list_collections():
                if name.startswith(_prefix(index_dir)) and name not in keep:
                    client.drop_collection(name)
                    dropped.append(name)
        except Exception as exc:  # noqa: BLE001 - connection and server failures take many types
            log.warning(
                "could not drop the old Milvus collections at %s (%s); the next full build will", uri, exc
            )
    return dropped


def _client(uri: str):
    try:
        from pymilvus import MilvusClient

        return MilvusClient(uri)
    except Exception as exc:  # noqa: BLE001 - connection and start-up failures take many types
        raise IndexError_(
            f"cannot open the Milvus vector store at {uri} ({type(exc).__name__}: {exc}). Start the "
            "server, check RAG_MILVUS_URI, or use the default FAISS store (RAG_VECTOR_STORE=faiss)."
        ) from exc


class MilvusStore:
    """A Milvus collection holding one embedding space."""

    def __init__(self, uri: str, collection: str, dim: int, create: bool = False) -> None:
        self.uri, self.collection, self.dim = uri, collection, dim
        self.client = _client(uri)
        self.lite = "://" not in uri
        if create:
            self._create()
        elif not self.client.has_collection(collection):
            raise IndexError_(
                f"the Milvus collection {collection!r} at {uri} is missing. Rebuild the index with "
                "`python -m rag build`."
            )
        else:
            self.client.load_collection(collection)

    def _create(self) -> None:
        from pymilvus import DataType, MilvusClient

        if self.client.has_collection(self.collection):
            self.client.drop_collection(self.collection)
        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=self.dim)
        schema.add_field("lang", DataType.VARCHAR, max_length=8)
        params = self.client.prepare_index_params()
        kind = "FLAT" if self.lite else "AUTOINDEX"
        params.add_index(field_name="vector", index_type=kind, metric_type="IP")
        self.client.create_collection(
            self.collection, schema=schema, index_params=params, consistency_level="Strong"
        )

    def __len__(self) -> int:
        """The vectors held: a count query (a server's collection statistics count deleted rows
        until it compacts them)."""
        return int(self.client.query(self.collection, filter="", output_fields=["count(*)"])[0]["count(*)"])

    def add(self, ids: np.ndarray, vectors: np.ndarray, langs: Sequence[str]) -> None:
        vectors = np.asarray(vectors, dtype=np.float32)
        for start in range(0, len(ids), _BATCH):
            rows = [
                {"id": int(i), "vector": v.tolist(), "lang": str(lang)}
                for i, v, lang in zip(
                    ids[start : start + _BATCH],
                    vectors[start : start + _BATCH],
                    langs[start : start + _BATCH],
                    strict=True,
                )
            ]
            self.client.insert(self.collection, rows)

    def remove(self, ids: np.ndarray) -> None:
        todo = [int(i) for i in ids]
        for start in range(0, len(todo), _BATCH):
            self.client.delete(self.collection, ids=todo[start : start + _BATCH])

    def search(self, queries: np.ndarray, k: int, lang: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        q = np.asarray(queries, dtype=np.float32).reshape(-1, self.dim)
        scores = np.full((len(q), max(k, 0)), -np.inf, dtype=np.float32)
        ids = np.full((len(q), max(k, 0)), -1, dtype=np.int64)
        if k <= 0 or not len(q):
            return scores, ids
        from pymilvus import MilvusException

        try:
            found = self.client.search(
                self.collection,
                data=[v.tolist() for v in q],
                limit=k,
                filter=f'lang == "{lang}"' if lang is not None else "",
                search_params={"metric_type": "IP"},
            )
        except MilvusException as exc:
            raise IndexError_(
                f"cannot search the Milvus collection {self.collection!r} at {self.uri} ({exc.message}). "
                "A full build drops the collections of the build before the previous one: reload the "
                "index (restart the chat), or rebuild it with `python -m rag build`."
            ) from exc
        for i, hits in enumerate(found):
            for j, hit in enumerate(hits[:k]):
                scores[i, j], ids[i, j] = hit["distance"], hit["id"]
        return scores, ids

    def save(self, path: Path) -> None:
        """Flush: the data lives in Milvus, not in ``path``."""
        self.client.flush(self.collection)

    def describe(self) -> dict:
        """The manifest's record (the index adds the URI as configured, ``VectorOptions.milvus_uri``)."""
        kind = "FLAT" if self.lite else "AUTOINDEX"
        return {"backend": "milvus", "collection": self.collection, "type": kind}

    def drop(self) -> None:
        if self.client.has_collection(self.collection):
            self.client.drop_collection(self.collection)
