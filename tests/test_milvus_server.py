"""The Milvus path against a real Milvus server (the ``milvus`` package's standalone binary, started
once per run by the ``milvus_server`` fixture), with the fake models.

Building, asking, adding and removing articles give FAISS's answers; a full build keeps the
collections that chats still read until the next one; a second process sees each new build.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from rag.answer.pipeline import Pipeline
from rag.config import Settings
from rag.index.manifest import live_build, read_manifest
from rag.index.sync import build
from rag.ingest import corpus
from tests.conftest import ROOT, fixture_library
from tests.fakes import FakeEmbedder, FakeEncoder2
from tests.test_milvus import QUESTIONS, hits

pytestmark = pytest.mark.server

PORT_NEWS = "---\ntitle: 深圳港\n---\n2020年深圳港集装箱吞吐量2655万标箱，5G基站覆盖港区。"
ASKED = [*QUESTIONS, "深圳港集装箱吞吐量是多少？", "武汉工业互联网大会"]


def settings(root: Path, **env: str) -> Settings:
    """Settings for a corpus and index under ``root``, taken from the environment ``env`` as a
    deployment gives them (``RAG_VECTOR_STORE``, ``RAG_MILVUS_URI``)."""
    root.mkdir()
    base = {
        "RAG_CORPUS": str(root / "corpus"),
        "RAG_INDEX": str(root / "index"),
        "RAG_NO_LLM": "1",
        "RAG_GROUNDING": "0",
    }
    return Settings.from_env({**base, **env}, models_dir=root / "models", min_score=0.1)


def answers(pipeline: Pipeline) -> list[dict]:
    """What a person sees for each question: the answer text and its citations (chunk ids, spans)."""
    out = []
    for q in ASKED:
        a = pipeline.ask(q).to_json()
        out.append({k: a[k] for k in ("answer", "abstained", "citations", "mode")})
    return out


def test_build_ask_add_and_remove_on_a_server_answer_as_faiss(tmp_path, milvus_server):
    enc2 = FakeEncoder2()
    sf = settings(tmp_path / "faiss")
    sm = settings(tmp_path / "milvus", RAG_VECTOR_STORE="milvus", RAG_MILVUS_URI=milvus_server)
    assert (sm.vector_store, sm.milvus_uri) == ("milvus", milvus_server)
    f, m = fixture_library(sf, None, enc2), fixture_library(sm, None, enc2)
    assert m.store.manifest.backend == "milvus" and m.store.manifest.vectors["e5"]["uri"] == milvus_server
    assert m.store.manifest.vectors["e5"]["type"] == "AUTOINDEX"
    emb = FakeEmbedder()

    def same() -> None:
        assert hits(m.store, emb) == hits(f.store, emb)
        assert hits(m.store, enc2, "encoder2") == hits(f.store, enc2, "encoder2")
        assert answers(m) == answers(f)

    same()
    (tmp_path / "zh_port.txt").write_text(PORT_NEWS, "utf-8")
    for s, p in ((sf, f), (sm, m)):
        report = corpus.add_files(s, [tmp_path / "zh_port.txt"], embedder=emb, encoder2=enc2)
        assert report.build.in_place and [d.doc_id for d in report.added] == ["zh_port"]
        p.reload()
    same()
    assert answers(m)[-2]["citations"][0]["doc_id"] == "zh_port"
    for s, p in ((sf, f), (sm, m)):
        assert corpus.remove_doc(s, "zh_other", embedder=emb, encoder2=enc2).build.in_place
        p.reload()
    same()
    assert "zh_other" not in {c["doc_id"] for a in answers(m) for c in a["citations"]}
    assert len(m.store.vector_store()) == len(m.store) == len(f.store)


READER = """
import json, sys
from rag.ingest import corpus
from rag.config import Settings
from rag.answer.pipeline import Pipeline
from tests.fakes import FakeEmbedder

pipeline = Pipeline.load(Settings.from_env(min_score=0.1, encoder2_weight=0.0), embedder=FakeEmbedder())
print("ready", flush=True)
for line in sys.stdin:  # "1 question": reload the index first, as the chat does; "0 question": not
    reload, question = line.rstrip("\\n").split(" ", 1)
    refreshed = pipeline.reload() if reload == "1" else False
    try:
        cited = list(dict.fromkeys(c.doc_id for c in pipeline.ask(question).citations))
    except Exception as exc:
        cited = f"{type(exc).__name__}: {exc}"
    print(json.dumps({"refreshed": refreshed, "cited": cited,
                      "docs": sorted(d.doc_id for d in pipeline.store.docs())}), flush=True)
"""


class OtherEncoder2(FakeEncoder2):
    model_id = "fake-encoder2-b"  # another second encoder: the index must be built again in full


def test_a_second_process_sees_each_build_and_keeps_answering_through_a_full_build(tmp_path, milvus_server):
    from pymilvus import MilvusClient

    env = {"RAG_VECTOR_STORE": "milvus", "RAG_MILVUS_URI": milvus_server}
    s = replace(settings(tmp_path / "lib", **env), encoder2="")
    fixture_library(s, None)
    emb, question = FakeEmbedder(), "深圳港集装箱吞吐量是多少？"
    child_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("RAG_")},
        **env,
        "RAG_CORPUS": str(s.corpus_dir),
        "RAG_INDEX": str(s.index_dir),
        "RAG_NO_LLM": "1",
        "RAG_GROUNDING": "0",
    }
    reader = subprocess.Popen(
        [sys.executable, "-c", READER],
        cwd=ROOT,
        env=child_env,
        text=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )

    def ask(reload: bool) -> dict:
        reader.stdin.write(f"{int(reload)} {question}\n")
        reader.stdin.flush()
        return json.loads(reader.stdout.readline())

    def live() -> list[str]:
        return [r["collection"] for r in read_manifest(live_build(s.index_dir)).vectors.values()]

    def on_server() -> list[str]:
        return sorted(n for n in MilvusClient(milvus_server).list_collections() if n[:13] == live()[0][:13])

    try:
        assert reader.stdout.readline() == "ready\n"
        first = ask(True)
        assert first["refreshed"] is False and "zh_port" not in first["docs"]
        (tmp_path / "zh_port.txt").write_text(PORT_NEWS, "utf-8")
        corpus.add_files(s, [tmp_path / "zh_port.txt"], embedder=emb)  # in place, by this process
        added = ask(True)
        assert added["refreshed"] and "zh_port" in added["docs"] and added["cited"][0] == "zh_port"
        corpus.remove_doc(s, "zh_other", embedder=emb)
        removed = ask(True)
        assert removed["refreshed"] and "zh_other" not in removed["docs"]
        old = live()

        build(s, emb, progress=False, encoder2=FakeEncoder2())  # a full build: new collections
        assert ask(False) == {**removed, "refreshed": False}  # the build it has loaded still answers
        assert on_server() == sorted(old + live())  # ... from its collection, kept
        assert ask(True) == removed  # ... until it moves to the new one
        previous = live()

        build(s, emb, progress=False, encoder2=OtherEncoder2())  # the next full build
        assert on_server() == sorted(previous + live())  # the build before the previous one: dropped
        assert ask(False) == {**removed, "refreshed": False} and ask(True) == removed
    finally:
        reader.stdin.close()
        reader.wait(timeout=60)


def test_a_collection_counts_its_vectors_after_deletes(milvus_server, tmp_path):
    import numpy as np

    from rag.index.milvus import MilvusStore

    store = MilvusStore(milvus_server, "rag_test_count", 4, create=True)
    try:
        store.add(np.arange(5), np.eye(5, 4, dtype=np.float32) + 0.1, ["zh", "zh", "en", "en", "en"])
        store.save(tmp_path)  # flushed: the server's statistics now count rows ...
        store.remove(np.array([1, 3]))
        store.save(tmp_path)
        assert len(store) == 3  # ... and keep counting deleted ones until a compaction
        assert sorted(store.search(np.eye(1, 4, dtype=np.float32), 5)[1][0].tolist()) == [-1, -1, 0, 2, 4]
    finally:
        store.drop()
