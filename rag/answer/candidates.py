"""The model chooses, code writes the figure: answers picked among candidates from the evidence.

Most news questions ask for a figure, a date, a name or an item of a list. For those:

* ``answer_kind`` says which (None for why / how / what-someone-said questions: those are
  written freely);
* ``extract_candidates`` takes every span of that kind from the evidence sentences: figures with
  their qualifier and unit (``rag.text.figures``), durations, dates, people's names (jieba's ``nr``),
  organisations (``nt``, or nouns ending in 研究院, 公司...), capitalised English names, list
  items. Code handles years: a candidate whose sentence is about another year than the question
  asks is dropped, and so is a value the question itself states; a question asking a person
  keeps people's names only, when the evidence names one;
* ``candidate_messages`` is the short prompt the generator scores the candidates under (the
  sentences holding them, the question, and the instruction to copy the answer or say
  ``NOT_STATED``; a sentence naming no year is shown after its article's month when the question
  asks a year); ``scoring_options`` lists each figure in every form a reply may write it ("7.5万"
  for "超过7.5万个") and ``merged_scores`` adds up their probabilities; ``choose`` turns the
  log-probabilities into a ``Choice``: answer with the best candidate, abstain when "not stated"
  wins or no candidate is likely, or leave the question to free generation on a tie;
* ``written_answer`` writes the chosen span with its citation, converted by code for an English
  reader (4.6万个 -> 46,000; 2020年3月 -> March 2020; 贾兴东 -> Jia Xingdong (贾兴东)).

Does not call the model (the pipeline passes the generator's scores in) and does not retrieve.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.answer.evidence import years_asked
from rag.index.chunking import sentence_spans
from rag.text.figures import YEAR, cn_numeral, find_figures
from rag.text.figures_en import english_figures
from rag.text.lexicon import english_head
from rag.text.names import chinese_names, name_in_english
from rag.text.tokens import pos_cut
from rag.types import Lang

NOT_STATED = "NOT_STATED"
MAX_CANDIDATES = 8  # each costs a few tokens of scoring; more sentences make a longer prompt
MAX_SENTENCE_CHARS = 160  # a long sentence is cut around its candidates to keep the prompt short

_WHY = re.compile(
    r"为什么|为何|原因|如何|怎样|怎么|说了什么|表示了什么|有何|意义|"
    r"\bwhy\b|\bhow (?!many|much|long|fast|big|large|high|old)|"
    r"\bwhat did\b.*\b(?:say|said)\b|\bexplain\b|\bdescribe\b|\bwhat (?:title|role|kind|type)\b",
    re.I,
)
_COUNT_Q = re.compile(  # a count asked: a share is no answer
    r"多少(?:[个家根项座条名位次台辆只件户所吨款种]|人(?![力工]))|几[个家项座条名位台辆]|\bhow many\b", re.I
)
_DURATION_Q = re.compile(r"多长时间|多久|几个?(?:小时|天|月|年)|\bhow long\b", re.I)
_FIGURE_Q = re.compile(
    r"多少|几[个家项倍次条名座台辆]|多大|多高|多快|比例|比重|百分之|占.{0,12}(?:几|多少)|"
    r"\bhow (?:many|much|fast|big|large|high)\b|"
    r"\bwhat (?:share|percentage|portion|proportion|fraction|amount|number)\b|\bby how\b",
    re.I,
)
_DATE_Q = re.compile(
    r"哪天|哪一天|何时|什么时候|哪一?年|哪个?月|几月|日期|\bwhen\b|\bwhat date\b|\bwhich (?:day|month|year)\b"
    r"|\bin which (?:month|year)\b|\bwhat (?:month|year)\b",
    re.I,
)
_NAME_Q = re.compile(
    r"谁|哪[家位个所]|哪些|\bwho(?:m|se)?\b|\bwhich\b|\bwhat (?:company|firm|organi[sz]ation)\b", re.I
)

_PERSON_Q = re.compile(  # a person asked for: an organisation or a list item is no answer
    r"谁|哪位|什么人|\bwho(?:m|se)?\b|\bwhich (?:[\w'’-]+ ){0,3}?(?:executive|official|director|manager|"
    r"head|leader|chairman|chairwoman|president|mayor|minister|secretary|expert|professor|scientist|"
    r"engineer|researcher|person|spokes(?:man|woman|person)|founder|CEO|chief)\b",
    re.I,
)

_CN_NUMBER = r"[一二两三四五六七八九十半几]+"
_DURATION = re.compile(
    rf"(?:(?<![\d.])\d{{1,3}}(?:\.\d+)?|{_CN_NUMBER})\s*(?:个)?半?(?:个)?(?:小时|分钟|秒钟?|天|周|星期|个月|(?<=[个半])月|年)半?"
    r"|\b(?:\d+(?:\.\d+)?|an?|one|two|three|four|five|six|seven|eight|nine|ten)\s+(?:and a half\s+)?"
    r"(?:hours?|minutes?|seconds?|days?|weeks?|months?|years?)(?:\s+and\s+a\s+half)?\b",
    re.I,
)
_DATE = re.compile(
    r"(?:(?:19|20)\d\d年)?\d{1,2}月(?:\d{1,2}[日号])?|(?:19|20)\d\d年(?!\d)"
    r"|\b(?:January|February|March|April|May|June|July|August|September|October|November|December)"
    r"(?:\s+\d{1,2})?(?:,?\s+(?:19|20)\d\d)?\b|\b(?:19|20)\d\d\b"
)
_QUALIFIER = re.compile(
    r"(?:超过|超|逾|近|将近|接近|约|大约|不到|不足|more than|nearly|about|over|almost)\s*$", re.I
)
_UNIT = re.compile(
    r"\s(?:yuan|US dollars|dollars|times|fold)\b"
    r"|(?:多|余)?(?:万亿|亿|万)?(?:多|余)?"
    r"(?:美元|港元|欧元|元|个百分点|[个家根项座条名位倍次台辆只件人户所吨款种])?",
    re.I,
)
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
_ORG_TAGS = {"n", "nr", "ns", "nt", "nz", "ng", "t", "a", "eng", "j", "nrt", "vn"}  # words a name is made of
_ZH_EDGE = re.compile(r"^(?:在|和|与|及|以及|包括|如|涵盖|覆盖)|(?:等领域|等行业|等)$")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


@dataclass(frozen=True)
class Candidate:
    """A span of an evidence sentence that may be the answer."""

    text: str  # exactly as the source writes it
    kind: str  # "figure", "duration", "date", "name" or "item"
    passage: int  # 0-based passage it comes from
    sentence: str  # the sentence holding it (shown to the scorer)
    date: str = ""  # its article's date (YYYY-MM-DD), when known


@dataclass(frozen=True)
class Choice:
    """What the scores decide: ``"answer"`` (with ``candidate``), ``"abstain"`` or ``"undecided"``
    (left to free generation), with the winner's probability among the options."""

    decision: str
    candidate: Candidate | None
    probability: float
    reason: str = ""


def answer_kind(question: str) -> str | None:
    """What a question asks for: "duration", "date", "figure", "name", or None when it is to be
    answered in words (why, how, what someone said).

    >>> answer_kind("宝安区建成了多少个5G基站？"), answer_kind("How long did it take to raise mask output?")
    ('figure', 'duration')
    >>> answer_kind("In which month of 2020 did growth turn positive?"), answer_kind("工信局局长是谁？")
    ('date', 'name')
    >>> answer_kind("Why did Shenzhen invest in 5G?"), answer_kind("How did the workshop change?")
    (None, None)
    """
    if _WHY.search(question):
        return None
    if _DURATION_Q.search(question):
        return "duration"
    if _DATE_Q.search(question):
        return "date"
    if _FIGURE_Q.search(question):
        return "figure"
    if _NAME_Q.search(question):
        return "name"
    return None


def _year_of(sentence: str, at: int) -> set[str]:
    """The years a span at ``at`` is about: the last year named before it in its clause, else
    every year of the sentence."""
    clause_start = max(sentence.rfind(c, 0, at) for c in "，,；;") + 1
    before = [m.group(1) for m in YEAR.finditer(sentence[clause_start:at])]
    return {before[-1]} if before else {m.group(1) for m in YEAR.finditer(sentence)}


def _spans(kind: str, sentence: str) -> list[tuple[int, int]]:
    """(start, end) of the spans of ``kind`` in ``sentence``."""
    if kind == "figure":
        out = []
        for f in find_figures(sentence):
            start = f.start - len(m.group(0)) if (m := _QUALIFIER.search(sentence[: f.start])) else f.start
            unit = _UNIT.match(sentence, f.end)
            out.append((start, unit.end() if unit else f.end))
        return out
    if kind == "figure+":  # a figure question may be answered by a duration ("缩短到了多少" -> 1个小时)
        return _spans("figure", sentence) + _spans("duration", sentence)
    if kind == "duration":
        return [
            m.span() for m in _DURATION.finditer(sentence) if not re.match(r"(?:19|20)\d\d年", m.group(0))
        ]
    if kind == "date":
        return [m.span() for m in _DATE.finditer(sentence)]
    spans = []
    for m in _EN_NAME.finditer(sentence):
        words, start = m.group(0).split(" "), m.start()
        while words and (words[0] in _EN_COMMON or words[0] in _MONTHS or words[0] == "of"):
            start += len(words.pop(0)) + 1
        if words and " ".join(words) not in _EN_COMMON:
            spans.append((start, m.end()))
    if re.search(r"[\u4e00-\u9fff]", sentence):
        for name in chinese_names(sentence):
            spans.append((sentence.find(name), sentence.find(name) + len(name)))
        at = 0
        for word, flag in pos_cut(sentence):
            if flag in ("nt", "nz") and len(word) >= 2:
                spans.append((sentence.find(word, at), sentence.find(word, at) + len(word)))
            at += len(word)
        spans += _organisations(sentence)
        for m in _ZH_ITEM.finditer(sentence):
            item = _ZH_EDGE.sub("", m.group(0))
            if len(item) >= 2:
                a = sentence.find(item, m.start())
                spans.append((a, a + len(item)))
    return spans


def _organisations(sentence: str) -> list[tuple[int, int]]:
    """(start, end) of the organisations' names in a Chinese ``sentence`` that jieba does not tag as
    one word: a run of nouns ending with an organisation word (研究院, 公司, 集团, ...).

    >>> s = "金砖国家未来网络研究院中国分院，成为落地深圳的首个国际组织。"
    >>> [s[a:b] for a, b in _organisations(s)]
    ['金砖国家未来网络研究院中国分院']
    """
    out, run, at = [], [], 0  # run: (start, end, word) of the nouns read so far
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


_ORG_SKIP = {"首个", "其中", "记者"}


def _people(candidates: list[Candidate]) -> list[Candidate]:
    """Of name ``candidates``, for a question asking a person: those that may be one (a Chinese
    person's name, jieba's ``nr``, or an English name) when any Chinese person's name is among
    them; all of them otherwise (a name jieba misses stays a candidate).

    >>> cs = [Candidate("RGB电子有限公司", "name", 0, "创维-RGB电子有限公司生产车间。"),
    ...       Candidate("尹占江", "name", 1, "创维-RGB公司总裁助理尹占江告诉记者。")]
    >>> [c.text for c in _people(cs)]
    ['尹占江']
    """
    people = [c for c in candidates if c.text in chinese_names(c.sentence)]
    if not people:
        return candidates
    return [c for c in candidates if c in people or not re.search(r"[\u4e00-\u9fff]", c.text)]


def _disjoint(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``spans`` in order, a span inside (or overlapping) a longer one dropped.

    >>> _disjoint([(5, 8), (0, 3), (1, 2), (6, 10)])
    [(0, 3), (6, 10)]
    """
    out: list[tuple[int, int]] = []
    for s, e in sorted(set(spans), key=lambda x: (x[0] - x[1], x[0])):  # longest first
        if all(e <= a or s >= b for a, b in out):
            out.append((s, e))
    return sorted(out)


def extract_candidates(question: str, passages: Sequence[str], dates: Sequence[str] = ()) -> list[Candidate]:
    """The spans of the kind ``question`` asks for in the sentences of ``passages``, best passage
    first, without repeats, without those the question itself states, and without those of a
    sentence about another year than the one the question asks; a sentence naming no year is
    about its article's year or the year before (``dates``: each passage's article date).

    >>> q = "2020年深圳建成了多少个5G基站？"
    >>> [c.text for c in extract_candidates(q, ["2020年，深圳建成5G基站超4.6万个。2023年累计建成7.5万个。"])]
    ['超4.6万个']
    >>> [c.text for c in extract_candidates("2022年深圳建成了多少个5G基站？", ["深圳建成5G基站超4.6万个。"],
    ...                                     ["2021-01-20"])]
    []
    >>> [c.text for c in extract_candidates("发布成绩单的局长是谁？", ["局长贾兴东透露上述信息。"])]
    ['贾兴东']
    >>> [c.text for c in extract_candidates("When was the base named?", ["In March 2020, Bao'an was named."])]
    ['March 2020']
    >>> [c.text for c in extract_candidates("疫情初期用了多长时间把口罩日产量从2万只提升到1000万只？",
    ...                                     ["仅用一个半月时间将口罩日产量从2万只提升到1000万只。"])]
    ['一个半月']
    """
    kind = answer_kind(question)
    if kind is None:
        return []
    asked = set(years_asked(question))
    in_question = {round(f.value, 6) for f in find_figures(question)}
    count = bool(_COUNT_Q.search(question))
    person = kind == "name" and bool(_PERSON_Q.search(question))
    folded_q = question.casefold()
    out: list[Candidate] = []
    seen: set[str] = set()
    for n, passage in enumerate(passages):
        date = dates[n][:4] if n < len(dates) and dates[n][:4].isdigit() else ""
        implied = {date, str(int(date) - 1)} if date else set()
        for a, b in sentence_spans(passage):
            sentence = passage[a:b].strip()
            for s, e in _disjoint(_spans("figure+" if kind == "figure" else kind, sentence)):
                text = sentence[s:e].strip(" ，,。.")
                if not text or text in seen or text.casefold() in folded_q:
                    continue
                figures = find_figures(text) if kind == "figure" else []
                if any(round(f.value, 6) in in_question for f in figures):
                    continue
                if count and any(f.kind != "amount" for f in figures):
                    continue  # "how many" is not answered by a share
                years = _year_of(sentence, s) or implied
                if asked and kind != "date" and years and not years & asked:
                    continue  # a figure of another year: years are code's job
                seen.add(text)
                out.append(Candidate(text, kind, n, sentence, dates[n] if n < len(dates) else ""))
    return (_people(out) if person else out)[:MAX_CANDIDATES]


def _shown(sentence: str, texts: Sequence[str]) -> str:
    """``sentence`` cut to ``MAX_SENTENCE_CHARS`` around its candidates ``texts``."""
    if len(sentence) <= MAX_SENTENCE_CHARS:
        return sentence
    starts = [sentence.find(t) for t in texts if t in sentence] or [0]
    a = max(0, min(starts) - MAX_SENTENCE_CHARS // 2)
    return sentence[a : a + MAX_SENTENCE_CHARS]


INSTRUCTION = {
    "zh": f"只根据资料回答问题：原样照抄资料中的答案词语，不加其他文字。资料没有答案时只回答 {NOT_STATED}。",
    "en": f"Answer the question from the text only: copy the answer's words exactly as the text writes "
    f"them, nothing else. If the text does not give the answer, reply {NOT_STATED}.",
}


def candidate_messages(question: str, candidates: Sequence[Candidate], lang: Lang) -> list[dict[str, str]]:
    """The short chat prompt the candidates are scored under: the sentences holding them and the
    question (the reply the candidates complete is the whole answer).

    >>> c = Candidate("15条", "figure", 0, "已完成15条线路的建模。")
    >>> candidate_messages("完成了多少条线路的建模？", [c], "zh")[1]["content"]
    '资料：\\n已完成15条线路的建模。\\n\\n问题：完成了多少条线路的建模？'
    """
    sentences: dict[str, list[str]] = {}
    dated: dict[str, str] = {}
    for c in candidates:
        sentences.setdefault(c.sentence, []).append(c.text)
        dated.setdefault(c.sentence, c.date)
    year_asked = bool(years_asked(question))
    text = "\n".join(
        _dated(_shown(s, texts), dated[s] if year_asked else "", lang) for s, texts in sentences.items()
    )
    user = f"资料：\n{text}\n\n问题：{question}" if lang == "zh" else f"Text:\n{text}\n\nQuestion: {question}"
    return [{"role": "system", "content": INSTRUCTION[lang]}, {"role": "user", "content": user}]


def surface_forms(candidate: Candidate) -> list[str]:
    """The ways a reply may write ``candidate``: as the source does, and for a figure also without
    its qualifier, its unit, or both (a reply "7.5万" gives the candidate "超过7.5万个").

    >>> surface_forms(Candidate("超过7.5万个", "figure", 0, ""))
    ['超过7.5万个', '7.5万', '超过7.5万', '7.5万个']
    >>> surface_forms(Candidate("nearly 10,000", "figure", 0, ""))
    ['nearly 10,000', '10,000']
    """
    text = candidate.text
    figures = find_figures(text) if candidate.kind == "figure" else []
    if len(figures) != 1:
        return [text]
    f = figures[0]
    forms = [text, f.text, text[: f.end].strip(), text[f.start :].strip()]
    return [t for t in dict.fromkeys(forms) if t]


def scoring_options(candidates: Sequence[Candidate]) -> tuple[list[str], list[int]]:
    """The options to score for ``candidates`` (each one's surface forms, a form another
    candidate already has left to that one) then ``NOT_STATED``, and the index of the candidate
    each option stands for (``len(candidates)`` for ``NOT_STATED``).

    >>> cs = [Candidate("超4.6万个", "figure", 0, ""), Candidate("4.6万", "figure", 0, "")]
    >>> scoring_options(cs)
    (['超4.6万个', '超4.6万', '4.6万个', '4.6万', 'NOT_STATED'], [0, 0, 0, 1, 2])
    """
    options, owner = [], []
    taken = {c.text for c in candidates}
    for i, c in enumerate(candidates):
        for form in surface_forms(c):
            if form == c.text or (form not in taken and form not in options):
                options.append(form)
                owner.append(i)
    return [*options, NOT_STATED], [*owner, len(candidates)]


def merged_scores(scores: Sequence[tuple[float, int]], owner: Sequence[int]) -> list[tuple[float, int]]:
    """One (log-probability, tokens) per candidate and ``NOT_STATED`` from the scores of the
    options ``scoring_options`` gave: the probabilities of a candidate's forms added up, its
    tokens those of its first form.

    >>> [(round(lp, 3), n) for lp, n in merged_scores([(-1.0, 3), (-1.0, 2), (-0.5, 4)], [0, 0, 1])]
    [(-0.307, 3), (-0.5, 4)]
    """
    out: dict[int, tuple[float, int]] = {}
    for (lp, n), i in zip(scores, owner, strict=True):
        if i in out:
            top = max(out[i][0], lp)
            out[i] = (top + math.log(math.exp(out[i][0] - top) + math.exp(lp - top)), out[i][1])
        else:
            out[i] = (lp, n)
    return [out[i] for i in sorted(out)]


def _dated(sentence: str, date: str, lang: Lang) -> str:
    """``sentence`` after its article's month when it names no year itself (``date``: YYYY-MM-DD,
    "" for none): a question about "early 2024" is answered by a cumulative figure of an article
    of January 2024, whose sentence says no year.

    >>> _dated("全市累计建设5G基站超过7.5万个。", "2024-01-10", "zh")
    '（2024年1月的报道）全市累计建设5G基站超过7.5万个。'
    >>> _dated("The city built 46,600 base stations.", "2021-01-21", "en")
    '(reported in January 2021) The city built 46,600 base stations.'
    >>> _dated("2020年，深圳建成5G基站4.76万个。", "2021-01-21", "zh")
    '2020年，深圳建成5G基站4.76万个。'
    """
    m = re.fullmatch(r"((?:19|20)\d\d)-(\d\d)(?:-\d\d)?", date[:10] if date else "")
    if not m or YEAR.search(sentence) or not 1 <= int(m.group(2)) <= 12:
        return sentence
    year, month = m.group(1), int(m.group(2))
    if lang == "zh":
        return f"（{year}年{month}月的报道）{sentence}"
    return f"(reported in {_MONTHS[month - 1]} {year}) {sentence}"


def probabilities(scores: Sequence[tuple[float, int]], length_power: float = 0.0) -> list[float]:
    """The options' probabilities among themselves from (log-probability, tokens) pairs; with
    ``length_power`` > 0 each log-probability is first divided by its tokens to that power.

    >>> [round(p, 3) for p in probabilities([(-1.0, 2), (-1.0, 3), (-3.0, 1)])]
    [0.468, 0.468, 0.063]
    """
    values = [lp / max(1, n) ** length_power for lp, n in scores]
    top = max(values)
    weights = [math.exp(v - top) for v in values]
    return [w / sum(weights) for w in weights]


def choose(
    candidates: Sequence[Candidate],
    scores: Sequence[tuple[float, int]],
    *,
    min_probability: float = 0.5,
    min_likely: float = 0.2,
    tie_margin: float = 0.1,
    length_power: float = 0.0,
    cross_language: bool = False,
) -> Choice:
    """The decision from the scores of ``candidates`` followed by the "not stated" option's.

    Abstain when "not stated" wins, or when the best candidate's probability is below
    ``min_likely``; answer when it reaches ``min_probability`` and leads the next candidate by
    ``tie_margin``; otherwise undecided. When the question and the sentences are in different
    languages (``cross_language``) "not stated" wins far too often (a Chinese span is an unlikely
    reply to an English question), so its win (or no candidate being likely) leaves the question
    undecided instead; and so does it for names and list items, which the extraction misses
    more often (a company jieba does not tag is no candidate, and "not stated" then wins).

    >>> cs = [Candidate("15条", "figure", 0, "s"), Candidate("39条", "figure", 0, "s")]
    >>> choose(cs, [(-0.2, 3), (-3.0, 3), (-4.0, 4)]).candidate.text
    '15条'
    >>> choose(cs, [(-5.0, 3), (-5.0, 3), (-0.1, 4)]).decision
    'abstain'
    """
    p = probabilities(scores, length_power)
    *cand_p, stated_p = p
    if not candidates:
        return Choice("undecided", None, 0.0, "no candidate")
    trusted = not cross_language and candidates[0].kind in ("figure", "duration", "date")
    order = sorted(range(len(cand_p)), key=lambda i: -cand_p[i])
    best = order[0]
    if stated_p > cand_p[best]:
        return Choice("abstain" if trusted else "undecided", None, stated_p, "not stated")
    if cand_p[best] < min_likely:
        return Choice("abstain" if trusted else "undecided", None, cand_p[best], "no candidate likely")
    second = cand_p[order[1]] if len(order) > 1 else 0.0
    if cand_p[best] - second < tie_margin:
        return Choice("undecided", candidates[best], cand_p[best], "tie")
    if cand_p[best] < min_probability:
        return Choice("undecided", candidates[best], cand_p[best], "not likely enough")
    return Choice("answer", candidates[best], cand_p[best])


def english_date(text: str) -> str:
    """A Chinese date written the English way.

    >>> english_date("2020年3月"), english_date("11月28日"), english_date("2023年11月28日")
    ('March 2020', 'November 28', 'November 28, 2023')
    """
    m = re.fullmatch(r"(?:((?:19|20)\d\d)年)?(\d{1,2})月(?:(\d{1,2})[日号])?", text)
    if not m or not 1 <= int(m.group(2)) <= 12:
        return text.replace("年", "")
    year, month, day = m.groups()
    out = _MONTHS[int(month) - 1] + (f" {int(day)}" if day else "")
    return out + (f", {year}" if year and day else f" {year}" if year else "")


def chinese_date(text: str) -> str:
    """An English date written the Chinese way (a Chinese answer quoting an English article).

    >>> chinese_date("March 2020"), chinese_date("November 28, 2023"), chinese_date("2020年3月")
    ('2020年3月', '2023年11月28日', '2020年3月')
    """
    m = re.fullmatch(r"([A-Z][a-z]+)(?:\s+(\d{1,2}))?(?:,?\s+((?:19|20)\d\d))?", text)
    if not m or m.group(1) not in _MONTHS:
        return text
    month, day, year = _MONTHS.index(m.group(1)) + 1, m.group(2), m.group(3)
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
    value = cn_numeral(m.group(1)) if m and m.group(1) else (0.0 if m else None)
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
    text = choice.candidate.text
    if lang == "zh":
        return f"{chinese_date(text) if choice.candidate.kind == 'date' else text}[{number}]。"
    if choice.candidate.kind == "date":
        text = english_date(text)
    elif re.search(r"[\u4e00-\u9fff]", text) and english_duration(text) != text:
        text = english_duration(text)
    elif choice.candidate.kind == "name" and text in chinese_names(choice.candidate.sentence or text):
        text = name_in_english(text, english_texts)
    elif choice.candidate.kind in ("name", "item") and (head := english_head(text)):
        text = f"{head} ({text})"  # a place or thing the sources name only in Chinese
    else:
        text = english_figures(text)
    return f"{text[:1].upper()}{text[1:]} [{number}]."
