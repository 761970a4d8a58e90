"""The model chooses, code writes the figure (rag.answer.candidates): extraction, the choice from scripted
likelihoods, the pipeline step with a fake scorer, and the real scorer on a clear case."""

from __future__ import annotations

from dataclasses import replace

import pytest

from rag.answer.candidates.choice import NOT_STATED, Choice, candidate_messages, choose
from rag.answer.candidates.extract import Candidate, extract_candidates
from rag.answer.candidates.writing import written_answer
from rag.answer.pipeline import Pipeline
from rag.answer.question.kind import answer_kind
from tests.fakes import FakeEmbedder, FakeScorer


def texts(question, passages):
    return [c.text for c in extract_candidates(question, passages)]


# --------------------------------------------------------------------------- extraction


@pytest.mark.parametrize(
    "question,kind",
    [
        ("深铁集团的BIM体系完成了多少条既有地铁线路的建模？", "figure"),
        ("What share of Shenzhen enterprises improved their product quality?", "figure"),
        ("疫情初期，深圳用了多长时间把口罩日产量提升到1000万只？", "duration"),
        ("宝安工业互联网示范基地是什么时候被正式命名的？", "date"),
        ("In which month of 2020 did Shenzhen's industrial growth turn positive?", "date"),
        ("On what day was the Bao'an base named a demonstration base?", "date"),
        ("哪一年深圳的工业增加值首次超过1万亿元？", "date"),
        ("发布成绩单的工信局局长是谁？", "name"),
        ("Which Skyworth-RGB executive described the workshop?", "name"),
        ("为什么深圳重视工业互联网？", None),
        ("How did Shenzhen build its 5G network?", None),
        ("What did Jia Xingdong say about 5G?", None),
    ],
)
def test_answer_kind(question, kind):
    assert answer_kind(question) == kind


def test_chinese_figures_with_units_and_qualifiers():
    found = texts(
        "深铁集团的BIM体系完成了多少条既有地铁线路的建模？",
        ["深铁集团BIM体系已完成15条既有地铁线路的建模，在建的39条线路全面应用，投入超过2.5亿元。"],
    )
    assert found == ["15条", "39条", "超过2.5亿元"]


def test_a_figure_of_another_year_is_dropped_by_code():
    passages = ["2020年，深圳建成5G基站超4.6万个。", "截至2023年底，全市累计建成5G基站7.5万个。"]
    assert texts("2020年深圳建成了多少个5G基站？", passages) == ["超4.6万个"]
    assert texts("How many 5G base stations did Shenzhen have in 2023?", passages) == ["7.5万个"]
    # no year in the sentence: its article's date (that year or the next) implies it
    q, no_year = "2020年深圳建成了多少个5G基站？", ["深圳建成5G基站超4.6万个。"]
    assert texts(q, no_year) == ["超4.6万个"]
    assert [c.text for c in extract_candidates(q, no_year, ["2021-01-20"])] == ["超4.6万个"]
    assert extract_candidates("2022年深圳建成了多少个5G基站？", no_year, ["2021-01-20"]) == []


def test_how_many_is_not_answered_by_a_share():
    found = texts("深圳新能源汽车产量是多少辆？", ["深圳新能源汽车产量增长125.8%，达到180万辆。"])
    assert found == ["180万辆"]


def test_an_amount_of_labour_is_answered_by_a_share():
    # "多少人力" asks how much labour, not how many people: the share saved is the answer
    found = texts("富士康的“熄灯工厂”节省了多少人力？", ["令生产效率提高30%，人力节省88%，提升效益2.5倍。"])
    assert "88%" in found
    assert texts("工厂有多少人？", ["工厂员工减少了88%，现有200人。"]) == ["200人"]


def test_an_organisation_jieba_splits_is_one_candidate():
    found = texts(
        "Which was the first international organization to set up in Shenzhen?",
        ["金砖国家未来网络研究院中国分院，成为落地深圳的首个国际组织。"],
    )
    assert "金砖国家未来网络研究院中国分院" in found
    assert "深圳巴士集团" in texts("哪家公司利用了这个平台？", ["深圳巴士集团利用华龙讯达的平台。"])


def test_a_value_the_question_states_is_not_a_candidate():
    found = texts(
        "How long did it take Shenzhen to raise daily mask output from 20,000 to 10 million?",
        ["Shenzhen raised daily mask output from 20,000 to 10 million in a month and a half."],
    )
    assert "20,000" not in found and "10 million" not in found
    assert texts(
        "用了多长时间把口罩日产量从2万只提升到1000万只？",
        ["仅用一个半月时间将口罩日产量从2万只提升到1000万只。"],
    ) == ["一个半月"]


def test_english_figures_and_dates():
    assert texts(
        "How many base stations did the city build in 2020?",
        ["The city built 46,600 base stations in 2020, worth 3.7 trillion yuan."],
    ) == ["46,600", "3.7 trillion yuan"]
    assert texts(
        "When was Bao'an named a national demonstration base?",
        ["In March 2020, Bao'an was named a national base."],
    ) == ["March 2020"]
    named = ["宝安区于2020年3月被正式命名为国家级示范基地。"]
    assert texts("宝安是什么时候被命名的？", named) == ["2020年3月"]


def test_names_chinese_and_english():
    zh = texts("发布成绩单的工信局局长是谁？", ["深圳市工业和信息化局局长贾兴东昨日透露上述信息。"])
    assert "贾兴东" in zh
    en = texts(
        "Which company joined Huawei and Foxconn on the list?",
        ["In December 2018, Huawei, Foxconn and Hualong were selected by the ministry."],
    )
    # the names the question gives are not answers
    assert "Hualong" in en and "Huawei" not in en and "Foxconn" not in en


def test_a_question_asking_a_person_is_answered_by_a_person_not_a_company():
    found = texts(
        "Which Skyworth-RGB executive described the company's 5G flexible manufacturing workshop?",
        [
            "在深圳创维-RGB电子有限公司生产车间，记者看到了5G+柔性制造车间。",
            "创维-RGB公司总裁助理尹占江告诉记者，创维柔性制造车间的库容量提升了2.5倍；",
        ],
    )
    assert found == ["尹占江"]
    # a company asked for keeps the companies
    bus = ["深圳巴士集团利用华龙讯达的平台，总经理王明说。"]
    assert "深圳巴士集团" in texts("哪家公司利用了这个平台？", bus)


def test_list_items():
    found = texts(
        "除了电子、机械装备和生物医药，深圳的工业互联网还应用到了哪个制造领域？",
        ["深圳在电子制造、机械装备、精密制造、生物医药、服装等领域开展了应用。"],
    )
    assert "服装" in found and "精密制造" in found


# --------------------------------------------------------------------------- the choice

CANDS = [
    Candidate("15条", "figure", 0, "已完成15条线路的建模，39条在建。"),
    Candidate("39条", "figure", 0, "已完成15条线路的建模，39条在建。"),
]


def test_choice_answers_with_the_likely_candidate():
    choice = choose(CANDS, [(-0.3, 3), (-4.0, 3), (-5.0, 10)])
    assert choice.decision == "answer" and choice.candidate.text == "15条" and choice.probability > 0.9


def test_choice_abstains_when_not_stated_wins():
    choice = choose(CANDS, [(-4.0, 3), (-5.0, 3), (-0.2, 10)])
    assert choice.decision == "abstain" and choice.reason == "not stated" and choice.candidate is None


def test_not_stated_across_languages_is_left_to_free_generation():
    choice = choose(CANDS, [(-4.0, 3), (-5.0, 3), (-0.2, 10)], cross_language=True)
    assert choice.decision == "undecided" and choice.reason == "not stated"


def test_not_stated_for_a_name_is_left_to_free_generation():
    names = [Candidate("深圳巴士", "name", 0, "深圳巴士利用华龙讯达的平台。")]
    assert choose(names, [(-6.0, 4), (-0.1, 10)]).decision == "undecided"


def test_choice_abstains_when_no_candidate_is_likely():
    many = [Candidate(f"{n}个", "figure", 0, "s") for n in range(10, 18)]
    choice = choose(many, [(-2.0, 3)] * 8 + [(-2.5, 10)], min_likely=0.2)
    assert choice.decision == "abstain" and choice.reason == "no candidate likely"


def test_choice_on_a_tie_is_left_to_free_generation():
    choice = choose(CANDS, [(-1.0, 3), (-1.05, 3), (-6.0, 10)])
    assert choice.decision == "undecided" and choice.reason == "tie"


def test_the_figure_is_written_by_code_for_an_english_reader():
    c = Candidate("3.7万亿元", "figure", 1, "规模以上总产值3.7万亿元。")
    assert written_answer(Choice("answer", c, 0.9), 2, "en") == "3.7 trillion yuan [2]."
    assert written_answer(Choice("answer", c, 0.9), 2, "zh") == "3.7万亿元[2]。"
    d = Candidate("2020年3月", "date", 0, "")
    assert written_answer(Choice("answer", d, 0.9), 1, "en") == "March 2020 [1]."


def test_scoring_prompt_is_short_and_holds_the_candidates_sentences():
    messages = candidate_messages("完成了多少条线路的建模？", CANDS, "zh")
    user = messages[1]["content"]
    assert user.count("已完成15条线路的建模") == 1 and "完成了多少条线路的建模？" in user
    assert NOT_STATED in messages[0]["content"] and len(user) < 80


# --------------------------------------------------------------------------- in the pipeline


def scorer_pipeline(settings, scores, reply="自由生成的答案[1]。", **changes):
    s = replace(settings, use_llm=True, **changes)
    return Pipeline.load(s, embedder=FakeEmbedder(), generator=FakeScorer(scores, reply))


def test_pipeline_answers_with_the_chosen_figure_without_free_generation(fixture_index):
    p = scorer_pipeline(fixture_index, {"超4.6万个": -0.1, NOT_STATED: -4.0})
    answer = p.ask("2020年深圳建成了多少个5G基站？")
    assert not answer.abstained and answer.text.startswith("超4.6万个[1]"), answer.text
    assert answer.citations[0].doc_id == "zh_5g" and "4.6万" in answer.citations[0].text
    assert p.generator.seen == []  # the answer was not written freely
    assert "超4.6万个" in p.generator.scored[0][1]


def test_a_chosen_span_whose_sentence_says_another_relation_is_withdrawn(fixture_index):
    # the scorer chooses the one figure of the asked kind, but its sentence says base stations
    # were built (建成), not dismantled (拆除): the review withdraws the span
    p = scorer_pipeline(fixture_index, {"超4.6万个": -0.1, NOT_STATED: -4.0}, grounding_check=True)
    answer = p.ask("2020年深圳拆除了多少个5G基站？")
    assert answer.abstained and "拆除" in " ".join(answer.notices), (answer.text, answer.notices)
    assert p.generator.seen == []  # withdrawn after the choice, not written freely


def test_pipeline_english_answer_has_the_figure_converted_by_code(fixture_index):
    p = scorer_pipeline(fixture_index, {"超4.6万个": -0.1, NOT_STATED: -6.0})
    answer = p.ask("2020年深圳建成了多少个5G基站？", lang="en")  # an English answer from a Chinese sentence
    assert not answer.abstained and "46,000" in answer.text and "万" not in answer.text, answer.text


def test_a_reply_in_the_readers_language_counts_for_the_candidate_it_converts(fixture_index):
    # an English reply from a Chinese sentence writes "more than 46,000", not "超4.6万个"
    p = scorer_pipeline(fixture_index, {"more than 46,000": -0.1, NOT_STATED: -3.0})
    answer = p.ask("2020年深圳建成了多少个5G基站？", lang="en")
    assert not answer.abstained and answer.text.startswith("More than 46,000 [1]"), answer.text
    assert p.generator.seen == [] and "more than 46,000" in p.generator.scored[0][1]


def test_candidates_of_another_language_are_scored_under_their_own_languages_instruction(fixture_index):
    # an English question over a Chinese sentence: the reply the options complete copies a
    # Chinese span, so the scoring prompt asks for one in Chinese (an English instruction made
    # "NOT_STATED" the likelier reply to a Chinese name); the answer is still written in English
    from rag.answer.candidates.choice import INSTRUCTION

    p = scorer_pipeline(fixture_index, {"超4.6万个": -0.1, NOT_STATED: -6.0})
    answer = p.ask("How many 5G base stations did Shenzhen build in 2020?")
    messages, _ = p.generator.scored[0]
    assert messages[0]["content"] == INSTRUCTION["zh"]
    assert "How many 5G base stations" in messages[1]["content"]
    assert answer.text.startswith("More than 46,000 [1]"), answer.text


def test_when_not_stated_wins_the_answer_prompt_and_the_review_decide(fixture_index):
    # the scorer says "not stated" as readily for a paraphrase as for a question the sources do
    # not answer: the question is written freely, and the model's NO_ANSWER abstains
    p = scorer_pipeline(fixture_index, {NOT_STATED: -0.05}, reply="NO_ANSWER")
    answer = p.ask("2020年深圳建成了多少个5G基站？")
    assert answer.abstained and answer.trace.stopped_by == "model" and p.generator.seen
    p = scorer_pipeline(fixture_index, {NOT_STATED: -0.05}, reply="超4.6万个[1]。")
    answer = p.ask("2020年深圳建成了多少个5G基站？")
    assert not answer.abstained and answer.text.startswith("超4.6万个[1]") and p.generator.seen


def test_pipeline_tie_falls_back_to_free_generation(fixture_index, monkeypatch):
    import rag.answer.candidates.step

    def two(question, passages, dates=()):  # the evidence sentence and another figure, equally likely
        return [Candidate(t, "figure", 0, passages[0]) for t in ("3.7万亿元", "4.55亿元")]

    monkeypatch.setattr(rag.answer.candidates.step, "extract_candidates", two)
    p = scorer_pipeline(fixture_index, {"3.7万亿元": -1.0, "4.55亿元": -1.0, NOT_STATED: -9.0})
    answer = p.ask("深圳2020年规模以上工业总产值是多少？")
    assert p.generator.scored and p.generator.seen, "a tie is written freely"
    assert answer.text.startswith("自由生成的答案")


def test_setting_off_and_why_questions_skip_the_step(fixture_index):
    p = scorer_pipeline(fixture_index, {"超4.6万个": -0.1}, answer_candidates=False)
    p.ask("2020年深圳建成了多少个5G基站？")
    assert p.generator.scored == [] and p.generator.seen
    p = scorer_pipeline(fixture_index, {"超4.6万个": -0.1})
    p.ask("为什么深圳重视工业互联网应用？")
    assert p.generator.scored == []


def test_a_figure_the_model_writes_without_its_qualifier_is_still_that_candidate(fixture_index):
    # the model would reply "4.6万" rather than the source's "超4.6万个": that form is the candidate's too
    p = scorer_pipeline(fixture_index, {"超4.6万个": -6.0, "4.6万": -0.9, "4.6万个": -1.2, NOT_STATED: -1.0})
    answer = p.ask("2020年深圳建成了多少个5G基站？")
    assert not answer.abstained and answer.text.startswith("超4.6万个[1]"), answer.text
    assert {"4.6万", "4.6万个"} <= set(p.generator.scored[0][1])


def test_a_sentence_naming_no_year_is_shown_with_its_articles_month():
    c = Candidate("超过7.5万个", "figure", 0, "全市累计建设5G基站超过7.5万个。", "2024-01-10")
    user = candidate_messages("截至2024年初，深圳累计建成了多少个5G基站？", [c], "zh")[1]["content"]
    assert "（2024年1月的报道）全市累计建设5G基站超过7.5万个。" in user
    # no year asked: the sentence as it is
    assert "报道" not in candidate_messages("深圳累计建成了多少个5G基站？", [c], "zh")[1]["content"]
    found = extract_candidates(
        "截至2024年初，深圳累计建成了多少个5G基站？", ["全市累计建设5G基站超过7.5万个。"], ["2024-01-10"]
    )
    assert found[0].date == "2024-01-10"


# --------------------------------------------------------------------------- the real scorer


@pytest.mark.models
def test_real_scorer_picks_the_clearly_right_candidate():
    from rag.config import Settings
    from rag.models.generator import LlamaGenerator

    s = Settings()
    if not s.gguf_path.exists():
        pytest.fail("the generator is not prepared: run `python -m rag prepare`")
    generator = LlamaGenerator(s.gguf_path, s.n_ctx, s.n_threads)
    question = "深铁集团的BIM体系完成了多少条既有地铁线路的建模？"
    sentence = "深铁集团已完成15条既有地铁线路的BIM建模，正在建设的39条线路全部采用BIM技术。"
    cands = extract_candidates(question, [sentence])
    options = [c.text for c in cands] + [NOT_STATED]
    scores = generator.candidate_scores(candidate_messages(question, cands, "zh"), options)
    choice = choose(cands, scores)
    assert choice.decision == "answer" and choice.candidate.text == "15条", (options, scores)
    # the prompt is kept: scoring again reads only its last token and gives about the same scores
    # (that token read alone rather than in a batch moves them by a few hundredths to tenths)
    again = generator.candidate_scores(candidate_messages(question, cands, "zh"), options)
    assert all(abs(a - b) < 0.5 for (a, _), (b, _) in zip(again, scores, strict=True)), (again, scores)
    assert choose(cands, again).candidate.text == "15条"
    other = extract_candidates("广州2020年建成了多少个5G基站？", ["2020年，深圳建成5G基站4.76万个。"])
    scores = generator.candidate_scores(
        candidate_messages("广州2020年建成了多少个5G基站？", other, "zh"),
        [c.text for c in other] + [NOT_STATED],
    )
    assert choose(other, scores).decision == "abstain"


def test_a_chinese_answer_quoting_an_english_date_writes_it_the_chinese_way():
    d = Candidate("March 2020", "date", 0, "In March 2020, Bao'an was named a national base.")
    assert written_answer(Choice("answer", d, 0.9), 1, "zh") == "2020年3月[1]。"


def test_a_chinese_duration_is_written_in_english_by_code():
    c = Candidate("一个半月", "duration", 0, "仅用一个半月时间将口罩日产量提升到1000万只。")
    assert written_answer(Choice("answer", c, 0.9), 1, "en") == "1.5 months [1]."


def test_a_name_given_only_in_chinese_is_named_in_english_when_the_dictionary_bears_it_out():
    from rag.answer.candidates.step import write_choice
    from tests.fakes import FakeGenerator

    org = Choice("answer", Candidate("金砖国家未来网络研究院中国分院", "name", 0, "…成为首个国际组织。"), 0.9)
    model = FakeGenerator(reply="China Branch of the BRICS Future Network Institute")
    text = write_choice(model, org, 2, "en", [])
    assert text == f"{model.reply} (金砖国家未来网络研究院中国分院) [2].", text
    # an invented name is not shown: the Chinese alone is
    firm = Choice("answer", Candidate("创维-RGB电子有限公司", "name", 0, "创维-RGB电子有限公司入选。"), 0.9)
    assert write_choice(FakeGenerator(reply="Crayon Ltd"), firm, 1, "en", []) == "创维-RGB电子有限公司 [1]."
    # a Chinese reader, or a name code can write, asks nothing of the model
    quiet = FakeGenerator(reply="unused")
    assert write_choice(quiet, org, 1, "zh", []) == "金砖国家未来网络研究院中国分院[1]。"
    hainan = Choice("answer", Candidate("海南", "item", 0, ""), 0.9)
    assert write_choice(quiet, hainan, 1, "en", []) == "Hainan Province (海南) [1]." and quiet.seen == []


def test_a_date_given_by_the_articles_year_is_a_candidate_written_with_that_year():
    sentence = "今年1月，工业和信息化部发布《工业互联网创新发展行动计划（2021—2023年）》。"
    found = extract_candidates("工信部什么时候发布了这个行动计划？", [sentence], ["2021-03-02"])
    assert found[0].text == "今年1月" and found[0].date == "2021-03-02"
    choice = Choice("answer", found[0], 0.9)
    assert written_answer(choice, 1, "zh") == "2021年1月[1]。"
    assert written_answer(choice, 1, "en") == "January 2021 [1]."
