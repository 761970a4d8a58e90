from __future__ import annotations

import json
from dataclasses import replace

import pytest

from rag.answer.pipeline import Pipeline
from rag.answer.question.check import check_question, pick_lang, retrieval_query
from rag.answer.write.prompt import CitationRewriter, build_messages
from rag.errors import QuestionError
from rag.types import Answer
from tests.fakes import FakeEmbedder, FakeGenerator


def pipeline(settings, reply=None, use_llm=True):
    gen = FakeGenerator(reply) if use_llm else None
    return Pipeline.load(replace(settings, use_llm=use_llm), embedder=FakeEmbedder(), generator=gen)


@pytest.mark.parametrize(
    "q,lang",
    [
        ("深圳2020年规上工业总产值是多少？", "zh"),
        ("How many 5G base stations did Shenzhen build in 2020?", "en"),
        ("What was 深圳's output?", "en"),
        ("深圳的GDP and output是多少呢？", "zh"),
    ],
)
def test_answer_language_follows_the_question(q, lang):
    assert pick_lang(q, "auto") == lang


def test_language_setting_forces_it():
    assert pick_lang("深圳有多少基站？", "en") == "en"


def test_english_question_gets_english_prompt_with_converted_figures(fixture_index):
    p = pipeline(fixture_index, reply="About 46,000 [1].")
    answer = p.ask("How many base stations did Shenzhen build?")
    prompt = p.generator.seen[0]
    assert "Answer in English" in prompt[0]["content"]
    assert answer.lang == "en" and not answer.abstained
    user = prompt[1]["content"]
    if "4.6万" in user:
        assert "4.6万 (46,000)" in user


def test_citations_are_renumbered_and_invalid_markers_removed(fixture_index):
    # the hits' windows (not the evidence step, which may show one passage): several passages
    p = pipeline(replace(fixture_index, evidence=False), reply="甲[2]，乙[9]，丙[1][2]。")
    answer = p.ask("深圳5G基站建成多少？")
    assert answer.text == "甲[1]，乙，丙[2][1]。"
    assert [c.n for c in answer.citations] == [1, 2]
    shown = p.generator.seen[0][1]["content"]
    # citation 1 is the passage the model called [2]
    assert answer.citations[0].text in shown.split("[2] ", 1)[1]


def test_streamed_markers_split_across_pieces():
    r = CitationRewriter(valid=2)
    out = "".join(r.feed(ch) for ch in "见[2]和【1】及[3]。") + r.finish()
    assert out == "见[1]和[2]及。"


def test_sentinel_means_abstained(fixture_index):
    answer = pipeline(fixture_index, reply="NO_ANSWER").ask("东京的人口是多少？")
    assert answer.abstained and all(f"[{c.n}]" in answer.text for c in answer.citations)
    assert "没有" in answer.text


def test_low_retrieval_score_abstains_without_calling_the_generator(fixture_index):
    p = pipeline(replace(fixture_index, min_score=0.99))
    answer = p.ask("What is the population of Tokyo?")
    assert answer.abstained and answer.lang == "en" and p.generator.seen == []
    assert "do not contain" in answer.text


def test_extractive_mode_quotes_sentences_with_citations(fixture_index):
    answer = pipeline(fixture_index, use_llm=False).ask("深圳5G基站建成多少？")
    assert answer.mode == "extractive" and not answer.abstained
    assert "4.6万" in answer.text and "[1]" in answer.text
    c = answer.citations[0]
    assert c.doc_id == "zh_5g"


def test_citation_span_points_into_the_article(fixture_index):
    p = pipeline(fixture_index, reply="3.7万亿元[1]。")
    answer = p.ask("深圳2020年工业总产值是多少？")
    c = answer.citations[0]
    assert p.store.doc_text(c.doc_id)[c.start : c.end] == c.text


def test_json_shape(fixture_index):
    answer = pipeline(fixture_index, reply="3.7万亿元[1]。").ask("深圳工业总产值？")
    data = json.loads(json.dumps(answer.to_json(), ensure_ascii=False))
    assert set(data) >= {"answer", "lang", "abstained", "citations", "timings"}
    assert set(data["citations"][0]) >= {"n", "doc_id", "title", "date", "url", "chunk_id", "text"}
    assert set(data["timings"]) == {"retrieve_ms", "first_token_ms", "total_ms", "prompt_tokens"}
    assert data["timings"]["prompt_tokens"] > 0


def test_stream_yields_growing_text_then_the_complete_answer(fixture_index):
    p = pipeline(fixture_index, reply="深圳建成5G基站超4.6万个[1]。")
    snapshots = list(p.stream("深圳5G基站建成多少？"))
    assert len(snapshots) > 2
    assert all(a.text.startswith(b.text[:-3]) for a, b in zip(snapshots[1:], snapshots, strict=False))
    assert snapshots[-1].citations and snapshots[-1].timings.total_ms > 0


@pytest.mark.parametrize("bad", ["", "   ", "？？？!!", "🙂🙂"])
def test_unusable_questions_raise_a_clear_error(bad):
    with pytest.raises(QuestionError, match="question|问题"):
        check_question(bad)


def test_very_long_question_is_cut_with_a_notice():
    q, notices = check_question("深圳" * 10_000)
    assert len(q) == 1000 and "cut" in notices[0]


def test_follow_up_carries_the_previous_question():
    history = [("How many 5G base stations did Shenzhen build in 2020?", "About 46,000 [1].")]
    assert retrieval_query("And by 2024?", history).startswith("How many 5G")
    assert retrieval_query("What is the population of Tokyo in 2020 overall?", history).startswith("What is")


def test_system_prompt_is_fixed_per_language():
    a = build_messages("问题一", [], "zh")[0]
    b = build_messages("another", [], "zh")[0]
    assert a == b


def test_cli_ask_prints_a_replaced_answer_in_full(monkeypatch, capsys):
    """A streamed answer later withdrawn (or rewritten) is followed by the final text, not glued to it."""
    from rag import __main__ as cli

    final = Answer("资料中没有找到答案。", "zh", True, notices=("回答所述内容未见于所引资料。",))
    snapshots = [Answer("超4.6", "zh", False), Answer("超4.6万个[1]。", "zh", False), final]

    class Streamed:
        def stream(self, question):
            yield from snapshots

    monkeypatch.setattr(Pipeline, "load", classmethod(lambda cls, settings: Streamed()))
    assert cli.main(["ask", "2020年广州建成了多少5G基站？"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("超4.6万个[1]。\n\n资料中没有找到答案。\n")
    assert "回答所述内容未见于所引资料" in err

    snapshots[-1] = Answer("超4.6万个[1]。", "zh", False)
    assert cli.main(["ask", "2020年深圳建成了多少5G基站？"]) == 0
    assert capsys.readouterr().out.startswith("超4.6万个[1]。\n")
