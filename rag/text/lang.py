"""Language of a text: Chinese or English, by counting Han characters against Latin letters.

A mixed text follows its dominant script; one Han character weighs as much as a Latin
word (about 4.5 letters), so "深圳 GDP 是多少" is Chinese and "What is 深圳's GDP" English.
Does not recognise other languages: everything without Han characters is "en".
"""

from __future__ import annotations

import re

from rag.types import Lang

HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff"  # Han ranges, for [...] classes
_HAN = re.compile(f"[{HAN}]")
_LATIN = re.compile(r"[A-Za-z]")
_LETTERS_PER_WORD = 4.5


def han_count(text: str) -> int:
    """``han_count("深圳 is 很大")`` -> 3"""
    return len(_HAN.findall(text))


def detect_lang(text: str, default: Lang = "zh") -> Lang:
    """Dominant language of ``text``.

    >>> detect_lang("深圳2020年规上工业总产值是多少？")
    'zh'
    >>> detect_lang("How many 5G base stations did Shenzhen build?")
    'en'
    >>> detect_lang("What is 深圳的 GDP?")
    'zh'
    >>> detect_lang("🙂？", default="en")
    'en'
    """
    han = han_count(text)
    latin_words = len(_LATIN.findall(text)) / _LETTERS_PER_WORD
    if han == 0 and latin_words == 0:
        return default
    return "zh" if han >= latin_words else "en"
