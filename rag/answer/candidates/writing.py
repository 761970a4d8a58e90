"""Code writes the chosen candidate as the answer, with its citation, converted for the reader.

``written_answer`` quotes the chosen span as the source writes it for a Chinese reader (an
English date the Chinese way), and for an English reader converts it by code: 4.6万个 -> 46,000,
2020年3月 -> March 2020, 一个半月 -> 1.5 months, 贾兴东 -> Jia Xingdong (贾兴东).

Does not choose the candidate (``rag.answer.candidates.choice``) and does not call the model.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from rag.answer.candidates.choice import Choice
from rag.answer.candidates.extract import Candidate
from rag.text.dates import MONTHS
from rag.text.figures import cn_numeral, find_figures
from rag.text.figures_en import english_figures
from rag.text.lang import HAN
from rag.text.lexicon import english_head
from rag.text.names import chinese_names, english_form, name_in_english, pinyin_name
from rag.types import Lang


def english_date(text: str) -> str:
    """A Chinese date written the English way.

    >>> english_date("2020年3月"), english_date("11月28日"), english_date("2023年11月28日")
    ('March 2020', 'November 28', 'November 28, 2023')
    """
    m = re.fullmatch(r"(?:((?:19|20)\d\d)年)?(\d{1,2})月(?:(\d{1,2})[日号])?", text)
    if not m or not 1 <= int(m.group(2)) <= 12:
        return text.replace("年", "")
    year, month, day = m.groups()
    out = MONTHS[int(month) - 1] + (f" {int(day)}" if day else "")
    return out + (f", {year}" if year and day else f" {year}" if year else "")


_RELATIVE_YEAR = {"今年": 0, "去年": -1, "前年": -2, "明年": 1}


def absolute_date(text: str, date: str) -> str:
    """A date its source gives by the article's year ("今年1月") with the year itself, from the
    article's ``date`` (YYYY-MM-DD); unchanged without one.

    >>> absolute_date("今年1月", "2021-03-02"), absolute_date("去年12月", "2021-03-02")
    ('2021年1月', '2020年12月')
    >>> absolute_date("今年1月", ""), absolute_date("2020年3月", "2021-03-02")
    ('今年1月', '2020年3月')
    """
    m = re.match("|".join(_RELATIVE_YEAR), text)
    if m is None or not date[:4].isdigit():
        return text
    return f"{int(date[:4]) + _RELATIVE_YEAR[m.group(0)]}年{text[m.end() :]}"


def chinese_date(text: str) -> str:
    """An English date written the Chinese way (a Chinese answer quoting an English article).

    >>> chinese_date("March 2020"), chinese_date("November 28, 2023"), chinese_date("2020年3月")
    ('2020年3月', '2023年11月28日', '2020年3月')
    """
    m = re.fullmatch(r"([A-Z][a-z]+)(?:\s+(\d{1,2}))?(?:,?\s+((?:19|20)\d\d))?", text)
    if not m or m.group(1) not in MONTHS:
        return text
    month, day, year = MONTHS.index(m.group(1)) + 1, m.group(2), m.group(3)
    return (f"{year}年" if year else "") + f"{month}月" + (f"{day}日" if day else "")


_DURATION_UNITS = {
    "小时": "hour",
    "分钟": "minute",
    "秒": "second",
    "秒钟": "second",
    "天": "day",
    "周": "week",
    "星期": "week",
    "月": "month",
    "年": "year",
}


def english_duration(text: str) -> str:
    """A Chinese duration in English (the cited sentence shows the Chinese).

    >>> english_duration("一个半月"), english_duration("1个小时"), english_duration("3天")
    ('1.5 months', '1 hour', '3 days')
    """
    m = re.fullmatch(
        r"(\d+(?:\.\d+)?|[一二两三四五六七八九十]+)?\s*个?(半)?个?"
        r"(小时|分钟|秒钟?|天|周|星期|月|年)(半)?",
        text,
    )
    if m is None:
        return text
    value = cn_numeral(m.group(1)) if m.group(1) else 0.0
    if value is None:
        return text
    value += 0.5 if m.group(2) or m.group(4) else 0.0
    unit = _DURATION_UNITS[m.group(3)] + ("" if value == 1 else "s")
    return f"{value:g} {unit}"


def english_text(candidate: Candidate, english_texts: Sequence[str] = (), with_chinese: bool = True) -> str:
    """``candidate`` written for an English reader by code: a Chinese date, duration or figure
    converted, a Chinese name as the English ``english_texts`` of its story write it or in
    pinyin, a place or thing by its dictionary head; ``with_chinese``: the Chinese after a
    pinyin name or a dictionary head, in brackets.

    >>> jia = Candidate("贾兴东", "name", 0, "")
    >>> english_text(jia), english_text(jia, with_chinese=False)
    ('Jia Xingdong (贾兴东)', 'Jia Xingdong')
    >>> this_january = Candidate("今年1月", "date", 0, "", "2021-03-02")  # of an article of 2021
    >>> english_text(Candidate("2020年3月", "date", 0, "")), english_text(this_january)
    ('March 2020', 'January 2021')
    >>> english_text(Candidate("超4.6万个", "figure", 0, ""))
    'more than 46,000'
    >>> english_text(Candidate("陈晓、王晓晨", "list", 0, "陈晓、王晓晨领衔主演"), with_chinese=False)
    'Chen Xiao, Wang Xiaochen'
    """
    text = candidate.text
    if candidate.kind == "list":  # 陈晓、王晓晨: each item written on its own
        items = [replace(candidate, text=t, kind="name") for t in text.split("、")]
        return ", ".join(english_text(c, english_texts, with_chinese) for c in items)
    if candidate.kind == "date":
        return english_date(absolute_date(text, candidate.date))
    if re.search(f"[{HAN}]", text) and english_duration(text) != text:
        return english_duration(text)
    if candidate.kind == "name" and text in chinese_names(candidate.sentence or text):
        return (
            name_in_english(text, english_texts)
            if with_chinese
            else english_form(text, english_texts) or pinyin_name(text)
        )
    if candidate.kind in ("name", "item") and (head := english_head(text)):  # named only in Chinese
        return f"{head} ({text})" if with_chinese else head
    return english_figures(text)


def reply_forms(candidate: Candidate, lang: Lang) -> list[str]:
    """How a reply in ``lang`` may write a ``candidate`` of the other language: a Chinese span
    converted for an English reply (``english_text``; a figure also bare), an English date the
    Chinese way. [] when the candidate is in ``lang`` or code has no other form for it.

    >>> reply_forms(Candidate("超4.6万个", "figure", 0, ""), "en")
    ['more than 46,000', '46,000']
    >>> reply_forms(Candidate("尹占江", "name", 0, "总裁助理尹占江告诉记者"), "en")
    ['Yin Zhanjiang']
    >>> reply_forms(Candidate("March 2020", "date", 0, ""), "zh")
    ['2020年3月']
    >>> reply_forms(Candidate("4.6万个", "figure", 0, ""), "zh")
    []
    """
    text = candidate.text
    if lang == "zh":
        return [chinese_date(text)] if candidate.kind == "date" and chinese_date(text) != text else []
    if not re.search(f"[{HAN}]", text):
        return []
    english = english_text(candidate, with_chinese=False)
    if english == text or re.search(f"[{HAN}]", english):
        return []
    figures = find_figures(english) if candidate.kind == "figure" else []
    bare = [figures[0].text] if len(figures) == 1 and figures[0].text != english else []
    return [english, *bare]


def written_answer(
    choice: Choice, number: int, lang: Lang, english_texts: Sequence[str] = (), name: str = ""
) -> str:
    """The chosen candidate as the answer, with its citation ``[number]``; for an English reader
    its figures, dates and Chinese names converted by code (``english_text``), or given the
    English ``name`` the model wrote for it (``rag.answer.candidates.naming``); for a Chinese
    reader an English name is said to be the source's English name.

    >>> c = Candidate("超4.6万个", "figure", 0, "")
    >>> written_answer(Choice("answer", c, 0.9), 1, "zh"), written_answer(Choice("answer", c, 0.9), 1, "en")
    ('超4.6万个[1]。', 'More than 46,000 [1].')
    >>> written_answer(Choice("answer", Candidate("贾兴东", "name", 0, ""), 0.9), 2, "en")
    'Jia Xingdong (贾兴东) [2].'
    >>> written_answer(Choice("answer", Candidate("海南", "item", 0, ""), 0.9), 3, "en")
    'Hainan Province (海南) [3].'
    >>> written_answer(Choice("answer", Candidate("Hualong", "name", 0, ""), 0.9), 1, "zh")
    '资料中的英文名称为 Hualong[1]。'
    >>> valley = Choice("answer", Candidate("开源谷", "name", 0, ""), 0.9)
    >>> written_answer(valley, 1, "en", name="Open Source Valley")
    'Open Source Valley (开源谷) [1].'
    """
    candidate: Candidate | None = choice.candidate
    if candidate is None:
        raise ValueError(f"written_answer needs a chosen candidate, not a {choice.decision!r} choice")
    if lang == "zh":
        text = candidate.text
        if candidate.kind == "date":
            return f"{chinese_date(absolute_date(text, candidate.date))}[{number}]。"
        if candidate.kind in ("name", "item") and not re.search(f"[{HAN}]", text):
            return f"资料中的英文名称为 {text}[{number}]。"  # a Chinese reader told why it is English
        return f"{text}[{number}]。"
    text = f"{name} ({candidate.text})" if name else english_text(candidate, english_texts)
    return f"{text[:1].upper()}{text[1:]} [{number}]."
