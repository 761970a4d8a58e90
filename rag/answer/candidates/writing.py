"""Code writes the chosen candidate as the answer, with its citation, converted for the reader.

``written_answer`` quotes the chosen span as the source writes it for a Chinese reader (an
English date the Chinese way), and for an English reader converts it by code: 4.6万个 -> 46,000,
2020年3月 -> March 2020, 一个半月 -> 1.5 months, 贾兴东 -> Jia Xingdong (贾兴东).

Does not choose the candidate (``rag.answer.candidates.choice``) and does not call the model.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.answer.candidates.choice import Choice
from rag.answer.candidates.extract import Candidate
from rag.answer.candidates.spans import MONTHS
from rag.text.figures import cn_numeral
from rag.text.figures_en import english_figures
from rag.text.lang import HAN
from rag.text.lexicon import english_head
from rag.text.names import chinese_names, name_in_english
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


def written_answer(choice: Choice, number: int, lang: Lang, english_texts: Sequence[str] = ()) -> str:
    """The chosen candidate as the answer, with its citation ``[number]``; for an English reader
    its figures, dates and Chinese names converted by code.

    >>> c = Candidate("超4.6万个", "figure", 0, "")
    >>> written_answer(Choice("answer", c, 0.9), 1, "zh"), written_answer(Choice("answer", c, 0.9), 1, "en")
    ('超4.6万个[1]。', 'More than 46,000 [1].')
    >>> written_answer(Choice("answer", Candidate("贾兴东", "name", 0, ""), 0.9), 2, "en")
    'Jia Xingdong (贾兴东) [2].'
    >>> written_answer(Choice("answer", Candidate("海南", "item", 0, ""), 0.9), 3, "en")
    'Hainan Province (海南) [3].'
    """
    candidate: Candidate | None = choice.candidate
    if candidate is None:
        raise ValueError(f"written_answer needs a chosen candidate, not a {choice.decision!r} choice")
    text = candidate.text
    if lang == "zh":
        return f"{chinese_date(text) if candidate.kind == 'date' else text}[{number}]。"
    if candidate.kind == "date":
        text = english_date(text)
    elif re.search(f"[{HAN}]", text) and english_duration(text) != text:
        text = english_duration(text)
    elif candidate.kind == "name" and text in chinese_names(candidate.sentence or text):
        text = name_in_english(text, english_texts)
    elif candidate.kind in ("name", "item") and (head := english_head(text)):
        text = f"{head} ({text})"  # a place or thing the sources name only in Chinese
    else:
        text = english_figures(text)
    return f"{text[:1].upper()}{text[1:]} [{number}]."
