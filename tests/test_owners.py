"""Whose a candidate is (rag.answer.candidates.owners) and list answers (rag.answer.candidates.lists):
a span that belongs to something else than the question asks is not offered to the scorer, and
a question asking several things gets the whole list."""

from __future__ import annotations

from rag.answer.candidates.choice import Choice
from rag.answer.candidates.extract import Candidate, disowned, extract_candidates
from rag.answer.candidates.lists import asks_list, whole_list
from rag.answer.candidates.step import widened_to_list
from rag.answer.candidates.writing import written_answer
from rag.answer.review.claims import only_changes
from rag.answer.review.grounding import missing_terms, stated_in_sentence
from rag.answer.review.support import Evidence
from rag.answer.review.verdict import review


def texts(question, passages):
    return [c.text for c in extract_candidates(question, passages)]


def test_a_byline_name_is_no_answer_to_who_did_something():
    passages = ["总台记者 何欣蕾） 据报道，当地时间8日上午，嫌疑人王明开枪。"]
    assert texts("谁开枪了？", passages) == ["王明"]
    dateline = ["下载观察者APP 黄一帆 （观察者网 讯）阿尔巴内塞宣誓就任第31任总理。"]
    assert "黄一帆" not in texts("第31任总理是谁？", dateline)
    # a question about the report's reporter keeps the byline
    assert "何欣蕾" in texts("这篇报道的记者是谁？", passages)


def test_a_figure_given_respectively_belongs_to_its_item():
    s = ["内蒙古、陕西、新疆三地增速分别为36.6%、19.4%、17.8%，其中西藏降幅最大。"]
    assert texts("西藏增速是多少？", s) == []  # each figure is another region's
    assert texts("新疆增速是多少？", s) == ["17.8%"]
    revenue = ["美团、拼多多和百度，一季度营收分别为586亿、376亿和311亿。"]
    assert texts("百度一季度营收是多少？", revenue) == ["311亿"]
    # a run of figures without 分别 pairs with the list too; a lone figure is nobody's in particular
    s2 = ["深圳、东莞增速为8%、6%，全省增速为5%。"]
    assert texts("东莞增速是多少？", s2) == ["6%", "5%"]


def test_a_change_is_no_answer_to_a_level():
    s = ["与去年1078万人相比，今年报名人数增加115万，总数增长到1193万人。"]
    assert "115万" not in texts("今年报名人数是多少？", s)
    assert "1193万人" in texts("今年报名人数是多少？", s)
    assert "115万" in texts("今年报名人数增加了多少？", s)
    # a question asking how much something improved or was cut asks a change, in either language
    cloud = ["云工厂让结构件的制造效率提升了50%，成本降低了30%。"]
    assert "50%" in texts("How much did the Cloud Factory improve manufacturing efficiency?", cloud)
    # "taking up one fifth" is a share, not a change
    share = [Evidence("Huawei, Foxconn and Tencent were selected, taking up one fifth of the list.")]
    assert review(
        "Which three platforms were selected?", "Huawei, Foxconn and Tencent, one fifth [1].", share, "en"
    ).keep
    en = ["Output grew by 2% to 3.7 trillion yuan."]
    assert texts("How much was the output?", en) == ["3.7 trillion yuan"]
    assert "2%" in texts("By how much did output grow?", en)


def test_a_model_code_must_be_in_the_answers_sentence():
    # a Chinese article writes MIX4 in Latin letters too: not a term of the other language
    q = "小米MIX4的处理器是什么"
    assert missing_terms(q, "骁龙855", [Evidence("搭载骁龙855处理器的小米旗舰将拥有超频技术。")]) == ("mix4",)
    assert missing_terms(q, "骁龙888Plus", [Evidence("小米MIX4搭载骁龙888Plus处理器。")]) == ()


def test_a_list_question_is_answered_with_the_whole_list():
    s = "《好好说话》由杨栋执导，陈晓、王晓晨领衔主演，王耀庆、曾黎、倪大红等主演。"
    assert asks_list("《好好说话》的主演有哪些？") and not asks_list("《好好说话》的导演是谁？")
    assert whole_list(s, "曾黎", ["主演"]) == ["陈晓", "王晓晨", "王耀庆", "曾黎", "倪大红"]
    chosen = Choice("answer", Candidate("曾黎", "name", 0, s), 0.9)
    listed = widened_to_list("《好好说话》的主演有哪些？", chosen)
    assert written_answer(listed, 1, "zh") == "陈晓、王晓晨、王耀庆、曾黎、倪大红[1]。"
    assert written_answer(listed, 1, "en").startswith("Chen Xiao (陈晓), Wang Xiaochen (王晓晨), ")
    # a question asking one thing keeps the one name
    assert widened_to_list("《好好说话》的导演是谁？", chosen) == chosen


def test_a_foreign_name_with_a_middle_dot_is_one_persons_name():
    s = ["新华社电（记者胡晓明）印度新当选总统德劳帕迪·穆尔穆25日宣誓就职。", "莫迪政府将面临更多压力。"]
    found = texts("2022年印度新当选总统是谁？", s)
    assert "德劳帕迪·穆尔穆" in found and "胡晓明" not in found
    valley = ["深圳·国际开源谷成为国内首个开源孵化基地。"]
    assert "深圳·国际开源谷" in texts("哪个基地成为首个开源孵化基地？", valley)


def test_a_conversion_into_another_currency_answers_only_a_question_asking_that_currency():
    s = ["深圳规模以上总产值3.7万亿元（人民币，约7585亿新元）左右。"]
    assert texts("What was Shenzhen's industrial output value in 2020?", s) == ["3.7万亿元"]
    assert texts("深圳总产值折合多少新元？", s) == ["约7585亿新元"]


def test_the_amount_a_source_reports_is_offered_not_its_conversion_in_brackets():
    s = ["微软以现金收购动视暴雪，总交易额达687亿美元（约合人民币4364亿元）。"]
    assert texts("微软花了多少钱收购动视暴雪？", s) == ["687亿美元"]


def test_the_outlet_a_question_names_is_no_term_the_answers_sentence_must_say():
    q = "Who is the director of the bureau quoted in the Shenzhen Daily article?"
    ev = [Evidence("Jia Xingdong, director of the bureau, said it was the second year at the top.")]
    assert missing_terms(q, "Jia Xingdong", ev) == ()
    elsewhere = "Who is the director of the bureau in Shanghai?"
    assert missing_terms(elsewhere, "Jia Xingdong", ev) == ("shanghai",)


def test_the_review_withdraws_a_written_change_given_for_a_level_and_a_span_of_another_model():
    from rag.answer.review.relation import not_asked

    ev = [Evidence("与去年1078万人相比，今年高考报名人数增加115万，竞争更加激烈。")]
    withdrawn = review("今年高考报名人数是多少？", "今年高考报名人数为115万。[1]", ev, "zh")
    assert not withdrawn.keep and "增加或减少" in withdrawn.reasons[0]
    assert review("今年高考报名人数增加了多少？", "增加了115万。[1]", ev, "zh").keep
    # a span chosen from a sentence about another phone model than asked
    other = [Evidence("搭载骁龙855处理器的小米旗舰将拥有超频技术。")]
    assert not_asked("小米MIX4的处理器是什么", "骁龙855[1]", other) == ("mix4",)
    mix4 = [Evidence("小米MIX4搭载骁龙888Plus处理器。")]
    assert not_asked("小米MIX4的处理器是什么", "骁龙888Plus[1]", mix4) == ()
    # and a freely written answer from that sentence is not held as stated there
    assert not stated_in_sentence("小米MIX4的处理器是什么", "骁龙855处理器[1]", other)
    spaced = [Evidence("小米手机Xiaomi MIX 4采用骁龙888处理器。")]  # the code written with a space
    assert missing_terms("小米MIX4的处理器是什么", "骁龙888", spaced) == ()
    said = [Evidence("小米MIX4搭载骁龙888处理器。")]
    assert stated_in_sentence("小米MIX4的处理器是什么", "骁龙888处理器[1]", said)


def test_a_date_in_a_clause_about_another_work_is_not_the_asked_works():
    s = ["开发商计划于8月25日发售《装甲核心6》，同时也在开发《艾尔登法环》的首个付费DLC。"]
    assert texts("艾尔登法环发售日期", s) == []
    assert texts("《装甲核心6》的发售日期", s) == ["8月25日"]
    # a question naming none of the sentence's works keeps its spans
    assert texts("开发商计划什么时候发售新游戏？", s) == ["8月25日"]


def test_a_name_introduced_by_another_role_is_not_the_role_asked():
    s = ["本届电影节大使郭富城表示，《七人乐队》云集了七位大导演。", "该片由导演王晶执导。"]
    assert texts("《七人乐队》的导演是谁？", s) == ["王晶"]
    assert "郭富城" in texts("电影节大使是谁？", s)
    assert texts("发布成绩单的局长是谁？", ["局长贾兴东透露上述信息。"]) == ["贾兴东"]


def test_an_elliptical_follow_up_asks_neither_a_level_nor_a_change():
    # "制造业投资呢？" after "增加值同比增长多少？" asks the growth again: its change is kept
    s = ["2023年1—11月，深圳规模以上工业增加值同比增长5.5%，制造业投资增长59.3%。"]
    assert "59.3%" in texts("制造业投资增长了多少？", s)
    assert not only_changes("制造业投资呢？", "制造业投资增长59.3%。[1]", s)
    assert only_changes("制造业投资是多少？", "59.3%[1]", s)


def test_a_share_answers_only_a_question_asking_a_share():
    s = ["2021年，河南夏粮总产量占全国的26.1%，比上年增长2.5%。"]
    assert "26.1%" not in texts("河南2021年的粮食总产量是多少？", s)
    assert "26.1%" not in texts("2021年河南夏粮产量增长了多少？", s)
    assert "26.1%" in texts("2021年河南夏粮产量占全国的比重是多少？", s)
    hk = ["25年后的2021年，香港GDP只是大陆的2%。"]
    assert "2%" not in texts("2021年香港GDP增长了多少？", hk)


def test_a_former_holder_is_no_answer_to_who_holds_the_title():
    s = ["诺瓦克·德约科维奇和大坂直美分别是男女单打卫冕冠军。"]
    assert texts("2022年澳网男单冠军是谁？", s) == []
    assert "诺瓦克·德约科维奇" in texts("澳网男单卫冕冠军是谁？", s)


def test_a_question_naming_a_role_asks_a_person_and_one_naming_a_title_is_checked_as_a_name():
    s = ["《四海》由韩寒执导，《后会无期》也是他的作品。"]
    assert texts("电影《四海》的导演", s) == ["韩寒"]  # a person's role asks a person, not a work
    # a title (冠军) may be held by a team, a film or a person: written freely, reviewed as a name
    assert texts("2022年春节档首日票房冠军", ["《长津湖之水门桥》领跑春节档。"]) == []
    held = [Evidence("诺瓦克·德约科维奇和大坂直美分别是男女单打卫冕冠军。", "澳网", "2022-01-10")]
    assert not review("2022年澳网男单冠军", "诺瓦克·德约科维奇[1]", held, "zh").keep
    assert review("澳网男单卫冕冠军", "诺瓦克·德约科维奇[1]", held, "zh").keep


def test_a_figure_keeps_its_unit_of_weight_or_currency():
    s = ["2021年，河南粮食总产量为1308.84亿斤，比上年减少56.32亿斤。"]
    assert texts("河南2021年的粮食总产量是多少？", s)[0] == "1308.84亿斤"
    assert texts("微软花了多少钱收购动视暴雪？", ["交易价值近700亿美金。"]) == ["近700亿美金"]


def test_a_year_in_a_title_does_not_date_a_figure():
    s = ["“中国统计年鉴2021”显示，2020年中国人口出生率为8.52‰，为首次跌破10‰。"]
    assert texts("我国2021年人口出生率是多少？", s) == []
    assert "8.52‰" in texts("我国2020年人口出生率是多少？", s)
    # a year after the figure is another clause's: the article's date tells
    gdp = ["GDP为43214.85亿元，自2017年突破3万亿元以来再上台阶。"]
    assert [c.text for c in extract_candidates("上海2021年的GDP是多少？", gdp, ["2022-01-20"])] == [
        "43214.85亿元"
    ]


def test_a_free_answer_copying_a_span_the_sources_give_to_something_else_is_withdrawn():
    year = [Evidence("“中国统计年鉴2021”显示，2020年中国人口出生率为8.52‰。", "统计", "2022-01-10")]
    v = review("我国2021年人口出生率是多少？", "我国2021年人口出生率为8.52‰[1]。", year, "zh")
    assert not v.keep and "2020" in v.reasons[0]
    share = [Evidence("2021年，河南夏粮总产量占全国的26.1%。", "河南", "2021-12-11")]
    v = review("河南2021年的粮食总产量是多少？", "26.1%[1]。", share, "zh")
    assert not v.keep and "别的" in v.reasons[0]
    # the same figure asked as a share stands
    assert review("2021年河南夏粮总产量占全国多少？", "26.1%[1]。", share, "zh").keep


def test_this_year_in_a_dated_article_is_the_article_s_year():
    s = ["从营收来看，美团、拼多多和百度，今年一季度营收分别为586亿、376亿和311亿。"]
    assert texts("美团2022年第一季度营收是多少？", s) == ["586亿"]  # undated: may be 2022's
    dated = [c.text for c in extract_candidates("美团2022年第一季度营收是多少？", s, ["2023-05-27"])]
    assert dated == []  # 今年 is 2023 in an article of May 2023
    assert [c.text for c in extract_candidates("美团2023年第一季度营收是多少？", s, ["2023-05-27"])] == [
        "586亿"
    ]
    # 比去年 compares with last year: the figure is still this year's
    growth = ["今年一季度营收为586亿，比去年同期增长26%。"]
    assert "26%" in [c.text for c in extract_candidates("2023年一季度营收增长多少？", growth, ["2023-05-27"])]


def test_a_figure_of_another_statistic_or_part_of_the_year_is_not_offered():
    fiscal = "上半年财政收入整体下滑，其中青海（-21.0%）、西藏（-24.2%）增速降幅最大。"
    gdp = "上半年，西藏地区生产总值同比增长4.8%。"
    assert texts("上半年西藏经济增长了多少？", [fiscal]) == []
    assert texts("上半年西藏经济增长了多少？", [fiscal, gdp]) == ["4.8%"]
    assert "-24.2%" in texts("上半年西藏财政收入增长了多少？", [fiscal])  # a fall is a figure too
    byd = "比亚迪前三季度营收同比增长57.75%，净利润同比增长129.47%。"
    assert texts("比亚迪前三季度净利润增长多少？", [byd]) == ["129.47%"]
    assert texts("How much did BYD's revenue grow in the first three quarters?", [byd]) == ["57.75%"]
    year = "全年国内生产总值增长3.0%。分季度看，一季度同比增长4.8%，二季度增长0.4%。"
    assert texts("一季度中国经济增长率是多少", [year]) == ["4.8%"]
    assert texts("中国经济增长率是多少", [year]) == ["3.0%", "4.8%", "0.4%"]  # no part of the year asked


def test_a_free_answer_giving_another_statistics_figure_is_disowned_though_the_question_names_h1():
    # 上半年 names a part of the year, not a duration of half a year the answer would also give
    fiscal = ["2022年上半年财政收入整体下滑，其中青海（-21.0%）、西藏（-24.2%）增速降幅最大。"]
    assert disowned("2022年上半年，西藏经济增长了多少？", "2022年上半年，西藏经济增长了-24.2%。[1]", fiscal)
    assert not disowned("2022年上半年，西藏财政收入增长了多少？", "下降了24.2%，为-24.2%。[1]", fiscal)


def test_a_duration_answers_a_figure_question_but_not_one_asking_a_growth_or_a_rate():
    s = ["2021年中国经济增长8.1%，为近15年来的较高水平，审批时间缩短到3天。"]
    assert texts("2021年中国经济增长了多少？", s) == ["8.1%"]
    assert "3天" in texts("2021年审批时间缩短到了多少？", s)


def test_a_forecast_answers_only_a_question_asking_one_or_a_year_already_over():
    forecast = "路透社调查显示，预计2022年一季度中国经济同比增速4.4%。"
    outcome = "2022年一季度国内生产总值同比增长4.8%。"
    assert texts("2022年一季度中国经济增长率是多少", [forecast, outcome]) == ["4.8%"]
    assert texts("2022年一季度中国经济预计增长多少", [forecast]) == ["4.4%"]
    preliminary = "深圳2020年规模以上工业增加值预计实现增长2%。"  # written in January 2021
    q = "深圳2020年规上工业增加值增长了多少？"
    assert [c.text for c in extract_candidates(q, [preliminary], ["2021-01-20"])] == ["2%"]
    assert [c.text for c in extract_candidates(q, [preliminary], ["2020-06-01"])] == []


def test_a_span_said_twice_is_offered_with_the_sentence_saying_more_of_the_question():
    q = "塔里木油田2021年的油气产量是多少？"
    passages = ["2021年，油田油气产量达到3182万吨油当量。", "塔里木油田2021年油气产量达到3182万吨历史新高。"]
    (c,) = [c for c in extract_candidates(q, passages) if c.text == "3182万吨"]
    assert c.passage == 1 and "塔里木" in c.sentence  # the citation then names the oilfield asked about
    scores = ["Minerva获得了50%的分数。", "Minerva的准确率高达50%。"]
    (c,) = extract_candidates("Minerva的准确率是多少？", scores)
    assert c.passage == 1  # the relation asked (准确率) before the shared words


def test_a_name_the_cited_article_leaves_out_is_forgiven_when_another_passage_ties_it_to_the_answer():
    from rag.answer.review.relation import not_asked

    q = "谷歌Minerva模型在MATH数据集上的准确率是多少？"
    cited = Evidence("Minerva在MATH上的准确率高达50%，在GSM8K上接近80%。")
    tie = Evidence("谷歌创建的一个名为Minerva的模型在MATH数据集中获得了50%的分数。")
    assert not_asked(q, "50%[1]", [cited], 1) == ("谷歌",)
    assert not_asked(q, "50%[1]", [cited, tie], 1) == ()
    # another passage naming the company but giving another figure ties nothing
    other = Evidence("谷歌创建的一个名为Minerva的模型在MATH数据集中获得了43%的分数。")
    assert not_asked(q, "50%[1]", [cited, other], 1) == ("谷歌",)
    # nor does it forgive a cited sentence naming none of the question's names
    llama = Evidence("这个模型的准确率高达50%。")
    assert not_asked(q, "50%[1]", [llama, tie], 1) != ()


def test_a_rate_asked_is_said_by_the_verb_it_measures():
    from rag.answer.review.relation import not_asked

    q = "2022年一季度中国经济增长率是多少"
    assert not_asked(q, "4.8%[1]", [Evidence("分季度看，中国一季度同比增长4.8%。")]) == ()
    assert not_asked(q, "4.8%[1]", [Evidence("分季度看，中国一季度消费占比4.8%。")]) == ("增长率",)
