"""Question in, cited answer out: the one object the CLI, the chat UI and the evaluation use.

``Pipeline.load(settings)`` loads the index, the embedder and (unless disabled) the
generator once; ``stream()`` yields ``Answer`` snapshots whose text grows as the model
writes, the last one complete with citations and timings; ``ask()`` returns that last one.

Steps: check the question -> pick the answer language -> retrieve -> abstain early when
nothing relevant was found -> cut passages to the prompt budget -> generate (or extract)
-> renumber citations -> attach the cited passages.

Does not hold per-user state: conversation history is passed in by the caller.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from .chunking import ChunkParams
from .config import Settings
from .embedding import Embedder, SentenceTransformerEmbedder
from .errors import ModelError, QuestionError
from .extractive import extract_answer
from .generation import NO_ANSWER, CitationRewriter, Generator, LlamaGenerator, build_messages, prompt_text
from .index import IndexStore, target_manifest
from .lang import detect_lang
from .retrieval import Passage, Retriever, select_passages
from .types import Answer, Citation, Lang, Timings

MAX_QUESTION_CHARS = 1000  # longer questions are cut, with a notice
History = Sequence[tuple[str, str]]  # (question, answer) pairs, oldest first


@dataclass
class Pipeline:
    settings: Settings
    store: IndexStore
    embedder: Embedder
    generator: Generator | None = None
    notices: list[str] = field(default_factory=list)  # load-time notices, e.g. generator missing

    @classmethod
    def load(cls, settings: Settings, embedder: Embedder | None = None,
             generator: Generator | None = None) -> Pipeline:
        embedder = embedder or SentenceTransformerEmbedder.from_settings(settings)
        expected = target_manifest(embedder, chunk_params(settings), (settings.query_prefix, settings.passage_prefix))
        store = IndexStore.load(settings.index_dir, expected)
        embedder.embed(["warm up"], kind="query")  # first call pays one-off kernel set-up
        notices = []
        if generator is None and settings.use_llm:
            try:
                generator = LlamaGenerator(settings.gguf_path, settings.n_ctx, settings.n_threads)
                generator.warm_up(build_messages("?", [], "zh"))
                generator.warm_up(build_messages("?", [], "en"))
            except ModelError as exc:
                notices.append(f"generator unavailable, answers are extractive: {exc}")
        return cls(settings, store, embedder, generator, notices)

    @property
    def retriever(self) -> Retriever:
        return Retriever(self.store, self.embedder)

    def ask(self, question: str, history: History = (), **options) -> Answer:
        answer = None
        for answer in self.stream(question, history, **options):
            pass
        assert answer is not None
        return answer

    def stream(self, question: str, history: History = (), lang: str | None = None, k: int | None = None,
               use_llm: bool | None = None) -> Iterator[Answer]:
        t0 = time.perf_counter()
        question, notices = check_question(question)
        lang_: Lang = pick_lang(question, lang or self.settings.answer_lang)
        k = k or self.settings.top_k
        use_llm = self.settings.use_llm if use_llm is None else use_llm
        notices += self.notices if use_llm else []
        generator = self.generator if use_llm else None

        retrieval = self.retriever.search(retrieval_query(question, history), k)
        top = retrieval.hits[0].score if retrieval.hits else 0.0
        if top < self.settings.min_score:
            yield self._abstain(lang_, retrieval.ms, t0, notices)
            return
        passages = select_passages(retrieval.hits, retrieval.query_vector, self.embedder,
                                   self.settings.prompt_passages, self.settings.prompt_chars)
        rewriter = CitationRewriter(valid=len(passages))
        text, first_token_ms, prompt_tokens = "", 0.0, 0
        if generator is None:
            raw, _ = extract_answer(passages, lang_)
            text = rewriter.feed(raw) + rewriter.finish()
            mode = "extractive"
        else:
            mode = "llm"
            messages = build_messages(question, [(p.hit, p.text) for p in passages], lang_)
            prompt_tokens = generator.count_tokens(messages)
            head = ""  # held back until we know it is not the NO_ANSWER sentinel
            for delta in generator.stream(messages, self.settings.max_new_tokens):
                if not first_token_ms:
                    first_token_ms = (time.perf_counter() - t0) * 1000
                if head is not None:
                    head += delta
                    if NO_ANSWER.startswith(head.strip()[: len(NO_ANSWER)]) and len(head.strip()) < len(NO_ANSWER):
                        continue
                    if head.strip().startswith(NO_ANSWER):
                        break
                    delta, head = head, None
                text += rewriter.feed(delta)
                yield Answer(text, lang_, False, (), Timings(retrieval.ms, first_token_ms), mode, tuple(notices))
            if head is not None:  # only the sentinel (or nothing) was written
                yield self._abstain(lang_, retrieval.ms, t0, notices, first_token_ms, prompt_tokens)
                return
            text += rewriter.finish()
        citations = cite(passages, rewriter.order)
        timings = Timings(retrieval.ms, first_token_ms, (time.perf_counter() - t0) * 1000, prompt_tokens)
        if not text.strip():
            yield self._abstain(lang_, retrieval.ms, t0, notices, first_token_ms, prompt_tokens)
            return
        yield Answer(text.strip(), lang_, False, citations, timings, mode, tuple(notices))

    def _abstain(self, lang: Lang, retrieve_ms: float, t0: float, notices: list[str],
                 first_token_ms: float = 0.0, prompt_tokens: int = 0) -> Answer:
        timings = Timings(retrieve_ms, first_token_ms, (time.perf_counter() - t0) * 1000, prompt_tokens)
        mode = "llm" if self.generator is not None and self.settings.use_llm else "extractive"
        return Answer(prompt_text(f"abstain_{lang}"), lang, True, (), timings, mode, tuple(notices))


def chunk_params(settings: Settings) -> ChunkParams:
    return ChunkParams(settings.chunk_tokens, settings.chunk_overlap_tokens, settings.chunk_max_tokens)


def check_question(question: str) -> tuple[str, list[str]]:
    """The question stripped and cut to ``MAX_QUESTION_CHARS``, with notices; raises if unusable.

    >>> check_question("  深圳？ ")
    ('深圳？', [])
    """
    q = (question or "").strip()
    if not q:
        raise QuestionError("请输入问题。 / Please type a question.")
    if not any(unicodedata.category(ch)[0] in "LN" for ch in q):
        raise QuestionError(
            "问题里没有文字或数字，请用中文或英文提问。 / The question has no letters or digits: "
            "please ask in Chinese or English."
        )
    notices = []
    if len(q) > MAX_QUESTION_CHARS:
        notices.append(f"question cut to its first {MAX_QUESTION_CHARS} of {len(q)} characters")
        q = q[:MAX_QUESTION_CHARS]
    return q, notices


def pick_lang(question: str, setting: str) -> Lang:
    if setting in ("zh", "en"):
        return setting  # type: ignore[return-value]
    return detect_lang(question)


_FOLLOW_UP = re.compile(r"^(那|那么|还有|而|它|他|她|其|这|该|and\b|what about\b|how about\b|and who\b|who said)", re.I)


def retrieval_query(question: str, history: History) -> str:
    """The text to retrieve with: an elliptical follow-up carries the previous question.

    >>> retrieval_query("那2023年呢？", [("2020年深圳建成多少5G基站？", "4.6万个[1]")])
    '2020年深圳建成多少5G基站？ 那2023年呢？'
    """
    if not history:
        return question
    short = len(question) < 16 if detect_lang(question) == "zh" else len(question.split()) < 6
    if short or _FOLLOW_UP.match(question.strip()):
        return f"{history[-1][0]} {question}"
    return question


def cite(passages: Sequence[Passage], order: Sequence[int]) -> tuple[Citation, ...]:
    """Citations for the passages cited (``order`` = original numbers in citation order).

    With no marker in the answer, every shown passage is listed so the reader can check.
    """
    numbers = list(order) or list(range(1, len(passages) + 1))
    out = []
    for new, old in enumerate(numbers, 1):
        p = passages[old - 1]
        d = p.hit.doc
        out.append(Citation(new, d.doc_id, d.title, d.date, d.url, p.hit.chunk.chunk_id, p.text, p.start, p.end,
                            p.hit.chunk.lang, p.hit.score))
    return tuple(out)


