"""One pass over the documents of a build, against the live build: what is new, changed or gone.

    Pass(index_dir, target, live, ...)   take(document) for each of the stream, then finish(t0)
    start_build(...)                     a new build folder, its embedders loaded
    Deferred                             a document loaded only when the build needs its text

The build folder is started when the first document to be written is met (or at once when the live
build cannot be kept as it is): a build that finds nothing changed loads no model and writes
nothing. Used by ``rag.index.build.build_index``; does not lock, report progress, or end the
build (``rag.index.finish``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from rag.errors import IndexMismatchError
from rag.index.chunking import ChunkParams
from rag.index.finish import BuildReport, finish_build, up_to_date
from rag.index.folder import BuildFolder, Live, in_place_ok, same_shape
from rag.index.lazy import LazyEmbedder
from rag.index.manifest import Manifest
from rag.index.spec import VectorOptions
from rag.models.embedding import Embedder
from rag.types import Document


class Deferred(Protocol):
    """A document known by id and content hash, loaded only when a build needs its text
    (``rag.ingest.loaders.Unchanged``: a corpus file whose bytes did not change)."""

    @property
    def doc_id(self) -> str: ...

    @property
    def content_hash(self) -> str: ...

    def load(self) -> Document: ...


def start_build(
    index_dir: Path,
    target: Manifest,
    live: Live | None,
    in_place: bool,
    encoders: dict[str, Embedder],
    params: ChunkParams,
    options: VectorOptions,
) -> BuildFolder:
    """A new build folder, the embedders loaded (``LazyEmbedder``): something is to be written."""
    loaded = {s: e.get() if isinstance(e, LazyEmbedder) else e for s, e in encoders.items()}
    dims = {"e5": target.dim, "encoder2": target.dim2}
    for space, encoder in loaded.items():
        if encoder.dim != dims[space]:
            raise IndexMismatchError(
                f"the model {encoder.model_id} makes {encoder.dim}-dimensional vectors, but the index in "
                f"{index_dir} holds {dims[space]}-dimensional ones under that name. Delete the index "
                "folder and run `python -m rag build` to build it again."
            )
    return BuildFolder(index_dir, target, live, in_place, loaded, params, options)


class Pass:
    """One pass over the documents against the live build: which are new, changed or given twice,
    and the build folder, started when the first of them is to be written (or at once, when the
    live build cannot be kept as it is)."""

    def __init__(
        self,
        index_dir: Path,
        target: Manifest,
        live: Live | None,
        encoders: dict[str, Embedder],
        params: ChunkParams,
        options: VectorOptions,
    ) -> None:
        self.index_dir, self.target, self.live = index_dir, target, live
        self.encoders, self.params, self.options = encoders, params, options
        self.in_place = in_place_ok(live, target)
        self.hashes = live.hashes if live else {}
        self.seen: dict[str, str] = {}  # doc_id -> content hash, in stream order
        self.changed: list[str] = []
        self.from_live: list[str] = []  # unchanged Deferred documents a full build takes from the live build
        self.skipped = 0
        # kept as it is when nothing changed (second-encoder vectors may be kept unasked)
        keep = bool(
            live
            and live.whole
            and same_shape(live.manifest, target)
            and target.encoder2_id in ("", live.manifest.encoder2_id)
        )
        self.build: BuildFolder | None = None if keep else self._start(False)

    def _start(self, in_place: bool) -> BuildFolder:
        args = (self.index_dir, self.target, self.live, in_place, self.encoders, self.params, self.options)
        return start_build(*args)

    def take(self, item: Document | Deferred) -> bool:
        """Look at one document of the stream; True when it started the build folder."""
        if item.doc_id in self.seen:
            self.skipped += 1
            return False
        old = self.hashes.get(item.doc_id)
        doc = item if isinstance(item, Document) else item.load() if old != item.content_hash else None
        self.seen[item.doc_id] = doc.content_hash if doc is not None else item.content_hash
        if doc is not None and old != doc.content_hash:
            return self._put_changed(doc, old)
        if self.build is not None and not self.build.in_place:
            self._put_unchanged(item.doc_id, doc)
        return False

    def _put_changed(self, doc: Document, old: str | None) -> bool:
        self.changed.append(doc.doc_id)
        started = self.build is None
        if self.build is None:
            self.build = self._start(self.in_place)
            if not self.in_place:  # the articles already passed, as the live build has them
                self.build.put_live([d for d in self.seen if d != doc.doc_id])
        if self.build.in_place and old is not None:
            self.build.delete(doc.doc_id)
        self.build.put(doc)
        return started

    def _put_unchanged(self, doc_id: str, doc: Document | None) -> None:
        """An unchanged document, into a full build: as given, or taken from the live build."""
        assert self.build is not None
        if doc is not None:
            self.build.put(doc)
            return
        self.from_live.append(doc_id)
        if len(self.from_live) >= 500:
            self.build.put_live(self.from_live)
            self.from_live.clear()

    def finish(self, t0: float) -> BuildReport:
        """Deletions, the rest of the live build's articles, and the stages that end a build."""
        removed = sorted(set(self.hashes) - set(self.seen))
        if self.build is None and not removed:
            live = self.live.manifest if self.live else None
            return up_to_date(self.index_dir, live, len(self.seen), self.skipped, t0)
        build = self.build
        if build is None:
            build = self._start(self.in_place)
            if not self.in_place:
                build.put_live(list(self.seen))
        elif self.from_live:
            build.put_live(self.from_live)
        if build.in_place:
            for doc_id in removed:
                build.delete(doc_id)
        return finish_build(build, self.changed, removed, self.skipped, t0)
