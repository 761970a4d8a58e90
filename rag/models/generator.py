"""Run the chat model: the ``Generator`` interface and llama.cpp behind it.

* ``Generator`` is the narrow interface: ``stream(messages) -> Iterator[str]``.
  ``LlamaGenerator`` runs a GGUF file with llama-cpp-python; the KV state after each language's
  system prompt is computed once and saved beside the model (``rag.models.prompt_states``:
  ``<model>.prompt-<hash>.npz``, checked against the model's sha256 and the prompt text).
  Tests use a fake.
* ``LlamaGenerator.reads`` records every step of a request as a ``Read`` (stage, tokens read,
  seconds): the candidate prompt and options, the gate, the answer's prompt and generation, the
  review, a state restore; ``bench speed`` prints them per stage.

Does not build prompts or rewrite citations (``rag.answer.write.prompt`` does), does not retrieve, and
does not decide whether to abstain.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from rag.errors import ModelError
from rag.models.option_scores import run_scores, shared_runs
from rag.models.prompt_states import (
    read_state,
    set_state,
    state_file,
    state_meta,
    without_logits,
    write_state,
)

if TYPE_CHECKING:
    from llama_cpp.llama import LlamaState

Message = dict[str, str]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Read:
    """One step of a request as the generator saw it: the tokens it read into its context (the
    prompt's new tokens, or one per generated token) and the seconds it took. ``stage`` names the
    step by the method that ran it: "restore" (a saved system-prompt state loaded), "candidate
    prompt", "candidate options", "gate", "answer prompt" (up to the first text), "answer
    generation", "review", "warm-up"."""

    stage: str
    tokens: int
    seconds: float


class Generator(Protocol):
    """What the pipeline asks of a generator (``LlamaGenerator``; the tests' fakes).

    ``stream`` and ``count_tokens`` every generator does. The three scoring methods read the
    prompt's logits; a generator that cannot (a scripted fake) returns None, and the step that
    asked is skipped: no candidate step (the answer is written freely), no NO_ANSWER gate, no
    yes/no check of the stating sentence."""

    @property
    def model_id(self) -> str:
        """The model's name (its file's), for reports."""
        ...

    def stream(self, messages: list[Message], max_tokens: int = 256) -> Iterator[str]:
        """The reply to ``messages`` as text pieces."""
        ...

    def count_tokens(self, messages: list[Message]) -> int:
        """The tokens of the prompt ``messages`` make."""
        ...

    def candidate_scores(
        self, messages: list[Message], options: Sequence[str]
    ) -> list[tuple[float, int]] | None:
        """(log-probability, tokens) of each option as the whole reply (``rag.answer.candidates.extract``);
        None: the generator cannot score options (no candidate step)."""
        ...

    def start_probability(self, messages: list[Message], words: Sequence[str]) -> float | None:
        """Probability that the reply starts with the first token of one of ``words`` (the
        NO_ANSWER gate); None: the generator cannot tell (no gate)."""
        ...

    def yes_probability(self, messages: list[Message], yes: Sequence[str], no: Sequence[str]) -> float | None:
        """P(yes) / (P(yes) + P(no)) for the reply's first token (the review's check); None: the
        generator cannot tell (the check is skipped)."""
        ...


def _chatml(messages: list[Message]) -> str:
    """``messages`` in Qwen's ChatML chat template (without the reply's opening)."""
    return "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)


class LlamaGenerator:
    """A GGUF chat model run by llama-cpp-python, one request at a time."""

    def __init__(self, path: Path, n_ctx: int = 2048, n_threads: int = 0) -> None:
        if not path.exists():
            raise ModelError(
                f"generator model {path} not found. Run `python -m rag prepare` (or `make setup`), "
                "or pass --no-llm for extractive answers."
            )
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise ModelError(
                "llama-cpp-python is not installed. Run `make setup` (it builds it for this CPU)."
            ) from exc
        import os

        try:
            llm = Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_threads=n_threads or os.cpu_count() or 2,
                n_batch=512,
                verbose=False,
            )
        except Exception as exc:  # noqa: BLE001
            raise ModelError(f"could not load the generator {path}: {exc}") from exc
        self._attach(llm, path, n_ctx)

    @classmethod
    def around(cls, llm: Any, path: Path = Path("model.gguf"), n_ctx: int = 2048) -> LlamaGenerator:
        """The generator around an already loaded llama-cpp-python runtime ``llm`` (or a stand-in
        with its ``tokenize``, ``eval`` and ``create_completion``: the tests' hook)."""
        gen = cls.__new__(cls)
        gen._attach(llm, path, n_ctx)
        return gen

    def _attach(self, llm: Any, path: Path, n_ctx: int) -> None:
        self._llm = llm
        # KV state right after each system prompt (one per language), saved by warm_up(): a question
        # reuses its language's cached system prompt even when the previous one was in the other
        # language. (llama-cpp-python's LlamaRAMCache would also copy 300 MB of logits per entry.)
        self._prefix_states: dict[str, tuple[LlamaState, int]] = {}  # system prompt -> (state, its tokens)
        self.model_id = path.name
        self._path, self._n_ctx = path, n_ctx
        self._lock = threading.Lock()  # llama.cpp contexts are not thread-safe
        self.reads: list[Read] = []  # every step's tokens and seconds (``bench speed`` reads and clears it)
        self._n_read = 0  # tokens read into the context since the start
        evaluate = llm.eval  # the one place llama-cpp-python reads tokens (generate() calls it)

        def counted(tokens: Sequence[int]) -> None:
            self._n_read += len(tokens)
            evaluate(tokens)

        llm.eval = counted

    @contextmanager
    def _stage(self, name: str) -> Iterator[None]:
        """Record the tokens read and the time spent in the block as one ``Read``."""
        t, n = time.perf_counter(), self._n_read
        try:
            yield
        finally:
            self.reads.append(Read(name, self._n_read - n, time.perf_counter() - t))

    def prompt_tokens(self, messages: list[Message]) -> list[int]:
        """The ChatML prompt of ``messages`` (Qwen's chat template) as tokens, ending where the reply
        starts. Every call that reads a prompt uses these tokens, so llama.cpp's prefix match reuses
        what an earlier call already read (the system prompt, or the whole prompt after
        ``first_token_logits``)."""
        return self._tokens(_chatml(messages) + "<|im_start|>assistant\n")

    def _tokens(self, text: str) -> list[int]:
        return self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)

    def count_tokens(self, messages: list[Message]) -> int:
        return len(self.prompt_tokens(messages))

    def _restore_prefix(self, messages: list[Message]) -> None:
        """Load the saved state of this system prompt unless the context already starts with it.

        The saved state also holds the warm-up question after the system prompt: only the system
        prompt's tokens are compared, so a context holding the same system prompt with another
        question (or this very prompt, read by ``first_token_logits``) is kept as it is."""
        import numpy as np

        saved = self._prefix_states.get(messages[0]["content"]) if messages else None
        if saved is None:
            return
        state, n = saved
        llm = self._llm
        if llm.n_tokens >= n and np.array_equal(llm.input_ids[:n], state.input_ids[:n]):
            return
        with self._stage("restore"):
            set_state(self._llm, state)

    def stream(self, messages: list[Message], max_tokens: int = 256, stage: str = "answer") -> Iterator[str]:
        """The reply to ``messages``, greedy, as text pieces. Its ``Read``s: "<stage> prompt" up to
        the first piece, "<stage> generation" after it."""
        with self._lock:
            self._restore_prefix(messages)
            parts = self._llm.create_completion(
                prompt=self.prompt_tokens(messages),
                stream=True,
                temperature=0.0,
                top_k=1,
                max_tokens=max_tokens,
                repeat_penalty=1.05,
                stop=["<|im_end|>", "<|endoftext|>"],
            )
            with self._stage(f"{stage} prompt"):
                first = next(parts, None)
            if first is None:
                return
            with self._stage(f"{stage} generation"):
                for part in itertools.chain([first], parts):
                    delta = part["choices"][0].get("text")
                    if delta:
                        yield delta

    def first_token_logits(self, messages: list[Message], stage: str = "first token"):
        """Logits of the first token of the reply to ``messages`` (a float64 numpy vector), nothing
        sampled. Tokens already in the context (the same system prompt, passages...) are kept; only
        the new ones are read, and a following ``stream`` of the same messages reads nothing again."""
        import numpy as np

        llm = self._llm
        tokens = self.prompt_tokens(messages)
        with self._lock:
            self._restore_prefix(messages)
            with self._stage(stage):
                same = 0
                for a, b in zip(llm.input_ids[: llm.n_tokens], tokens, strict=False):
                    if a != b:
                        break
                    same += 1
                llm.n_tokens = min(same, len(tokens) - 1)
                llm.eval(tokens[llm.n_tokens :])
            return np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),)).astype(np.float64)

    def candidate_scores(self, messages: list[Message], options: Sequence[str]) -> list[tuple[float, int]]:
        """(log-probability, tokens) of each option as the whole reply to ``messages``: its tokens
        then ``<|im_end|>``. The prompt is read once; every option continues from its KV state.
        An option whose tokens begin another's ("7.5万" of "7.5万个") is read off that one's pass
        (``shared_runs``): the log-probabilities of ``<|im_end|>`` at every position are kept, so
        the forms of one figure cost one pass instead of four."""
        import numpy as np

        llm = self._llm
        (end,) = self._tokens("<|im_end|>")
        seqs = [self._llm.tokenize(o.encode("utf-8"), add_bos=False, special=False) for o in options]
        last = self.first_token_logits(messages, "candidate prompt")  # read, or reused when already read
        out: list[tuple[float, int]] = [(0.0, 0)] * len(options)
        with self._lock, self._stage("candidate options"):
            n = llm.n_tokens  # the prompt, read by first_token_logits
            for run, members in shared_runs(seqs):
                rows = np.empty((0, llm.n_vocab()))
                if run:
                    llm._ctx.kv_cache_seq_rm(-1, n, -1)
                    llm._batch.set_batch(batch=run, n_past=n, logits_all=True)
                    llm._ctx.decode(llm._batch)
                    self._n_read += len(run)
                    rows = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(len(run), llm.n_vocab()))
                lengths = [len(seqs[i]) for i in members]
                for i, lp in zip(members, run_scores(last, rows, run, lengths, end), strict=True):
                    out[i] = (lp, len(seqs[i]) + 1)
            llm._ctx.kv_cache_seq_rm(-1, n, -1)
            llm.n_tokens = n  # the context holds the prompt again, as first_token_logits left it
        return out

    def start_probability(self, messages: list[Message], words: Sequence[str]) -> float:
        """Probability that the reply to ``messages`` starts with the first token of one of ``words``."""
        import numpy as np

        logits = self.first_token_logits(messages, "gate")
        p = np.exp(logits - logits.max())
        return float(sum(p[i] for i in self._first_ids(words)) / p.sum())

    def yes_probability(self, messages: list[Message], yes: Sequence[str], no: Sequence[str]) -> float:
        """P(yes) / (P(yes) + P(no)) for the first token of the reply to ``messages``."""
        import numpy as np

        logits = self.first_token_logits(messages, "review")
        p = np.exp(logits - logits.max())
        p_yes, p_no = (float(sum(p[i] for i in self._first_ids(w))) for w in (yes, no))
        return p_yes / (p_yes + p_no) if p_yes + p_no > 0 else 0.5

    def _first_ids(self, words: Sequence[str]) -> set[int]:
        return {self._llm.tokenize(w.encode("utf-8"), add_bos=False, special=False)[0] for w in words}

    def warm_up(self, messages: list[Message]) -> None:
        """Have the state after ``messages``' system prompt ready for later questions: loaded from the
        file saved beside the model at an earlier start, else computed (the whole prompt read once)
        and saved there."""
        if self._load_prompt_state(messages):
            return
        self._compute_prompt_state(messages)
        self._save_prompt_state(messages)

    def _compute_prompt_state(self, messages: list[Message]) -> None:
        """Process a prompt once and keep the state after its system prompt for later questions."""
        for _ in self.stream(messages, max_tokens=1, stage="warm-up"):
            pass
        with self._lock:
            saved = self._llm.save_state()
        state = without_logits(saved)  # the logits are not needed to resume: one row is kept
        n_system = len(self._tokens(_chatml(messages[:1])))
        self._prefix_states[messages[0]["content"]] = (state, n_system)

    # ----------------------------------------------------------------- saved prompt states

    def _load_prompt_state(self, messages: list[Message]) -> bool:
        """Load the saved state of ``messages`` into the context; False (with a log line for a file
        that is there but unusable: corrupt, foreign, from another runtime) to compute it instead."""
        meta = state_meta(self._path, _chatml(messages), self._n_ctx)
        path = state_file(self._path, meta) if meta is not None else None
        if meta is None or path is None or not path.is_file():
            return False
        try:
            tokens = self.prompt_tokens(messages)
            state = read_state(path, meta, tokens, self._llm.n_ctx(), self._llm.n_vocab())
            with self._lock:
                set_state(self._llm, state)
        except Exception as exc:  # noqa: BLE001 - any unusable file is recomputed, never fatal
            log.warning("ignored the saved prompt state %s (%s); computing it again", path.name, exc)
            return False
        self._prefix_states[messages[0]["content"]] = (state, len(self._tokens(_chatml(messages[:1]))))
        return True

    def _save_prompt_state(self, messages: list[Message]) -> None:
        """Write the state computed for ``messages`` beside the model; a failure to write (read-only
        folder, full disk) only costs the computation at the next start."""
        meta = state_meta(self._path, _chatml(messages), self._n_ctx)
        saved = self._prefix_states.get(messages[0]["content"])
        if meta is None or saved is None:
            return
        path = state_file(self._path, meta)
        try:
            write_state(path, meta, saved[0])
        except OSError as exc:
            log.warning("could not save the prompt state %s: %s", path.name, exc)
