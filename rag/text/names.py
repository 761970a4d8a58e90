"""People's names across the two languages: the English form of a name a Chinese article gives.

A small model answering in English about a Chinese article invents English names ("Jia Xindong"
for 贾兴东) or leaves the Chinese one bare. These functions give the form an English reader can
check: the one an English article of the same story prints (``rag.answer.retrieve.stories`` groups them), else
the pinyin (by ``pypinyin``) with the Chinese name after it, "Jia Xingdong (贾兴东)".

* ``chinese_names`` the people's names of a Chinese text (jieba's ``nr`` tag);
* ``pinyin_name`` the name in pinyin, surname first: "Jia Xingdong";
* ``english_form`` how English ``texts`` write the name, or None;
* ``english_names`` an English answer with its Chinese names and names the sources do not hold
  replaced by their English form.

Does not translate titles or places, and does not guess which of several people an invented
name stands for unless its spelling is close to one of them.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from functools import lru_cache

from rag.text.lang import HAN
from rag.text.tokens import pos_cut

_HAN_RUN = re.compile(f"[{HAN}]+")
# surnames of two characters, and surnames read otherwise than the character usually is
_COMPOUND = (
    "欧阳",
    "司马",
    "诸葛",
    "上官",
    "东方",
    "皇甫",
    "尉迟",
    "公孙",
    "慕容",
    "令狐",
    "夏侯",
    "长孙",
    "宇文",
    "司徒",
    "端木",
    "独孤",
    "南宫",
    "万俟",
    "呼延",
    "轩辕",
)
_SURNAME_READINGS = {
    "曾": "zeng",
    "单": "shan",
    "解": "xie",
    "区": "ou",
    "仇": "qiu",
    "朴": "piao",
    "查": "zha",
    "盖": "ge",
    "覃": "qin",
    "乐": "yue",
    "缪": "miao",
    "秘": "bi",
    "翟": "zhai",
    "尉迟": "yuchi",
    "万俟": "moqi",
}
_SYLLABLE = (
    r"(?:zh|ch|sh|[bpmfdtnlgkhjqxrzcsyw])?"
    r"(?:iang|iong|uang|ang|eng|ing|ong|ian|iao|uai|uan|ai|ei|ao|ou|an|en|in|un|ia|ie|iu|ua|uo|ui|"
    r"ue|ve|er|a|o|e|i|u|v)"
)
_PINYIN_WORD = re.compile(rf"(?:{_SYLLABLE})+(?:'(?:{_SYLLABLE})+)*", re.IGNORECASE)
_PLACE = r"(?:区|市|县|省|镇|村|街道|新区)"  # jieba tags some places nr: 宝安 in 宝安区
_WHO = re.compile(r"\bwho(?:m|se)?\b|谁", re.IGNORECASE)
LATIN_NAME = re.compile(  # two or three capitalised words: a name written in Latin letters
    r"\b[A-Z][a-z]+(?:[ -][A-Z][a-z]+){1,2}\b"
)


@lru_cache(maxsize=1024)
def chinese_names(text: str) -> tuple[str, ...]:
    """The people's names of ``text`` (jieba's ``nr``; a lone surname joined to the given name
    after it), in order, without repeats.

    >>> chinese_names("宝安区工业和信息化局局长贾兴东表示")
    ('贾兴东',)
    >>> chinese_names("宝安区工业和信息化局局长张东  雁告诉记者")  # a line break inside the name
    ('张东雁',)
    """
    out: list[str] = []
    text = re.sub(f"(?<=[{HAN}])\\s+(?=[{HAN}])", "", text)
    for run in _HAN_RUN.findall(text):
        words = pos_cut(run)
        for k, (word, flag) in enumerate(words):
            if flag != "nr":
                continue
            if len(word) == 1 and k + 1 < len(words) and 1 <= len(words[k + 1][0]) <= 2:
                word += words[k + 1][0]
            if 2 <= len(word) <= 4 and word not in out and not re.search(re.escape(word) + _PLACE, text):
                out.append(word)
    return tuple(out)


def pinyin_name(name: str) -> str:
    """``name`` in pinyin the way names are written in English: surname, then the given name
    in one word.

    >>> pinyin_name("贾兴东"), pinyin_name("欧阳修"), pinyin_name("曾国藩")
    ('Jia Xingdong', 'Ouyang Xiu', 'Zeng Guofan')
    """
    from pypinyin import lazy_pinyin

    cut = 2 if name[:2] in _COMPOUND else 1
    surname, given = name[:cut], name[cut:]
    family = _SURNAME_READINGS.get(surname) or "".join(lazy_pinyin(surname))
    parts = [family.capitalize()]
    if given:
        parts.append("".join(lazy_pinyin(given)).capitalize())
    return " ".join(parts)


def english_form(name: str, texts: Sequence[str]) -> str | None:
    """How English ``texts`` write the Chinese ``name``: its pinyin in either order, the given
    name as one word or hyphenated; None when none does.

    >>> english_form("贾兴东", ["Jia Xingdong, head of the bureau, said ..."])
    'Jia Xingdong'
    >>> english_form("贾兴东", ["said Xing-dong Jia."]), english_form("贾兴东", ["no one"])
    ('Xing-dong Jia', None)
    """
    from pypinyin import lazy_pinyin

    family, given = pinyin_name(name).split(" ", 1) if " " in pinyin_name(name) else (pinyin_name(name), "")
    syllables = lazy_pinyin(name[2:] if name[:2] in _COMPOUND else name[1:])
    given_pattern = r"[\s-]?".join(map(re.escape, syllables)) if given else ""
    for pattern in (rf"\b{family}\s+{given_pattern}\b", rf"\b{given_pattern}\s+{family}\b"):
        for text in texts:
            if m := re.search(pattern, text, re.IGNORECASE):
                return m.group(0)
    return None


def name_in_english(name: str, english_texts: Sequence[str]) -> str:
    """The English form of ``name``: as English texts of the story write it, else its pinyin with
    the Chinese name in brackets.

    >>> name_in_english("贾兴东", []), name_in_english("贾兴东", ["Mr Jia Xingdong said"])
    ('Jia Xingdong (贾兴东)', 'Jia Xingdong')
    """
    return english_form(name, english_texts) or f"{pinyin_name(name)} ({name})"


def looks_pinyin(words: str) -> bool:
    """Whether every word of ``words`` is pinyin syllables: ``looks_pinyin("Jia Xing-dong")`` -> True"""
    return all(_PINYIN_WORD.fullmatch(w) for w in re.split(r"[ -]", words))


def english_names(
    answer: str, sources: Sequence[str], english_texts: Sequence[str] = (), question: str = ""
) -> tuple[str, tuple[str, ...]]:
    """An English ``answer`` with the people's names its Chinese ``sources`` give written in their
    English form; returns the text and the names replaced.

    A Chinese name left in the answer gets its English form; a pinyin-like name that no source,
    English text or the question holds (an invented spelling) is replaced by the sources' name
    closest in spelling, or, when the question asks who, by the only one they give.

    >>> english_names("The head is 贾兴东 [1].", ["局长贾兴东表示"])
    ('The head is Jia Xingdong (贾兴东) [1].', ('贾兴东',))
    >>> english_names("Xindong Jia heads it [1].", ["局长贾兴东表示"], ["Jia Xingdong said"])
    ('Jia Xingdong heads it [1].', ('Xindong Jia',))
    """
    names = [n for s in sources for n in chinese_names(s)]
    names = list(dict.fromkeys(names))
    replaced: list[str] = []
    out = answer
    for name in chinese_names(answer):
        form = name_in_english(name, english_texts)
        if form.endswith(f"({name})") and f"({name})" in out:
            continue
        out = re.sub(rf"(?<!\()(?:{re.escape(form)}\s*)?{re.escape(name)}(?!\))", form, out)
        replaced.append(name)
    forms = {n: name_in_english(n, english_texts) for n in names}
    known = " ".join([*sources, *english_texts, question, *forms.values()]).casefold()
    in_names = {w for f in forms.values() for w in re.findall(r"[a-z]+", f.casefold())}
    words = set(re.findall(r"[a-z']+", known)) - in_names
    for m in reversed(list(LATIN_NAME.finditer(out))):
        written = m.group(0)
        said = re.search(rf"\b{re.escape(written.casefold())}\b", known)
        if not names or not looks_pinyin(written) or said:
            continue
        if any(w.casefold() in words for w in re.split(r"[ -]", written)):
            continue  # a place or a word of the sources (Shenzhen, Bao'an), not an invented name
        key = written.replace("-", "").replace(" ", "").casefold()
        score = {
            n: max(difflib.SequenceMatcher(None, key, p).ratio() for p in pinyin_orders(n)) for n in names
        }
        best = max(score, key=score.__getitem__)
        if score[best] >= 0.75 or (len(names) == 1 and _WHO.search(question)):
            out = out[: m.start()] + forms[best] + out[m.end() :]
            replaced.append(written)
    return out, tuple(replaced)


def pinyin_orders(name: str) -> tuple[str, str]:
    """The pinyin of ``name`` as one lower-case word, surname first and last."""
    family, _, given = pinyin_name(name).casefold().partition(" ")
    return family + given, given + family
