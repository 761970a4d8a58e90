"""Two things a Chinese question asks the same of, joined by 和 / 与 / 及 / 、: each asked alone.

"上海和北京2021年的GDP分别是多少？" asks two figures, "MU5735航班坠毁的时间和地点" two facts;
``by_joined`` cuts such a question into one part per thing (``rag.answer.question.parts`` calls
it for each clause that names no two years), by jieba's words: each thing is one word, as many
words as the first repeats (最佳影片奖和最佳导演奖), or, for things of a named subject
(…的发售日期和标准版价格), the second's words up to the question word. A question asking one
thing of both (华为和富士康获得了什么称号) stays whole. In English, two question words ("When and
where…") and two names with "respectively", "both" or "each" are cut; nothing else.

Pure text functions; no models.
"""

from __future__ import annotations

import re

from rag.text.lang import detect_lang
from rag.text.tokens import pos_cut

ZH_ASK = re.compile(
    r"多少|几[个家项年月天倍次]?|谁|哪|什么|何时|何地|如何|怎样|怎么|为何|为什么|是否|多大|多长|多高|多快|吗"
)
RESPECTIVELY = re.compile(r"分别|各自|\s*respectively|\bboth\s+|\beach\b\s*")

_ZH_JOINING = frozenset("和 与 及 以及 、".split())  # noqa: SIM905
_ZH_WH = r"(?:谁|什么|多少|哪|几|何)"  # the question words a thing asked comes before
_ZH_ASKING = re.compile(rf"^(?:[是有为在]|{_ZH_WH})")  # a word starting the question
_ZH_ASKED_NEXT = re.compile(
    rf"^[的在是有为]?{_ZH_WH}|^\s*[？?]?\s*$"
)  # the question word follows (or nothing)


def _zh_words(part: str) -> list[tuple[str, str, int]]:
    """jieba's (word, tag, start) of ``part``."""
    out, at = [], 0
    for word, flag in pos_cut(part):
        at = part.find(word, at)
        out.append((word, flag, at))
        at += len(word)
    return out


def _thing(flag: str) -> bool:
    """Whether a word of jieba's ``flag`` can be part of a thing asked (not a particle, conjunction,
    preposition, adverb, pronoun or punctuation)."""
    return flag[:1] not in "ucpdrxwy"


def _things(words: list[tuple[str, str, int]], k: int) -> tuple[int, int]:
    """Where the first of the two things joined at ``words[k]`` starts and the second ends (word
    indices): one word each (男单和女单冠军: the 冠军 is of both), as many as the first repeats
    (最佳影片奖和最佳导演奖), or, for things of a named subject (…的发售日期和标准版价格), the
    second's words up to the question."""
    run = k + 1
    while run + 1 < len(words) and _thing(words[run + 1][1]) and not _ZH_ASKING.match(words[run + 1][0]):
        run += 1
    same = [j for j in range(max(k - 4, 0), k) if words[j][0] == words[k + 1][0]]
    if same:
        return same[-1], run
    if k >= 2 and words[k - 2][0] == "的":
        return k - 1, run
    first, second = k - 1, k + 1
    while second < run and len(words[second][0]) == 1:  # a name jieba cut: 英|伟达, 冬|残奥会
        second += 1
    while first > 0 and len(words[first][0]) == 1 and _thing(words[first - 1][1]):
        first -= 1
    return first, second


def by_joined(part: str) -> list[str]:
    """A Chinese ``part`` once per thing when it asks the same of two things joined by 和 / 与 /
    及 / 、: with 分别 (上海和北京的GDP分别是多少), when the question word follows the second
    (坠毁的时间和地点, 德国队和法国队在哪个组), or when it has no question word (特斯拉和比亚迪交付量);
    else ``[part]`` (华为和富士康获得了什么称号: one thing asked of both).

    >>> by_joined("上海和北京2021年的GDP分别是多少？")
    ['上海2021年的GDP是多少？', '北京2021年的GDP是多少？']
    >>> by_joined("MU5735航班坠毁的时间和地点")
    ['MU5735航班坠毁的时间', 'MU5735航班坠毁的地点']
    >>> by_joined("2022年百花奖最佳影片奖和最佳导演奖分别是什么")
    ['2022年百花奖最佳影片奖是什么', '2022年百花奖最佳导演奖是什么']
    >>> by_joined("艾尔登法环的发售日期和标准版价格是什么？")
    ['艾尔登法环的发售日期是什么？', '艾尔登法环的标准版价格是什么？']
    """
    if detect_lang(part) != "zh":
        return _by_joined_en(part)
    words = _zh_words(part)
    for k in range(1, len(words) - 1):
        if words[k][0] not in _ZH_JOINING or not (_thing(words[k - 1][1]) and _thing(words[k + 1][1])):
            continue
        first, second = _things(words, k)
        a, b, c = words[first][2], words[k][2], words[k + 1][2]  # the things: part[a:b], part[c:d]
        d = words[second][2] + len(words[second][0])
        rest = part[d:]
        if RESPECTIVELY.search(rest) or _ZH_ASKED_NEXT.match(rest) or not ZH_ASK.search(part):
            rest = RESPECTIVELY.sub("", rest)
            return [part[:a] + part[a:b] + rest, part[:a] + part[c:d] + rest]
    return [part]


_EN_WH = r"(?:when|where|who|what|which|how many|how much)"
_EN_WH_PAIR = re.compile(rf"^\s*({_EN_WH})\s+and\s+({_EN_WH})\b", re.I)
_EN_NAME = r"[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)*"
_EN_NAMES = re.compile(rf"(?<!^)\b({_EN_NAME})\s+and\s+({_EN_NAME})\b")


def _by_joined_en(part: str) -> list[str]:
    """An English ``part`` once per question word ("When and where…") or, with "respectively",
    "both" or "each", once per name joined by "and"; else ``[part]``.

    >>> _by_joined_en("When and where was the 2022 conference held?")
    ['When was the 2022 conference held?', 'Where was the 2022 conference held?']
    >>> _by_joined_en("What were the outputs of Shenzhen and Dongguan in 2021, respectively?")
    ['What were the outputs of Shenzhen in 2021?', 'What were the outputs of Dongguan in 2021?']
    >>> _by_joined_en("Which company joined Huawei and Foxconn on the list?")
    ['Which company joined Huawei and Foxconn on the list?']
    """
    if m := _EN_WH_PAIR.match(part):
        rest = part[m.end() :]
        return [m.group(1) + rest, m.group(2).capitalize() + rest]
    m = _EN_NAMES.search(part)
    if m is None or not RESPECTIVELY.search(part):
        return [part]
    out = []
    for name in (m.group(1), m.group(2)):
        text = RESPECTIVELY.sub(" ", part[: m.start()] + name + part[m.end() :])
        out.append(re.sub(r"\s*,?\s*([?.])$", r"\1", re.sub(r"\s{2,}", " ", text)).strip())
    return out
