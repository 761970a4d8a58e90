"""Where each kind of answer is in a sentence: figures, durations, dates, names, organisations, items.

``kind_spans(kind, sentence)`` gives the (start, end) of every span of one kind: figures with
their qualifier and unit ("超4.6万个", ``rag.text.figures``), durations ("一个半月", "3 days"),
dates ("2020年3月", "March 2020"), and for names: capitalised English names, Chinese people's
names (``rag.text.names``), jieba's organisations (``nt``, ``nz``), runs of nouns ending in an
organisation word (研究院, 公司...), what a clause says became or was named something
(深圳·国际开源谷成为…) and the items of a list (before or after a 、).
``disjoint`` keeps the longest of overlapping spans.

Pure text: does not read the question (``rag.answer.candidates.extract`` does) or choose among spans.
"""

from __future__ import annotations

import re

from rag.text.dates import MONTH_NAMES, MONTHS
from rag.text.figures import find_figures
from rag.text.figures_en import VAGUE_QUANTITY
from rag.text.lang import HAN
from rag.text.names import chinese_names
from rag.text.tokens import pos_cut

_CN_NUMBER = r"[一二两三四五六七八九十半几]+"
_DURATION = re.compile(
    rf"(?:(?<![\d.])\d{{1,3}}(?:\.\d+)?|(?<![上下]){_CN_NUMBER})\s*(?:个)?半?(?:个)?(?:小时|分钟|秒钟?|天|周|星期|个月|(?<=[个半])月|年)半?"
    r"|\b(?:\d+(?:\.\d+)?|an?|one|two|three|four|five|six|seven|eight|nine|ten)\s+(?:and a half\s+)?"
    r"(?:hours?|minutes?|seconds?|days?|weeks?|months?|years?)(?:\s+and\s+a\s+half)?\b",
    re.I,
)
_DATE = re.compile(
    r"(?:(?:19|20)\d\d年|今年|去年|前年|明年)?\d{1,2}月(?:\d{1,2}[日号])?|(?:19|20)\d\d年(?!\d)"
    rf"|\b(?:{MONTH_NAMES})"
    r"(?:\s+\d{1,2})?(?:,?\s+(?:19|20)\d\d)?\b|\b(?:19|20)\d\d\b"
)
_QUALIFIER = re.compile(
    r"(?:(?:超过|超|逾|近|将近|接近|约|大约|不到|不足|more than|nearly|about|over|almost)\s*)?"
    r"(?:(?:US|HK|S|A|C)?\$|€|£|RMB\s?)?$",  # and a currency's sign: US$572 billion
    re.I,
)
_UNIT = re.compile(
    r"\s(?:yuan|US dollars|dollars|times|fold|square (?:kilomet(?:er|re)s?|met(?:er|re)s?)|sq km|km2?"
    r"|kilomet(?:er|re)s|hectares|acres|tonnes|tons|(?:kilo|mega|giga)watts?(?:-hours)?|kWh|MW|GW)\b"
    r"|(?:多|余)?(?:万亿|亿|万)?(?:多|余)?"
    r"(?:美元|美金|港元|港币|欧元|新元|日元|韩元|澳元|加元|英镑|卢布|卢比|人民币|元|个百分点|平方(?:公里|千米|米)|公里|千米"
    r"|公顷|亩|千瓦时|千瓦|兆瓦|立方米|米|公斤|千克|克|斤|升|桶|人次|架次|辆次"
    r"|[个家根项座条名位倍次台辆只件人户所吨款种枚张场部集届岁份])?",
    re.I,
)
_WORK = re.compile(r"《[^》]{1,30}》")  # a film's, a book's, a law's title
_EN_NAME = re.compile(r"\b[A-Z][a-zA-Z'’-]+(?:\s+(?:of\s+)?[A-Z][a-zA-Z'’-]+)*")
_EN_COMMON = {
    "The",
    "In",
    "It",
    "On",
    "At",
    "By",
    "For",
    "As",
    "This",
    "That",
    "A",
    "An",
    "And",
    "But",
    "China",
    "Chinese",
    "Shenzhen",
    "According",
    "Mr",
    "Ms",
    "Dr",
    "He",
    "She",
    "They",
    "We",
    "Internet",
    "Information",
    "Industry",
    "Technology",
    "Ministry",
    "Ministry of Industry",
}
_ZH_ITEM = re.compile(  # an item of an enumeration: before or after a 、
    r"(?<=、)[^、，。；：,;]{2,8}?(?=等|、|和|及|[，。；,])|[^、，。；：,;]{2,8}(?=、)"
)
_ORG_END = re.compile(  # the last word of an organisation's name
    r"(?:公司|集团|研究院|分院|学院|大学|研究所|实验室|中心|协会|联盟|委员会|基金会|银行|组织|局|厅|署)$"
)
_TITLED = re.compile(  # what a clause says became or was named something: "深圳·国际开源谷成为首个…"
    r"(?:^|[，,；;。：:])\s*([^，,；;。：:、\s]{2,20}?)(?=成为|被评为|被认定为|被授予|入选|获评|荣获|获批)"
)
_DOTTED_NAME = re.compile(rf"[{HAN}]{{1,6}}(?:[·・•][{HAN}]{{1,8}})+")  # a foreign name: 安东尼·阿尔巴内塞
_NAME_TAGS = {"nr", "nrt", "nrfg", "ns", "nz", "zg"}
_NAME_STOP = re.compile(r"^(?:v|vd|p|d|c|u\w*|m\w*|r|f|q)$")  # jieba tags no name's last part has
_ORG_TAGS = {"n", "nr", "ns", "nt", "nz", "ng", "t", "a", "eng", "j", "nrt", "vn"}  # words a name is made of
_ORG_SKIP = {"首个", "其中", "记者"}  # nouns that do not start a name
_ZH_EDGE = re.compile(r"^(?:在|和|与|及|以及|包括|如|涵盖|覆盖)|(?:等领域|等行业|等)$")


def kind_spans(kind: str, sentence: str) -> list[tuple[int, int]]:
    """(start, end) of the spans of ``kind`` in ``sentence``: "figure", "figure+" (a figure
    question may be answered by a duration: "缩短到了多少" -> 1个小时), "duration", "date", and
    any other kind: names and list items.

    >>> s = "2020年3月，局长贾兴东说，用时一个半月，建成超4.6万个。"
    >>> [[s[a:b] for a, b in kind_spans(k, s)] for k in ("figure", "duration", "date")]
    [['超4.6万个'], ['一个半月'], ['2020年3月']]
    >>> s = "上半年增长5%，下半年用时半年。"  # 上半年, 下半年: parts of the year, not durations
    >>> [s[a:b] for a, b in kind_spans("duration", s)]
    ['半年']
    """
    if kind == "figure":
        return _figure_spans(sentence)
    if kind == "figure+":
        return _figure_spans(sentence) + _duration_spans(sentence)
    if kind == "duration":
        return _duration_spans(sentence)
    if kind == "date":
        return [m.span() for m in _DATE.finditer(sentence)]
    spans = _english_name_spans(sentence)
    if re.search(f"[{HAN}]", sentence):
        spans += _chinese_name_spans(sentence)
    return spans


def _figure_spans(sentence: str) -> list[tuple[int, int]]:
    """Figures with the qualifier and currency sign before them (超, nearly, US$) and the unit
    after them (万个, yuan), and the quantities news gives without a figure (上万家, 数千名).

    >>> s = "云工厂已有上万家制造商入驻，超20万家采购商发布需求。"
    >>> [s[a:b] for a, b in _figure_spans(s)]
    ['超20万家', '上万家']
    >>> s = "It reached 3.7 trillion yuan (US$572 billion)."
    >>> [s[a:b] for a, b in _figure_spans(s)]
    ['3.7 trillion yuan', 'US$572 billion']
    >>> areas = ("规划面积3.5平方公里。", "It covers 3.5 square kilometers.")
    >>> [s[a:b] for s in areas for a, b in _figure_spans(s)]
    ['3.5平方公里', '3.5 square kilometers']
    """
    out = []
    for f in find_figures(sentence):
        start = f.start - len(m.group(0)) if (m := _QUALIFIER.search(sentence[: f.start])) else f.start
        unit = _UNIT.match(sentence, f.end)
        out.append((start, unit.end() if unit else f.end))
    return out + [m.span() for m in VAGUE_QUANTITY.finditer(sentence)]


def _duration_spans(sentence: str) -> list[tuple[int, int]]:
    return [m.span() for m in _DURATION.finditer(sentence) if not re.match(r"(?:19|20)\d\d年", m.group(0))]


def _english_name_spans(sentence: str) -> list[tuple[int, int]]:
    """Runs of capitalised words, without a common word or a month in front."""
    spans = []
    for m in _EN_NAME.finditer(sentence):
        words, start = m.group(0).split(" "), m.start()
        while words and (words[0] in _EN_COMMON or words[0] in MONTHS or words[0] == "of"):
            start += len(words.pop(0)) + 1
        if words and " ".join(words) not in _EN_COMMON:
            spans.append((start, m.end()))
    return spans


def _chinese_name_spans(sentence: str) -> list[tuple[int, int]]:
    """People's names, jieba's organisations, runs of nouns naming an organisation, what became
    or was named something, works (《长津湖之水门桥》), list items.

    >>> s = "深圳·国际开源谷成为国内首个开源孵化基地；"
    >>> [s[a:b] for a, b in disjoint(_chinese_name_spans(s))]
    ['深圳·国际开源谷']
    >>> s = "安东尼·阿尔巴内塞宣誓就任第31任总理。"
    >>> [s[a:b] for a, b in disjoint(_chinese_name_spans(s))]
    ['安东尼·阿尔巴内塞']
    """
    spans = _dotted_names(sentence)
    for name in chinese_names(sentence):
        spans.append((sentence.find(name), sentence.find(name) + len(name)))
    at = 0
    for word, flag in pos_cut(sentence):
        if flag in ("nt", "nz") and len(word) >= 2:
            spans.append((sentence.find(word, at), sentence.find(word, at) + len(word)))
        at += len(word)
    spans += _organisations(sentence)
    spans += [m.span(1) for m in _TITLED.finditer(sentence)]
    spans += [m.span() for m in _WORK.finditer(sentence)]
    for m in _ZH_ITEM.finditer(sentence):
        item = _ZH_EDGE.sub("", m.group(0))
        if len(item) >= 2:
            a = sentence.find(item, m.start())
            spans.append((a, a + len(item)))
    return spans


def _dotted_names(sentence: str) -> list[tuple[int, int]]:
    """(start, end) of the names joined by a middle dot (安东尼·阿尔巴内塞, 深圳·国际开源谷), the
    first part without the title before it, the last ending before the first verb or function
    word after it.

    >>> s = "印度新当选总统德劳帕迪·穆尔穆25日宣誓就职。"
    >>> [s[a:b] for a, b in _dotted_names(s)]
    ['德劳帕迪·穆尔穆']
    """
    spans = []
    for m in _DOTTED_NAME.finditer(sentence):
        first = re.search("[·・•]", m.group(0))
        words = list(pos_cut(m.group(0)[: first.start() if first else 0]))
        keep = 1  # the first part: its last word, and the name words before it (not 总统)
        while keep < len(words) and words[-keep - 1][1] in _NAME_TAGS:
            keep += 1
        start = m.start() + sum(len(w) for w, _ in words[:-keep])
        last = max(m.group(0).rfind(c) for c in "·・•") + m.start() + 1
        end = last
        for word, flag in pos_cut(sentence[last : m.end()]):
            if end > last and _NAME_STOP.match(flag):
                break
            end += len(word)
        spans.append((start, end))
    return spans


def dotted_person(text: str) -> bool:
    """Whether ``text`` is a foreign person's name written with a middle dot, not a place's.

    >>> dotted_person("德劳帕迪·穆尔穆"), dotted_person("深圳·国际开源谷")
    (True, False)
    """
    if not _DOTTED_NAME.fullmatch(text):
        return False
    words = pos_cut(re.split("[·・•]", text)[0])
    return bool(words) and words[0][1] not in ("ns", "nt")


def _organisations(sentence: str) -> list[tuple[int, int]]:
    """(start, end) of the organisations' names in a Chinese ``sentence`` that jieba does not tag as
    one word: a run of nouns ending with an organisation word (研究院, 公司, 集团, ...).

    >>> s = "金砖国家未来网络研究院中国分院，成为落地深圳的首个国际组织。"
    >>> [s[a:b] for a, b in _organisations(s)]
    ['金砖国家未来网络研究院中国分院']
    """
    out: list[tuple[int, int]] = []
    run: list[tuple[int, int, str]] = []  # (start, end, word) of the nouns read so far
    at = 0
    for word, flag in pos_cut(sentence):
        start = sentence.find(word, at)
        at = start + len(word) if start >= 0 else at
        if start < 0 or flag not in _ORG_TAGS:
            run = []
            continue
        run.append((start, at, word))
        if _ORG_END.search(word) and len(run) > 1:
            first = next(i for i, r in enumerate(run) if r[2] not in _ORG_SKIP)
            if at - run[first][0] >= 4 and first < len(run) - 1:
                if out and out[-1][0] == run[first][0]:
                    out.pop()  # the same run, grown: 研究院 -> 研究院中国分院
                out.append((run[first][0], at))
    return out


def disjoint(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``spans`` in order, a span inside (or overlapping) a longer one dropped.

    >>> disjoint([(5, 8), (0, 3), (1, 2), (6, 10)])
    [(0, 3), (6, 10)]
    """
    out: list[tuple[int, int]] = []
    for s, e in sorted(set(spans), key=lambda x: (x[0] - x[1], x[0])):  # longest first
        if all(e <= a or s >= b for a, b in out):
            out.append((s, e))
    return sorted(out)
