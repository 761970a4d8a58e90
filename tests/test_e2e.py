"""The real models end to end on the five bundled articles (marked ``models``; runs in CI)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from rag.answer.pipeline import Pipeline
from rag.answer.write.prompt import build_messages
from rag.config import Settings
from rag.index.sync import build
from rag.models.prepare import models_ready
from rag.models.prompt_states import set_state

pytestmark = pytest.mark.models
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def real_settings(tmp_path_factory) -> Settings:
    settings = Settings(index_dir=tmp_path_factory.mktemp("index"))
    if not models_ready(settings):
        pytest.fail("models are not prepared: run `python -m rag prepare` (make test does)")
    report = build(settings, progress=False)
    assert report.build.n_docs == 5 and not report.load.skipped
    return settings


@pytest.fixture(scope="module")
def pipeline(real_settings) -> Pipeline:
    return Pipeline.load(real_settings)


def test_chinese_question_answers_in_chinese_with_a_citation(pipeline):
    answer = pipeline.ask("深圳2020年规上工业总产值是多少？")
    assert answer.lang == "zh" and not answer.abstained, answer
    assert "3.7万亿" in answer.text
    assert {c.doc_id[:3] for c in answer.citations} & {"000", "004"}
    assert answer.timings.prompt_tokens > 0 and answer.timings.first_token_ms > 0


def test_english_question_answers_in_english_from_chinese_figures(pipeline):
    answer = pipeline.ask("How many 5G base stations did Shenzhen build in 2020?")
    assert answer.lang == "en" and not answer.abstained, answer
    text = answer.text.replace(",", "")
    assert any(v in text for v in ("46000", "46600", "47600")), answer.text
    assert answer.citations


def test_the_prompt_is_read_once_per_question(pipeline):
    """The abstention check reads the prompt; the answer must not read it again, and the fixed
    system prompt is not read for any question after the first. (Written freely: the candidate
    step, which would answer this question from a short prompt of its own, is off.)"""
    pipeline = replace(pipeline, settings=replace(pipeline.settings, answer_candidates=False))
    llm, read = pipeline.generator._llm, []
    original = llm.eval
    llm.eval = lambda tokens: (read.append(len(tokens)), original(tokens))[1]
    try:
        answer = pipeline.ask("深圳2020年建成了多少5G基站？")
    finally:
        llm.eval = original
    prompt = answer.timings.prompt_tokens
    assert not answer.abstained, answer
    assert read[0] < prompt - 100  # the system prompt (about 130 tokens) came from the cache
    # after the first read: one token per generated step, then the generator's own check of the
    # answer (rag.answer.review.grounding.check_messages): one short prompt of its own, read once
    check = [n for n in read[1:] if n > 1]
    assert len(check) <= 1 and all(n <= 300 for n in check), read


def test_the_candidate_step_reads_its_system_prompt_from_the_cache(pipeline):
    """A question answered from candidates reads its short prompt without the fixed instruction
    (saved beside the model at start-up), then a few tokens per candidate."""
    generator = pipeline.generator
    generator.reads.clear()
    answer = pipeline.ask("深圳2020年规上工业总产值是多少？")
    stages = {r.stage: r.tokens for r in generator.reads}
    assert "candidate prompt" in stages and not answer.abstained, (generator.reads, answer)
    assert stages["candidate prompt"] <= answer.timings.prompt_tokens - 30  # the instruction: 35 tokens
    assert stages["candidate prompt"] <= 200, generator.reads


def test_a_restored_system_prompt_gives_the_logits_of_a_full_restore(pipeline):
    """The fast restore (no copy of the logits buffer) leaves the context as ``load_state`` does."""
    generator = pipeline.generator
    messages = build_messages("深圳建成了多少5G基站？", [], "zh")
    state, _ = generator._prefix_states[messages[0]["content"]]
    generator._llm.load_state(state)
    full = generator.first_token_logits(messages)
    set_state(generator._llm, state)
    fast = generator.first_token_logits(messages)
    assert np.allclose(full, fast, atol=1e-3)


def test_unrelated_question_abstains(pipeline):
    answer = pipeline.ask("What is the population of Tokyo?")
    assert answer.abstained and len(answer.citations) <= 2  # the closest passages, if any


def test_extractive_mode_with_the_real_embedder(pipeline):
    answer = pipeline.ask("深圳2020年规上工业总产值是多少？", use_llm=False)
    assert answer.mode == "extractive" and "3.7万亿" in answer.text


def test_cli_ask_json(real_settings):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "rag",
            "ask",
            "深圳2020年规上工业总产值是多少？",
            "--json",
            "--no-llm",
            "--index",
            str(real_settings.index_dir),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=True,
    )
    data = json.loads(out.stdout)
    assert data["lang"] == "zh" and data["abstained"] is False and data["citations"]
    assert set(data["citations"][0]) >= {"n", "doc_id", "title", "date", "url", "chunk_id", "text"}


def test_cli_reports_a_missing_corpus_in_one_line(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "rag",
            "build",
            "--corpus",
            str(tmp_path / "nope"),
            "--index",
            str(tmp_path / "i"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert out.returncode == 1
    assert out.stderr.startswith("error: ") and "Traceback" not in out.stderr


def test_index_rebuild_is_incremental(real_settings):
    again = build(replace(real_settings), progress=False)
    assert again.build.up_to_date and again.build.embedded == 0
