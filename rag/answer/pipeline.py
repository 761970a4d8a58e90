"""Question in, cited answer out: the one object the CLI, the chat UI and the evaluation use.

``Pipeline.load(settings)`` loads the index, the embedder and (unless disabled) the
generator once; ``stream()`` yields ``Answer`` snapshots whose text grows as the model
writes, the last one complete with citations and timings; ``ask()`` returns that last one.

Steps: check the question (``rag.answer.question.check``) -> pick the answer language -> make a
follow-up stand alone (``rag.answer.question.followup``; a rewritten question is shown among the notices)
-> retrieve -> abstain early when nothing relevant was found -> choose the evidence sentences of
each part of the question (``rag.answer.evidence.pick``; a change between two years is computed
there) -> draft: chosen among candidates (``rag.answer.candidates.step``), written freely
(``rag.answer.write.free``) or extracted -> renumber citations -> review (``rag.answer.review.apply``:
repair, keep or withdraw) -> add what other articles say (conflicts, the source's date) ->
attach the cited sentences (``rag.answer.write.citations``). An abstention
(``rag.answer.write.abstention``) shows the closest passages' sentences with their citations.

This module holds the order of the steps and what they share; the steps live in the modules
named. Does not hold per-user state: conversation history is passed in by the caller.
"""

from __future__ import annotations

import copy
import logging
import time
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from rag.answer.candidates.choice import candidate_messages
from rag.answer.evidence.gather import gather_evidence
from rag.answer.question.check import History, check_question, pick_lang, retrieval_query
from rag.answer.question.followup import standalone
from rag.answer.question.parts import split_question
from rag.answer.retrieve.search import Retriever
from rag.answer.retrieve.tellings import Tellings
from rag.answer.review.apply import recite, review_answer, with_notes
from rag.answer.review.confirm import check_messages
from rag.answer.write.abstention import abstention
from rag.answer.write.citations import cite
from rag.answer.write.display import displayed
from rag.answer.write.draft import Draft, Drafter, Mode, Turn
from rag.answer.write.free import GenerationError, Guarded
from rag.answer.write.prompt import build_messages
from rag.config import Settings
from rag.errors import ModelError, RagError
from rag.index.build import IndexStore, live_build, read_manifest
from rag.index.reload import load_newer
from rag.index.spec import IndexSpec
from rag.models.embedding import Embedder, SentenceTransformerEmbedder
from rag.models.encoder2 import load_encoder2
from rag.models.generator import Generator, LlamaGenerator
from rag.text.lexicon import keep_copy
from rag.text.lexicon import warm_up as warm_up_lexicon
from rag.text.tokens import warm_up as warm_up_keywords
from rag.types import Answer, Hit, Lang, Trace

log = logging.getLogger(__name__)


def _has_encoder2(index_dir) -> bool:
    """Whether the live index records second-encoder vectors (read from its manifest alone)."""
    live = live_build(index_dir)
    try:
        return live is not None and bool(read_manifest(live).encoder2_id)
    except RagError:
        return False


def _load_generator(settings: Settings) -> tuple[Generator | None, str]:
    """The generator with every fixed system prompt ready (the answer's and the candidate step's in
    both languages, the review's check in Chinese), or None and the reason."""
    try:
        generator = LlamaGenerator(settings.gguf_path, settings.n_ctx, settings.n_threads)
        for messages in (
            candidate_messages("?", [], "zh"),
            candidate_messages("?", [], "en"),
            check_messages("?", "?", [], "zh"),
            build_messages("?", [], "en"),
            build_messages("?", [], "zh"),
        ):
            generator.warm_up(messages)
    except ModelError as exc:
        return None, f"generator unavailable, answers are extractive: {exc}"
    return generator, ""


@dataclass
class Pipeline:
    settings: Settings
    store: IndexStore
    embedder: Embedder
    generator: Generator | None = None
    notices: list[str] = field(default_factory=list)  # load-time notices, e.g. generator missing
    # the stories of ``store`` (rag.answer.retrieve.tellings): grouped at load, again if the store is replaced
    _stories: Tellings | None = field(default=None, repr=False, compare=False)
    encoder2: Embedder | None = None  # second encoder (rag.models.encoder2) when the index has its vectors

    @classmethod
    def load(
        cls,
        settings: Settings,
        embedder: Embedder | None = None,
        generator: Generator | None = None,
        encoder2: Embedder | None = None,
    ) -> Pipeline:
        """Load the index and the models. The parts that do not depend on each other load in
        parallel threads (the runtimes release the GIL while they read and compile): the generator
        with its system-prompt states, jieba's and CC-CEDICT's dictionaries, the second encoder,
        and e5 then the index
        (its manifest is checked against e5's id)."""
        if live_build(settings.index_dir) is None:
            IndexStore.load(settings.index_dir)  # no index: its error now, before any model loads
        keep_copy(settings.lexicon_copy)  # the dictionary read in 0.2 s, not parsed in 2 s
        with ThreadPoolExecutor(max_workers=4, thread_name_prefix="load") as pool:
            want_llm = generator is None and settings.use_llm
            llm = pool.submit(_load_generator, settings) if want_llm else None
            keywords = pool.submit(warm_up_keywords)  # jieba's dictionary, ~1 s, not on the first question
            words = pool.submit(warm_up_lexicon)  # CC-CEDICT: 0.2 s from its copy (2 s the first time)
            want2 = encoder2 is None and settings.encoder2_weight > 0 and _has_encoder2(settings.index_dir)
            enc2 = pool.submit(load_encoder2, settings.encoder2) if want2 else None
            try:
                embedder = embedder or SentenceTransformerEmbedder.from_settings(settings)
                expected = IndexSpec.from_settings(settings).manifest(embedder)
                store = IndexStore.load(settings.index_dir, expected)
                embedder.embed(["warm up"], kind="query")  # first call pays one-off kernel set-up
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise
            notices = []
            if enc2 is not None and store.has_encoder2:
                try:
                    encoder2 = enc2.result()
                except ModelError as exc:
                    notices.append(f"second retrieval encoder unavailable: {exc}")
            keywords.result()
            words.result()
            if llm is not None:
                generator, notice = llm.result()
                notices += [notice] if notice else []
        pipeline = cls(settings, store, embedder, generator, notices, encoder2=encoder2)
        pipeline.story_groups  # noqa: B018 - grouped once here, not on the first question
        return pipeline

    def reload(self) -> bool:
        """Swap in the live index when a build replaced the one loaded (an article added or removed
        by the chat, or by ``python -m rag add`` in another process); False when none did.

        One attribute assignment: questions already running keep the store they started with
        (``stream``). The new index is detached (``rag.index.reload``) and must be compatible with
        the loaded one (IndexError_ otherwise: the loaded one stays)."""
        store = load_newer(self.settings.index_dir, self.store)
        if store is None:
            return False
        self.store = store
        return True

    @property
    def retriever(self) -> Retriever:
        return Retriever(self.store, self.embedder, self.settings, self.encoder2)

    def ask(self, question: str, history: History = (), **options) -> Answer:
        """The complete answer: the last snapshot of ``stream``."""
        (answer,) = deque(self.stream(question, history, **options), maxlen=1)
        return answer

    def stream(
        self,
        question: str,
        history: History = (),
        lang: str | None = None,
        k: int | None = None,
        use_llm: bool | None = None,
    ) -> Iterator[Answer]:
        """Answer snapshots, growing; the last is complete. A failing generator (out of memory, a
        runtime error) gives the extractive answer with a notice instead.

        The question is answered from the index loaded when it starts: it runs on a shallow copy of
        the pipeline, so an index swapped in meanwhile (``reload`` assigns ``self.store``)
        serves the next questions and never half of this one."""
        fixed = copy.copy(self)
        try:
            yield from fixed._stream(question, history, lang, k, use_llm)
        except GenerationError as exc:
            log.warning("the generator failed, answering extractively: %r", exc.__cause__)
            notice = (
                f"生成模型出错，答案改为摘录原文。 / The generator failed ({exc}); "
                "the answer quotes the passages instead."
            )
            yield from fixed._stream(question, history, lang, k, False, notice)
        if fixed._stories is not None and fixed._stories.store is self.store:
            self._stories = fixed._stories  # story groups computed for a newly swapped-in store

    def _stream(
        self,
        question: str,
        history: History,
        lang: str | None,
        k: int | None,
        use_llm: bool | None,
        notice: str = "",
    ) -> Iterator[Answer]:
        """The steps of ``stream`` (see the module's docstring), each abstention ending them."""
        t0 = time.perf_counter()
        question, notices = check_question(question)
        notices += [notice] if notice else []
        lang_: Lang = pick_lang(question, lang or self.settings.answer_lang)
        follow = standalone(question, history)  # what every later step reads; the reader is told
        turn = Turn(follow.text, lang_, t0, [*notices, *follow.notices])
        k = k or self.settings.top_k
        use_llm = self.settings.use_llm if use_llm is None else use_llm
        turn.notices += self.notices if use_llm else []
        generator = Guarded(self.generator) if use_llm and self.generator is not None else None

        retrieval = self.retriever.search(retrieval_query(turn.question, history), k)
        turn.retrieve_ms = retrieval.ms
        if retrieval.relevance < self.settings.min_score:
            yield self._abstain(turn, Trace(stopped_by="retrieval"))
            return
        tellings = self._tellings()
        hits = tellings.distinct(retrieval.hits)  # one telling of a story, unless another adds a figure
        parts = split_question(turn.question) if self.settings.evidence else [turn.question]
        turn.passages, computed, own = gather_evidence(
            self.retriever, tellings, turn.question, history, retrieval, hits, parts, lang_, k
        )
        turn.evidence = tuple(p.text for p in turn.passages)
        drafter = Drafter(self.settings, tellings, self._abstain)
        draft = yield from drafter.draft(turn, generator, parts, computed, own)
        if draft is not None:
            yield from self._finish(turn, draft, retrieval.hits)

    def _finish(self, turn: Turn, draft: Draft, hits: Sequence[Hit]) -> Iterator[Answer]:
        """The draft reviewed (``rag.answer.review.apply``): withdrawn (an abstention), or kept with
        the notes the index adds and its citations. A computed or chosen answer (its words copied
        from a source) has its figures checked, and a chosen one also what its sentence is about."""
        tellings = self._tellings()
        text, rewriter = recite(draft.text, turn.passages, draft.rewriter)
        verdict = review_answer(
            draft.writer,
            turn.question,
            text,
            turn.passages,
            rewriter.order,
            turn.lang,
            self.settings,
            tellings,
            chosen=draft.chosen,
        )
        if not verdict.keep:
            turn.notices += verdict.reasons
            yield self._abstain(turn, Trace(turn.evidence, text, "check"))
            return
        text, passages = with_notes(
            turn.question, verdict.text, turn.passages, rewriter, turn.lang, hits, tellings
        )
        turn.notices += verdict.notes
        cited = cite(passages, rewriter.order, text, turn.question)
        citations = displayed(cited, self.store, self.story_groups)
        timings = turn.timings(done=True)
        notices = tuple(turn.notices)
        trace = Trace(turn.evidence)
        yield Answer(
            text.strip(), turn.lang, False, citations, timings, draft.mode, notices, verdict.unverified, trace
        )

    @property
    def story_groups(self) -> dict[str, str]:
        """``{doc_id: group id}``: articles telling the same story share a group (``retrieve.stories``).

        Computed from the stored articles' figures and mean vectors when the pipeline loads (the
        index format is left alone; for a few thousand articles this takes well under a second)."""
        return self._tellings().groups

    def _tellings(self) -> Tellings:
        """The stories of the loaded index (``rag.answer.retrieve.tellings``), grouped again when the store
        was replaced."""
        if self._stories is None or self._stories.store is not self.store:
            self._stories = Tellings.of(self.store)
        return self._stories

    def _abstain(self, turn: Turn, trace: Trace) -> Answer:
        """The abstention (``rag.answer.write.abstention``), citing the closest sentences of the
        passages found so far."""
        mode: Mode = "llm" if self.generator is not None and self.settings.use_llm else "extractive"
        timings = turn.timings(done=True)
        groups = self.story_groups
        answer = abstention(
            turn.lang, turn.question, turn.passages, groups, timings, mode, turn.notices, trace
        )
        return replace(answer, citations=displayed(answer.citations, self.store, groups))
