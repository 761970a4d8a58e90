"""rag.answer.review.verdict and what it calls: answers kept, repaired or withdrawn for the right reasons
(pure functions; the pipeline's use is in test_trust)."""

from __future__ import annotations

import re

import pytest

from rag.answer.review.grounding import off_topic, stated_in_sentence
from rag.answer.review.support import Evidence
from rag.answer.review.trust import unverified_figures
from rag.answer.review.verdict import review
from rag.answer.write.abstention import abstention_text, closest_passages
from rag.text.figures import find_figures
from rag.text.figures_en import english_figures
from rag.text.names import chinese_names, english_form, english_names, name_in_english, pinyin_name
from tests.conftest import make_doc
from tests.fakes import FakeGenerator
from tests.test_trust import load

# The district official: named in the Chinese article only; the English article of the same
# story tells the figures but not the bureau's head.
ZH_OFFICIAL = Evidence(
    "2020年，宝安区建成5G基站9630个。宝安区工业和信息化局局长贾兴东表示，将继续推动工业互联网发展。",
    "宝安工业互联网",
    "2021-01-20",
)
EN_STORY = Evidence(
    "Shenzhen industry and information technology bureau head said the city built 46,600 stations in 2020.",
    "Shenzhen industry",
    "2021-01-21",
)
OFFICIAL_Q = "Who is the director of Bao'an District Industry and Information Technology Bureau?"


@pytest.mark.parametrize(
    "answer",
    ["The head is Jia Xingdong [1].", "Jia Xingdong, head of the Bao'an District Industry Bureau [1]."],
)
def test_english_terms_are_matched_in_a_chinese_sentence_not_held_against_it(answer):
    # the English passage shares more English words with the answer, but the Chinese sentence
    # names the official (贾兴东 is Jia Xingdong) and the district (宝安 is Bao'an)
    assert off_topic(OFFICIAL_Q, answer, [ZH_OFFICIAL, EN_STORY]) == ()
    verdict = review(OFFICIAL_Q, answer, [ZH_OFFICIAL, EN_STORY], "en", cited=1)
    assert verdict.keep, verdict.reasons


def test_a_place_the_chinese_sentence_does_not_name_still_counts_against_it():
    guangzhou = Evidence("2020年，广州建成5G基站4.8万个。", "广州", "2021-01-20")
    assert off_topic("How many base stations did Shenzhen build in 2020?", "48,000 [1].", [guangzhou])


def test_a_name_the_article_gives_only_after_the_answers_sentence_does_not_make_it_the_subject():
    # a sentence on Los Angeles' GDP in an article that lists Shanghai further on
    article = "洛杉矶2021年GDP超8000亿美元，是美国第二大城市。全球城市GDP前四强是纽约、东京、洛杉矶、上海。"
    la = Evidence("洛杉矶2021年GDP超8000亿美元，是美国第二大城市。", "全球城市GDP", "2022-05-01", article)
    verdict = review("上海2021年的GDP是多少？", "超8000亿美元[1]。", [la], "zh")
    assert not verdict.keep and "上海" in verdict.reasons[0]
    # the same sentence after the article has named its subject stands
    named = Evidence(la.text, la.title, la.date, "上海与洛杉矶经济相近。" + article)
    assert review("洛杉矶2021年的GDP是多少？", "超8000亿美元[1]。", [named], "zh").keep


@pytest.mark.parametrize(
    ("question", "sentence", "answer", "kept"),
    [
        ("《重生之门》的导演是谁？", "《重生之门》是王俊凯和张译一起主演的悬疑剧。", "王俊凯[1]。", False),
        ("《重生之门》的导演是谁？", "《重生之门》由导演张艺谋执导。", "张艺谋[1]。", True),
        ("美团2022年第一季度营收是多少？", "2022年美团第一季度亏损减至58亿元。", "58亿元[1]。", False),
        ("美团2022年第一季度营收是多少？", "2022年美团第一季度营业收入为1170亿元。", "1170亿元[1]。", True),
        ("深圳2023年累计建成了多少个5G基站？", "2023年深圳全市累计建设5G基站7.5万个。", "7.5万个[1]。", True),
        # a noun made from a verb (举办地, 获得者, 影片奖) is said by its verb or noun
        ("2023年工博会的举办地", "2023年工博会在深圳国际会展中心举办。", "深圳国际会展中心[1]。", True),
        ("2023年工博会的举办地", "2023年工博会的参展商来自深圳。", "深圳[1]。", False),
        ("2023年深圳科技奖获得者", "深圳科技奖由比亚迪获得。", "比亚迪[1]。", True),
        ("2023年百花奖最佳影片奖", "本届百花奖中电影《长津湖》获得最佳影片。", "《长津湖》[1]。", True),
    ],
)  # fmt: skip
def test_a_sentence_saying_something_else_of_the_subject_than_was_asked_is_withdrawn(
    question, sentence, answer, kept
):
    # the relation asked (导演, 营收, 建成) must be said, as written or in words of the same
    # gloss (建设 "build" for 建成); 主演 and 亏损 are other relations of the same subject
    verdict = review(question, answer, [Evidence(sentence, "", "2023-06-01")], "zh")
    assert verdict.keep == kept, verdict


@pytest.mark.parametrize(
    ("question", "sentence", "answer"),
    [
        ("上海和北京2021年的GDP分别是多少？", "2021年北京GDP达4.03万亿元。", "北京4.03万亿元[1]。"),
        ("美团第一季度的营收和利润分别是多少？", "美团第一季度营收为1170亿元。", "1170亿元[1]。"),
    ],
)  # fmt: skip
def test_a_sentence_on_one_of_two_joined_things_answers_its_part(question, sentence, answer):
    # the question asks of two places (two relations) joined by 和: the sentence on Beijing
    # need not name Shanghai, the one on revenue need not say profit
    ev = [Evidence(sentence, "", "2023-06-01")]
    assert review(question, answer, ev, "zh").keep
    assert stated_in_sentence(question, answer, ev)


def test_a_joined_thing_does_not_forgive_a_name_not_joined():
    # 上海和北京 forgives one of them, not the year or another place
    ev = [Evidence("2021年广州GDP达2.82万亿元。", "", "2022-01-20")]
    verdict = review("上海和北京2021年的GDP分别是多少？", "2.82万亿元[1]。", ev, "zh")
    assert not verdict.keep


def test_a_year_is_implied_by_the_articles_date_for_a_change_between_years():
    q = "深圳5G基站从2020年到2023年增加了多少？"
    earlier = Evidence("2020年深圳建成5G基站4.6万个。", "深圳5G", "2021-01-20")
    later = Evidence("全市累计建成5G基站7.5万个。", "深圳5G", "2024-01-10")  # dated the next year
    answer = "2020年4.6万个[1]，2023年7.5万个[2]，增加2.9万个（由代码计算）。"
    assert off_topic(q, "累计7.5万个[2]", [later]) == ()
    assert review(q, answer, [earlier, later], "zh").keep


def test_a_sentence_naming_another_year_is_still_withdrawn():
    q = "2019年深圳建成多少5G基站？"
    ev = [Evidence("2020年深圳建成5G基站4.6万个。", "深圳5G", "2021-01-20")]
    verdict = review(q, "4.6万个[1]", ev, "zh")
    assert not verdict.keep and "2020" in verdict.reasons[0]


@pytest.mark.parametrize(
    ("answer", "other"),
    [
        ("1/7 [1]", "1/8 [1]"),
        ("about one seventh [1]", "one eighth [1]"),
        ("约14.3%[1]", "约12.5%[1]"),
        ("七分之一[1]", "八分之一[1]"),
    ],
)
def test_fractions_are_found_in_the_cited_passage_whatever_their_form(answer, other):
    passage = "在刚刚过去的2023年,深圳通信基站占全球产量1/2、智能手机占全球产量1/7。"
    assert len(find_figures(answer)) == 1 and unverified_figures(answer, [passage]) == ()
    assert unverified_figures(other, [passage])  # 1/8 is not stated


def test_review_keeps_an_answer_whose_figure_year_and_subject_are_in_its_sentence():
    ev = [Evidence("2023年，深圳智能手机占全球产量1/7。", "深圳制造", "2024-01-10")]
    q = "What share of the world's smartphones did Shenzhen make in 2023?"
    assert stated_in_sentence(q, "1/7 [1]", ev)
    verdict = review(q, "1/7 [1]", ev, "en")
    assert verdict.keep and verdict.held and verdict.unverified == ()
    assert verdict.text == "One seventh (1/7) [1]."  # as an English reader says it


def test_an_answer_of_only_markers_is_withdrawn():
    verdict = review("深圳建成多少基站？", "[1] [2]", [ZH_OFFICIAL], "zh")
    assert not verdict.keep and verdict.reasons


@pytest.mark.parametrize(
    ("chinese", "english"),
    [
        ("建成4.6万个基站", "建成46,000基站"),
        ("3.7万亿元", "3.7 trillion yuan"),
        ("超过5亿元", "more than 500 million yuan"),
        ("超过12亿元", "more than 1.2 billion yuan"),
        ("4.55亿元", "455 million yuan"),
        ("近3万人", "nearly 30,000 people"),  # as 3000人 is "3,000 people"
        ("百分之八十八", "88%"),
    ],
)
def test_chinese_figures_are_written_in_english_by_code(chinese, english):
    assert english_figures(chinese) == english


def test_english_figures_keep_their_values():
    for text in ["超过5亿元", "3.7万亿元", "4.6万个"]:
        (before,), (after,) = find_figures(text), find_figures(english_figures(text))
        assert before.matches(after) and after.matches(before)


def test_english_form_of_a_chinese_name_comes_from_the_same_story_article():
    english = ["Jia Xingdong, director of the Bao'an district bureau, said the plan would continue."]
    assert chinese_names(ZH_OFFICIAL.text) == ("贾兴东",)
    assert english_form("贾兴东", english) == "Jia Xingdong"
    assert name_in_english("贾兴东", english) == "Jia Xingdong"
    text, replaced = english_names("The head is 贾兴东 [1].", [ZH_OFFICIAL.text], english)
    assert text == "The head is Jia Xingdong [1]." and replaced == ("贾兴东",)


def test_english_form_of_a_chinese_name_falls_back_to_pinyin():
    assert pinyin_name("贾兴东") == "Jia Xingdong"
    assert name_in_english("贾兴东", []) == "Jia Xingdong (贾兴东)"
    text, _ = english_names("The bureau is headed by 贾兴东 [1].", [ZH_OFFICIAL.text])
    assert text == "The bureau is headed by Jia Xingdong (贾兴东) [1]."


def test_an_invented_english_name_is_replaced_by_the_sources_name():
    text, replaced = english_names("Jia Xindong heads the bureau [1].", [ZH_OFFICIAL.text])
    assert text == "Jia Xingdong (贾兴东) heads the bureau [1]." and replaced == ("Jia Xindong",)
    # a name unlike the sources' one is replaced only when the question asks who
    assert english_names("Zhang Wei heads it [1].", [ZH_OFFICIAL.text])[0] == "Zhang Wei heads it [1]."
    text, _ = english_names("Zhang Wei heads it [1].", [ZH_OFFICIAL.text], question=OFFICIAL_Q)
    assert text == "Jia Xingdong (贾兴东) heads it [1]."
    # places and words the sources or the question hold are left alone
    same, _ = english_names("Bao'an district built 9,630 [1].", [ZH_OFFICIAL.text], question=OFFICIAL_Q)
    assert same == "Bao'an district built 9,630 [1]."


def test_review_of_an_english_answer_repairs_names_and_figures():
    ev = [ZH_OFFICIAL, Evidence("宝安区投入超过5亿元。", "宝安", "2021-01-20")]
    verdict = review(
        OFFICIAL_Q, "Xindong Jia [1], who spent 超过5亿元 [2].", ev, "en", english_texts=["Jia Xingdong said"]
    )
    assert verdict.text == "Jia Xingdong [1], who spent more than 500 million yuan [2]."


def test_abstention_shows_the_closest_passages_of_different_stories():
    texts = ["深圳很大。智能手机占全球产量1/7。", "宝安区建成5G基站。", "手机产量1/7。"]
    found = closest_passages("深圳智能手机占全球产量多少？", texts, ["a", "b", "a"])
    assert [i for i, _, _ in found] == [0, 1]  # the third is the first one's story again
    i, a, b = found[0]
    assert texts[i][a:b] == "智能手机占全球产量1/7。"
    text = abstention_text("资料中没有找到这个问题的答案。", [texts[i][a:b] for i, a, b in found], "zh")
    assert text.splitlines() == [
        "资料中没有找到这个问题的答案。",
        "未能确认答案；最相关的资料是：",
        "[1] 智能手机占全球产量1/7。",
        "[2] 宝安区建成5G基站。",
    ]
    # an English reply stays English: the Chinese sentences are named, the sources panel shows them
    english = abstention_text("No answer.", [texts[i][a:b] for i, a, b in found], "en").splitlines()
    named = "(a passage in Chinese, shown under the sources)"
    assert english[2:] == [f"[1] {named}", f"[2] {named}"]


# --------------------------------------------------------------------------- in the pipeline

NAMED_ZH = make_doc(
    "n000",
    "深圳2020年规模以上工业总产值3.7万亿元，专项扶持资金4.55亿元，扶持项目1030个。\n"
    "深圳市工业和信息化局局长贾兴东表示，将继续推动工业互联网发展。",
    "深圳工业总产值3.7万亿元",
    date="2021-01-20",
)
NAMED_EN = make_doc(
    "n004",
    "Industrial output reached 3.7 trillion yuan. The bureau funded 1,030 projects with 455 million yuan.\n"
    "Jia Xingdong, director of the bureau, said the push would continue.",
    "City's industrial output takes the lead",
    lang="en",
    date="2021-01-21",
)


def test_english_answer_names_the_official_as_the_same_story_in_english_does(settings):
    p = load(settings, FakeGenerator("Xindong Jia [1]."), docs=[NAMED_ZH, NAMED_EN])
    answer = p.ask("Who is the director of the Shenzhen industry and information technology bureau?")
    assert not answer.abstained, answer.notices
    assert answer.text.startswith("Jia Xingdong")


def test_an_answer_of_only_markers_abstains_showing_the_closest_passages(settings):
    p = load(settings, FakeGenerator("[1] [2]"), docs=[NAMED_ZH, NAMED_EN])
    answer = p.ask("深圳工信局局长是谁？")
    assert answer.abstained and answer.citations
    assert answer.text.startswith("资料中没有找到这个问题的答案。")
    assert "局长贾兴东" in answer.citations[0].text  # the sentence, not the chunk's first words


def test_a_name_broken_by_a_line_break_and_a_place_tagged_as_a_name():
    text = "宝安作为工业大区。宝安区工业和信息化局局长张东\n\n雁告诉记者，宝安区面临挑战。"
    assert chinese_names(text) == ("张东雁",)
    ev = [Evidence(text, "架起工业互联网这座桥")]
    for draft in ["张东雁 [1]", "Dong Zhang [1].", "Zhang Dong [1]."]:  # a bare, reversed or cut name
        verdict = review(OFFICIAL_Q, draft, ev, "en")
        assert verdict.keep and verdict.text.startswith("Zhang Dongyan (张东雁) [1]"), (draft, verdict)


class MisCitingGenerator(FakeGenerator):
    """Answers "1/7" citing a passage of the prompt that does not state it."""

    def stream(self, messages: list[dict], max_tokens: int = 256):
        blocks = re.split(r"\n\n(?=\[\d+\] )", messages[-1]["content"])
        wrong = next(
            re.match(r"\[(\d+)\]", b).group(1) for b in blocks if re.match(r"\[\d+\]", b) and "1/7" not in b
        )
        self.reply = f"1/7 [{wrong}]"
        return super().stream(messages, max_tokens)


def test_a_figure_cited_to_the_wrong_passage_is_cited_to_the_one_that_states_it(settings):
    shares = make_doc(
        "s001", "2023年，深圳智能手机占全球产量1/7，新能源汽车占全球产量1/8。", "深圳制造", date="2024-01-10"
    )
    other = make_doc("s009", "2023年，深圳规模以上工业增加值增长5.5%。", "深圳工业", date="2024-01-10")
    p = load(settings, MisCitingGenerator(), docs=[shares, other])
    answer = p.ask("What share of the world's smartphones did Shenzhen make in 2023?")
    assert not answer.abstained and answer.unverified_figures == (), answer.notices
    assert [c.doc_id for c in answer.citations] == ["s001"] and "1/7" in answer.citations[0].text


# --------------------------------------------------------------------------- keeping right answers


@pytest.mark.parametrize(
    ("question", "draft", "sentence"),
    [
        (
            "疫情初期，深圳用了多长时间把口罩日产量从2万只提升到1000万只？",
            "用了1个半月时间[1]",
            "据报道，疫情暴发初期，深圳仅用一个半月时间推动全市口罩日产量2万只提升至1000万只。",
        ),
        (
            "创维的柔性制造车间把混线转产时间缩短到了多少？",
            "1小时内[1]",
            "创维柔性制造车间的混线转产时间由过去超过4个小时缩短至1个小时内，可辐射15条产线。",
        ),
    ],
)
def test_a_count_written_in_chinese_numerals_or_with_a_measure_word_is_stated(question, draft, sentence):
    verdict = review(question, draft, [Evidence(sentence, "深圳制造", "2021-03-01")], "zh")
    assert verdict.keep, verdict.reasons


def test_a_figure_and_year_in_the_sentence_with_most_of_the_subject_is_kept():
    # "该平台" (the platform) and "比去年同期" say 云工厂 and 同比 in other words
    sentence = "2021年上半年，该平台撮合采购100多亿元，比去年同期增长480%。"
    ev = [Evidence(sentence, "云工厂：线上工厂", "2021-08-01")]
    verdict = review("云工厂平台2021年上半年撮合采购额同比增长了多少？", "480%[1]", ev, "zh")
    assert verdict.keep and verdict.held, verdict.reasons


GROWTH_2020 = Evidence(
    "深圳2020年规模以上工业增加值预计实现增长2%，总产值3.7万亿元。", "深圳工业成绩单", "2021-01-20"
)
GROWTH_2023 = Evidence(
    "2023年1—11月,深圳规模以上工业增加值同比增长5.5%,制造业投资增长59.3%。", "新型工业化", "2024-01-10"
)
TWO_PARTS = "深圳规上工业增加值2020年增长了多少？2023年1—11月又增长了多少？"


def test_each_part_of_a_two_part_answer_is_checked_against_its_own_sentence():
    draft = "(1) 深圳规上工业增加值2020年增长了2%。[1]\n(2) 2023年1—11月又增长了5.5%。[2]"
    verdict = review(TWO_PARTS, draft, [GROWTH_2020, GROWTH_2023], "zh")
    assert verdict.keep and verdict.held, verdict.reasons
    assert verdict.text == draft


def test_a_wrong_part_is_withdrawn_and_the_right_one_kept():
    draft = "(1) 2020年增长了2%。[1]\n(2) 2023年1—11月增长了8.8%。[2]"  # 8.8% is in no passage
    verdict = review(TWO_PARTS, draft, [GROWTH_2020, GROWTH_2023], "zh")
    assert verdict.keep, verdict.reasons
    assert verdict.text.startswith("(1) 2020年增长了2%。[1]") and "8.8%" not in verdict.text
    assert "资料中没有找到这一问的答案" in verdict.text
    assert any(n.startswith("(2)") and "8.8%" in n for n in verdict.notes)


def test_parts_answered_by_repeating_the_question_lose_the_repetition():
    draft = "(1) 深圳规上工业增加值2020年增长了多少？2%[1]\n(2) 2023年1—11月又增长了多少？5.5%[2]"
    verdict = review(TWO_PARTS, draft, [GROWTH_2020, GROWTH_2023], "zh")
    assert verdict.keep and verdict.text == "(1) 2%[1]\n(2) 5.5%[2]", verdict


def test_a_two_part_answer_with_no_part_answered_is_withdrawn():
    draft = "(1) 资料中没有找到。\n(2) 2023年1—11月增长了8.8%。[2]"
    assert not review(TWO_PARTS, draft, [GROWTH_2020, GROWTH_2023], "zh").keep


@pytest.mark.parametrize(
    ("question", "draft", "lang"),
    [
        ("Who is the mayor of Shenzhen?", "The mayor of Shenzhen is Li Jiabin. [1]", "en"),
        ("深圳市长是谁？", "深圳市长是李佳斌。[1]", "zh"),
    ],
)
def test_a_name_no_source_gives_is_withdrawn(question, draft, lang):
    ev = [
        Evidence("深圳市工业和信息化局局长贾兴东昨日透露上述信息。", "深圳工业", "2021-01-20"),
        Evidence("深圳特区报记者 杨少昆 摄", "深圳工业", "2021-01-20"),
    ]
    verdict = review(question, draft, ev, lang)
    assert not verdict.keep
    assert "Li Jiabin" in verdict.reasons[0] or "李佳斌" in verdict.reasons[0]


def test_a_name_the_sources_give_in_the_other_language_is_kept():
    ev = [Evidence("深圳市工业和信息化局局长贾兴东昨日透露上述信息。", "深圳工业", "2021-01-20")]
    verdict = review("Who is the director of Shenzhen's industry bureau?", "Jia Xingdong [1].", ev, "en")
    assert verdict.keep, verdict.reasons


def test_a_rate_given_for_a_count_is_withdrawn_even_from_its_own_sentence():
    ev = [Evidence("2023年1—11月,全市新能源汽车产量总体增长125.8%。", "深圳汽车", "2024-01-10")]
    verdict = review("深圳2023年新能源汽车产量是多少辆？", "产量增长125.8%[1]", ev, "zh")
    assert not verdict.keep and "比率" in verdict.reasons[0]
    assert review("深圳2023年新能源汽车产量增长了多少？", "增长125.8%[1]", ev, "zh").keep


def test_a_two_part_question_is_answered_part_by_part_in_the_pipeline(settings):
    growth = [
        make_doc("g000", GROWTH_2020.text, GROWTH_2020.title, date=GROWTH_2020.date),
        make_doc("g001", GROWTH_2023.text, GROWTH_2023.title, date=GROWTH_2023.date),
    ]
    generator = FakeGenerator("(1) 2020年增长了2%[1]\n(2) 2023年1—11月增长了5.5%[2]")
    answer = load(settings, generator, docs=growth).ask(TWO_PARTS)
    assert not answer.abstained, answer.notices
    assert "2%" in answer.text and "5.5%" in answer.text
    assert "(2) 2023年1—11月又增长了多少？" in generator.seen[0][-1]["content"]  # each part listed


def test_a_real_name_given_for_a_role_its_sentence_does_not_say_is_withdrawn():
    sentence = "Jia Xingdong, director of Shenzhen Industry and Information Bureau, said so."
    ev = [Evidence(sentence, "Output", "2021-01-21")]
    verdict = review("Who is the mayor of Shenzhen?", "The mayor of Shenzhen is Jia Xingdong [1].", ev, "en")
    assert not verdict.keep and "mayor" in verdict.reasons[0]
    assert review("Who is the director of Shenzhen's industry bureau?", "Jia Xingdong [1].", ev, "en").keep


UNDATED_2024 = make_doc(
    "nev",
    "在刚刚过去的2023年，深圳经济稳步增长。全市新能源汽车产量增长125.8%，汽车城加速呈现。",
    "深圳新型工业化",
    date="",
)


@pytest.mark.parametrize(("year", "kept"), [("2023", True), ("2020", False)])
def test_an_undated_articles_sentence_is_read_as_of_the_month_its_text_implies(settings, year, kept):
    # written in 2024-01 or later: a growth it gives without a year is 2023's, not 2020's
    p = load(settings, FakeGenerator("增长125.8%[1]。"), docs=[UNDATED_2024])
    answer = p.ask(f"{year}年深圳新能源汽车产量增长了多少？")
    assert answer.abstained is not kept, answer.text


def test_a_parts_number_is_not_taken_for_a_figure_of_its_answer():
    # "(2)" matched the 2% of the 2020 sentence, which then "did not mention 2023"
    investment = Evidence("全市新能源汽车产量总体增长125.8%，汽车城加速呈现。", "新型工业化", "2024-01")
    question = (
        "What was Shenzhen's industrial output in 2020, "
        "and how fast did its new energy vehicle production grow in 2023?"
    )
    draft = (
        "(1) 3.7 trillion yuan in 2020. [1]\n(2) Shenzhen's new energy vehicles grew by 125.8% in 2023. [1]"
    )
    verdict = review(question, draft, [GROWTH_2020, investment], "en")
    assert verdict.keep and "125.8%" in verdict.text, (verdict.text, verdict.notes)


REPEATED = ("repeated the question", "重复了问题")


@pytest.mark.parametrize(
    ("question", "draft", "lang"),
    [
        ("华为和富士康获得了什么国家级称号？", "华为和富士康获得了国家级称号。[1]", "zh"),
        ("Which facility became the first open-source incubation base?",
         "The facility became the first open-source incubation base. [1]", "en"),
    ],
)  # fmt: skip
def test_an_answer_that_only_repeats_the_question_is_withdrawn(question, draft, lang):
    ev = [Evidence("华为、富士康获得国家级示范企业称号。The Open Source Valley became the first base.")]
    verdict = review(question, draft, ev, lang)
    assert not verdict.keep and any(r in verdict.reasons[0] for r in REPEATED), verdict
    # the same words with the thing asked are an answer; a yes/no question's answer may be its words
    answer = "华为和富士康获得了国家级示范企业称号[1]。"
    assert review("华为和富士康获得了什么国家级称号？", answer, ev, "zh").keep
    kept = review("华为是否成为国家级示范企业？", "华为成为国家级示范企业[1]。", ev, "zh")
    assert kept.keep, kept


def test_a_year_after_the_figure_is_another_clauses_and_the_lead_sentence_gives_the_figures():
    from rag.answer.review.claims import other_year
    from rag.answer.review.grounding import missing_terms

    article = "2021年，上海经济总量实现突破。GDP为43214.85亿元，GDP规模自2017年突破3万亿元以来再上台阶。"
    q = "上海2021年的GDP是多少"
    assert other_year(q, "43214.85亿元[1]", [article]) is None
    assert missing_terms(q, "43214.85亿元", [Evidence(article)]) == ()
    # a sentence naming another year before the figure is still that year's
    assert other_year(q, "38700亿元[1]", ["2020年上海地区生产总值38700亿元。"]) == "2020"


def test_a_figure_given_for_a_name_asked_is_withdrawn():
    # the small model, shown no passage naming the champion, copies the nearest figure
    ev = [Evidence("《长津湖之水门桥》以8.31亿元成为春节档首日票房冠军。", "", "2022-02-02")]
    withdrawn = review("2022年春节档首日票房冠军", "8.31亿元[1]", ev, "zh")
    assert not withdrawn.keep and "名称" in withdrawn.reasons[0]
    assert review("2022年春节档首日票房冠军", "《长津湖之水门桥》[1]", ev, "zh").keep
    assert review("2022年春节档首日票房是多少？", "8.31亿元[1]", ev, "zh").keep


def test_an_answer_of_only_set_phrases_to_a_fact_question_is_withdrawn():
    # the passage praises a result it never names; the small model copies the praise
    ev = [Evidence("行政长官选举依法依规、公平公正，选举结果众望所归、人心所向。", "", "2022-05-10")]
    question = "香港第六任行政长官选举结果？"
    withdrawn = review(question, "香港第六任行政长官选举结果：众望所归、人心所向。[1]", ev, "zh")
    assert not withdrawn.keep and "评价" in withdrawn.reasons[0]
    named = [Evidence("李家超当选香港第六任行政长官，选举结果众望所归。", "", "2022-05-10")]
    assert review(question, "李家超当选，众望所归[1]", named, "zh").keep
    why = review("这次选举的结果有何意义？", "众望所归、人心所向[1]", ev, "zh")  # may be answered so
    assert not any("评价" in r for r in why.reasons)
