from __future__ import annotations

import ast
import threading
import time

import numpy as np
import pytest

from rag.index.bm25 import KeywordIndex
from rag.text.tokens import expand_query, figure_token, normalize, stem, tokenize


def test_chinese_is_cut_by_jieba_in_search_mode_without_stopwords():
    tokens = tokenize("深圳的规上工业总产值是多少？")
    assert tokens[:1] == ["深圳"]
    assert {"产值", "总产值", "工业"} <= set(tokens)
    assert not {"的", "是", "多少", "？"} & set(tokens)


def test_english_words_lower_cased_plurals_folded_stopwords_dropped():
    assert tokenize("How many Base Stations did the cities build?") == ["base", "station", "city", "build"]
    assert tokenize("Shenzhen's industrial output") == ["shenzhen", "industrial", "output"]


def test_mixed_chinese_english_and_emoji():
    assert tokenize("深圳的 GDP and 5G基站 🙂 有多少？") == ["深圳", "gdp", "5g", "基站"]


@pytest.mark.parametrize("a,b", [
    ("4.6万个", "46,000"),  # 万 and a thousands separator
    ("3.7万亿元", "3.7 trillion yuan"),
    ("4.55亿", "455 million"),
    ("４６，６００", "46,600"),  # full width, folded by NFKC
    ("3.70%", "3.7"),
])  # fmt: skip
def test_figures_become_the_same_token_in_both_languages(a, b):
    assert tokenize(a)[0] == tokenize(b)[0]


def test_figure_tokens_and_years():
    assert figure_token("4.6", "万") == "46000"
    assert tokenize("2020年") == ["2020", "年"]
    assert tokenize("1990s U.S.") == ["1990", "u"]  # a decade is a word, stemmed; not a figure


def test_normalize_and_stem():
    assert normalize("ＡＢＣ，１２３") == "abc,123"
    assert [stem(w) for w in ("stations", "bus", "cities", "analysis")] == [
        "station",
        "bus",
        "city",
        "analysis",
    ]


def test_glossary_expansion_in_both_directions():
    assert expand_query("How many 5G base stations did Shenzhen build?") == ["基站", "深圳"]
    assert {"industrial", "internet"} <= set(expand_query("深圳工业互联网"))
    assert expand_query("黑豹队丢了多少分") == []


def test_bm25_ranks_the_matching_chunk_first_and_ignores_unknown_tokens():
    chunks = [
        tokenize(t)
        for t in ("深圳建成5G基站4.6万个", "武汉举办工业互联网大会", "Shenzhen built 46,000 base stations")
    ]
    index = KeywordIndex.build(chunks)
    assert index.search(tokenize("深圳5G基站"), 2)[0][0] == 0
    assert index.search(tokenize("46000 base stations"), 1)[0][0] == 2
    assert index.search(["无此词"], 3) == []
    scores = index.scores(tokenize("深圳5G基站"))
    assert scores.shape == (3,) and scores.max() <= index.best_possible(tokenize("深圳5G基站"))


def test_keyword_index_save_load_round_trip(tmp_path):
    index = KeywordIndex.build([["a", "b"], ["b", "c", "c"], []])
    index.save(tmp_path / "bm25")
    loaded = KeywordIndex.load(tmp_path / "bm25")
    assert np.allclose(loaded.scores(["c", "a"]), index.scores(["c", "a"]))
    empty = KeywordIndex.build([])
    empty.save(tmp_path / "empty")
    assert KeywordIndex.load(tmp_path / "empty").search(["a"], 3) == []


def test_threads_loading_indexes_at_once_parse_one_npy_header_at_a_time(tmp_path, monkeypatch):
    # numpy parses a .npy header with ast.literal_eval; CPython 3.11 raises SystemError when two
    # threads build an AST at once. The parse is slowed so that unserialised loads would overlap.
    KeywordIndex.build([["a", "b"], ["c"]]).save(tmp_path / "bm25")
    inside, most = [0], [0]
    literal_eval = ast.literal_eval

    def slow_literal_eval(text):
        inside[0] += 1
        most[0] = max(most[0], inside[0])
        time.sleep(0.002)
        inside[0] -= 1
        return literal_eval(text)

    monkeypatch.setattr(ast, "literal_eval", slow_literal_eval)
    loaders = [threading.Thread(target=KeywordIndex.load, args=(tmp_path / "bm25",)) for _ in range(4)]
    for t in loaders:
        t.start()
    for t in loaders:
        t.join()
    assert most == [1]


def test_bm25_scores_equal_bm25s_lucene():
    """rag.index.bm25 computes at question time what bm25s precomputes (its Lucene variant)."""
    import random

    import bm25s

    rng = random.Random(0)
    vocab = ["深圳", "基站", "产值", "city", "output", "46000", "工业", "互联网"]
    vocab += [f"w{i}" for i in range(40)]
    docs = [[rng.choice(vocab) for _ in range(rng.randint(1, 30))] for _ in range(150)]
    reference = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
    reference.index(docs, show_progress=False)
    ours = KeywordIndex.build(docs)
    for query in (["深圳", "基站", "深圳"], ["city", "unknown"], ["w7"]):
        assert np.allclose(ours.scores(query), reference.get_scores(query), atol=1e-5)
