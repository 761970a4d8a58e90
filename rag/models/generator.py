"""Write the answer: prompts, the generator backends, and citation markers.

* ``build_messages`` turns a question and numbered passages into chat messages. The
  system prompt (``prompts/system_<lang>.txt``) comes first and never changes, so the
  runtime can reuse its KV cache across questions. English prompts show the English value
  next to every 万/亿 figure (``rag.text.figures``).
* ``Generator`` is the narrow interface: ``stream(messages) -> Iterator[str]``.
  ``LlamaGenerator`` runs a GGUF file with llama-cpp-python (the default); the KV state after
  each language's system prompt is computed once and saved beside the model
  (``<model>.prompt-<hash>.npz``, checked against the model's sha256 and the prompt text);
  ``TransformersGenerator`` runs a Hugging Face folder or GGUF with transformers (for GPUs
  or other models). Tests use a fake.
* ``LlamaGenerator.reads`` records every step of a request as a ``Read`` (stage, tokens read,
  seconds): the candidate prompt and options, the gate, the answer's prompt and generation, the
  review, a state restore; ``bench speed`` prints them per stage.
* ``CitationRewriter`` renumbers ``[n]`` markers as text streams: the first passage cited
  becomes [1], the next [2]...; markers that point at no shown passage are dropped.

Does not retrieve, and does not decide whether to abstain (the model's NO_ANSWER sentinel
is recognised by the pipeline).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import re
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

from rag.errors import ModelError
from rag.prompts import prompt_text
from rag.text.figures import annotate_for_english
from rag.types import Hit, Lang

NO_ANSWER = "NO_ANSWER"
Message = dict[str, str]
STATE_FORMAT = 1  # version of the saved prompt-state files; bump it to have old ones ignored
log = logging.getLogger(__name__)



def format_passage(n: int, hit: Hit, text: str, lang: Lang) -> str:
    """One numbered passage as the model sees it.

    The English prompt carries English values of Chinese figures.
    """
    body = annotate_for_english(text) if lang == "en" else text
    date = f" ({hit.doc.date})" if hit.doc.date else ""
    return f"[{n}] {hit.doc.title}{date}\n{body}"


def build_messages(question: str, passages: Sequence[tuple[Hit, str]], lang: Lang,
                   parts: Sequence[str] = ()) -> list[Message]:
    """Chat messages for ``question`` over ``passages`` (hit, text shown), numbered from 1; a
    question of several ``parts`` lists them and asks for each with its citation."""
    blocks = "\n\n".join(format_passage(i, hit, text, lang) for i, (hit, text) in enumerate(passages, 1))
    user = prompt_text(f"user_{lang}").format(passages=blocks, question=question)
    if len(parts) > 1:
        listed = "".join(f"\n({i}) {p}" for i, p in enumerate(parts, 1))
        user += "\n" + prompt_text(f"parts_{lang}").format(n=len(parts), parts=listed)
    return [{"role": "system", "content": prompt_text(f"system_{lang}")}, {"role": "user", "content": user}]


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
        """(log-probability, tokens) of each option as the whole reply (``rag.answer.candidates``);
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
        self._prefix_states: dict[str, tuple[object, int]] = {}  # system prompt -> (state, its tokens)
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
            self._set_state(state)

    def _set_state(self, state) -> None:
        """Load ``state`` into the context: llama-cpp-python's ``Llama.load_state`` without its copy
        and scan of the logits buffer (~0.25 s a time on two cores for 300 MB that nothing here
        reads: sampling runs in llama.cpp, and no stopping criteria or logprobs are used)."""
        import ctypes

        import llama_cpp

        llm = self._llm
        ctx = getattr(llm, "_ctx", None)
        if ctx is None:  # not llama-cpp-python's own class (a test double): its load_state
            llm.load_state(state)
            return
        size = state.llama_state_size
        blob = (ctypes.c_uint8 * size).from_buffer_copy(state.llama_state)
        if llama_cpp.llama_state_set_data(ctx.ctx, blob, size) != size:
            raise RuntimeError("Failed to set llama state data")
        llm.input_ids[:] = state.input_ids
        llm.n_tokens = state.n_tokens
        llm._requires_eval = True  # the logits are not the state's: the next read refreshes them

    def stream(self, messages: list[Message], max_tokens: int = 256, stage: str = "answer") -> Iterator[str]:
        """The reply to ``messages``, greedy, as text pieces. Its ``Read``s: "<stage> prompt" up to
        the first piece, "<stage> generation" after it."""
        with self._lock:
            self._restore_prefix(messages)
            parts = self._llm.create_completion(
                prompt=self.prompt_tokens(messages), stream=True, temperature=0.0, top_k=1,
                max_tokens=max_tokens, repeat_penalty=1.05, stop=["<|im_end|>", "<|endoftext|>"])
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
        then ``<|im_end|>``. The prompt is read once; every option continues from its KV state (the
        option's tokens are read in one batch with the logits of each position kept)."""
        import numpy as np

        llm = self._llm
        end = self._tokens("<|im_end|>")
        last = self.first_token_logits(messages, "candidate prompt")  # read, or reused when already read
        out = []
        with self._lock, self._stage("candidate options"):
            n = llm.n_tokens  # the prompt, read by first_token_logits
            for option in options:
                seq = self._llm.tokenize(option.encode("utf-8"), add_bos=False, special=False) + end
                llm._ctx.kv_cache_seq_rm(-1, n, -1)
                llm._batch.set_batch(batch=seq, n_past=n, logits_all=True)
                llm._ctx.decode(llm._batch)
                self._n_read += len(seq)
                rows = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(len(seq), llm.n_vocab()))
                logits = np.vstack([last[None, :], rows[:-1].astype(np.float64)])
                top = logits.max(axis=1, keepdims=True)
                logz = top[:, 0] + np.log(np.exp(logits - top).sum(axis=1))
                out.append((float((logits[np.arange(len(seq)), seq] - logz).sum()), len(seq)))
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
        import numpy as np
        from llama_cpp.llama import LlamaState

        for _ in self.stream(messages, max_tokens=1, stage="warm-up"):
            pass
        with self._lock:
            s = self._llm.save_state()
        # the logits copy is not needed to resume (sampling runs in llama.cpp): keep one row
        n_system = len(self._tokens(_chatml(messages[:1])))
        state = LlamaState(
            input_ids=s.input_ids, scores=np.zeros((1, s.scores.shape[1]), dtype=np.single),
            n_tokens=s.n_tokens,
            llama_state=s.llama_state, llama_state_size=s.llama_state_size, seed=s.seed)
        self._prefix_states[messages[0]["content"]] = (state, n_system)

    # ----------------------------------------------------------------- saved prompt states

    def _state_meta(self, messages: list[Message]) -> dict | None:
        """What a saved state must match: the model file's sha256 (from the ``.verified.json`` that
        ``rag prepare`` wrote beside it), the prompt, the context size and the runtime's version.
        None when the model has no record of its hash (nothing is saved then)."""
        import llama_cpp

        try:
            sha = json.loads(self._path.with_name(self._path.name + ".verified.json").read_text())["sha256"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return {"format": STATE_FORMAT, "model_sha256": sha, "prompt": _chatml(messages),
                "n_ctx": self._n_ctx, "llama_cpp": llama_cpp.__version__}

    def _state_file(self, meta: dict) -> Path:
        """``<model>.prompt-<hash of meta>.npz`` beside the model: one file per system prompt."""
        digest = hashlib.sha256(json.dumps(meta, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
        return self._path.with_name(f"{self._path.name}.prompt-{digest[:20]}.npz")

    def _load_prompt_state(self, messages: list[Message]) -> bool:
        """Load the saved state of ``messages`` into the context; False (with a log line for a file
        that is there but unusable: corrupt, foreign, from another runtime) to compute it instead."""
        import numpy as np
        from llama_cpp.llama import LlamaState

        meta = self._state_meta(messages)
        path = self._state_file(meta) if meta is not None else None
        if path is None or not path.is_file():
            return False
        try:
            with np.load(path, allow_pickle=False) as f:
                if json.loads(str(f["meta"])) != meta:
                    raise ValueError("it was saved for another model or prompt")
                ids, blob, n = f["input_ids"], f["llama_state"].tobytes(), int(f["n_tokens"])
            tokens = self.prompt_tokens(messages)
            fits = len(ids) == self._llm.n_ctx() and n >= len(tokens)
            if not fits or not np.array_equal(ids[: len(tokens)], tokens):
                raise ValueError("its tokens are not this prompt's")
            state = LlamaState(input_ids=ids, scores=np.zeros((1, self._llm.n_vocab()), dtype=np.single),
                               n_tokens=n, llama_state=blob, llama_state_size=len(blob), seed=0)
            with self._lock:
                self._set_state(state)
        except Exception as exc:  # noqa: BLE001 - any unusable file is recomputed, never fatal
            log.warning("ignored the saved prompt state %s (%s); computing it again", path.name, exc)
            return False
        self._prefix_states[messages[0]["content"]] = (state, len(self._tokens(_chatml(messages[:1]))))
        return True

    def _save_prompt_state(self, messages: list[Message]) -> None:
        """Write the state computed for ``messages`` beside the model (atomically); a failure to
        write (read-only folder, full disk) only costs the computation at the next start."""
        import numpy as np

        meta = self._state_meta(messages)
        saved = self._prefix_states.get(messages[0]["content"])
        if meta is None or saved is None:
            return
        state, path = saved[0], self._state_file(meta)
        tmp = path.with_name(path.name + ".tmp.npz")
        try:
            np.savez(tmp, meta=np.array(json.dumps(meta, ensure_ascii=False)),
                     input_ids=np.asarray(state.input_ids, dtype=np.intc),  # the whole n_ctx buffer
                     llama_state=np.frombuffer(state.llama_state, dtype=np.uint8),
                     n_tokens=np.array(state.n_tokens))
            tmp.replace(path)
        except OSError as exc:
            log.warning("could not save the prompt state %s: %s", path.name, exc)
            tmp.unlink(missing_ok=True)


class TransformersGenerator:
    """A chat model run by transformers: a Hugging Face folder, or a GGUF file (slow on CPU)."""

    def __init__(self, path: str, gguf_file: str | None = None, device: str | None = None) -> None:
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as exc:  # pragma: no cover - transformers is a dependency
            raise ModelError(f"transformers is not installed: {exc}") from exc
        kwargs = {"gguf_file": gguf_file} if gguf_file else {}
        try:
            self._tok = AutoTokenizer.from_pretrained(path, **kwargs)
            self._model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
        except Exception as exc:  # noqa: BLE001
            raise ModelError(f"could not load {path} with transformers: {exc}") from exc
        self._device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self._model.to(self._device)
        self.model_id = Path(gguf_file or path).name
        self._lock = threading.Lock()

    def count_tokens(self, messages: list[Message]) -> int:
        return len(self._tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=True))

    def stream(self, messages: list[Message], max_tokens: int = 256) -> Iterator[str]:
        from transformers import TextIteratorStreamer

        ids = self._tok.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt")
        streamer = TextIteratorStreamer(self._tok, skip_prompt=True, skip_special_tokens=True)
        with self._lock:
            worker = threading.Thread(
                target=self._model.generate,
                kwargs={"input_ids": ids.to(self._device), "max_new_tokens": max_tokens,
                        "do_sample": False, "streamer": streamer},
            )
            worker.start()
            yield from streamer
            worker.join()


# --------------------------------------------------------------------------- citations

_MARKER = re.compile(r"[\[【]\s*(\d{1,3}(?:\s*[,，、]\s*\d{1,3})*)\s*[\]】]")
_OPEN = re.compile(r"[\[【][\d\s,，、]*$")


class CitationRewriter:
    """Renumber ``[n]`` markers in streamed text; drop markers of passages not shown.

    >>> r = CitationRewriter(valid=3)
    >>> r.feed("A [3") + r.feed("], B [7] and C [1, 3]。") + r.finish()
    'A [1], B and C [2][1]。'
    >>> r.order
    [3, 1]
    """

    def __init__(self, valid: int) -> None:
        self.valid = valid
        self.order: list[int] = []  # original passage numbers, in order of first citation
        self._buf = ""

    def _map(self, m: re.Match[str]) -> str:
        out = []
        for s in re.split(r"\s*[,，、]\s*", m.group(1)):
            n = int(s)
            if 1 <= n <= self.valid:
                if n not in self.order:
                    self.order.append(n)
                new = f"[{self.order.index(n) + 1}]"
                if new not in out:
                    out.append(new)
        return "".join(out)

    def _rewrite(self, text: str) -> str:
        text = _MARKER.sub(self._map, text)
        return re.sub(r"[ \t]+([，。；,.;])", r"\1", re.sub(r" {2,}", " ", text))

    def feed(self, delta: str) -> str:
        self._buf += delta
        m = _OPEN.search(self._buf)
        if m and len(self._buf) - m.start() <= 16:
            ready, self._buf = self._buf[: m.start()], self._buf[m.start():]
        else:
            ready, self._buf = self._buf, ""
        return self._rewrite(ready)

    def finish(self) -> str:
        rest, self._buf = self._buf, ""
        return self._rewrite(rest)
