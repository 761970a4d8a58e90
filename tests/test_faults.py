"""Faults: builds, adds and removes killed part-way, two builds at once, indexes swapped while
questions run, a generator that fails or is missing.

The builds run ``python -m rag``'s own code (``rag.__main__.main``) in a child process with the
fake models patched in (``CHILD`` below), killed with SIGKILL at named stages (the build's own,
and ``rag.ingest.corpus.checkpoint``'s for add and remove) and at random times;
``test_the_real_build_killed_at_random_times`` does the same with the real CLI and models. After
every kill the previous index (or, past the swap, the new one) loads and answers, and the next
build completes; after a killed add or remove, its retry or the next command of any kind
finishes it, and the corpus folder and the index agree.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from filelock import FileLock

from rag.answer.pipeline import Pipeline
from rag.errors import IndexLockedError
from rag.index.build import IndexStore, build_index, live_build
from rag.index.spec import chunk_params
from rag.index.sync import build
from rag.ingest.corpus import add_files, list_docs
from rag.web import add_articles, delete_article, respond
from tests.conftest import FIXTURE_DOCS, fixture_library
from tests.fakes import FailingGenerator, FakeEmbedder, FakeEncoder2, FakeGenerator

pytestmark = pytest.mark.process  # these tests spawn child processes and kill them

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "深圳5G基站建成多少？"

# ``python -m rag COMMAND`` with the fake models; prints "STAGE <name>" on reaching each stage and,
# when PAUSE_AT names one, waits there until the file GATE exists (or it is killed).
CHILD = r"""
import os, sys, time
from pathlib import Path
sys.path.insert(0, os.environ["ROOT"])
import rag.__main__ as cli, rag.ingest.corpus as corpus, rag.index.build as index, rag.index.sync as ingest
import rag.index.finish as finish
from tests.fakes import FakeEmbedder, FakeEncoder2


PAUSE_AT, DELAY = os.environ.get("PAUSE_AT", ""), float(os.environ.get("EMBED_DELAY", "0"))

def reached(stage):
    print("STAGE", stage, flush=True)
    if stage == PAUSE_AT:
        while not Path(os.environ["GATE"]).exists():
            time.sleep(0.01)

class Slow:
    def embed(self, texts, kind):
        if kind == "passage":
            reached("embed")
            time.sleep(DELAY)
        return super().embed(texts, kind)

class E5(Slow, FakeEmbedder): pass
class USE(Slow, FakeEncoder2): pass

class Models:
    @staticmethod
    def from_settings(settings):
        return E5()

def staged(name, fn):
    def run(*args, **kwargs):
        reached(name)
        return fn(*args, **kwargs)
    return run

ingest.SentenceTransformerEmbedder = Models
ingest.load_encoder2 = lambda name: USE()
finish.write_vectors = staged("write-vectors", finish.write_vectors)  # chunks.sqlite written
index.KeywordIndex.save = staged("write-bm25", index.KeywordIndex.save)  # vectors written
finish.swap = staged("swap", finish.swap)  # the new build complete, not yet live
finish.cleanup = staged("cleanup", finish.cleanup)  # live; the previous build not yet removed
corpus.checkpoint = reached  # the steps of add and remove (rag.ingest.corpus.CHECKPOINTS)
sys.exit(cli.main(sys.argv[1:]))
"""


def article(i: int, version: int = 0) -> str:
    lines = [f"深圳第{i}号新闻报道（第{version}版）"]
    lines += [f"2020年深圳第{i}区建成5G基站{i * 100 + j}个，同比增长{j}.{i}%。" for j in range(12)]
    lines += [f"In district {i}, output grew {j}.{version} percent in 2020." for j in range(6)]
    return "\n".join(lines) + "\n"


def write_corpus(folder: Path, n: int, version: int = 0, changed: int = 0) -> None:
    """``n`` articles; the first ``changed`` of them at ``version``, the rest at version 0."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (folder / f"news_{i:03d}.txt").write_text(article(i, version if i < changed else 0), "utf-8")


class Child:
    """One child ``python -m rag build`` (or ``command``); its stdout lines are collected as they come."""

    def __init__(self, corpus: Path, index: Path, *command: str, **env: str) -> None:
        full = {**os.environ, "ROOT": str(ROOT), **env}
        args = [*(command or ["build"]), "--quiet", "--corpus", str(corpus), "--index", str(index)]
        self.proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, *args],
            env=full,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self.errors: list[str] = []  # stderr, read as it comes too: a full pipe would block the child
        self._readers = [
            threading.Thread(target=self._read, args=(stream, into), daemon=True)
            for stream, into in ((self.proc.stdout, self.lines), (self.proc.stderr, self.errors))
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream, into: list[str]) -> None:
        for line in stream:
            into.append(line.rstrip("\n"))

    def _join(self) -> None:
        for reader in self._readers:
            reader.join(timeout=5)

    def wait_for(self, line: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while line not in self.lines:
            if self.proc.poll() is not None:
                self._join()
                if line in self.lines:
                    return
                err = "\n".join(self.errors)
                raise AssertionError(f"exited ({self.proc.returncode}) before {line!r}: {err}")
            assert time.monotonic() < deadline, f"no {line!r} in {timeout} s"
            time.sleep(0.01)

    def kill(self) -> str:
        """SIGKILL; returns the last stage reached."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        self._join()
        stages = [x.split()[1] for x in self.lines if x.startswith("STAGE ")]
        return stages[-1] if stages else "start-up"

    def finish(self, timeout: float = 120) -> tuple[int, str]:
        """Wait for the child to exit; (exit code, stderr)."""
        self.proc.wait(timeout=timeout)
        self._join()
        return self.proc.returncode, "\n".join(self.errors)


def docs_of(index: Path) -> dict[str, str]:
    """doc_id -> title of the live index, after checking it is whole and answers a search."""
    store = IndexStore.load(index)
    try:
        assert len(store.vectors()) == store.manifest.n_rows  # row ids keep holes of deleted chunks
        live_rows = len(store.row_langs.nonzero()[0])
        assert store.manifest.n_chunks == sum(store.doc_chunk_counts().values()) == live_rows
        emb = FakeEmbedder()
        hits = store.search(emb.embed(["深圳5G基站"], "query")[0], 3)
        assert hits and store.chunk(hits[0][0]).text
        return {d.doc_id: d.title for d in store.docs()}
    finally:
        store.close()


def leftovers(index: Path) -> list[str]:
    live = live_build(index)
    return sorted(p.name for p in (index / "builds").iterdir() if p.resolve() != live)


@pytest.fixture(scope="module")
def ten_articles(tmp_path_factory):
    """Ten generated articles indexed by a complete child build, once: (corpus, index)."""
    base = tmp_path_factory.mktemp("ten")
    corpus, index = base / "corpus", base / "index"
    write_corpus(corpus, 10)
    code, err = Child(corpus, index).finish()
    assert code == 0, err
    return corpus, index


@pytest.fixture
def small_library(ten_articles, tmp_path):
    """A copy of ``ten_articles`` of the test's own; returns (corpus, index, titles)."""
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(ten_articles[0], corpus)
    shutil.copytree(ten_articles[1], index, symlinks=True)  # "current" is a relative link
    return corpus, index, docs_of(index)


# --------------------------------------------------------------------------- killed builds

STAGES = ["embed", "write-vectors", "write-bm25", "swap", "cleanup"]


@pytest.mark.parametrize("stage", STAGES)
def test_a_build_killed_at_a_stage_leaves_a_whole_index_and_the_next_build_completes(
    small_library, stage, tmp_path
):
    corpus, index, before = small_library
    write_corpus(corpus, 12, version=1, changed=3)  # two new articles, three changed
    child = Child(corpus, index, PAUSE_AT=stage, GATE=str(tmp_path / "never"))
    child.wait_for(f"STAGE {stage}")
    assert child.kill() == stage
    now = docs_of(index)
    if stage == "cleanup":  # killed after the swap: the new index is live, and whole
        assert len(now) == 12 and now["news_000"].endswith("（第1版）")
    else:
        assert now == before
    assert not (index / ".lock").exists() or FileLock(str(index / ".lock")).acquire(timeout=0)
    code, err = Child(corpus, index).finish()
    assert code == 0, err
    after = docs_of(index)
    assert len(after) == 12 and after["news_000"].endswith("（第1版）")
    assert leftovers(index) == []  # the killed build's folder is gone too
    assert not list(index.glob(".current-*"))


def test_builds_killed_at_random_times(tmp_path):
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    write_corpus(corpus, 40)
    t0 = time.monotonic()
    code, err = Child(corpus, index, EMBED_DELAY="0.1").finish()
    full = time.monotonic() - t0
    assert code == 0, err
    rng = random.Random(20240302)
    reached = []
    for round_ in range(1, 7):
        before = docs_of(index)
        write_corpus(corpus, 40 + round_, version=round_, changed=40)  # everything changes
        child = Child(corpus, index, EMBED_DELAY="0.1")
        time.sleep(rng.uniform(0.2, 1.0) * full)
        reached.append(child.kill() if child.proc.poll() is None else "finished")
        now = docs_of(index)  # loads and answers whatever the moment of the kill
        assert now == before or (len(now) == 40 + round_ and now["news_000"].endswith(f"（第{round_}版）"))
    print("random kills reached:", reached)
    code, err = Child(corpus, index).finish()
    assert code == 0, err
    assert len(docs_of(index)) == 46 and leftovers(index) == []


def test_two_builds_at_once_the_second_is_refused_clearly(small_library, tmp_path):
    corpus, index, before = small_library
    write_corpus(corpus, 11)
    first = Child(corpus, index, PAUSE_AT="embed", GATE=str(tmp_path / "gate"))
    first.wait_for("STAGE embed")
    code, err = Child(corpus, index).finish()
    assert code == 1
    assert err.startswith("error: another build is running on ") and "Wait for it to finish" in err
    assert docs_of(index) == before
    (tmp_path / "gate").touch()
    code, err = first.finish()
    assert code == 0, err
    assert len(docs_of(index)) == 11 and leftovers(index) == []


def test_adding_articles_while_a_build_runs_is_refused_and_the_folder_put_back(tmp_path):
    s = replace(_settings(tmp_path), encoder2="")
    s.corpus_dir.mkdir()
    (s.corpus_dir / "a.txt").write_text("2020年深圳建成5G基站超4.6万个。", "utf-8")
    build(s, FakeEmbedder(), progress=False)
    new = tmp_path / "b.txt"
    new.write_text("深圳2024年新建公交快充站120座。", "utf-8")
    with FileLock(str(s.index_dir / ".lock")), pytest.raises(IndexLockedError, match="another build"):
        add_files(s, [new], embedder=FakeEmbedder())
    assert sorted(p.name for p in s.corpus_dir.iterdir() if not p.name.startswith(".")) == ["a.txt"]


# --------------------------------------------------------------------------- killed adds and removes

ADD_KILLS = ["add:copied", "add:journal", "add:moved", "embed", "swap", "cleanup", "add:built"]
REMOVE_KILLS = ["remove:journal", "remove:moved", "swap", "cleanup", "remove:built"]


def uploads(tmp_path: Path, *numbers: int) -> list[str]:
    """New articles ``news_<n>.txt`` outside the corpus folder, as a person would add them."""
    folder = tmp_path / "uploads"
    folder.mkdir(exist_ok=True)
    for i in numbers:
        (folder / f"news_{i:03d}.txt").write_text(article(i), "utf-8")
    return [str(folder / f"news_{i:03d}.txt") for i in numbers]


def articles_of(corpus: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in corpus.iterdir() if p.is_file() and not p.name.startswith(".")}


def agreed(corpus: Path, index: Path) -> set[str]:
    """The document ids of the live index (via ``rag list``'s own function), after checking they are
    the articles of the corpus folder and no change is left pending."""
    from rag.config import Settings

    ids = {d.doc_id for d in list_docs(Settings(corpus_dir=corpus, index_dir=index))}
    assert ids == {Path(name).stem for name in articles_of(corpus)} == set(docs_of(index))
    assert not (corpus / ".pending.json").exists() and not (corpus / ".incoming").exists()
    return ids


def killed(corpus: Path, index: Path, stage: str, tmp_path: Path, *command: str) -> None:
    """Run ``command`` in a child and kill it at ``stage``."""
    child = Child(corpus, index, *command, PAUSE_AT=stage, GATE=str(tmp_path / "never"))
    child.wait_for(f"STAGE {stage}")
    assert child.kill() == stage


def chat_pipeline(corpus: Path, index: Path) -> Pipeline:
    """The chat server's pipeline on the child's index (same settings, the same fake models)."""
    from rag.config import Settings

    s = Settings.from_env(corpus_dir=corpus, index_dir=index, use_llm=False)
    return Pipeline.load(s, embedder=FakeEmbedder(), encoder2=FakeEncoder2())


@pytest.mark.parametrize("stage", ADD_KILLS)
def test_an_add_killed_at_a_stage_is_finished_by_its_retry(small_library, stage, tmp_path):
    corpus, index, before = small_library
    new = uploads(tmp_path, 10, 11)
    killed(corpus, index, stage, tmp_path, "add", *new)
    retry = Child(corpus, index, "add", *new)
    code, err = retry.finish()
    assert code == 0, err  # not "already exists"
    added = sorted(x.split()[1] for x in retry.lines if x.startswith("added "))
    assert added == ["news_010.txt", "news_011.txt"]
    assert agreed(corpus, index) == set(before) | {"news_010", "news_011"}
    for path in new:  # no file lost, none half-written
        assert (corpus / Path(path).name).read_bytes() == Path(path).read_bytes()


@pytest.mark.parametrize("stage", REMOVE_KILLS)
def test_a_remove_killed_at_a_stage_is_finished_by_its_retry(small_library, stage, tmp_path):
    corpus, index, before = small_library
    kept = {name: data for name, data in articles_of(corpus).items() if name != "news_003.txt"}
    killed(corpus, index, stage, tmp_path, "remove", "news_003")
    retry = Child(corpus, index, "remove", "news_003")
    code, err = retry.finish()
    assert code == 0, err  # not "no article"
    assert any(x.startswith("removed news_003 (news_003.txt)") for x in retry.lines), retry.lines
    assert agreed(corpus, index) == set(before) - {"news_003"}
    assert articles_of(corpus) == kept


NEXT = [
    ("add", "swap", "build"),
    ("add", "add:moved", "remove"),
    ("add", "swap", "chat-add"),
    ("add", "add:built", "chat-delete"),
    ("remove", "remove:moved", "build"),
    ("remove", "remove:moved", "add"),  # an add that adds nothing used to delete the moved-aside file
    ("remove", "swap", "chat-add"),
    ("remove", "remove:journal", "chat-delete"),
]


@pytest.mark.parametrize(("op", "stage", "then"), NEXT, ids=["-".join(x) for x in NEXT])
def test_the_next_command_of_any_kind_finishes_a_killed_add_or_remove(
    small_library, op, stage, then, tmp_path
):
    corpus, index, before = small_library
    (new,) = uploads(tmp_path, 10)
    if op == "add":
        killed(corpus, index, stage, tmp_path, "add", new)
        expected = set(before) | {"news_010"}
    else:
        killed(corpus, index, stage, tmp_path, "remove", "news_003")
        expected = set(before) - {"news_003"}
    if then == "build":
        code, err = Child(corpus, index).finish()
        assert code == 0, err
    elif then == "remove":
        code, err = Child(corpus, index, "remove", "news_000").finish()
        assert code == 0, err
        expected -= {"news_000"}
    elif then == "add":  # refused: nothing of its own to index
        (tmp_path / "notes.docx").write_bytes(b"PK")
        code, err = Child(corpus, index, "add", str(tmp_path / "notes.docx")).finish()
        assert code == 1 and "unsupported file type '.docx'" in err, err
    elif then == "chat-add":  # the same file again; after a remove, an empty one (refused)
        pipeline = chat_pipeline(corpus, index)
        if op == "add":
            assert "Not added" not in add_articles([new], pipeline)
        else:
            (tmp_path / "empty.txt").touch()
            assert "empty" in add_articles([str(tmp_path / "empty.txt")], pipeline)
        assert {d.doc_id for d in pipeline.store.docs()} == expected
    else:
        pipeline = chat_pipeline(corpus, index)
        assert "Deleted" in delete_article("news_000", pipeline)
        expected -= {"news_000"}
        assert {d.doc_id for d in pipeline.store.docs()} == expected
    assert agreed(corpus, index) == expected


def test_a_recovery_killed_part_way_is_finished_by_the_next_command(small_library, tmp_path):
    corpus, index, before = small_library
    new = uploads(tmp_path, 10)
    killed(corpus, index, "add:moved", tmp_path, "add", *new)
    killed(corpus, index, "recover:built", tmp_path, "remove", "news_003")  # finishing the add
    killed(corpus, index, "remove:moved", tmp_path, "remove", "news_003")  # the add finished first
    code, err = Child(corpus, index, "remove", "news_003").finish()
    assert code == 0, err
    assert agreed(corpus, index) == set(before) - {"news_003"} | {"news_010"}


@pytest.mark.models
def test_the_real_build_killed_at_random_times(real_library, tmp_path):
    """``python -m rag build`` with the real models over a copy of data/articles, killed three times
    at a random moment after embedding has started (two articles changed each time: the kill falls
    in e5, the second encoder, the writing or just after), then run to the end."""
    from rag.index.build import corpus_hash
    from rag.ingest.loaders import load_corpus

    corpus, index = tmp_path / "articles", tmp_path / "index"
    shutil.copytree(real_library[0], corpus)
    shutil.copytree(real_library[1], index, symlinks=True)
    before = {d.doc_id: d.title for d in IndexStore.load(index).docs()}
    rng = random.Random(7)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    cmd = [sys.executable, "-m", "rag", "build", "--corpus", str(corpus), "--index", str(index)]
    articles = sorted(corpus.iterdir())
    for round_ in range(3):
        for p in rng.sample(articles, 2):
            p.write_bytes(p.read_bytes() + f"\n\n更新 {round_}。\n".encode())
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        seen = b""
        deadline = time.monotonic() + 240
        while b"indexing" not in seen:  # the progress bar: the models are loaded, articles flow
            assert proc.poll() is None and time.monotonic() < deadline, seen[-2000:]
            seen += os.read(proc.stderr.fileno(), 4096)
        time.sleep(rng.uniform(0.0, 2.0))  # the changed articles take about that long to embed and write
        proc.kill()
        proc.wait()
        proc.stderr.close()
        store = IndexStore.load(index)  # the previous index, or the new one if it got that far
        assert {d.doc_id: d.title for d in store.docs()} == before
        assert len(store.vectors()) == store.manifest.n_rows  # row ids keep holes of deleted chunks
        live_rows = len(store.row_langs.nonzero()[0])
        assert store.manifest.n_chunks == sum(store.doc_chunk_counts().values()) == live_rows
        store.close()
    r = subprocess.run([*cmd, "--quiet"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    store = IndexStore.load(index)
    assert store.manifest.corpus_hash == corpus_hash(load_corpus(corpus, 20_000_000).documents)
    assert leftovers(index) == []


# --------------------------------------------------------------------------- indexes swapped under questions


def _settings(tmp_path):
    from rag.config import Settings

    return Settings(
        corpus_dir=tmp_path / "corpus",
        index_dir=tmp_path / "index",
        models_dir=tmp_path / "m",
        min_score=0.1,
        use_llm=True,
        encoder2="",
    )


@pytest.fixture
def library(tmp_path):
    s = _settings(tmp_path)
    return fixture_library(s, FakeGenerator("深圳建成5G基站超4.6万个[1]。"), FakeEncoder2())


def test_a_loaded_index_keeps_answering_after_a_build_deletes_its_folder(library, tmp_path):
    old = library.store.folder
    new = tmp_path / "new.txt"
    new.write_text("深圳2024年新建公交快充站120座。", "utf-8")
    add_files(library.settings, [new], embedder=library.embedder, encoder2=library.encoder2)
    assert not old.exists()  # only the newest build is kept
    answer = library.ask(QUESTION)  # still the old store: nothing of it is opened lazily
    assert answer.citations and "4.6万" in answer.text
    library._stories = None
    assert library.story_groups  # recomputed from the old store's vectors
    assert len(library.store.vectors()) == library.store.manifest.n_rows


class Tripwire:
    """An index swapped in mid-question: a question that started on the old one must not read it."""

    def __getattr__(self, name):
        raise AssertionError(f"a question read the index swapped in after it started ({name})")


@pytest.mark.parametrize("when", ["during retrieval", "during generation"])
def test_a_swap_mid_question_cannot_mix_two_indexes(library, when):
    pipeline = library
    old = pipeline.store

    class SwapOnQuery(FakeEmbedder):
        def embed(self, texts, kind):
            if kind == "query":
                pipeline.store = Tripwire()
            return super().embed(texts, kind)

    class SwapOnGenerate(FakeGenerator):
        def stream(self, messages, max_tokens=256):
            pipeline.store = Tripwire()
            yield from super().stream(messages, max_tokens)

    if when == "during retrieval":
        pipeline.embedder = SwapOnQuery()
    else:
        pipeline.generator = SwapOnGenerate("深圳建成5G基站超4.6万个[1]。")
    answer = pipeline.ask(QUESTION, use_llm=when == "during generation")
    assert answer.citations and all(c.doc_id in {d.doc_id for d in old.docs()} for c in answer.citations)
    for c in answer.citations:
        assert old.doc_text(c.doc_id)[c.start : c.end] == c.text


def test_questions_asked_while_articles_are_added_see_the_old_or_the_new_index(library, tmp_path):
    texts = {d.doc_id: d.text for d in FIXTURE_DOCS}
    uploads = []
    for i in range(4):
        p = tmp_path / "up" / f"bus_{i}.txt"
        p.parent.mkdir(exist_ok=True)
        p.write_text(f"深圳2024年新建公交快充站{120 + i}座，5G基站也在增加。", "utf-8")
        uploads.append(p)
        texts[f"bus_{i}"] = p.read_text("utf-8")
    stop, errors, answered = threading.Event(), [], [0]

    def ask() -> None:
        while not stop.is_set():
            try:
                for q in (QUESTION, "公交快充站建了多少座？", "What was Shenzhen's output?"):
                    answer = library.ask(q)
                    for c in answer.citations:  # every passage is a whole article's text, of some build
                        assert texts[c.doc_id][c.start : c.end] == c.text, c
                    chat, *_ = list(respond(q, [], library))[-1]
                    assert not chat[-1]["content"].startswith("⚠️"), chat[-1]
                    answered[0] += 2
            except Exception as exc:  # noqa: BLE001 - collected and reported below
                errors.append(exc)
                return

    askers = [threading.Thread(target=ask) for _ in range(3)]
    for t in askers:
        t.start()
    try:
        for i, p in enumerate(uploads):
            assert "Added" in add_articles([str(p)], library)
            if i % 2:
                assert "Deleted" in delete_article(f"bus_{i - 1}", library)
            time.sleep(0.05)
    finally:
        stop.set()
        for t in askers:
            t.join(timeout=30)
    assert not errors, errors[0]
    assert answered[0] >= 6
    assert {d.doc_id for d in library.store.docs()} == {d.doc_id for d in FIXTURE_DOCS} | {"bus_1", "bus_3"}


# --------------------------------------------------------------------------- the generator


@pytest.mark.parametrize(
    "exc",
    [
        MemoryError(),
        RuntimeError("llama_decode returned -3"),
        ValueError("Requested tokens (2100) exceed context window of 2048"),
    ],
    ids=["MemoryError", "RuntimeError", "ValueError"],
)
@pytest.mark.parametrize("after", [0, 3], ids=["at once", "mid-stream"])
def test_a_failing_generator_degrades_to_the_extractive_answer(library, exc, after):
    library.generator = FailingGenerator(exc, after)
    steps = list(library.stream(QUESTION))
    answer = steps[-1]
    assert answer.mode == "extractive" and not answer.abstained and answer.citations
    assert any("generator failed" in n and type(exc).__name__ in n for n in answer.notices)
    assert "4.6万" in answer.text
    chat, sources, _, timings = list(respond(QUESTION, [], library))[-1]
    reply = chat[-1]["content"]
    assert not reply.startswith("⚠️") and "generator failed" in reply and "摘录 extractive" in timings
    assert str(exc) == "" or str(exc) not in reply  # the runtime's own words stay in the log
    assert 'id="src-1-1"' in sources


def test_a_missing_generator_model_gives_extractive_answers_with_a_notice(library, tmp_path):
    s = replace(library.settings, gguf=str(tmp_path / "missing.gguf"))
    p = Pipeline.load(s, embedder=FakeEmbedder(), encoder2=FakeEncoder2())
    assert p.generator is None
    assert any("generator unavailable" in n and "not found" in n and "--no-llm" in n for n in p.notices)
    answer = p.ask(QUESTION)
    assert answer.mode == "extractive" and answer.citations and "4.6万" in answer.text
    assert any("generator unavailable" in n for n in answer.notices)
    chat, *_ = list(respond(QUESTION, [], p))[-1]
    assert "generator unavailable" in chat[-1]["content"]


def test_a_generator_that_runs_out_of_memory_while_loading(library, tmp_path, monkeypatch):
    llama_cpp = pytest.importorskip("llama_cpp")

    def no_memory(*args, **kwargs):
        raise MemoryError("cannot allocate 1.2 GB")

    monkeypatch.setattr(llama_cpp, "Llama", no_memory)
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF")
    p = Pipeline.load(
        replace(library.settings, gguf=str(gguf)), embedder=FakeEmbedder(), encoder2=FakeEncoder2()
    )
    assert p.generator is None and any("could not load the generator" in n for n in p.notices)
    assert p.ask(QUESTION).mode == "extractive"


def test_one_index_build_for_the_fixture(tmp_path):
    """The helpers above read whole indexes: check them on a plain fixture build."""
    build_index(FIXTURE_DOCS, FakeEmbedder(), tmp_path, chunk_params(_settings(tmp_path)), progress=False)
    assert set(docs_of(tmp_path)) == {d.doc_id for d in FIXTURE_DOCS}
