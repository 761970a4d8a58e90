from __future__ import annotations

import pytest

from rag.index.chunking import ChunkParams, chunk_document, chunk_spans, sentence_spans
from tests.conftest import make_doc
from tests.fakes import FakeEmbedder

count = FakeEmbedder().count_tokens


def texts(text: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text)]


def test_chinese_sentences_end_at_full_width_punctuation():
    assert texts("深圳建成5G基站4.6万个。增长了吗？是的！“好。”下一句；最后…") == [
        "深圳建成5G基站4.6万个。",
        "增长了吗？",
        "是的！",
        "“好。”",
        "下一句；",
        "最后…",
    ]


def test_english_keeps_decimals_and_abbreviations():
    assert texts("It grew 3.7 percent in the U.S. economy. Dr. Li agreed. Done!") == [
        "It grew 3.7 percent in the U.S. economy.",
        "Dr. Li agreed.",
        "Done!",
    ]


def test_mixed_text_emoji_and_line_breaks():
    t = "Shenzhen 深圳 built 46,600 stations 🎉。Then 2021 came.\n第二段 full-width，标点！"
    assert texts(t) == [
        "Shenzhen 深圳 built 46,600 stations 🎉。",
        "Then 2021 came.",
        "第二段 full-width，标点！",
    ]


@pytest.mark.parametrize(
    "lang,text",
    [
        ("zh", "深圳工业互联网发展迅速。" * 60),
        ("en", "Shenzhen's industrial internet grows fast. " * 60),
        ("zh", "深圳 built 4.6万 base stations 😀。Mixed text！" * 40),
    ],
)
def test_chunks_are_exact_slices_within_limits(lang, text):
    doc = make_doc("d1", text, lang=lang)
    params = ChunkParams(target=60, overlap=12, max_tokens=80)
    chunks = chunk_document(doc, count, params)
    assert len(chunks) > 3
    for i, c in enumerate(chunks):
        assert c.chunk_id == f"d1#{i}"
        assert doc.text[c.start : c.end] == c.text
        assert count(c.text) <= params.max_tokens
    # every character of text (except whitespace) is covered
    covered = set()
    for c in chunks:
        covered.update(range(c.start, c.end))
    assert all(i in covered for i, ch in enumerate(doc.text) if not ch.isspace())
    # consecutive chunks overlap
    assert all(b.start < a.end for a, b in zip(chunks, chunks[1:], strict=False))


def test_a_sentence_longer_than_the_cap_is_cut():
    text = "很长" * 500  # no punctuation at all
    spans = chunk_spans(text, count, ChunkParams(target=100, overlap=0, max_tokens=120))
    assert len(spans) >= 8
    assert all(count(text[a:b]) <= 120 for a, b in spans)
    assert "".join(text[a:b] for a, b in spans) == text


def test_chunk_language_follows_its_text():
    text = "深圳工业总产值居首位。\nThe English part of the report is long enough here."
    doc = make_doc("m", text, lang="zh")
    chunks = chunk_document(doc, count, ChunkParams(target=5, overlap=0, max_tokens=40))
    assert [c.lang for c in chunks] == ["zh", "en"]


def test_empty_text_gives_no_chunks():
    assert chunk_document(make_doc("e", " \n "), count) == []
