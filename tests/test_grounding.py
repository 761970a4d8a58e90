"""rag.answer.review.grounding: is the answer about what was asked? (pure functions; see also test_trust)."""

from __future__ import annotations

import pytest

from rag.answer.review.grounding import missing_terms, off_topic, ungrounded
from rag.answer.review.support import Evidence, support
from rag.answer.review.terms import Term, covered, key_terms, sub_questions


@pytest.mark.parametrize(
    ("question", "terms"),
    [
        ("印控克什米尔地区寺庙踩踏事故死亡人数", ["印控", "克什米尔地区", "寺庙", "事故"]),
        ("2021年中国城镇新增就业了多少人", ["2021", "中国", "城镇"]),
        ("深圳2020年规上工业总产值是多少？", ["深圳", "2020", "规上", "工业", "总产值"]),
        ("What is the population of Tokyo?", ["population", "tokyo"]),
        (
            "How many 5G base stations did Shenzhen build in 2020?",
            ["5g", "base", "station", "shenzhen", "build", "2020"],
        ),
    ],
)
def test_key_terms_leave_out_what_is_asked(question, terms):
    assert [t.text for t in key_terms(question)] == terms


def test_names_are_marked_proper():
    terms = {t.text: t.proper for t in key_terms("美国2021年GDP增长多少")}
    assert terms["美国"] and terms["gdp"] and not terms["2021"]


def test_support_finds_the_sentence_by_figure_value_across_forms():
    sources = ["深圳很大。全市建成5G基站46,000个。", "Shenzhen built 46,000 base stations."]
    assert support("深圳建成多少5G基站？", "超4.6万个[1]", sources) == [(0, 1), (1, 0)]
    assert support("深圳建成多少5G基站？", "深圳建成5G基站[1]", sources) == []  # nothing of its own


def test_a_stampede_elsewhere_does_not_answer_for_kashmir():
    q = "印控克什米尔地区寺庙踩踏事故死亡人数"
    wrong = Evidence("一个多月前，印度拉贾斯坦邦一座寺庙的入口处发生踩踏事故，造成3人死亡，2人受伤。")
    right = Evidence("印控克什米尔地区一座寺庙1日凌晨发生踩踏事故，造成12人死亡。")
    assert off_topic(q, "3人[1]", [wrong]) == ("印控", "克什米尔地区")
    assert off_topic(q, "12人[1]", [right]) == ()


@pytest.mark.parametrize(
    ("term", "context"),
    [
        ("规上", "规模以上工业"),
        ("工信", "工业和信息化局"),
        ("澳网", "澳大利亚网球公开赛"),
        ("冬奥会", "冬季奥林匹克运动会"),
        ("世锦赛", "国际乒联世界乒乓球团体锦标赛将于9月30日举行"),  # 世 and 锦 six apart, one name
    ],
)
def test_abbreviations_are_covered_by_their_full_form(term, context):
    assert covered(Term(term, False, "zh"), context, set())


def test_characters_spread_over_other_words_make_no_abbreviation():
    assert not covered(Term("世锦赛", False, "zh"), "世界杯结束后，全国乒乓球锦标赛开幕", set())
    assert not covered(Term("世锦赛", False, "zh"), "世界各地的乒乓球爱好者都在关注这次全国锦标赛", set())


@pytest.mark.parametrize(
    ("context", "spelled"),
    [
        ("the national development and reform commission said", True),
        ("approved by the National Development and Reform Commission.", True),
        ("approved by the national development and reform, the city said", True),  # shortened, ended
        ("national development plans were reformed", False),
        ("the commission said", False),
    ],
)
def test_an_acronym_is_covered_by_the_name_it_abbreviates(context, spelled):
    (term,) = [t for t in key_terms("What did NDRC approve?") if t.acronym]
    assert term.proper and covered(term, context.casefold(), set(context.casefold().split())) is spelled


def test_an_answer_is_kept_when_its_sentence_writes_out_the_acronym_of_the_question():
    q = "Which two cities made NDRC's pilot list in 2021?"
    ev = Evidence(
        "In 2021, Shenzhen and Xiamen were selected into the pilot list of "
        "National Development and Reform Commission."
    )
    assert off_topic(q, "Shenzhen and Xiamen [1]", [ev]) == ()
    other = Evidence(
        "In 2021, Shenzhen and Xiamen were selected into the pilot list of the provincial government."
    )
    assert "ndrc" in off_topic(q, "Shenzhen and Xiamen [1]", [other])


def test_a_name_counts_when_the_article_names_it_outside_the_passage():
    passage = "客户平均满意度达到95%以上。"
    article = "银宝山新是一家模具企业。" + "它用上了云平台。" * 5 + passage
    q = "银宝山新用上云平台后，客户平均满意度达到了多少？"
    assert off_topic(q, "95%[1]", [Evidence(passage, "工业互联网", "", article)]) == ()


@pytest.mark.parametrize(
    ("sentence", "date", "fits"),
    [
        ("2020年深圳建成5G基站4.6万个。", "", True),
        ("2019年深圳建成5G基站4.6万个。", "", False),  # the sentence names another year
        ("全市建成5G基站4.6万个。", "2021-01-20", True),  # the article is of the next year
        ("全市建成5G基站4.6万个。", "2024-01-20", False),
        ("全市建成5G基站4.6万个。", "", True),  # nothing says otherwise
    ],
)
def test_year_of_the_question_against_the_sentence_and_the_date(sentence, date, fits):
    missing = missing_terms("深圳2020年建成多少5G基站？", "4.6万个", [Evidence(sentence, "深圳", date)])
    assert ("2020" not in missing) is fits


def test_one_answered_part_of_a_two_part_question_is_enough():
    q = "宝安区建成了多少个5G基站？到2024年初深圳全市累计有多少个？"
    ev = [Evidence("宝安区建成5G基站9630个。", "宝安", "2021-06-01")]
    assert sub_questions(q) == ["宝安区建成了多少个5G基站？", "到2024年初深圳全市累计有多少个？"]
    assert off_topic(q, "9630个[1]", ev) == ()


def test_terms_of_the_other_language_are_not_held_against_a_passage():
    ev = [Evidence("2020年深圳建成5G基站超4.6万个。", "深圳工业", "2021-01-20")]
    assert off_topic("How many 5G base stations did Shenzhen build in 2020?", "Over 46,000 [1].", ev) == ()
    question = "How many 5G base stations did Shenzhen build in 2019?"
    assert off_topic(question, "Over 46,000 [1].", ev) == ("2019",)


def test_verdict_withdraws_invented_figures_and_keeps_supported_ones():
    ev = [Evidence("香港GDP在1997年达到高点。")]
    assert "4.6%" in ungrounded("2021年香港GDP增长了多少？", "增长了4.6%[1]。", ev, "zh")
    ev = [Evidence("2021年香港GDP增长6.4%。", "香港经济")]
    assert ungrounded("2021年香港GDP增长了多少？", "增长了6.4%[1]。", ev, "zh") == ""
    assert "2020" in ungrounded(
        "2021年香港GDP增长了多少？", "6.4%[1]", [Evidence("2020年香港GDP增长6.4%。", "香港经济")], "en"
    )


def test_a_hyphenated_term_is_found_as_the_words_it_is_read_as_and_a_number_word_is_no_term():
    from rag.text.tokens import normalize, tokenize

    terms = {t.text: t for t in key_terms("Which three platforms joined the cross-industry list?")}
    assert "three" not in terms  # how many the answer names, not what its sentence must say
    context = normalize("Huawei, Foxconn and Tencent joined the list of cross-industry platforms.")
    assert covered(terms["cross-industry"], context, set(tokenize(context)))
    assert not covered(terms["cross-industry"], "cross-border trade", set(tokenize("cross-border trade")))
