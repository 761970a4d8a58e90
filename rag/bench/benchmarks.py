"""What the public benchmarks share: passages as documents, a fresh index per run, the answer's own words.

The benchmarks themselves are ``rag.bench.xquad`` (cross-lingual reading, SQuAD scoring) and
``rag.bench.rgb`` (noise robustness and rejection); both ask through the chat's own answer path
(retrieve, prompt, generate or extract, abstain) over passages indexed with the configured embedder
and chunking, in a temporary folder that is removed afterwards. Does not download data (see
../shared/benchmarks/README.md) and does not modify the data files.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from rag.answer.pipeline import Pipeline
from rag.answer.write.extractive import INTRO
from rag.config import Settings
from rag.index.build import IndexStore, build_index, target_manifest
from rag.index.spec import chunk_params
from rag.ingest.docmeta import byline_date
from rag.models.embedding import Embedder
from rag.models.encoder2 import load_encoder2
from rag.models.generator import Generator
from rag.text.figures import CITATION_MARKER
from rag.text.lang import detect_lang
from rag.types import Answer, DocMeta, Document


def passage_document(doc_id: str, text: str, source: str) -> Document:
    """A passage as an article without title, dated only by a date it opens with (a search snippet's).

    >>> passage_document("p1", "Jul 25, 2022 ... 日前，由杨紫、成毅主演的仙侠剧上线", "rgb").meta.date
    '2022-07-25'
    """
    text = re.sub(r"[ \t\r\f\v\u3000]+", " ", text)
    text = re.sub(r"\s*\n\s*", "\n", text).strip()
    meta = DocMeta(doc_id, "", byline_date(text), "", detect_lang(text), source)
    return Document(meta, text, hashlib.sha256(f"\n{text}".encode()).hexdigest())


def answer_body(answer: Answer) -> str:
    """The answer's own words: "" when it abstained, without citation markers or the extractive intro."""
    if answer.abstained:
        return ""
    text = answer.text
    if answer.mode == "extractive":
        text = text.removeprefix(INTRO[answer.lang])
    return CITATION_MARKER.sub("", text).strip()


def new_pipeline(
    settings: Settings,
    docs: Sequence[Document],
    index_dir: Path,
    embedder: Embedder,
    generator: Generator | None,
    previous: Pipeline | None,
    progress: bool,
) -> Pipeline:
    """A pipeline over ``docs``, indexed in ``index_dir``; reuses ``previous``'s models, closes its index."""
    settings = replace(settings, index_dir=index_dir)
    prefixes = (settings.query_prefix, settings.passage_prefix)
    encoder2 = previous.encoder2 if previous is not None else None
    if previous is None and settings.encoder2_weight > 0:
        encoder2 = load_encoder2(settings.encoder2)
    build_index(
        docs, embedder, index_dir, chunk_params(settings), prefixes, progress=progress, encoder2=encoder2
    )
    if previous is None:
        return Pipeline.load(settings, embedder, generator, encoder2)
    store = IndexStore.load(index_dir, target_manifest(embedder, chunk_params(settings), prefixes))
    previous.store.close()
    shutil.rmtree(previous.settings.index_dir, ignore_errors=True)
    return replace(previous, settings=settings, store=store)


def run_modes(records: Sequence[dict]) -> str:
    """The answer modes of a run's records, e.g. "extractive+llm"; "-" for none."""
    return "+".join(sorted({r["mode"] for r in records})) or "-"
