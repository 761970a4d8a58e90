"""Abbreviations: whether a text writes out a name a question abbreviates.

``abbreviates`` reads a Chinese abbreviation in a longer name (世锦赛 in 世界乒乓球团体锦标赛),
``spelled_out`` an English acronym in the words it stands for (MIIT in "Ministry of Industry and
Information Technology"). Pure functions over text, used by ``rag.answer.review.terms.covered``.
"""

from __future__ import annotations

import re

from rag.text.lang import HAN

__all__ = ["abbreviates", "spelled_out"]


def abbreviates(term: str, context: str) -> bool:
    """Whether the Chinese ``term`` of three characters or more is an abbreviation of a name in
    ``context``: its characters in order within one run of Han characters (no punctuation between)
    at most four times its length, the first ones of the name's words (世锦赛 for
    世界乒乓球团体锦标赛, whose 界乒乓球团体 puts 世 and 锦 six apart).

    >>> abbreviates("世锦赛", "2022年第56届国际乒联世界乒乓球团体锦标赛将在成都举行")
    True
    >>> abbreviates("世锦赛", "世界杯，全国锦标赛")
    False
    """
    pattern = f"[{HAN}]{{0,7}}?".join(map(re.escape, term))
    return any(len(m.group(0)) <= 4 * len(term) for m in re.finditer(pattern, context))


_JOINING = r"(?:\s+(?:of|and|for|the|&))*\s+"  # between the words of a name


def spelled_out(acronym: str, context: str) -> bool:
    """Whether ``context`` (normalised) writes ``acronym`` out: words with its initials in a row
    ("of", "and", "the" between them do not count), or, for an acronym of four letters or more,
    a name with its first three or more initials that ends there (a translation that shortens
    the name: "Ministry of Industry and Information," for MIIT).

    >>> spelled_out("miit", "the ministry of industry and information technology said")
    True
    >>> spelled_out("miit", "selected by the ministry of industry and information, taking up")
    True
    >>> spelled_out("miit", "made in industry parks")
    False
    """
    letters = acronym.rstrip("s") if len(acronym) > 3 else acronym
    word = r"\b{}[a-z'-]*"
    full = _JOINING.join(word.format(c) for c in letters)
    if re.search(full, context):
        return True
    for n in range(len(letters) - 1, 2, -1):  # a shortened name, ended by punctuation
        if re.search(_JOINING.join(word.format(c) for c in letters[:n]) + r"\s*[,.;:)]", context):
            return True
    return False
