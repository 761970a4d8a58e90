"""Keyword tokens: search tokens for BM25 in Chinese and English, and the query glossary.

* ``tokenize`` turns text into search tokens. NFKC first (full-width ＧＤＰ, ４６，６００ become
  ASCII) and case-folded; Chinese runs are cut by jieba in search mode (``总产值`` gives
  ``总产``, ``产值``, ``总产值``); English words lose a plural ``s``; figures become their value,
  so ``4.6万``, ``46,000`` and ``46 thousand`` are the same token ``46000`` in both languages.
  Stopwords and question words of both languages are dropped.
* ``expand_query`` adds the other language's words for the terms of a small bilingual
  glossary of the news domain (``基站`` <-> ``base station``), so a question finds passages
  written in the other language by their keywords too.
* ``pos_cut`` gives jieba's part-of-speech tags on the same dictionary.

``TOKENIZER_ID`` names this tokenisation; the index manifest records it, and a build made with
another is converted (its chunks tokenised again) by the next ``rag build``.

Does not index or score (the BM25 index over chunks is ``rag.index.bm25.KeywordIndex``), and does
not know about vectors, fusion or languages other than Chinese and English; numbers
written in Chinese characters (三千) stay words.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

from rag.text.lang import HAN

__all__ = ["TOKENIZER_ID", "expand_query", "normalize", "pos_cut", "tokenize", "warm_up"]

# recorded in the index manifest; change it whenever tokens change
# (kw-v2: Han characters of the supplementary planes are Chinese runs, cut by jieba, not words)
TOKENIZER_ID = "kw-v2"

_CN_UNITS = {"万亿": 10**12, "亿": 10**8, "万": 10**4}
_EN_UNITS = {"trillion": 10**12, "billion": 10**9, "million": 10**6, "thousand": 10**3}
_TOKEN = re.compile(
    r"(?P<num>\d+(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?:\s*(?P<unit>万亿|亿|万)|\s*(?P<en_unit>trillion|billion|million|thousand)(?![a-z]))?"
    rf"(?![^\W{HAN}])"  # "5g", "1990s" are words, not figures
    rf"|(?P<han>[{HAN}]+)"
    rf"|(?P<word>[^\W_{HAN}]+)"
)

EN_STOPWORDS = frozenset("""
a an the and or but nor of to in on at by for from with without into onto over under about above
below between through during before after as than then so such is are was were be been being am
do does did done doing have has had having will would shall should can could may might must
i me my we our us you your he him his she her it its they them their this that these those there
here what which who whom whose when where why how many much what's some any all each every
no not only also very just more most other another same own too s t
""".split())  # fmt: skip  # noqa: SIM905 - a word list reads best as text

ZH_STOPWORDS = frozenset("""
的 了 是 在 和 与 及 或 也 都 就 而 被 把 对 于 从 为 以 之 其 这 那 该 此 个 有 又 并 等 着 过 将
吗 呢 吧 啊 呀 么 什么 多少 哪 哪些 哪个 哪里 哪儿 如何 怎么 怎样 为什么 是否 几 谁 何 何时
一 一个 这个 那个 这些 那些 我 我们 你 你们 他 他们 她 它 它们 所 因为 所以 但 但是 如果 还 则 即
""".split())  # fmt: skip  # noqa: SIM905 - a word list reads best as text

# Domain terms of the news corpus in both languages; an entry's every form is looked up in the
# other language. Chinese forms are matched on the NFKC, case-folded text; English forms too.
GLOSSARY: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("基站",), ("base station",)),
    (("工业互联网",), ("industrial internet",)),
    (("规上工业", "规模以上工业"),
     ("above-designated-size", "above designated size", "industrial enterprises")),
    (("产值", "总产值"), ("output",)),
    (("增加值",), ("added value", "value-added", "value added")),
    (("深圳",), ("shenzhen",)),
    (("广东",), ("guangdong",)),
    (("华为",), ("huawei",)),
    (("腾讯",), ("tencent",)),
    (("比亚迪",), ("byd",)),
    (("富士康",), ("foxconn",)),
    (("口罩",), ("mask", "masks")),
    (("疫情",), ("epidemic", "pandemic", "covid")),
    (("熄灯工厂",), ("lights-out", "lights out factory")),
    (("制造业",), ("manufacturing",)),
    (("数字经济",), ("digital economy",)),
    (("人工智能",), ("artificial intelligence", "ai")),
    (("扶持资金", "专项资金", "资金"), ("fund", "funds", "funding")),
    (("项目",), ("project", "projects")),
    (("企业",), ("enterprise", "enterprises", "company", "companies")),
    (("增长",), ("growth", "grew", "increase")),
    (("亿元",), ("billion yuan",)),
    (("万亿元",), ("trillion yuan",)),
    (("人民币", "元"), ("yuan", "rmb")),
    (("全国",), ("nationwide", "national")),
    (("城市",), ("city", "cities")),
    (("工信局", "工业和信息化局"), ("industry and information technology bureau",)),
    (("新能源汽车",), ("new energy vehicle", "new energy vehicles", "nev")),
    (("出口",), ("export", "exports")),
    (("研发",), ("r&d", "research and development")),
)  # fmt: skip


@lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)  # no "Building prefix dict" chatter
    jieba.dt.initialize()  # the library's own tokenizer, whose dictionary its tagger already read
    return jieba.dt


_jieba_lock = threading.Lock()  # jieba's tokenizer builds its caches lazily; not thread-safe


def pos_cut(text: str) -> list[tuple[str, str]]:
    """(word, part-of-speech tag) pairs of Chinese ``text``, by jieba's tagger on the same
    dictionary as ``tokenize`` (loaded once).

    >>> pos_cut("深圳建成基站")
    [('深圳', 'ns'), ('建成', 'v'), ('基站', 'n')]
    """
    with _jieba_lock:
        return [(p.word, p.flag) for p in _pos_tagger().cut(text)]


@lru_cache(maxsize=1)
def _pos_tagger():
    """jieba's tagger over ``_jieba``'s tokenizer (the library's own pair: the tags are read once,
    on import; a tagger of another tokenizer instance would read them again, 0.5 s)."""
    _jieba()
    import jieba.posseg

    return jieba.posseg.dt


def warm_up() -> None:
    """Load jieba's dictionary and its part-of-speech tagger now (about a second each) rather
    than on the first question. The
    cross-language dictionary is not loaded here (``rag.text.lexicon.warm_up``: about 2 s of pure
    Python that would slow a server's start-up); the chat server loads it once its models are in."""
    with _jieba_lock:
        _pos_tagger()


def normalize(text: str) -> str:
    """NFKC and case-folded: full-width letters, digits and punctuation become ASCII.

    >>> normalize("ＧＤＰ增长４６，６００")
    'gdp增长46,600'
    """
    return unicodedata.normalize("NFKC", text).casefold()


def figure_token(number: str, unit: str | None = None) -> str:
    """The token of a figure: its value, without separators or a trailing ``.0``.

    >>> figure_token("4.6", "万"), figure_token("46,000"), figure_token("3.7", "trillion")
    ('46000', '46000', '3700000000000')
    >>> figure_token("3.70")
    '3.7'
    """
    value = float(number.replace(",", ""))
    if unit:
        value *= _CN_UNITS.get(unit) or _EN_UNITS[unit]
    value = round(value, 6)
    if value == int(value):
        return str(int(value))
    return f"{value:.6f}".rstrip("0").rstrip(".")


def stem(word: str) -> str:
    """A light English stemmer: plurals and the possessive only.

    >>> [stem(w) for w in ["stations", "cities", "bus", "analysis", "shenzhen's", "news"]]
    ['station', 'city', 'bus', 'analysis', 'shenzhen', 'new']
    """
    if word.endswith("'s"):
        word = word[:-2]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def tokenize(text: str) -> list[str]:
    """Search tokens of Chinese, English or mixed text, stopwords dropped.

    >>> tokenize("2020年深圳建成5G基站超4.6万个")
    ['2020', '年', '深圳', '建成', '5g', '基站', '超', '46000']
    >>> tokenize("How many base stations did Shenzhen build? 46,600!")
    ['base', 'station', 'shenzhen', 'build', '46600']
    >>> tokenize("深圳的ＧＤＰ is 3.7 trillion yuan，总产值")
    ['深圳', 'gdp', '3700000000000', 'yuan', '总产', '产值', '总产值']
    """
    out: list[str] = []
    for m in _TOKEN.finditer(normalize(text)):
        if m.group("num"):
            out.append(figure_token(m.group("num"), m.group("unit") or m.group("en_unit")))
        elif m.group("han"):
            with _jieba_lock:
                words = _jieba().lcut_for_search(m.group("han"), HMM=True)
            out.extend(w for w in words if w not in ZH_STOPWORDS)
        else:
            word = stem(m.group("word"))
            if word not in EN_STOPWORDS:
                out.append(word)
    return out


@lru_cache(maxsize=1)
def _glossary_tokens() -> tuple[
    tuple[tuple[str, ...], tuple[tuple[str, ...], ...], tuple[str, ...], tuple[str, ...]], ...
]:
    """Per glossary entry: Chinese forms, English forms as tokens, and the tokens of each side."""
    out = []
    for zh, en in GLOSSARY:
        en_forms = tuple(tuple(tokenize(f)) for f in en)
        zh_tokens = tuple(dict.fromkeys(t for f in zh for t in tokenize(f)))
        en_tokens = tuple(dict.fromkeys(t for f in en_forms for t in f))
        out.append((zh, en_forms, zh_tokens, en_tokens))
    return tuple(out)


def _contains(tokens: Sequence[str], part: Sequence[str]) -> bool:
    n = len(part)
    return n > 0 and any(tuple(tokens[i : i + n]) == tuple(part) for i in range(len(tokens) - n + 1))


def expand_query(text: str) -> list[str]:
    """Tokens of the other language's forms of the glossary terms found in ``text``.

    Chinese forms are found in the normalised text, English forms as token sequences (so
    plurals and full-width letters match).

    >>> expand_query("How many 5G base stations did Shenzhen build?")
    ['基站', '深圳']
    >>> expand_query("深圳规上工业总产值")
    ['designated', 'size', 'industrial', 'enterprise', 'output', 'shenzhen']
    """
    t, toks = normalize(text), tokenize(text)
    out: list[str] = []
    for zh, en_forms, zh_tokens, en_tokens in _glossary_tokens():
        if any(f in t for f in zh):
            out.extend(en_tokens)
        if any(_contains(toks, f) for f in en_forms):
            out.extend(zh_tokens)
    return list(dict.fromkeys(out))
