from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from rag.answer.evidence.change import computed_change
from rag.answer.evidence.pick import EvidencePicker, Part, part_evidence
from rag.answer.pipeline import Pipeline
from rag.answer.question.parts import asks_change, contained_parts, self_contained, split_question
from rag.answer.retrieve.passages import select_passages
from rag.index.build import IndexStore, build_index
from rag.index.spec import chunk_params
from rag.types import Hit
from tests.conftest import make_doc
from tests.fakes import FakeEmbedder, FakeGenerator, FakeScorer

# --------------------------------------------------------------------------- parts of a question


@pytest.mark.parametrize(
    "question,parts",
    [
        (
            "深圳规上工业增加值2020年增长了多少？2023年1—11月又增长了多少？",
            ["深圳规上工业增加值2020年增长了多少？", "2023年1—11月又增长了多少？"],
        ),
        (
            "云工厂报价要多长时间，平台上入驻了多少家制造商？",
            ["云工厂报价要多长时间", "平台上入驻了多少家制造商？"],
        ),
        (
            "深圳2020年和2023年的5G基站分别有多少个？",
            ["深圳2020年的5G基站有多少个？", "深圳2023年的5G基站有多少个？"],
        ),
        (
            "2023年与2020年相比，深圳5G基站增加了多少个？",
            ["2020年，深圳5G基站多少个？", "2023年，深圳5G基站多少个？"],
        ),
        (
            "Who presented Shenzhen's 2020 results, "
            "and who headed the bureau when the 2023 results came out?",
            [
                "Who presented Shenzhen's 2020 results",
                "who headed the bureau when the 2023 results came out?",
            ],
        ),
        (
            "What was China's 2020 index, and how many projects had Shenzhen's funds supported?",
            ["What was China's 2020 index", "how many projects had Shenzhen's funds supported?"],
        ),
        (
            "How many base stations did Shenzhen have in 2020 and 2023 respectively?",
            [
                "How many base stations did Shenzhen have in 2020?",
                "How many base stations did Shenzhen have in 2023?",
            ],
        ),
        (
            "How much did output grow from 2020 to 2023?",
            ["How much did output grow in 2020?", "How much did output grow in 2023?"],
        ),
    ],
)
def test_questions_of_several_parts_are_split(question, parts):
    assert split_question(question) == parts


@pytest.mark.parametrize(
    "question,parts",
    [
        ("宝安区和龙岗区的5G基站分别有多少个？", ["宝安区的5G基站有多少个？", "龙岗区的5G基站有多少个？"]),
        ("深圳工业互联网大会的时间和地点", ["深圳工业互联网大会的时间", "深圳工业互联网大会的地点"]),
        ("比亚迪和华为在哪个区？", ["比亚迪在哪个区？", "华为在哪个区？"]),
        ("平台的主办方和承办方是谁？", ["平台的主办方是谁？", "平台的承办方是谁？"]),
        ("最佳工厂奖和最佳平台奖分别是什么？", ["最佳工厂奖是什么？", "最佳平台奖是什么？"]),
        ("2021年深圳和东莞规上工业总产值", ["2021年深圳规上工业总产值", "2021年东莞规上工业总产值"]),
        ("When and where was the summit held?", ["When was the summit held?", "Where was the summit held?"]),
        (
            "How many base stations did Bao'an and Longgang build, respectively?",
            ["How many base stations did Bao'an build?", "How many base stations did Longgang build?"],
        ),
    ],
)  # fmt: skip
def test_the_same_asked_of_two_joined_things_is_asked_of_each(question, parts):
    # 分别, the question word right after the second thing, or no question word at all: each
    # thing is its own part (the one asked of both, 华为和富士康获得了什么称号, stays whole: below)
    assert split_question(question) == parts


@pytest.mark.parametrize(
    "question",
    [
        "华为和富士康在工业互联网应用方面获得了什么国家级称号？",  # 和 joins names, not questions
        "2018年12月，除了华为和富士康，还有哪家深圳企业入选了平台？",
        "2018-2020年深圳累计投资多少？",  # a period, not two years
        "By how many percentage points did the share rise between 2018 and 2020?",  # the article states it
        "Which company joined Huawei and Foxconn on the list?",
        "疫情初期，深圳用了多长时间把口罩日产量从2万只提升到1000万只？",
    ],
)
def test_questions_of_one_part_stay_whole(question):
    if "between 2018 and 2020" in question:
        assert len(split_question(question)) == 2 and asks_change(question) == ("2018", "2020")
    else:
        assert split_question(question) == [question]


@pytest.mark.parametrize(
    "part,before,whole",
    [
        (
            "到2024年初深圳全市累计有多少个？",
            "宝安区在2021年的报道中建成了多少个5G基站？",
            "到2024年初深圳全市累计有多少个5G基站？",
        ),  # the thing counted
        (
            "2024年初介绍新型工业化成效的局长又是谁？",
            "发布深圳2020年工业成绩单的工信局局长是谁？",
            "深圳2024年初介绍新型工业化成效的工信局局长又是谁？",
        ),  # the full title, and the place
        (
            "how many did Shenzhen have citywide by early 2024?",
            "By the 2021 report, how many 5G base stations had Bao'an district built",
            "how many 5G base stations did Shenzhen have citywide by early 2024?",
        ),
        (
            "who headed the city's industry bureau in 2023?",
            "Who presented Shenzhen's 2020 industrial results",
            "who headed Shenzhen's industry bureau in 2023?",
        ),
    ],
)
def test_an_elliptical_part_takes_what_it_leaves_out_from_the_part_before(part, before, whole):
    assert self_contained(part, before) == whole


@pytest.mark.parametrize(
    "part,before",
    [
        ("现在平台上入驻了多少家制造商？", "云工厂给非标零部件报价要多长时间？"),  # says what it counts
        ("规划面积多大？", "宝安区的工业互联网集聚区选在哪里？"),
        ("同一年工业互联网发展总指数是多少？", "2020年全国工业互联网产业规模有多大？"),
        ("how many projects had Shenzhen's funds supported?", "What was China's 2020 index"),
    ],
)
def test_a_part_that_leaves_nothing_out_is_kept(part, before):
    assert self_contained(part, before) == part


def test_the_parts_are_made_whole_in_turn():
    parts = ["宝安区建成了多少个5G基站？", "到2024年初深圳全市累计有多少个？", "2023年呢有多少个？"]
    assert contained_parts(parts)[1:] == [
        "到2024年初深圳全市累计有多少个5G基站？",
        "深圳2023年呢有多少个5G基站？",
    ]  # the place of the part before


# --------------------------------------------------------------------------- choosing the sentence

# The answer's sentence sits next to one about another year that shares more of the question's
# words: windows ranked by cosine alone showed the neighbour; the asked year tips the choice.
ARTICLE = make_doc(
    "a5g",
    "2023年深圳累计建成5G基站7.5万个。2020年深圳5G基站4.6万个。深圳还建成多功能智能杆9743根。",
    "深圳5G建设",
    date="2024-01-10",
)
QUESTION = "2020年深圳建成了多少个5G基站？"


def _store(tmp_path, docs):
    build_index(docs, FakeEmbedder(), tmp_path, chunk_params(_settings()), progress=False)
    return IndexStore.load(tmp_path)


def _settings():
    from rag.config import Settings

    return Settings()


def _pipeline_settings(tmp_path):
    """Settings for a pipeline over an index built in ``tmp_path``, the answer never withdrawn."""
    return replace(
        _settings(),
        corpus_dir=tmp_path / "c",
        index_dir=tmp_path / "i",
        models_dir=tmp_path / "m",
        min_score=0.1,
        grounding_check=False,
    )


def test_the_sentence_holding_the_answer_is_chosen_over_its_neighbours(tmp_path):
    store = _store(tmp_path, [ARTICLE])
    emb = FakeEmbedder()
    (chunk,) = store.chunks(store.doc_rows("a5g"))
    hits = (Hit(chunk, store.doc("a5g"), 1.0, 1),)
    qv = emb.embed([QUESTION], "query")[0]
    budget = 16  # room for one sentence
    windows = select_passages(hits, qv, emb, 3, budget)
    assert "4.6万" not in windows[0].text  # what the windows showed: a neighbour
    passages, best = EvidencePicker(store, emb).select([Part(QUESTION, qv, hits)], budget)
    assert best[0][0] == "2020年深圳5G基站4.6万个。"
    assert "4.6万" in passages[0].text and "7.5万" not in passages[0].text
    p = passages[0]
    assert p.text == store.doc_text("a5g")[p.start : p.end]  # an exact span of the article, for citations


def test_each_part_gets_its_own_sentence(tmp_path):
    store = _store(tmp_path, [ARTICLE])
    emb = FakeEmbedder()
    (chunk,) = store.chunks(store.doc_rows("a5g"))
    hits = (Hit(chunk, store.doc("a5g"), 1.0, 1),)
    questions = split_question("深圳2020年和2023年的5G基站分别有多少个？")
    parts = [Part(q, emb.embed([q], "query")[0], hits) for q in questions]
    passages, best = EvidencePicker(store, emb).select(parts, 16)
    assert "4.6万" in best[0][0] and "7.5万" in best[1][0]
    shown = "".join(p.text for p in passages)
    assert "4.6万" in shown and "7.5万" in shown


def test_a_sentence_opening_with_a_pronoun_brings_the_one_before(tmp_path):
    doc = make_doc("ctx", "深圳巴士集团是公交企业。它在车辆上加装了300多个传感器。天气很好。", "巴士")
    store = _store(tmp_path, [doc])
    emb = FakeEmbedder()
    (chunk,) = store.chunks(store.doc_rows("ctx"))
    hits = (Hit(chunk, store.doc("ctx"), 1.0, 1),)
    q = "车辆上加装了多少个传感器？"
    passages, _ = EvidencePicker(store, emb).select([Part(q, emb.embed([q], "query")[0], hits)], 24)
    assert passages[0].text == "深圳巴士集团是公交企业。它在车辆上加装了300多个传感器。"


def test_a_sentence_asking_a_question_brings_the_one_after(tmp_path):
    # a Q&A page: the question echoes the reader's and scores best; the answer follows it
    doc = make_doc("qa", "天气很好。《沉香如屑》的主演有谁？主要的演员有杨紫，成毅等人。", "问答")
    store = _store(tmp_path, [doc])
    emb = FakeEmbedder()
    (chunk,) = store.chunks(store.doc_rows("qa"))
    hits = (Hit(chunk, store.doc("qa"), 1.0, 1),)
    q = "《沉香如屑》的主演有谁？"
    passages, _ = EvidencePicker(store, emb).select([Part(q, emb.embed([q], "query")[0], hits)], 24)
    assert passages[0].text == "《沉香如屑》的主演有谁？主要的演员有杨紫，成毅等人。"


def test_a_sentence_said_again_in_another_article_is_not_shown_twice(tmp_path):
    # the same report under two bylines: its heading, shown twice, took the room of the figure
    head = "2022年上半年西藏经济运行情况新闻发布会30日在拉萨举行。"
    docs = [
        make_doc("a", f"贡嘎来松 摄 {head}西藏实现地区生产总值973.24亿元，同比增长4.8%。", "西藏"),
        make_doc("b", f"中新网拉萨7月31日电 (贡嘎来松){head}天气很好。", "西藏经济"),
    ]
    store = _store(tmp_path, docs)
    emb = FakeEmbedder()
    hits = tuple(Hit(store.chunks(store.doc_rows(d))[0], store.doc(d), 1.0, n) for n, d in enumerate("ab"))
    q = "2022年上半年西藏经济运行情况新闻发布会在哪里举行？"
    passages, _ = EvidencePicker(store, emb).select([Part(q, emb.embed([q], "query")[0], hits)], 120)
    shown = "".join(p.text for p in passages)
    assert shown.count("新闻发布会30日在拉萨举行") == 1


def test_a_figure_question_is_shown_the_sentence_with_a_figure_before_headings_naming_its_year(tmp_path):
    # the heading and the sentence after it say the question's words and year, the figure's does not
    text = (
        "2022年上半年西藏经济运行情况新闻发布会在拉萨举行。"
        "今年上半年，西藏经济运行企稳回升，稳中有进。"
        "西藏实现地区生产总值973.24亿元，同比增长4.8%。"
    )
    store = _store(tmp_path, [make_doc("a", text, "西藏")])
    emb = FakeEmbedder()
    hits = (Hit(store.chunks(store.doc_rows("a"))[0], store.doc("a"), 1.0, 0),)
    q = "2022年上半年，西藏经济增长了多少？"
    passages, best = EvidencePicker(store, emb).select([Part(q, emb.embed([q], "query")[0], hits)], 30)
    assert "4.8%" in best[0][0]


# --------------------------------------------------------------------------- computed change


def test_the_difference_is_computed_from_the_two_cited_figures(tmp_path):
    s = _pipeline_settings(tmp_path)
    docs = [
        make_doc(
            "old",
            "2020年深圳建成5G基站超4.6万个，全国领先。\n深圳还建成多功能智能杆9743根。",
            "深圳2020年工业",
        ),
        make_doc(
            "new",
            "截至2023年底，深圳累计建成5G基站7.5万个。\n制造业投资增长59.3%。",
            "深圳新型工业化",
            date="2024-01-10",
        ),
    ]
    emb = FakeEmbedder()
    build_index(docs, emb, s.index_dir, chunk_params(s), progress=False)
    gen = FakeGenerator("7.5万个减去4.6万个是3.1万个[1]。")  # a model's arithmetic: never used
    p = Pipeline.load(s, embedder=emb, generator=gen)
    answer = p.ask("从2020年到2023年，深圳5G基站增加了多少个？")
    assert answer.text == "2020年：4.6万个[1]；2023年：7.5万个[2]。增加2.9万个（按两处数字计算）。"
    assert gen.seen == []  # written by code
    first, second = answer.citations
    assert "4.6万" in first.text and first.doc_id == "old"
    assert "7.5万" in second.text and second.doc_id == "new"
    for c in answer.citations:
        assert c.text == p.store.doc_text(c.doc_id)[c.start : c.end]
    assert answer.unverified_figures == ()
    english = p.ask("How many more 5G base stations did Shenzhen have in 2023 compared with 2020?", lang="en")
    assert english.text == (
        "2020: 46,000 [1]; 2023: 75,000 [2]. An increase of 29,000 (computed from the two figures)."
    )


def test_a_sentence_stating_the_change_itself_is_left_to_the_model():
    q = "By how many percentage points did the share rise between 2018 and 2020?"
    s = "2020年工业数字经济占行业增加值的比重达到了21%，较2018年提高2.7个百分点。"
    assert computed_change(q, ("2018", "2020"), [(s, 1), (s, 1)], "en") is None


def test_multi_part_prompt_lists_the_parts(tmp_path):
    s = _pipeline_settings(tmp_path)
    emb = FakeEmbedder()
    build_index([ARTICLE], emb, s.index_dir, chunk_params(s), progress=False)
    gen = FakeGenerator("4.6万个[1]；7.5万个[1]。")
    p = Pipeline.load(s, embedder=emb, generator=gen)
    p.ask("深圳2020年和2023年的5G基站分别有多少个？")
    user = gen.seen[0][1]["content"]
    assert "这个问题有2问" in user and "(1) 深圳2020年的5G基站有多少个？" in user


def test_an_elliptical_part_finds_its_sentence_with_what_it_leaves_out(tmp_path):
    # the bare part ("…累计有多少个？") matches a sentence about policies of the asked year best;
    # with the thing it counts taken from the part before, the base-station sentence wins
    text = "2024年深圳全市累计发布政策20项。全市累计建设5G基站超过7.5万个。深圳还建成多功能智能杆9743根。"
    doc = make_doc("sz", text, "深圳新型工业化", date="2024-01-10")
    store = _store(tmp_path, [doc])
    emb = FakeEmbedder()
    (chunk,) = store.chunks(store.doc_rows("sz"))
    hits = (Hit(chunk, store.doc("sz"), 1.0, 1),)
    bare = "到2024年初深圳全市累计有多少个？"
    whole = self_contained(bare, "宝安区建成了多少个5G基站？")
    best = {}
    for text in (bare, whole):
        part = Part(text, emb.embed([text], "query")[0], hits, bare)
        _, found = EvidencePicker(store, emb).select([part], 30)
        best[text] = found[0][0]
    assert best[bare] == "2024年深圳全市累计发布政策20项。"  # what the part alone found
    assert best[whole] == "全市累计建设5G基站超过7.5万个。"


def test_a_part_s_own_evidence_is_what_it_scores_near_its_best():
    assert part_evidence([0.2, 0.9, 0.85, 0.1], [3, 1, 2, 0]) == [1, 2]
    assert part_evidence([0.2, 0.9], []) == []


class _PartScorer(FakeScorer):
    """Scores for the part it is asked: Bao'an's count for the Bao'an part, the city's otherwise."""

    def candidate_scores(self, messages, options):
        self.scored.append((messages, list(options)))
        want = "9630个" if "宝安区" in messages[-1]["content"] else "超过7.5万个"
        return [(-0.1 if o == want else -8.0, max(1, len(o))) for o in options]


def test_each_part_is_answered_from_its_own_evidence(tmp_path):
    s = _pipeline_settings(tmp_path)
    docs = [
        make_doc(
            "ba",
            "截至目前，宝安区建成5G基站9630个。宝安区还成立了引导基金。",
            "宝安区工业互联网",
            date="2021-03-01",
        ),
        make_doc(
            "sz",
            "全市累计建设5G基站超过7.5万个。继往开来，2024年深圳将推进新型工业化。",
            "深圳新型工业化",
            date="2024-01-10",
        ),
    ]
    emb = FakeEmbedder()
    build_index(docs, emb, s.index_dir, chunk_params(s), progress=False)
    gen = _PartScorer({}, reply="(1) 超过7.5万个[2]。(2) 超过7.5万个[2]。")  # a free answer: never used
    p = Pipeline.load(s, embedder=emb, generator=gen)
    answer = p.ask("宝安区在2021年的报道中建成了多少个5G基站？到2024年初深圳全市累计有多少个？")
    assert answer.text == "(1) 9630个[1]。\n(2) 超过7.5万个[2]。"
    assert [c.doc_id for c in answer.citations] == ["ba", "sz"]
    assert gen.seen == []  # written by code from the chosen spans
    (first, options1), (second, options2) = gen.scored
    assert "9630" not in second[-1]["content"] and "7.5万" not in first[-1]["content"]  # its own evidence
    assert "5G基站？" in second[-1]["content"]  # asked with what it leaves out


class _TieScorer(FakeScorer):
    """Chooses Bao'an's count for the Bao'an part; leaves the city part undecided (a tie)."""

    def candidate_scores(self, messages, options):
        self.scored.append((messages, list(options)))
        if "宝安区" in messages[-1]["content"]:
            return [(-0.1 if o == "9630个" else -8.0, max(1, len(o))) for o in options]
        return [(-1.0 if o in ("超过7.5万个", "42个") else -8.0, max(1, len(o))) for o in options]


def test_a_part_left_undecided_is_written_freely_from_its_own_evidence(tmp_path):
    s = _pipeline_settings(tmp_path)
    docs = [
        make_doc(
            "ba", "截至目前，宝安区建成5G基站9630个。宝安区还成立了引导基金。", "宝安区", date="2021-03-01"
        ),
        make_doc("sz", "全市累计建设5G基站超过7.5万个，每万人拥有5G基站42个。", "深圳", date="2024-01-10"),
    ]
    emb = FakeEmbedder()
    build_index(docs, emb, s.index_dir, chunk_params(s), progress=False)
    gen = _TieScorer({}, reply="全市累计超过7.5万个[1]。")  # the second part, written from its one passage
    p = Pipeline.load(s, embedder=emb, generator=gen)
    answer = p.ask("宝安区在2021年的报道中建成了多少个5G基站？到2024年初深圳全市累计有多少个？")
    assert answer.text == "(1) 9630个[1]。\n(2) 全市累计超过7.5万个[2]。", answer.text
    assert [c.doc_id for c in answer.citations] == ["ba", "sz"]
    (written,) = gen.seen  # only the undecided part was written freely, from its own passage
    assert "到2024年初深圳全市累计有多少个" in written[-1]["content"] and "9630" not in written[-1]["content"]


# --------------------------------------------------------------------------- across languages

SKYWORTH = make_doc(
    "sky",
    "创维云工厂连接了深圳的上下游企业。创维柔性制造车间的库容量提升了2.5倍。",
    "创维",
)


def test_an_english_question_finds_its_chinese_sentence_through_the_dictionary(tmp_path, monkeypatch):
    import rag.answer.evidence.pick
    import rag.answer.evidence.sentences
    import rag.text.lexicon

    store = _store(tmp_path, [SKYWORTH])
    emb = FakeEmbedder()  # folds "shenzhen" and 深圳 together: the distractor has the city
    (chunk,) = store.chunks(store.doc_rows("sky"))
    hits = (Hit(chunk, store.doc("sky"), 1.0, 1),)
    q = "By how much did the flexible manufacturing workshop in Shenzhen increase storage capacity?"
    parts = [Part(q, emb.embed([q], "query")[0], hits)]
    # the dictionary decides, not the loss of the distractor for holding no figure
    monkeypatch.setattr(rag.answer.evidence.sentences, "_NO_FIGURE", 0.0)
    monkeypatch.setattr(rag.answer.evidence.pick, "cross_scores", lambda q, texts: [0.0] * len(texts))
    _, best = EvidencePicker(store, emb).select(parts, 18)
    assert "云工厂" in best[0][0]  # without the dictionary: the sentence naming the city
    monkeypatch.setattr(rag.answer.evidence.pick, "cross_scores", rag.text.lexicon.cross_scores)
    _, best = EvidencePicker(store, emb).select(parts, 18)
    assert "库容量" in best[0][0]


def test_a_sentence_no_hit_holds_is_brought_by_the_dictionary_across_languages():
    from rag.answer.evidence.sentences import candidate_sentences, lexical_sentences
    from rag.types import Chunk, DocMeta

    text = "创维云工厂连接了上下游企业。天气很好。今天下雨。大家都很忙。创维柔性制造车间的库容量提升了2.5倍。"
    chunk = Chunk("sky#0", "sky", "创维云工厂连接了上下游企业。", 0, 14, "zh")
    hit = Hit(chunk, DocMeta("sky", "", "", "", "zh"), 1.0, 1)
    known = candidate_sentences([hit], {"sky": text})
    assert not any("库容量" in s.text for s in known)  # retrieval's chunk and its neighbour only
    q = "By how much did the flexible manufacturing workshop increase storage capacity?"
    (found,) = lexical_sentences([q], [hit], {"sky": text}, known)
    assert found.text == "创维柔性制造车间的库容量提升了2.5倍。"
    assert text[found.start : found.end] == found.text
    same_language = "创维车间的库容量提升了多少？"
    assert lexical_sentences([same_language], [hit], {"sky": text}, known) == []


class _FlatEmbedder(FakeEmbedder):
    """Every text the same vector: sentences differ only by their words."""

    def embed(self, texts, kind):
        return np.ones((len(texts), self.dim), dtype=np.float32) / np.sqrt(self.dim)


def test_sentences_of_both_languages_are_scored_on_the_same_words_for_an_english_question(tmp_path):
    # The English sentence holds every word of the question the Chinese one speaks of through
    # the dictionary, and "thanks" besides: it must come first. Scored on BM25 alone (a share of
    # a bound the glossary's Chinese expansions raise) against the dictionary's share for the
    # Chinese sentence, it came second.
    english = make_doc(
        "en",
        "The survey covered many firms. "
        "Enterprises improved their product performance thanks to industrial Internet.",
        "Survey",
        lang="en",
    )
    chinese = make_doc("zh", "企业通过工业互联网提升了产品性能。", "调查")
    store = _store(tmp_path, [english, chinese])
    emb = _FlatEmbedder()
    hits = tuple(
        Hit(c, store.doc(d), 1.0, n)
        for n, d in enumerate(["en", "zh"], 1)
        for c in store.chunks(store.doc_rows(d))
    )
    q = "What share of enterprises improved their product performance thanks to industrial internet?"
    _, best = EvidencePicker(store, emb).select([Part(q, emb.embed([q], "query")[0], hits)], 60)
    assert best[0][0].startswith("Enterprises improved")


def test_a_question_naming_the_english_report_is_answered_from_the_english_article(tmp_path):
    s = _pipeline_settings(tmp_path)
    docs = [
        make_doc("zh", "深圳2020年建了4.76万个5G基站。", "深圳工业"),
        make_doc("en", "In 2020 Shenzhen built 46,600 5G base stations.", "Shenzhen industry", lang="en"),
    ]
    emb = FakeEmbedder()
    build_index(docs, emb, s.index_dir, chunk_params(s), progress=False)
    p = Pipeline.load(s, embedder=emb, generator=FakeGenerator("46,600个[1]。"))
    answer = p.ask("根据《深圳日报》英文报道，深圳2020年建了多少个5G基站？")
    assert answer.trace.evidence and all("46,600" in e for e in answer.trace.evidence)
    assert {c.doc_id for c in answer.citations} == {"en"}
    plain = p.ask("深圳2020年建了多少个5G基站？")  # no report named: both languages' articles
    assert any("4.76万" in e for e in plain.trace.evidence)


def test_an_undated_article_is_shown_to_the_candidate_step_as_of_the_month_its_text_implies(tmp_path):
    s = _pipeline_settings(tmp_path)
    text = "在刚刚过去的2023年，深圳工业稳步增长。全市累计建设5G基站超过7.5万个，密度全国领先。"
    build_index(
        [make_doc("sz", text, "深圳新型工业化", date="")], FakeEmbedder(), s.index_dir, chunk_params(s)
    )
    gen = FakeScorer({"超过7.5万个": -0.1})
    p = Pipeline.load(s, embedder=FakeEmbedder(), generator=gen)
    answer = p.ask("截至2024年初，深圳累计建成了多少个5G基站？")
    messages, options = gen.scored[0]
    assert "（2024年1月的报道）全市累计建设5G基站超过7.5万个" in messages[1]["content"]
    assert "超过7.5万个" in options and "7.5万" in answer.text
    assert p.store.doc("sz").date == ""  # the article itself stays undated (its citation says so)


def test_a_part_written_alone_is_shown_only_the_passages_holding_its_candidates():
    from rag.answer.write.draft import holding_candidates

    texts = ["深圳2020年规模以上总产值3.7万亿元，增长2%。", "全市新能源汽车产量总体增长125.8%。"]
    dates = ["2021-01-20", "2024-01-10"]
    part = "how fast did its new energy vehicle production grow in 2023?"
    # the passage that answered the other part holds only 2020's figures: not shown to this one
    assert holding_candidates(part, texts, dates, [1, 3]) == [3]
    # a part no passage holds a candidate for is written from all of its passages
    assert holding_candidates("2025年的目标是多少？", texts, dates, [1, 3]) == [1, 3]
