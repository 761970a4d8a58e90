"""The key terms of a question, and whether a text speaks of them, in either language.

Pure functions over text: ``key_terms`` the question's terms an answer's sentence must speak of
(nouns and names of a Chinese question by jieba's part-of-speech tags, content words of an
English one, its years; what the question asks for is not one of them); ``covered`` whether a
text of the term's language speaks of it (as written, abbreviated or in part);
``covered_across`` / ``cross_tokens`` a term's and a sentence's other-language forms (the
glossary of ``rag.text.tokens``, pinyin, the other telling of the same story); ``year_covered``
whether a year asked fits a sentence or its article's date; ``sub_questions`` the parts of a
question that asks several things; ``joined`` / ``forgiven`` the terms it asks of together.

Does not find the sentence that states an answer (``rag.answer.review.support``) and does not judge
an answer (``rag.answer.review.grounding``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from functools import lru_cache

from rag.answer.question.source import without_attribution
from rag.text.abbreviations import abbreviates, spelled_out
from rag.text.lang import HAN
from rag.text.names import chinese_names, looks_pinyin, pinyin_name
from rag.text.tokens import EN_STOPWORDS, GLOSSARY, expand_query, normalize, pos_cut, stem, tokenize
from rag.types import Lang

# 2020年, 2020赛季, in 2020: wider than figures.YEAR, which wants 年 or a word boundary after it
ANY_YEAR = re.compile(r"(?<![\d.,])((?:19|20)\d\d)(?![\d.,%万亿])")
# jieba tags of the words a Chinese question's answer must be about: nouns, names, places,
# organisations, other proper nouns, abbreviations, Latin words, nominal verbs (not times:
# "年初", "目前" are said in many ways)
_ZH_KEY_TAGS = ("n", "nr", "nrt", "ns", "nt", "nz", "j", "eng", "vn", "nw")
# what a question asks for, never a qualifier of it
ZH_ASKED = frozenset("""
时间 时候 日期 年份 人数 数量 数字 数 总数 规模 多少 情况 具体 类型 名字 名称 地点 地方 原因 方式 结果
问题 内容 哪些 哪里 什么 谁 几 量 次数 人 个 名单 国家 城市 公司 比例 占比 金额 价格 数额 水平 排名 第几
""".split())  # fmt: skip  # noqa: SIM905 - a word list reads best as text
_EN_ASKED = frozenset("""
many much number numbers total amount figure figures year years time date when where who what which
one two three four five six seven eight nine ten eleven twelve hundred hundreds thousand thousands
kind type name names rate percentage share level value according did does happen happened happens
""".split())  # fmt: skip  # noqa: SIM905
_WORDS = re.compile(  # a year, a Han run or a Latin word
    rf"(?<![\d.,])(?:19|20)\d\d(?![\d.,%万亿])|[{HAN}]+|[A-Za-z0-9][A-Za-z0-9.'-]*"
)
PROPER = ("nr", "nrt", "ns", "nt", "nz", "eng")  # names: one of them missing is enough


MODEL_CODE = re.compile(r"[a-z]+\d+[a-z]*|\d[a-z]", re.I)  # MIX4, P50, 5G: spelled so in any language


@dataclass(frozen=True)
class Term:
    """A key term of a question: its text (normalised), whether it is a name, and its language."""

    text: str
    proper: bool
    lang: Lang
    acronym: bool = False  # written in capitals ("MIIT"): may stand for the words it abbreviates


def written_alike(term: Term, lang: str) -> bool:
    """Whether ``term`` is looked for as written in a text of ``lang``: a term of that language,
    or a model code (MIX4, P50, 5G), which Chinese text writes in Latin letters too.

    >>> written_alike(Term("mix4", True, "en"), "zh"), written_alike(Term("shanghai", True, "en"), "zh")
    (True, False)
    """
    return term.lang == lang or bool(MODEL_CODE.fullmatch(term.text))


@lru_cache(maxsize=512)
def key_terms(question: str) -> tuple[Term, ...]:
    """The terms of ``question`` an answer's sentence must speak of, in order, without repeats.

    >>> [t.text for t in key_terms("印控克什米尔地区寺庙踩踏事故死亡人数")]
    ['印控', '克什米尔地区', '寺庙', '事故']
    >>> [t.text for t in key_terms("How many 5G base stations did Shenzhen build in 2020?") if t.proper]
    ['shenzhen']
    >>> [t.text for t in key_terms("根据《深圳日报》英文报道，深圳2020年建了多少个5G基站？")]
    ['深圳', '2020', '5g', '基站']
    """
    out: dict[str, Term] = {}
    for m in _WORDS.finditer(without_attribution(question)):  # not the words naming the report
        run = m.group(0)
        if re.fullmatch(r"(?:19|20)\d\d", run):
            out.setdefault(run, Term(run, False, "zh"))
        elif re.match(f"[{HAN}]", run):
            for word, flag in pos_cut(run):
                if flag in _ZH_KEY_TAGS and word not in ZH_ASKED and len(word) > 1:
                    out.setdefault(normalize(word), Term(normalize(word), flag in PROPER, "zh"))
        elif re.search(r"[A-Za-z]", run):
            word = stem(normalize(run.rstrip(".'")))
            if word in EN_STOPWORDS or word in _EN_ASKED or len(word) < 2:
                continue
            acronym = bool(re.fullmatch(r"[A-Z]{3,6}(?:'?s)?", run.rstrip(".'")))
            proper = acronym or (run[0].isupper() and m.start() > 0)
            out.setdefault(word, Term(word, proper, "en", acronym))
    return tuple(out.values())


@lru_cache(maxsize=2048)
def cross_tokens(text: str) -> frozenset[str]:
    """The other language's tokens of ``text``: glossary terms, and the pinyin of the people's
    names of a Chinese text.

    >>> sorted(cross_tokens("宝安区工信局局长贾兴东表示"))
    ['bureau', 'industry', 'information', 'jia', 'technology', 'xingdong']
    """
    out = set(expand_query(text))
    if re.search(f"[{HAN}]", text):
        out |= {w for n in chinese_names(text) for w in pinyin_name(n).casefold().split()}
    return frozenset(out)


@lru_cache(maxsize=256)
def pinyin_text(text: str) -> str:
    """The Han characters of ``text`` in pinyin, one run of letters: 宝安区 -> "baoanqu"."""
    from pypinyin import lazy_pinyin

    return "".join(lazy_pinyin("".join(re.findall(f"[{HAN}]", text))))


def covered_across(term: Term, text: str, story: str = "") -> bool | None:
    """Whether ``text`` (in the other language than ``term``) speaks of ``term``: through the
    glossary, the pinyin of a Chinese text, or ``story`` (the same news in the term's language).
    None when none of these can tell (a term with no known translation).

    >>> covered_across(Term("bao'an", True, "en"), "宝安区工信局局长贾兴东表示")
    True
    >>> covered_across(Term("shenzhen", True, "en"), "广州建成5G基站")
    False
    >>> covered_across(Term("kashmir", True, "en"), "克什米尔") is None
    True
    >>> covered_across(Term("深圳", True, "zh"), "Shenzhen built 46,000 base stations.")
    True
    """
    known = None
    if term.lang == "en":
        # an entry whose English form is the term itself ("industry" alone does not make 工信局)
        forms = [z for zhs, ens in GLOSSARY if any(tokenize(f) == [term.text] for f in ens) for z in zhs]
        letters = re.sub(r"[^a-z]", "", term.text)
        if forms:
            known = any(f in normalize(text) for f in forms)
        if not known and len(letters) >= 4 and looks_pinyin(term.text) and letters in pinyin_text(text):
            known = True  # pinyin only confirms: many English words read as pinyin (China, Hong Kong)
    else:
        forms = [f for zhs, ens in GLOSSARY if any(normalize(z) in term.text for z in zhs) for f in ens]
        tokens = set(tokenize(text))
        if forms:
            known = any(all(t in tokens for t in tokenize(f)) for f in forms)
        if not known and term.proper and pinyin_text(term.text) in re.sub(r"[^a-z]", "", normalize(text)):
            known = True
    if not known and story:
        known = covered(term, normalize(story), _tokens(story)) or known
    return known


@lru_cache(maxsize=64)
def _tokens(text: str) -> frozenset[str]:
    """The search tokens of ``text``, once per text (a whole article is read for many terms)."""
    return frozenset(tokenize(text))


def sub_questions(question: str) -> list[str]:
    """The parts of a question that asks several things, each answered on its own.

    >>> sub_questions("宝安区建成了多少个5G基站？到2024年初深圳全市累计有多少个？")
    ['宝安区建成了多少个5G基站？', '到2024年初深圳全市累计有多少个？']
    >>> sub_questions("What was the output in 2020, and how fast did it grow in 2023?")
    ['What was the output in 2020,', 'and how fast did it grow in 2023?']
    """
    parts = re.split(r"(?<=[？?；;])\s*|(?<=,)\s+(?=and (?:how|what|when|where|who|which|why)\b)", question)
    return [p for p in parts if p.strip()] or [question]


# between two things a question asks of together: 上海和北京, 导演与主演, Shanghai and Beijing
_JOINED = re.compile(r"\s*(?:和|与|及|以及|跟|、|或|,|and|or|&)\s*")


@lru_cache(maxsize=512)
def joined(question: str) -> tuple[tuple[str, ...], ...]:
    """The groups of ``question``'s key terms joined by "和", "与", "、", "and"...: the question
    asks of each, and a sentence answering for one of them need not name the others.

    >>> joined("上海和北京2021年的GDP分别是多少？")
    (('上海', '北京'),)
    >>> joined("深圳2020年建成多少5G基站？")
    ()
    """
    text = normalize(without_attribution(question))
    groups: list[list[str]] = []
    end, last = 0, ""
    for term in key_terms(question):
        at = text.find(term.text, end)
        if at < 0:
            continue
        if last and _JOINED.fullmatch(text[end:at]):
            if groups and last in groups[-1]:
                groups[-1].append(term.text)
            else:
                groups.append([last, term.text])
        end, last = at + len(term.text), term.text
    return tuple(tuple(g) for g in groups)


def forgiven(question: str, missing: Sequence[str]) -> tuple[str, ...]:
    """``missing`` without the terms joined (``joined``) to one that is not missing: a sentence
    on Beijing's GDP answers its part of a question on Shanghai's and Beijing's.

    >>> forgiven("上海和北京2021年的GDP分别是多少？", ["上海"])
    ()
    >>> forgiven("上海和北京2021年的GDP分别是多少？", ["上海", "北京", "2021"])
    ('上海', '北京', '2021')
    """
    said = {t for g in joined(question) if not set(g) <= set(missing) for t in g}
    return tuple(m for m in missing if m not in said)


def covered(term: Term, context: str, tokens: AbstractSet[str]) -> bool:
    """Whether ``context`` speaks of ``term``: an English term as a token (a hyphenated one as its
    parts); a Chinese one as
    written, abbreviated (its characters in order, at most 3 apart, 5 for longer terms: 规上 in
    规模以上, 澳网 in 澳大利亚网球, 冬奥会 in 冬季奥林匹克运动会; further apart within one name,
    ``abbreviates``) or in part (two thirds of its character pairs: 克什米尔 for 克什米尔地区); a
    model code with or without a space (MIX 4).

    >>> covered(Term("mix4", True, "en"), "xiaomi mix 4采用骁龙888plus处理器", set())
    True
    """
    if MODEL_CODE.fullmatch(term.text):
        return term.text in re.sub(r"\s+", "", context)
    if term.lang == "en":  # a hyphenated term ("cross-industry") as the tokens it is read as
        if term.acronym and spelled_out(term.text, context):
            return True
        return term.text in tokens or all(w in tokens for w in tokenize(term.text) or [term.text])
    gap = ".{0,3}" if len(term.text) == 2 else ".{0,5}"
    if term.text in context or re.search(gap.join(map(re.escape, term.text)), context):
        return True
    if len(term.text) >= 3 and abbreviates(term.text, context):
        return True
    if len(term.text) >= 3:
        grams = {term.text[k : k + 2] for k in range(len(term.text) - 1)}
        return sum(g in context for g in grams) >= 2 * len(grams) / 3
    return False


def year_covered(year: str, sentence: str, date: str) -> bool:
    """Whether a year of the question fits the sentence stating the answer: one it names, or
    the start of the next ("截至2024年初" is the end of 2023), when it names years; else the
    article appeared that year or the next (news reports last year's figures); else (no year,
    no date) nothing says otherwise.

    >>> year_covered("2023", "截至2024年初，累计建成7.5万个。", "")
    True
    >>> year_covered("2023", "全市建成7.5万个。", "2024-01-05")
    True
    """
    if named := set(ANY_YEAR.findall(sentence)):
        nxt = str(int(year) + 1)
        start = rf"{nxt}\s*年?(?:初|1月|一月)|(?:early|beginning of|start of) {nxt}"
        return year in named or bool(re.search(start, sentence, re.IGNORECASE))
    return not date[:4].isdigit() or int(date[:4]) in (int(year), int(year) + 1)
