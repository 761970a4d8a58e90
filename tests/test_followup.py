from __future__ import annotations

from dataclasses import replace

import pytest

from rag.answer.pipeline import Pipeline
from rag.answer.question.followup import _plain, standalone
from tests.fakes import FakeEmbedder, FakeGenerator

FIVE_G = ("2020年深圳建成了多少5G基站？", "4.76万个[1]\n资料说法不一：4.76万个[1]（日期不详）；4.6万个[2]。")
OUTPUT = ("What was Shenzhen's industrial output value in 2020?", "3.7 trillion yuan (3.7 trillion) [1]")


def pipeline(settings, reply="答案见资料[1]。"):
    settings = replace(settings, use_llm=True)
    return Pipeline.load(settings, embedder=FakeEmbedder(), generator=FakeGenerator(reply))


def test_the_generator_reads_the_standalone_question_and_the_reader_sees_it(fixture_index):
    p = pipeline(fixture_index)
    answer = p.ask("那到2024年初呢？", [FIVE_G])
    assert "到2024年初深圳建成了多少5G基站？" in p.generator.seen[0][1]["content"]
    assert "按上文理解为：到2024年初深圳建成了多少5G基站？" in answer.notices


def test_a_question_that_stands_alone_is_left_as_asked(fixture_index):
    p = pipeline(fixture_index)
    answer = p.ask("深圳2020年规上工业总产值是多少？", [FIVE_G])
    assert not any("上文" in n for n in answer.notices)
    assert "深圳2020年规上工业总产值是多少？" in p.generator.seen[0][1]["content"]


def test_who_said_that_asks_about_the_earlier_answers_claim():
    f = standalone("And who said that?", [OUTPUT])
    assert f.text == "Who said that Shenzhen's industrial output value in 2020 was 3.7 trillion yuan?"
    assert f.notices == (f"Read in context as: {f.text}",)


def test_who_said_after_an_abstention_carries_the_question_instead():
    refused = (OUTPUT[0], "The articles do not contain the answer to this question.\n[1] …")
    assert standalone("Who said that?", [refused]).how == "context"


@pytest.mark.parametrize(
    "history,question",
    [
        (
            [
                ("Who is the director of the bureau?", "Jia Xingdong [1]"),
                ("How much funding had his bureau provided by 2020?", "455 million yuan [1]"),
            ],
            "And how many projects did it support?",
        ),
        ([("2018年12月，除了华为和富士康，还有哪家企业入选？", "华龙[1]")], "那2020年12月的清单呢？"),
    ],
)
def test_a_follow_up_code_cannot_fold_is_retrieved_with_the_earlier_questions_and_read_as_asked(
    history, question
):
    f = standalone(question, history)
    assert f.text == question and f.notices == ()
    assert f.query.endswith(question.removeprefix("And h").removeprefix("h"))
    assert _plain(history[-1][0]) in f.query


def test_the_earlier_questions_are_neither_parts_to_answer_nor_a_change(fixture_index):
    p = pipeline(fixture_index)
    history = [("从2020年到2023年，深圳5G基站增加了多少个？", "增加了2.9万个[1][2]")]
    answer = p.ask("它们在全国排第几😀？", history)
    user = p.generator.seen[0][1]["content"]  # a computed change would never reach the generator
    assert "它们在全国排第几😀？" in user and "接着问" not in user
    assert "(1)" not in user and "(2)" not in user  # no list of parts to answer
    assert not answer.abstained and answer.notices == ()


def test_a_chain_of_follow_ups_resolves_each_in_turn():
    history = [FIVE_G, ("那2023年呢？", "7.5万个[1]")]
    assert standalone("2024年初呢？", history).text == "2024年初深圳建成了多少5G基站？"
    expected = "What was Shenzhen's industrial output value in 2022?"
    assert standalone("What about 2022?", [OUTPUT]).text == expected


def test_a_new_thing_replaces_the_thing_of_the_resolved_earlier_question():
    history = [
        ("What share of the world's tablets did Guangzhou assemble in 2022?", "About 10% [1]."),
        ("What about laptops?", "About 5% [1]."),
    ]
    follow = standalone("And printers?", history)
    assert follow.how == "thing"
    assert follow.text == "What share of the world's printers did Guangzhou assemble in 2022?"
    assert follow.notices == (f"Read in context as: {follow.text}",)
    assert standalone("And who assembled them?", history).how != "thing"  # a question, not a thing
