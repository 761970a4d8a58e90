"""The generator's system-prompt states saved beside the model (rag.models.generator.LlamaGenerator),
with a fake llama.cpp that counts how many prompts it reads."""

from __future__ import annotations

import hashlib
import json
import logging

import llama_cpp
import numpy as np
import pytest
from llama_cpp.llama import LlamaState

from rag.answer.write.prompt import build_messages
from rag.models.generator import LlamaGenerator


class FakeLlama:
    """Enough of ``llama_cpp.Llama`` for warm-ups: one token per byte, a 'KV state' that is the
    tokens read; ``evals`` lists the prompts read (the work a saved state saves)."""

    evals: list[int] = []  # shared by all instances: counts across two "starts"

    def __init__(self, model_path: str, n_ctx: int, **_: object) -> None:
        self._ctx_size = n_ctx
        self.input_ids = np.zeros(n_ctx, dtype=np.intc)
        self.n_tokens = 0

    def n_ctx(self) -> int:
        return self._ctx_size

    def n_vocab(self) -> int:
        return 8

    def tokenize(self, text: bytes, add_bos: bool = False, special: bool = False) -> list[int]:
        return list(text)

    def eval(self, tokens: list[int]) -> None:  # not called by these tests' paths
        raise AssertionError("the fake reads prompts in create_completion only")

    def create_completion(self, prompt: list[int], **_: object):
        FakeLlama.evals.append(len(prompt))
        self.input_ids[: len(prompt)] = prompt
        self.n_tokens = len(prompt)
        yield {"choices": [{"text": "好"}]}

    def save_state(self) -> LlamaState:
        blob = self.input_ids[: self.n_tokens].tobytes()
        return LlamaState(
            self.input_ids.copy(), np.zeros((self.n_tokens, 8), np.single), self.n_tokens, blob, len(blob), 0
        )

    def load_state(self, state: LlamaState) -> None:
        if state.llama_state != state.input_ids[: state.n_tokens].tobytes():
            raise RuntimeError("Failed to set llama state data")
        self.input_ids, self.n_tokens = state.input_ids.copy(), state.n_tokens


@pytest.fixture
def model(tmp_path, monkeypatch):
    monkeypatch.setattr(llama_cpp, "Llama", FakeLlama)
    FakeLlama.evals = []
    path = tmp_path / "model.gguf"
    path.write_bytes(b"GGUF fake model")
    verified(path, path.read_bytes())
    return path


def verified(path, content: bytes) -> None:
    record = {"sha256": hashlib.sha256(content).hexdigest(), "size": len(content)}
    path.with_name(path.name + ".verified.json").write_text(json.dumps(record))


def start(path) -> LlamaGenerator:
    """A server start: a new generator, both languages' system prompts warmed up."""
    g = LlamaGenerator(path, n_ctx=4096)
    g.warm_up(build_messages("?", [], "zh"))
    g.warm_up(build_messages("?", [], "en"))
    return g


def test_states_are_saved_then_reused_without_reading_the_prompts(model):
    start(model)
    assert len(FakeLlama.evals) == 2 and len(list(model.parent.glob("*.prompt-*.npz"))) == 2
    again = start(model)
    assert len(FakeLlama.evals) == 2  # the second start read no prompt
    system = build_messages("?", [], "en")[0]["content"]  # the last one loaded
    state, n_system = again._prefix_states[system]
    assert n_system == len(system.encode()) + len("<|im_start|>system\n<|im_end|>\n")
    assert again._llm.n_tokens > 0  # the saved state was loaded into the context
    # a question reuses it as before: its context starts with the system prompt
    assert np.array_equal(state.input_ids[:n_system], again._llm.input_ids[:n_system])


def test_every_fixed_system_prompt_is_saved_once_then_loaded(model):
    """The start-up warm-up covers every prompt a question reads with a fixed system prompt: the
    answer's, the candidate step's (both languages) and the review's check (Chinese)."""
    from rag.answer.candidates.choice import candidate_messages
    from rag.answer.pipeline import _load_generator
    from rag.answer.review.confirm import check_messages
    from rag.config import Settings

    settings = Settings(gguf=str(model), n_ctx=4096)
    generator, notice = _load_generator(settings)
    assert not notice and len(FakeLlama.evals) == 5 and len(list(model.parent.glob("*.prompt-*.npz"))) == 5
    again, _ = _load_generator(settings)
    assert len(FakeLlama.evals) == 5  # the second start read no prompt
    for messages in (
        candidate_messages("?", [], "zh"),
        candidate_messages("?", [], "en"),
        check_messages("?", "?", [], "zh"),
        build_messages("?", [], "en"),
    ):
        assert messages[0]["content"] in again._prefix_states


def test_a_changed_prompt_or_model_is_computed_again(model):
    start(model)
    g = LlamaGenerator(model, n_ctx=4096)
    changed = "新的系统提示 · a new system prompt"
    g.warm_up([{"role": "system", "content": changed}, {"role": "user", "content": "?"}])
    assert len(FakeLlama.evals) == 3
    verified(model, b"another model")
    start(model)
    assert len(FakeLlama.evals) == 5


def test_a_corrupt_or_foreign_file_is_ignored_with_a_log_line(model, caplog):
    start(model)
    first, second = sorted(model.parent.glob("*.prompt-*.npz"))
    first.write_bytes(b"not a state file")
    with np.load(second) as f:  # a file whose state the runtime refuses (another build, say)
        parts = dict(f)
    parts["llama_state"] = np.zeros(3, np.uint8)
    np.savez(second, **parts)
    with caplog.at_level(logging.WARNING, logger="rag.models.generator"):
        start(model)
    assert len(FakeLlama.evals) == 4
    assert sum("ignored the saved prompt state" in r.message for r in caplog.records) == 2
    start(model)  # both were written again, whole
    assert len(FakeLlama.evals) == 4


def test_without_a_hash_record_nothing_is_saved(model):
    model.with_name(model.name + ".verified.json").unlink()
    start(model)
    start(model)
    assert len(FakeLlama.evals) == 4 and not list(model.parent.glob("*.npz"))
