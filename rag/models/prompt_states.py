"""The llama.cpp state after a system prompt: kept without its logits, saved beside the model, loaded.

A saved state ``<model>.prompt-<hash>.npz`` holds the context's token ids, llama.cpp's state blob
and the number of tokens read, with ``meta``: what it must match (the model file's sha256 from the
``.verified.json`` that ``rag prepare`` wrote beside it, the prompt, the context size and the
runtime's version). The file is named by the hash of ``meta``, so a changed prompt or model looks
for another file.

Does not compute states or decide when to load them (``LlamaGenerator.warm_up`` in
``rag.models.generator`` does), and does not log: an unusable file raises, and the generator
computes the state again.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llama_cpp.llama import LlamaState

STATE_FORMAT = 1  # version of the saved prompt-state files; bump it to have old ones ignored


def state_meta(model: Path, prompt: str, n_ctx: int) -> dict[str, Any] | None:
    """What a saved state must match: the model file's sha256 (from the ``.verified.json`` that
    ``rag prepare`` wrote beside it), the ``prompt``, the context size and the runtime's version.
    None when the model has no record of its hash (nothing is saved then)."""
    import llama_cpp

    try:
        sha = json.loads(model.with_name(model.name + ".verified.json").read_text())["sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return {
        "format": STATE_FORMAT,
        "model_sha256": sha,
        "prompt": prompt,
        "n_ctx": n_ctx,
        "llama_cpp": llama_cpp.__version__,
    }


def state_file(model: Path, meta: dict[str, Any]) -> Path:
    """``<model>.prompt-<hash of meta>.npz`` beside the model: one file per system prompt."""
    digest = hashlib.sha256(json.dumps(meta, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    return model.with_name(f"{model.name}.prompt-{digest[:20]}.npz")


def without_logits(state: LlamaState) -> LlamaState:
    """``state`` with one row of logits instead of a copy of them all: they are not needed to
    resume (sampling runs in llama.cpp)."""
    import numpy as np
    from llama_cpp.llama import LlamaState

    return LlamaState(
        input_ids=state.input_ids,
        scores=np.zeros((1, state.scores.shape[1]), dtype=np.single),
        n_tokens=state.n_tokens,
        llama_state=state.llama_state,
        llama_state_size=state.llama_state_size,
        seed=state.seed,
    )


def read_state(
    path: Path, meta: dict[str, Any], tokens: Sequence[int], n_ctx: int, n_vocab: int
) -> LlamaState:
    """The state saved in ``path``, checked against ``meta`` and the prompt's ``tokens`` (the saved
    context must start with them) for a context of ``n_ctx``; raises when the file is unusable
    (corrupt, foreign, saved for another model or prompt)."""
    import numpy as np
    from llama_cpp.llama import LlamaState

    from rag.arrays import HEADERS

    with HEADERS, np.load(path, allow_pickle=False) as f:
        if json.loads(str(f["meta"])) != meta:
            raise ValueError("it was saved for another model or prompt")
        ids, blob, n = f["input_ids"], f["llama_state"].tobytes(), int(f["n_tokens"])
    fits = len(ids) == n_ctx and n >= len(tokens)
    if not fits or not np.array_equal(ids[: len(tokens)], tokens):
        raise ValueError("its tokens are not this prompt's")
    return LlamaState(
        input_ids=ids,
        scores=np.zeros((1, n_vocab), dtype=np.single),
        n_tokens=n,
        llama_state=blob,
        llama_state_size=len(blob),
        seed=0,
    )


def write_state(path: Path, meta: dict[str, Any], state: LlamaState) -> None:
    """Write ``state`` and ``meta`` to ``path`` atomically (a temporary file renamed into place);
    an ``OSError`` (read-only folder, full disk) leaves no partial file and is raised."""
    import numpy as np

    tmp = path.with_name(path.name + ".tmp.npz")
    try:
        np.savez(
            tmp,
            meta=np.array(json.dumps(meta, ensure_ascii=False)),
            input_ids=np.asarray(state.input_ids, dtype=np.intc),  # the whole n_ctx buffer
            llama_state=np.frombuffer(state.llama_state, dtype=np.uint8),
            n_tokens=np.array(state.n_tokens),
        )
        tmp.replace(path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise


def set_state(llm: Any, state: LlamaState) -> None:
    """Load ``state`` into the context of ``llm``: llama-cpp-python's ``Llama.load_state`` without
    its copy and scan of the logits buffer (~0.25 s a time on two cores for 300 MB that nothing here
    reads: sampling runs in llama.cpp, and no stopping criteria or logprobs are used)."""
    import llama_cpp

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
