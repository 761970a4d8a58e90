"""Many users: concurrent chat sessions, the queue, the generator's one-at-a-time use, a soak.

The ``load`` tests start ``python -m rag serve --no-llm`` (the real embedder, extractive answers)
on 127.0.0.1 and a free port in a subprocess, talk to it through gradio_client, and stop by
themselves. The others run the app in this process with fake models.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from gradio_client import Client
from gradio_client.utils import Status

from rag.models.generator import LlamaGenerator
from tests.conftest import fixture_library
from tests.fakes import FakeGenerator, SlowGenerator
from tests.servers import in_process, open_fds, rss_mb, subprocess_server

# eight sessions, each a question and a follow-up that needs it
SESSIONS = [
    ("深圳2020年建成了多少5G基站？", "那2023年呢？"),
    ("How many 5G base stations did Shenzhen build in 2020?", "What about its industrial output?"),
    ("2023年深圳智能手机产量占全球多少？", "电化学储能呢？"),
    ("Who is the director of the Shenzhen Industry and Information Bureau?", "And who said that?"),
    ("深圳2020年规上工业总产值是多少？", "连续几年居首位？"),
    ("How does the industrial internet help Shenzhen's manufacturers?", "By how much did costs fall?"),
    ("工业互联网如何帮助深圳制造业？", "企业成本下降了多少？"),
    ("What share of the world's smartphones are made in Shenzhen?", "And communication base stations?"),
]


def fingerprint(result: dict) -> tuple:
    """What must not depend on who else is asking: the answer and the passages it cites."""
    return result["answer"], tuple(c["chunk_id"] for c in result["citations"]), result["abstained"]


def ask(client: Client, question: str, history: list, statuses: list | None = None) -> dict:
    job = client.submit(question, history, "auto", 5, True, api_name="/answer")
    while not job.done():
        if statuses is not None:
            s = job.status()
            statuses.append((s.code, s.rank))
        time.sleep(0.002)
    return job.result()


@pytest.fixture(scope="module")
def server(real_library, tmp_path_factory) -> Iterator[tuple[str, int]]:
    corpus, index = real_library
    log = tmp_path_factory.mktemp("server") / "serve.log"
    with subprocess_server(corpus, index, log) as running:
        yield running


@pytest.mark.load
@pytest.mark.models
def test_eight_sessions_at_once_are_all_answered_apart_and_see_their_queue_position(server):
    url, _ = server
    baseline = {}
    solo = Client(url, verbose=False)
    for first, follow in SESSIONS:  # each conversation alone
        a = ask(solo, first, [])
        baseline[first] = fingerprint(a)
        baseline[follow] = fingerprint(ask(solo, follow, [[first, a["answer"]]]))

    clients = [Client(url, verbose=False) for _ in SESSIONS]  # a session each
    start = threading.Barrier(len(SESSIONS))
    results: dict[str, dict] = {}
    statuses: list[list] = [[] for _ in SESSIONS]
    errors: list[BaseException] = []

    def session(i: int) -> None:
        first, follow = SESSIONS[i]
        try:
            start.wait()
            results[first] = a = ask(clients[i], first, [], statuses[i])
            results[follow] = ask(clients[i], follow, [[first, a["answer"]]], statuses[i])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=session, args=(i,)) for i in range(len(SESSIONS))]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    seconds = time.monotonic() - t0
    assert not errors, errors[0]
    assert len(results) == 2 * len(SESSIONS)  # every question answered
    for question, result in results.items():  # and exactly as if asked alone
        assert fingerprint(result) == baseline[question], question
    queued = [rank for s in statuses for code, rank in s if code == Status.IN_QUEUE and rank is not None]
    print(f"\n8 sessions, 16 questions in {seconds:.1f} s; queue ranks seen: {sorted(set(queued))}")
    assert queued and max(queued) >= 1  # more sessions than workers: later ones were told their place


@pytest.mark.load
@pytest.mark.models
def test_a_soak_of_200_questions_keeps_memory_and_file_handles_flat(server):
    """200 questions from four clients at once (some unusable: refused); the server's memory and open
    files are sampled after a warm-up (every client connected, every kind of question asked, the
    allocators' pools grown) and every 50 questions: they stay flat."""
    url, pid = server
    questions = [q for pair in SESSIONS for q in pair]
    questions += ["   ", "🙂🙂", "<script>alert(1)</script>深圳基站？"]
    clients = [Client(url, verbose=False) for _ in range(4)]
    counts = {"answered": 0, "refused": 0}
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(i: int, todo: list[str]) -> None:
        for q in todo:
            try:
                assert ask(clients[i], q, [])["answer"]
                key = "answered"
            except Exception as exc:  # noqa: BLE001
                if q.strip() and q != "🙂🙂":
                    errors.append(exc)
                    return
                key = "refused"  # the unusable questions get a clear error, as they should
            with lock:
                counts[key] += 1

    def wave(batches: list[list[str]]) -> None:
        threads = [threading.Thread(target=run, args=(i, b)) for i, b in enumerate(batches)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=600)
        assert not errors, errors[0]

    wave([questions[i::4] for i in range(4)])  # warm-up: every question once, four at a time
    counts.update(answered=0, refused=0)
    samples = [(rss_mb(pid), open_fds(pid))]
    t0 = time.monotonic()
    for n in range(4):  # 4 waves of 50
        wave(
            [
                [questions[(n * 50 + i * 13 + j) % len(questions)] for j in range(13 if i < 2 else 12)]
                for i in range(4)
            ]
        )
        samples.append((rss_mb(pid), open_fds(pid)))
    seconds = time.monotonic() - t0
    (rss0, fds0), (rss_mid, _), (rss1, fds1) = samples[0], samples[2], samples[-1]
    print(
        f"\nsoak: {counts} in {seconds:.0f} s; server RSS (MB) and open fds every 50 questions: "
        + ", ".join(f"{r:.0f}/{f}" for r, f in samples)
    )
    assert counts["answered"] + counts["refused"] == 200 and counts["refused"] < 40
    assert fds1 - fds0 <= 4, samples
    # The native pools (torch, malloc arenas of the worker threads) settle over the first ~100
    # questions; after that, no growth with the number of questions. (Python objects: see
    # test_answering_keeps_no_python_memory_per_question, which measures them exactly.)
    assert rss1 - rss0 < 300 and rss1 - rss_mid < 100, samples


# --------------------------------------------------------------------------- the generator, in this process


@pytest.fixture
def slow_library(settings):
    s = replace(settings, encoder2="", use_llm=True)
    return fixture_library(s, SlowGenerator())


def test_retrieval_and_extractive_answers_do_not_wait_for_the_generator(slow_library):
    gen = slow_library.generator
    with in_process(slow_library) as url:
        a, b, c = (Client(url, verbose=False) for _ in range(3))
        first = a.submit("深圳5G基站建成多少？", [], "auto", 5, True, api_name="/answer")
        assert gen.generating.wait(10)
        second = c.submit("深圳工业总产值是多少？", [], "auto", 5, True, api_name="/answer")  # waits its turn
        quick = b.predict("深圳工业总产值是多少？", [], "auto", 5, False, api_name="/answer")
        assert not first.done()  # the extractive answer came back while the model was still writing
        assert quick["citations"]
        one, two = first.result(timeout=30), second.result(timeout=30)
    assert one["citations"] and two["citations"]
    (s1, e1), (s2, e2) = sorted(gen.spans)
    assert e1 <= s2  # one request at a time
    assert two["timings"]["retrieve_ms"] < 1000  # its retrieval did not wait behind the generator
    assert two["timings"]["total_ms"] > two["timings"]["retrieve_ms"] + 1000


def test_answering_keeps_no_python_memory_per_question(slow_library):
    """Nothing per question or per user stays behind (smolagents#703 leaked in a global)."""
    import gc
    import tracemalloc

    from rag.web import respond

    pipeline = replace(slow_library, generator=FakeGenerator("深圳建成5G基站超4.6万个[1]。"))
    questions = ["深圳5G基站建成多少？", "那2023年呢？", "What was Shenzhen's output?", "", "🙂"]

    def chat(n: int) -> None:
        history, sections = [], []
        for i in range(n):
            q = questions[i % len(questions)]
            history, _, sections, _ = list(respond(q, history, pipeline, sections=sections))[-1]
            if i % 10 == 9:  # a new conversation, as a new user would start
                history, sections = [], []
            if q.strip() and q != "🙂":
                pipeline.ask(q, use_llm=i % 2 == 0)
            pipeline.generator.seen.clear()  # what the fakes record for other tests
            pipeline.embedder.calls.clear()

    chat(60)  # warm-up: caches (jieba, regexes, story groups) filled
    tracemalloc.start()
    try:
        held = []
        for _ in range(3):  # what is held grows with the number of questions, or not
            chat(100)
            gc.collect()
            held.append(tracemalloc.get_traced_memory()[0])
    finally:
        tracemalloc.stop()
    # (a one-off resize of an interpreter table may land in the first hundred)
    assert held[2] - held[1] < 100_000, f"bytes held after 100, 200, 300 questions: {held}"


def test_the_llama_generator_serves_one_request_at_a_time():
    class FakeLlama:
        active = peak = 0

        def tokenize(self, text, add_bos=False, special=False):
            return list(text)

        def eval(self, tokens):
            pass

        def create_completion(self, prompt, **options):
            FakeLlama.active += 1
            FakeLlama.peak = max(FakeLlama.peak, FakeLlama.active)
            try:
                for ch in "abcd":
                    time.sleep(0.02)
                    yield {"choices": [{"text": ch}]}
            finally:
                FakeLlama.active -= 1

    gen = LlamaGenerator.around(FakeLlama(), Path("fake.gguf"))  # the real class around a stand-in runtime
    out: list[str] = []
    threads = [threading.Thread(target=lambda: out.append("".join(gen.stream([])))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert out == ["abcd"] * 4 and FakeLlama.peak == 1
    abandoned = gen.stream([])  # a reader who leaves mid-answer (closed, as Pipeline.stream does)
    next(abandoned)
    abandoned.close()
    done = threading.Event()
    threading.Thread(target=lambda: ("".join(gen.stream([])), done.set()), daemon=True).start()
    assert done.wait(5)  # the lock was released
