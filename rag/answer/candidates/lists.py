"""A question asking for several things (哪些, 有谁, "which … were") is answered with the list
its chosen candidate belongs to, not with that one item.

``asks_list`` tells such a question; ``whole_list`` gives the items of the enumeration holding the
chosen span ("王耀庆、曾黎、倪大红等主演"), with those of another enumeration of the same sentence
that the question's relation word follows too ("陈晓、王晓晨领衔主演").

Pure text: does not choose the candidate (``rag.answer.candidates.choice``) or write the answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.answer.candidates.owners import LIST_SPLIT

_LIST_Q = re.compile(  # a cast (主演) is several people too
    r"哪些|有谁|都有谁|哪几[个位家项所]|主演|\bwhich\b.+\b(?:are|were)\b|\bwho are\b|\bname all\b|"
    r"\bwho star(?:s|red)\b|\bthe cast of\b",
    re.I,
)
_ITEM = r"[^、，,。；;：:\s“”\"《》()（）]{1,12}?"
_ENUMERATION = re.compile(
    rf"{_ITEM}(?:、{_ITEM})+(?:(?:和|及|与|以及){_ITEM})?(?=等|[，,。；;：:\s]|$|领衔|主演|出演)"
)
# short names parted by commas before 等 ("演员杨紫，成毅，张睿等人"): a list written with commas
_COMMA_RUN = re.compile(r"(?:[^、，,。；;：:\s]{2,4}[，,])+[^、，,。；;：:\s]{2,4}(?=等)")
# the words before a list's first item
_LEAD = re.compile(r"^(?:.*?(?:包括|包含|涵盖|分别是|分别为|依次为|主要有)|.*(?:演员|嘉宾))")
_AFTER = 6  # how far after an enumeration its relation word may be ("等主演", "领衔主演")


def asks_list(question: str) -> bool:
    """Whether ``question`` asks for several things.

    >>> asks_list("《好好说话》的主演有哪些？"), asks_list("Which districts were named?")
    (True, True)
    >>> asks_list("局长是谁？"), asks_list("《沉香如屑》的主演？"), asks_list("Who cast the deciding vote?")
    (False, True, False)
    """
    return bool(_LIST_Q.search(question))


def whole_list(sentence: str, chosen: str, relation: Sequence[str] = ()) -> list[str]:
    """The items of the enumeration of ``sentence`` holding ``chosen``, and of every other one
    followed by one of the ``relation`` words as that one is; [chosen] when it is in none.

    >>> s = "该剧由杨栋执导，陈晓、王晓晨领衔主演，王耀庆、曾黎、倪大红等主演。"
    >>> whole_list(s, "倪大红", ["主演"])
    ['陈晓', '王晓晨', '王耀庆', '曾黎', '倪大红']
    >>> whole_list(s, "倪大红"), whole_list(s, "杨栋", ["主演"])
    (['王耀庆', '曾黎', '倪大红'], ['杨栋'])
    >>> whole_list("入选企业包括华为、中兴和腾讯。", "中兴")
    ['华为', '中兴', '腾讯']
    >>> whole_list("主要的演员有演员杨紫，成毅，张睿等人，由郭虎执导。", "杨紫")
    ['杨紫', '成毅', '张睿']
    """
    sentence = _COMMA_RUN.sub(lambda m: re.sub("[，,]", "、", m.group(0)), sentence)
    found = [m for m in _ENUMERATION.finditer(sentence)]
    mine = next((m for m in found if chosen in _items(m.group(0))), None)
    if mine is None:
        return [chosen]
    said = [w for w in relation if w in _after(sentence, mine)]
    chosen_lists = [m for m in found if m is mine or any(w in _after(sentence, m) for w in said)]
    items = [i for m in chosen_lists for i in _items(m.group(0))]
    return list(dict.fromkeys(i for i in items if i))


def _after(sentence: str, m: re.Match[str]) -> str:
    """The words right after an enumeration, where its relation word is ("等主演")."""
    return sentence[m.end() : m.end() + _AFTER]


def _items(enumeration: str) -> list[str]:
    """The items of an ``enumeration``, its first without the words that lead into the list.

    >>> _items("入选企业包括华为、中兴和腾讯")
    ['华为', '中兴', '腾讯']
    """
    first, *rest = LIST_SPLIT.split(enumeration)
    return [_LEAD.sub("", first) if len(first) > 3 else first, *rest]
