"""Is the answer about what was asked? The sentence that states it, checked against the question.

A small model shown passages that do not hold the answer still answers, from the nearest
sentence: asked how many died in a stampede in Kashmir, it gives the three of a stampede in
Rajasthan; asked about 2021, the 2020 figure. The answer's figure is in its source, so the
figure check passes, but the sentence stating it is about something else. These pure
functions find that sentence and what of the question it leaves out:

* ``support`` the sentences of the passages shown that state the answer: those sharing the
  most of the answer's own tokens (its figures by value, so "46,000" finds "4.6万");
* ``key_terms`` the question's terms that must hold in that sentence: nouns and names of a
  Chinese question (jieba's part-of-speech tags), content words of an English one, and its
  years; what the question asks for ("人数", "时间", "how many") is not one of them;
* ``missing_terms`` the key terms missing around the supporting sentence (itself, the two
  before it, the title; names anywhere in the article), and ``off_topic`` when that makes
  the answer about something else;
* ``unsupported_figures`` an answer none of whose figures the passages state; ``unstated`` an
  answer whose own words, counts or dates no passage holds; ``other_year`` the sources' figures
  for another year than asked;
* ``cross_tokens`` / ``covered_across`` a sentence's and a term's other-language forms;
* ``stated_in_sentence`` one cited sentence holds the answer's figures, year and subject;
* ``check_messages`` the short prompt for the generator's own check of the stating sentence;
* ``ungrounded`` the verdict the pipeline acts on (the pure checks, in order), with the notice
  the reader is told.

Across languages (an English question over a Chinese article, the corpus's worst case), a term
is matched through the glossary of ``rag.text.tokens``, the pinyin of the passage (``Bao'an`` in
宝安区, ``Jia Xingdong`` for 贾兴东) and the other telling of the same story
(``Evidence.story``); a term none of these can translate is not held against the passage.
``stated_in_sentence`` tells when one cited sentence holds the answer's figures, the question's
years (or the article's date implies them) and its subject: no check withdraws such an answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from rag.answer.trust import rescale_figures
from rag.index.chunking import sentence_spans
from rag.prompts import prompt_text
from rag.text.figures import CITATION_MARKER, find_figures
from rag.text.lang import detect_lang
from rag.text.names import LATIN_NAME as _LATIN_NAME
from rag.text.names import chinese_names, english_form, pinyin_name
from rag.text.names import looks_pinyin as _looks_pinyin
from rag.text.names import pinyin_orders as _orders
from rag.text.tokens import EN_STOPWORDS, GLOSSARY, expand_query, normalize, pos_cut, stem, tokenize
from rag.types import Lang

# 2020年, 2020赛季, in 2020: wider than figures.YEAR, which wants 年 or a word boundary after it
_YEAR = re.compile(r"(?<![\d.,])((?:19|20)\d\d)(?![\d.,%万亿])")
# jieba tags of the words a Chinese question's answer must be about: nouns, names, places,
# organisations, other proper nouns, abbreviations, Latin words, nominal verbs (not times:
# "年初", "目前" are said in many ways)
_ZH_KEY_TAGS = ("n", "nr", "nrt", "ns", "nt", "nz", "j", "eng", "vn", "nw")
# what a question asks for, never a qualifier of it
_ZH_ASKED = frozenset("""
时间 时候 日期 年份 人数 数量 数字 数 总数 规模 多少 情况 具体 类型 名字 名称 地点 地方 原因 方式 结果
问题 内容 哪些 哪里 什么 谁 几 量 次数 人 个 名单 国家 城市 公司 比例 占比 金额 价格 数额 水平 排名 第几
""".split())  # fmt: skip  # noqa: SIM905 - a word list reads best as text
_EN_ASKED = frozenset("""
many much number numbers total amount figure figures year years time date when where who what which
kind type name names rate percentage share level value according did does happen happened happens
""".split())  # fmt: skip  # noqa: SIM905
# how answers are phrased, not what they say
_ANSWER_WORDS = frozenset("""
根据 资料 来源 编号 显示 表示 提到 指出 文中 文章 材料 答案 问题 包括 the according source sources passage
passages article articles answer
""".split())  # fmt: skip  # noqa: SIM905
_WORDS = re.compile(  # a year, a Han run or a Latin word
    r"(?<![\d.,])(?:19|20)\d\d(?![\d.,%万亿])|[\u3400-\u9fff\uf900-\ufaff]+|[A-Za-z0-9][A-Za-z0-9.'-]*"
)
_COUNT = re.compile(  # a count or a date part: a number and a Chinese measure word
    r"(?<![\d.])(\d+(?:\.\d+)?)\s*(公里|千米|小时|分钟|[月日号次个人例家名位辆台岁天届艘架座项条场所枚只部套件倍吨斤亩周票])"
)
PROPER = ("nr", "nrt", "ns", "nt", "nz", "eng")  # names: one of them missing is enough


@dataclass(frozen=True)
class Term:
    """A key term of a question: its text (normalised), whether it is a name, and its language."""

    text: str
    proper: bool
    lang: Lang


@lru_cache(maxsize=512)
def key_terms(question: str) -> tuple[Term, ...]:
    """The terms of ``question`` an answer's sentence must speak of, in order, without repeats.

    >>> [t.text for t in key_terms("印控克什米尔地区寺庙踩踏事故死亡人数")]
    ['印控', '克什米尔地区', '寺庙', '事故']
    >>> [t.text for t in key_terms("How many 5G base stations did Shenzhen build in 2020?") if t.proper]
    ['shenzhen']
    """
    out: dict[str, Term] = {}
    for m in _WORDS.finditer(question):
        run = m.group(0)
        if re.fullmatch(r"(?:19|20)\d\d", run):
            out.setdefault(run, Term(run, False, "zh"))
        elif re.match(r"[\u3400-\u9fff\uf900-\ufaff]", run):
            for word, flag in pos_cut(run):
                if flag in _ZH_KEY_TAGS and word not in _ZH_ASKED and len(word) > 1:
                    out.setdefault(normalize(word), Term(normalize(word), flag in PROPER, "zh"))
        elif re.search(r"[A-Za-z]", run):
            word = stem(normalize(run.rstrip(".'")))
            if word in EN_STOPWORDS or word in _EN_ASKED or len(word) < 2:
                continue
            proper = run[0].isupper() and m.start() > 0
            out.setdefault(word, Term(word, proper, "en"))
    return tuple(out.values())


def _sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text)]


@dataclass(frozen=True)
class Evidence:
    """A cited passage as the check reads it: its text, its article's title and date."""

    text: str
    title: str = ""
    date: str = ""  # ISO date of the article, "" when unknown
    article: str = ""  # the whole article ("" = the passage is all there is)
    story: str = ""  # the same story told in the other language ("" = none known)


def own_tokens(question: str, answer: str) -> set[str]:
    """The tokens of ``answer`` that are its own: not the question's, not how answers are phrased."""
    return set(tokenize(CITATION_MARKER.sub("", answer))) - set(tokenize(question)) - _ANSWER_WORDS


def support(question: str, answer: str, sources: Sequence[str]) -> list[tuple[int, int]]:
    """(source, sentence) positions of the sentences that state the answer: those sharing the
    most of the answer's tokens that the question does not already hold (none shared: []).

    >>> support("深圳建成多少5G基站？", "4.6万个[1]", ["深圳很大。全市建成5G基站46,000个。"])
    [(0, 1)]
    """
    own = own_tokens(question, answer)
    if not own:
        return []
    answer_lang = detect_lang(CITATION_MARKER.sub("", answer))
    scored = []
    for i, text in enumerate(sources):
        across = detect_lang(text) != answer_lang
        for j, sentence in enumerate(_sentences(text)):
            tokens = set(tokenize(sentence)) | (cross_tokens(sentence) if across else set())
            shared = len(own & tokens)
            if shared:
                scored.append((shared, i, j))
    best = max((s for s, _, _ in scored), default=0)
    return [(i, j) for s, i, j in scored if s == best]


@lru_cache(maxsize=2048)
def cross_tokens(text: str) -> frozenset[str]:
    """The other language's tokens of ``text``: glossary terms, and the pinyin of the people's
    names of a Chinese text.

    >>> sorted(cross_tokens("宝安区工信局局长贾兴东表示"))
    ['bureau', 'industry', 'information', 'jia', 'technology', 'xingdong']
    """
    out = set(expand_query(text))
    if re.search(r"[\u4e00-\u9fff]", text):
        out |= {w for n in chinese_names(text) for w in pinyin_name(n).casefold().split()}
    return frozenset(out)


@lru_cache(maxsize=256)
def _pinyin_text(text: str) -> str:
    """The Han characters of ``text`` in pinyin, one run of letters: 宝安区 -> "baoanqu"."""
    from pypinyin import lazy_pinyin

    return "".join(lazy_pinyin("".join(re.findall(r"[\u4e00-\u9fff]", text))))


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
        if not known and len(letters) >= 4 and _looks_pinyin(term.text) and letters in _pinyin_text(text):
            known = True  # pinyin only confirms: many English words read as pinyin (China, Hong Kong)
    else:
        forms = [f for zhs, ens in GLOSSARY if any(normalize(z) in term.text for z in zhs) for f in ens]
        tokens = set(tokenize(text))
        if forms:
            known = any(all(t in tokens for t in tokenize(f)) for f in forms)
        if not known and term.proper and _pinyin_text(term.text) in re.sub(r"[^a-z]", "", normalize(text)):
            known = True
    if not known and story:
        known = _covered(term, normalize(story), _tokens(story)) or known
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


def _covered(term: Term, context: str, tokens: set[str]) -> bool:
    """Whether ``context`` speaks of ``term``: an English term as a token; a Chinese one as
    written, abbreviated (its characters in order, at most 3 apart, 5 for longer terms: 规上 in
    规模以上, 澳网 in 澳大利亚网球, 冬奥会 in 冬季奥林匹克运动会) or in part (two thirds of its
    character pairs: 克什米尔 for 克什米尔地区)."""
    if term.lang == "en":
        return term.text in tokens
    gap = ".{0,3}" if len(term.text) == 2 else ".{0,5}"
    if term.text in context or re.search(gap.join(map(re.escape, term.text)), context):
        return True
    if len(term.text) >= 3:
        grams = {term.text[k : k + 2] for k in range(len(term.text) - 1)}
        return sum(g in context for g in grams) >= 2 * len(grams) / 3
    return False


def _year_covered(year: str, sentence: str, date: str) -> bool:
    """Whether a year of the question fits the sentence stating the answer: one it names, or
    the start of the next ("截至2024年初" is the end of 2023), when it names years; else the
    article appeared that year or the next (news reports last year's figures); else (no year,
    no date) nothing says otherwise.

    >>> _year_covered("2023", "截至2024年初，累计建成7.5万个。", "")
    True
    >>> _year_covered("2023", "全市建成7.5万个。", "2024-01-05")
    True
    """
    if named := set(_YEAR.findall(sentence)):
        nxt = str(int(year) + 1)
        start = rf"{nxt}\s*年?(?:初|1月|一月)|(?:early|beginning of|start of) {nxt}"
        return year in named or bool(re.search(start, sentence, re.IGNORECASE))
    return not date[:4].isdigit() or int(date[:4]) in (int(year), int(year) + 1)


def missing_terms(question: str, answer: str, evidence: Sequence[Evidence]) -> tuple[str, ...] | None:
    """The key terms of ``question`` missing around the best sentence stating ``answer``.

    A name must be in the article or its title; another term in the context of the supporting
    sentence: itself, the two sentences before it and the title; a year is judged by
    ``_year_covered``. Terms of the other language than the passage's are not checked. None when
    no sentence states the answer (nothing to judge).

    >>> q = "印控克什米尔地区寺庙踩踏事故死亡人数"
    >>> missing_terms(q, "3人", [Evidence("据报道，印度拉贾斯坦邦一座寺庙发生踩踏事故，造成3人死亡。")])
    ('印控', '克什米尔地区')
    >>> missing_terms(q, "12人", [Evidence("印控克什米尔地区一座寺庙发生踩踏事故，12人死亡。")])
    ()
    """
    # the same story told in the other language is read too: the sentence there may name what
    # this telling leaves out (the city, the bureau's full name)
    tellings = list(dict.fromkeys(e.story for e in evidence if e.story))
    dates = {e.story: e.date for e in evidence if e.story}
    evidence = [*evidence, *(Evidence(t, "", dates[t], t) for t in tellings)]
    places = support(question, answer, [e.text for e in evidence])
    if not places:
        return None
    terms = key_terms(question)
    best: tuple[str, ...] | None = None
    english_names = any(t.proper and t.lang == "en" for t in terms)  # need the article's tokens
    wholes: dict[int, tuple[str, set[str]]] = {}  # per passage: its article, and its tokens when needed
    for i, j in places:
        e = evidence[i]
        sentences = _sentences(e.text)
        context = normalize(" ".join([e.title, *sentences[max(j - 2, 0) : j + 1]]))
        tokens = set(tokenize(context))
        if i not in wholes:
            whole = normalize(f"{e.title} {e.article or e.text}")
            wholes[i] = (whole, set(tokenize(whole)) if english_names else set())
        whole, whole_tokens = wholes[i]
        src_lang = detect_lang(e.text)
        missing = []
        years = [t.text for t in terms if re.fullmatch(r"\d{4}", t.text)]
        # a change between years: the sentence of one of them is enough (each figure has its own)
        if len(years) > 1 and any(_year_covered(y, sentences[j], e.date) for y in years):
            years = []
        for t in terms:
            if re.fullmatch(r"\d{4}", t.text):
                if t.text in years and not _year_covered(t.text, sentences[j], e.date):
                    missing.append(t.text)
            elif t.lang != src_lang:
                if t.proper and covered_across(t, whole, e.story) is False:
                    missing.append(t.text)
            elif not (_covered(t, whole, whole_tokens) if t.proper else _covered(t, context, tokens)):
                missing.append(t.text)
        if best is None or len(missing) < len(best):
            best = tuple(missing)
    return best


def off_topic(
    question: str, answer: str, evidence: Sequence[Evidence], share: float = 0.5
) -> tuple[str, ...]:
    """The key terms missing around the sentence stating ``answer`` when they make it about
    something else than was asked: a name or a year of the question, or two or more terms that
    make at least ``share`` of its checked terms. () when the answer is on the topic, or when
    any part of a question that asks several things is.

    >>> off_topic("2021赛季中超冠军", "江苏苏宁", [Evidence("2020赛季中超联赛冠军为江苏苏宁。")])
    ('2021',)
    >>> ev = Evidence("全市建成5G基站4.6万个。", "深圳工业", "2021-03-01")
    >>> off_topic("深圳2020年建成多少5G基站？", "4.6万个", [ev])
    ()
    """
    langs = {detect_lang(e.text) for e in evidence}
    worst: tuple[str, ...] = ()
    for part in sub_questions(question):
        missing = missing_terms(part, answer, evidence)
        if not missing:
            return ()
        terms = key_terms(part)
        names = {t.text for t in terms if t.proper or re.fullmatch(r"\d{4}", t.text)}
        checked = [t for t in terms if t.lang in langs or re.fullmatch(r"\d{4}", t.text)]
        if not (names & set(missing)) and (len(missing) < 2 or len(missing) < share * len(checked)):
            return ()
        worst = worst or missing
    return worst


def unsupported_figures(
    question: str, answer: str, sources: Sequence[str], lang: Lang = "zh"
) -> tuple[str, ...]:
    """The answer's figures when it states some (beyond the question's own) and the sources
    state none of them: the answer is not drawn from them. An English answer's figures are
    first rescaled as the pipeline will show them ("7.3 million" for 7.3万 is 73,000).

    >>> unsupported_figures("2021年香港GDP增长了多少？", "增长了4.6%。[1]", ["香港GDP在1997年达到高点。"])
    ('4.6%',)
    >>> unsupported_figures("深圳建成多少5G基站？", "4.6万个，占全省40%[1]", ["建成5G基站4.6万个。"])
    ()
    """
    if lang == "en":
        answer, _ = rescale_figures(answer, sources)
    asked = find_figures(question)
    own = [f for f in find_figures(answer) if not any(f.matches(g) for g in asked)]
    stated = [g for s in sources for g in find_figures(s)]
    if not own or any(f.matches(g) for f in own for g in stated):
        return ()
    return tuple(dict.fromkeys(f.text for f in own))


def unstated(question: str, answer: str, sources: Sequence[str]) -> bool:
    """Whether ``answer``, written in the sources' language, says something of its own (beyond
    the question's words) that no sentence of them shares: a claim the sources do not hold.

    >>> unstated("香港第七届立法会选举有多少个议席？", "7个议席。[1]", ["立法会设有18个事务委员会。"])
    True
    >>> unstated("香港立法会有多少个议席？", "90个议席[1]", ["新一届立法会共有90个议席。"])
    False
    """
    lang = detect_lang(answer)
    if not sources or any(detect_lang(s) != lang for s in sources):
        return False
    own = own_tokens(question, answer)
    return bool(own) and (
        not support(question, answer, sources) or bool(uncounted(question, answer, sources))
    )


def uncounted(question: str, answer: str, sources: Sequence[str]) -> tuple[str, ...]:
    """The counts and dates of a Chinese ``answer`` ("25次", "1月7日" as "1月", "7日") that no
    source writes (a digit before them would make another number: "17日" is not "7日"); those
    the question writes are left out. Figures with 万, 亿, % are ``unverified_figures``' part;
    years are left to the year checks (an article's "2月4日" is of the year it appeared).

    >>> uncounted("美联储将加息几次？", "加息25次[1]", ["美联储3月加息25个基点，全年加息4次。"])
    ('25次',)
    >>> uncounted("春运何时开始？", "1月17日[1]", ["2022年春运从1月17日开始。"])
    ()
    >>> uncounted("用了多长时间？", "用了1个半月，转产只需1小时[1]", ["仅用一个半月；只需1个小时。"])
    ()
    """
    text = normalize(" ".join(sources))
    out = []
    for m in _COUNT.finditer(normalize(CITATION_MARKER.sub("", answer))):
        number, unit = m.group(1), m.group(2)
        forms = "|".join([re.escape(number), *_han_numbers(number)])
        # "1个小时" for "1小时", "一个半月" for "1个半月"
        pattern = rf"(?<![\d.{_HAN_DIGITS}])(?:{forms})\s*(?:个\s*)?{re.escape(unit)}"
        written = re.search(pattern, text) or re.search(pattern, normalize(question))
        if not written and m.group(0) not in out:
            out.append(m.group(0))
    return tuple(out)


_HAN_DIGITS = "〇零一二两三四五六七八九十百"


def _han_numbers(number: str) -> list[str]:
    """How Chinese writes a whole ``number`` below 100 in characters ([] for others).

    >>> _han_numbers("1"), _han_numbers("2"), _han_numbers("15"), _han_numbers("40"), _han_numbers("1.5")
    (['一'], ['二', '两'], ['十五'], ['四十'], [])
    """
    if not number.isdigit() or not 0 < int(number) < 100:
        return []
    digits = "零一二三四五六七八九"
    tens, ones = divmod(int(number), 10)
    if not tens:
        return [digits[ones], *(["两"] if ones == 2 else [])]
    head = ("" if tens == 1 else digits[tens]) + "十"
    return [head + (digits[ones] if ones else "")]


def unfound_names(question: str, answer: str, sources: Sequence[str]) -> tuple[str, ...]:
    """The people's names of ``answer`` (``answer_names``) that no source gives in either
    language: an invented name ("Li Jiabin" when the articles name no such person).

    >>> unfound_names("Who is the mayor?", "The mayor is Li Jiabin [1].", ["局长贾兴东表示", "杨少昆 摄"])
    ('Li Jiabin',)
    >>> unfound_names("Who heads it?", "Jia Xingdong [1].", ["局长贾兴东表示"])
    ()
    """
    words = set(re.findall(r"[a-z']+", " ".join(sources).casefold()))
    out = []
    for name in answer_names(question, answer):
        latin = not re.search(r"[\u3400-\u9fff]", name)
        if latin and any(w.casefold() in words for w in re.split(r"[ -]", name)):
            continue  # a word of the sources (Shenzhen, Bao'an), not an invented name
        if not any(name_in(name, s) for s in sources):
            out.append(name)
    return tuple(out)


def unnamed_role(question: str, answer: str, evidence: Sequence[Evidence]) -> str:
    """For a question asking who holds a role ("Who is the mayor?"), the role when no sentence
    naming the person the answer gives says it (itself or the one before), in its own language,
    "" otherwise (a role the other language's sentence cannot be judged on is not held against it).

    >>> ev = [Evidence("Jia Xingdong, director of the industry bureau, said so.")]
    >>> unnamed_role("Who is the mayor of Shenzhen?", "The mayor is Jia Xingdong [1].", ev)
    'mayor'
    >>> unnamed_role("Who is the director of the bureau?", "Jia Xingdong [1].", ev)
    ''
    """
    names = answer_names(question, answer)
    roles = [t for t in key_terms(question) if not t.proper and not re.fullmatch(r"\d{4}", t.text)]
    if not names or not roles or not _WHO_ASKED.search(question):
        return ""
    naming = False  # a sentence names the person (none: nothing to judge)
    for e in evidence:
        sentences = _sentences(e.text)
        for j, sentence in enumerate(sentences):
            if not all(name_in(n, sentence) for n in names):
                continue
            naming = True
            context = normalize(" ".join(sentences[max(j - 1, 0) : j + 1]))
            same = [t for t in roles if t.lang == detect_lang(sentence)]
            if not same or any(_covered(t, context, set(tokenize(context))) for t in same):
                return ""
    return roles[0].text if naming else ""


_WHO_ASKED = re.compile(r"\bwho(?:m|se)?\b|谁", re.IGNORECASE)


def unfound_names_notice(names: Sequence[str], lang: Lang) -> str:
    """Why an answer was withdrawn for ``unfound_names``.

    >>> unfound_names_notice(["Li Jiabin"], "en")
    'An answer was written, but no source names Li Jiabin.'
    """
    if lang == "zh":
        return f"模型写出了答案，但资料中没有提到{'、'.join(names)}。"
    return f"An answer was written, but no source names {', '.join(names)}."


_COUNTED = "辆台个人家座艘架部套件条项只名位次"  # measure words of a count
_RATE_ASKED = re.compile(r"百分|比例|占比|比重|percent|share|rate|proportion", re.IGNORECASE)
_COUNT_ASKED = re.compile(
    rf"(?:多少\s*[{_COUNTED}吨元]|几\s*[{_COUNTED}])(?!力|民|均|工)|\bhow many\b", re.IGNORECASE
)  # not 多少人力 (labour saved), 多少人均


def wrong_measure(question: str, answer: str) -> bool:
    """Whether ``question`` asks for a count ("多少辆", "how many") and every figure ``answer``
    gives is a rate or a share (a growth rate is not an output in vehicles).

    >>> wrong_measure("深圳2023年新能源汽车产量是多少辆？", "产量增长125.8%[1]")
    True
    >>> wrong_measure("建成多少个5G基站？", "4.6万个，占40%[1]"), wrong_measure("节省了多少人力？", "88%[1]")
    (False, False)
    >>> wrong_measure("增长了多少？", "5.5%[1]"), wrong_measure("How many percent?", "12% [1]")
    (False, False)
    """
    if not _COUNT_ASKED.search(question) or _RATE_ASKED.search(question):
        return False
    asked = find_figures(question)
    own = [f for f in find_figures(CITATION_MARKER.sub("", answer)) if not any(f.matches(g) for g in asked)]
    return bool(own) and all(f.kind in ("percent", "points", "permille") for f in own)


def wrong_measure_notice(lang: Lang) -> str:
    """Why an answer was withdrawn for ``wrong_measure``."""
    if lang == "zh":
        return "模型写出了答案，但只给出了比率，没有给出问题所问的数量。"
    return "An answer was written, but it gives only a rate, not the number asked for."


def unstated_notice(lang: Lang) -> str:
    """Why an answer was withdrawn for ``unstated``."""
    if lang == "zh":
        return "模型写出了答案，但所引资料中没有这一说法。"
    return "An answer was written, but the passages it cites do not say so."


def unsupported_notice(figures: Sequence[str], lang: Lang) -> str:
    """Why an answer was withdrawn for ``unsupported_figures``.

    >>> unsupported_notice(["4.6%"], "en")
    'An answer was written, but none of its figures (4.6%) is in the passages it cites.'
    """
    if lang == "zh":
        return f"模型写出了答案，但其中的数字（{'、'.join(figures)}）在所引资料中都找不到。"
    return (
        f"An answer was written, but none of its figures ({', '.join(figures)}) is in the passages it cites."
    )


def off_topic_notice(missing: Sequence[str], lang: Lang) -> str:
    """Why an answer was withdrawn for ``off_topic``.

    >>> off_topic_notice(["克什米尔地区"], "zh")
    '模型写出了答案，但资料中给出该答案的句子没有提到“克什米尔地区”，说的可能是另一件事。'
    """
    if lang == "zh":
        return f"模型写出了答案，但资料中给出该答案的句子没有提到“{'”“'.join(missing)}”，说的可能是另一件事。"
    return (
        "An answer was written, but the sentence of the sources that gives it does not mention "
        + ", ".join(f"“{m}”" for m in missing)
        + ", so it may be about something else."
    )


# --------------------------------------------------------------------------- years of figures


def other_year(question: str, answer: str, sources: Sequence[str]) -> str | None:
    """The year the sources give the answer's figures for, when the question asks about another.

    A small model asked about 2021 readily answers with the 2020 figure of a passage. Each
    figure of the answer (those the question states aside) is looked up in the sentences of
    ``sources`` stating it; when every such sentence names years and none is a year of the
    question, the earliest year they name is returned. None when the question names no year,
    a figure is in no source, or some sentence stating it names no year or the asked one.

    >>> other_year("2021年电影总票房是多少？", "300.67亿元[1]", ["2022年电影年度总票房为300.67亿元。"])
    '2022'
    >>> other_year("2020年深圳建成多少5G基站？", "超4.6万个[1]", ["2020年深圳建成5G基站超4.6万个。"]) is None
    True
    >>> other_year("截至2024年初建成多少5G基站？", "7.5万个[1]", ["全市累计建设5G基站7.5万个。"]) is None
    True
    """
    asked = set(_YEAR.findall(question))
    given = find_figures(question)
    figures = [f for f in find_figures(answer) if not any(f.matches(g) for g in given)]
    if not asked or not figures:
        return None
    sentences = [t for s in sources for t in _sentences(s)]
    years: set[str] = set()
    for f in figures:
        stating = [t for t in sentences if any(f.matches(g) for g in find_figures(t))]
        found = [set(_YEAR.findall(t)) for t in stating]
        if not stating or any(not y or y & asked for y in found):
            return None
        years |= set().union(*found)
    return min(years)


def other_year_notice(year: str, lang: Lang) -> str:
    """Why an answer was withdrawn for ``other_year``.

    >>> other_year_notice("2020", "en")
    'An answer was written, but the sources give its figures for 2020, not for the year asked.'
    """
    if lang == "zh":
        return f"模型写出了答案，但资料中的这些数字是{year}年的，不是问题所问的年份。"
    return f"An answer was written, but the sources give its figures for {year}, not for the year asked."


# --------------------------------------------------------------------------- asking the generator

YES: dict[Lang, tuple[str, ...]] = {"zh": ("是",), "en": ("yes", "Yes")}
NO: dict[Lang, tuple[str, ...]] = {"zh": ("否", "不"), "en": ("no", "No")}


def stating_text(question: str, answer: str, evidence: Sequence[Evidence], limit: int = 300) -> str:
    """The sentence of the cited passages that states ``answer`` with the one before it (the
    start of the first passage when none does), at most ``limit`` characters.

    >>> ev = Evidence("深圳很大。全市建成5G基站46,000个。后来更多。")
    >>> stating_text("深圳建成多少5G基站？", "4.6万个[1]", [ev])
    '深圳很大。全市建成5G基站46,000个。'
    """
    texts = [e.text for e in evidence]
    places = support(question, answer, texts)
    if not places:
        return texts[0][:limit] if texts else ""
    i, j = places[0]
    sentences = _sentences(texts[i])
    glue = "" if detect_lang(texts[i]) == "zh" else " "
    return glue.join(sentences[max(j - 1, 0) : j + 1])[-limit:]


def check_messages(
    question: str, answer: str, evidence: Sequence[Evidence], lang: Lang
) -> list[dict[str, str]]:
    """The short prompt that asks the generator whether the sentence stating ``answer`` gives it as
    the answer to ``question`` (``prompts/check_*_{lang}.txt``); the reply's first token is read
    as yes (``YES[lang]``) or no (``NO[lang]``), nothing is generated."""
    user = prompt_text(f"check_user_{lang}").format(
        source=stating_text(question, answer, evidence),
        question=question,
        answer=re.sub(r"\s+(?=[.,;。，；])", "", CITATION_MARKER.sub("", answer)).strip(),
    )
    return [
        {"role": "system", "content": prompt_text(f"check_system_{lang}")},
        {"role": "user", "content": user},
    ]


def unconfirmed_notice(p_yes: float, lang: Lang) -> str:
    """Why an answer was withdrawn after the generator's own check.

    >>> unconfirmed_notice(0.42, "zh")
    '模型写出了答案，但对照所依据的句子核对时未能确认（置信度 0.42）。'
    """
    if lang == "zh":
        return f"模型写出了答案，但对照所依据的句子核对时未能确认（置信度 {p_yes:.2f}）。"
    return (
        "An answer was written, but checked against the sentence it relies on it did not hold up "
        f"(confidence {p_yes:.2f})."
    )


# --------------------------------------------------------------------------- the verdict


def ungrounded(question: str, answer: str, evidence: Sequence[Evidence], lang: Lang) -> str:
    """Why ``answer`` should be withdrawn, told in ``lang``, or "" when it stands: its figures
    are the sources' figures for another year than asked (``other_year``), none of its figures
    is in the passages it cites (``unsupported_figures``), or the sentence stating it lacks a
    name, a year or most terms of the question (``off_topic``). ``evidence`` is every passage
    shown, the cited ones first.

    >>> ungrounded("2021赛季中超冠军", "江苏苏宁[1]", [Evidence("2020赛季中超联赛冠军为江苏苏宁。")], "zh")
    '模型写出了答案，但资料中给出该答案的句子没有提到“2021”，说的可能是另一件事。'
    """
    texts = [e.text for e in evidence]
    if year := other_year(question, answer, texts):
        return other_year_notice(year, lang)
    if figures := unsupported_figures(question, answer, texts, lang):
        return unsupported_notice(figures, lang)
    if unstated(question, answer, texts):
        return unstated_notice(lang)
    if missing := off_topic(question, answer, evidence):
        return off_topic_notice(missing, lang)
    return ""


def stated_in_sentence(question: str, answer: str, evidence: Sequence[Evidence], cited: int = 0) -> bool:
    """Whether one sentence of the first ``cited`` passages (all when 0) holds the answer: every
    figure of it (beyond the question's), the question's year (one of them for a change between
    years; a sentence naming none fits when the article's date implies it) and its subject (its
    names, else one of its terms; across languages ``covered_across``). No check withdraws such
    an answer.

    >>> ev = [Evidence("2023年，深圳智能手机占全球产量1/7。", "深圳制造", "2024-01-10")]
    >>> stated_in_sentence("2023年深圳智能手机占全球产量的多少？", "1/7[1]", ev)
    True
    >>> q = "What share of the world's smartphones did Shenzhen make in 2023?"
    >>> stated_in_sentence(q, "One seventh [1].", ev)
    True
    >>> stated_in_sentence("2022年深圳智能手机占全球产量的多少？", "1/7[1]", ev)
    False
    """
    asked = find_figures(question)
    figures = [f for f in find_figures(answer) if not any(f.matches(g) for g in asked)]
    names = [] if figures else answer_names(question, answer)
    if not figures and not names:
        return False
    years = sorted(set(_YEAR.findall(question)))
    terms = [t for t in key_terms(question) if not re.fullmatch(r"\d{4}", t.text)]
    subject = [t for t in terms if t.proper] or terms
    for e in evidence[: cited or len(evidence)]:
        src_lang, sentences = detect_lang(e.text), _sentences(e.text)
        whole = normalize(f"{e.title} {e.article or e.text}")
        whole_tokens = set(tokenize(whole)) if any(t.proper and t.lang == "en" for t in subject) else set()
        for j, sentence in enumerate(sentences):
            stated = find_figures(sentence)
            if not all(any(f.matches(g) for g in stated) for f in figures):
                continue
            if not all(name_in(n, sentence) for n in names):
                continue
            fits = [_year_covered(y, sentence, e.date) for y in years]
            if years and not (any(fits) if len(years) > 1 else fits[0]):
                continue
            context = normalize(" ".join([e.title, *sentences[max(j - 2, 0) : j + 1]]))
            found = [
                covered_across(t, whole, e.story)
                if t.lang != src_lang
                else _covered(t, whole, whole_tokens)
                if t.proper
                else _covered(t, context, set(tokenize(context)))
                for t in subject
            ]
            if subject is terms:  # no names asked: most of the terms the sentence can be judged on
                judged = [f for f in found if f is not None]
                if 2 * sum(judged) >= len(judged):
                    return True
            elif False not in found and (any(found) or all(t.lang != src_lang for t in subject)):
                return True
    return False


def answer_names(question: str, answer: str) -> list[str]:
    """The people's names ``answer`` gives that ``question`` does not: Chinese names, and
    pinyin-like Latin ones ("Jia Xingdong").

    >>> answer_names("谁发布了数据？", "局长贾兴东发布[1]")
    ['贾兴东']
    >>> answer_names("Who said it?", "Jia Xingdong said [1].")
    ['Jia Xingdong']
    """
    text = CITATION_MARKER.sub("", answer)
    latin = [m.group(0) for m in _LATIN_NAME.finditer(text) if _looks_pinyin(m.group(0))]
    names = dict.fromkeys([*chinese_names(text), *latin])
    return [n for n in names if n.casefold() not in question.casefold()]


def name_in(name: str, text: str) -> bool:
    """Whether ``text`` gives the person ``name``: as written, or across languages (the pinyin
    of a Chinese name either way round).

    >>> name_in("Jia Xingdong", "局长贾兴东表示"), name_in("贾兴东", "Jia Xingdong said")
    (True, True)
    >>> name_in("Li Jiabin", "局长贾兴东表示"), name_in("Ping An", "平安集团")  # a company, not tagged a name
    (False, True)
    """
    if name.casefold() in text.casefold():
        return True
    if re.search(r"[\u3400-\u9fff]", name):
        return english_form(name, [text]) is not None
    key = re.sub(r"[^a-z]", "", name.casefold())
    in_names = any(key in _orders(n) for n in chinese_names(text))
    return in_names or (len(key) >= 4 and key in _pinyin_text(text))
