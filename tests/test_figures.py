from __future__ import annotations

import pytest

from rag.text.figures import find_figures

# written form -> (value, kind)
FORMS = [
    ("3.7万亿元", 3.7e12, "amount"),
    ("3.7 trillion yuan", 3.7e12, "amount"),
    ("4.6万个", 46_000, "amount"),
    ("46,000", 46_000, "amount"),
    ("46000", 46_000, "amount"),
    ("4.76 万 个", 47_600, "amount"),
    ("455 million", 4.55e8, "amount"),
    ("4.55亿元", 4.55e8, "amount"),
    ("45500万", 4.55e8, "amount"),
    ("US$572 billion", 5.72e11, "amount"),
    ("9164.8亿元", 9.1648e11, "amount"),
    ("1000万只", 1e7, "amount"),
    ("1,030个", 1030, "amount"),
    ("52.6%", 52.6, "percent"),
    ("52.6 percent", 52.6, "percent"),
    ("52.6 per cent", 52.6, "percent"),
    ("５２．６％", 52.6, "percent"),
    ("2.7个百分点", 2.7, "points"),
    ("2.7 percentage points", 2.7, "points"),
    ("1/7", 1 / 7, "fraction"),
    ("8.52‰", 8.52, "permille"),
    ("2000家企业", 2000, "amount"),  # a count, not a year: a measure word follows
    ("12 billion 🙂", 1.2e10, "amount"),
]


@pytest.mark.parametrize("text,value,kind", FORMS)
def test_written_forms_have_their_value(text, value, kind):
    (f,) = find_figures(text)
    assert f.value == pytest.approx(value) and f.kind == kind
    assert text[f.start : f.end] == f.text


@pytest.mark.parametrize("a,b", [
    ("3.7万亿元", "3.7 trillion yuan"), ("4.6万", "46,000"), ("455 million", "4.55亿"),
    ("52.6%", "52.6 percent"),
    ("1,030", "1030个"), ("7.5万", "75,000"), ("4.6万", "4.63万"),  # "4.6万" allows its own rounding
])  # fmt: skip
def test_chinese_and_english_forms_match(a, b):
    (fa,), (fb,) = find_figures(a), find_figures(b)
    assert fa.matches(fb)


@pytest.mark.parametrize(
    "a,b",
    [
        ("46,000", "46,600"),
        ("52.6%", "52.5%"),
        ("4.6万", "4.76万"),
        ("52.6%", "52.6"),
        ("7.3 million", "7.3万"),
    ],
)
def test_different_values_or_kinds_do_not_match(a, b):
    (fa,), (fb,) = find_figures(a), find_figures(b)
    assert not fa.matches(fb)


@pytest.mark.parametrize("text", [
    "2020年", "In 2020, the city grew.", "by early 2024", "（2018-2020）", "11月28日", "2021-01-20", "14:10",
    "见[1]和【2】及[3, 4]", "1. 第一条\n2、第二条", "(3) the third", "5G基站", "第3名", "three 4K screens",
    "Nov 21",
    "21 November", "1990s", "三个", "有两家",
])  # fmt: skip
def test_years_dates_markers_and_list_numbers_are_not_figures(text):
    assert find_figures(text) == []


def test_figures_in_mixed_text_keep_their_offsets():
    text = "深圳 built 46,600 base stations（约4.6万个）[1]，增长2%🙂"
    found = find_figures(text)
    assert [f.text for f in found] == ["46,600", "4.6万", "2%"]
    assert all(text[f.start : f.end] == f.text for f in found)
