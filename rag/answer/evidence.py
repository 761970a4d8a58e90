"""Evidence first: the sentences that answer each part of the question, before anything is written.

``split_question`` cuts a question with several parts (two questions in one, "…, and who…",
"2020年和2023年…分别…", "from 2020 to 2023") into parts; each part is retrieved on its own by
the pipeline. ``EvidencePicker.select`` then scores every sentence of the retrieved chunks
(and the sentence either side of each chunk in its article) against each part:

* the e5 cosine and the second encoder's cosine (with the same cross-language bonus as
  retrieval), and BM25 over the candidate sentences (``rag.text.tokens`` tokens, as a share of
  the best possible score);
* for an English question, the share of its words a Chinese sentence speaks of through
  CC-CEDICT (``rag.text.lexicon``); a few sentences of the hits' articles that share most of them
  are scored too, though no hit's chunk holds them;
* the question's years (a sentence naming another year and not the asked one loses, one
  naming the asked year gains) and the kind of figure asked for (a share, an amount).

Each part's best sentence is taken first, then the next best of every part in turn, while
the character budget lasts; a sentence that opens with a pronoun or a connective ("其中",
"他说", "It") brings the sentence before it. Chosen sentences of one article that follow each
other become one ``Passage``, an exact span of the article, so citations still point at it.

``asks_change`` and ``computed_change`` answer "how much did X grow from 2020 to 2023": the
figure of each year is copied from its cited sentence and the difference is computed here,
never by the model, and the answer says so.

Does not generate text, does not check answers and does not retrieve (``rag.answer.retrieval`` does).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rag.answer.retrieval import Passage
from rag.index.bm25 import KeywordIndex
from rag.index.chunking import sentence_spans
from rag.models.embedding import Embedder
from rag.text.figures import YEAR, Figure, find_figures
from rag.text.figures_en import english_amount
from rag.text.lang import detect_lang
from rag.text.lexicon import cross_scores
from rag.text.tokens import expand_query, pos_cut, tokenize
from rag.types import Hit, Lang

# --------------------------------------------------------------------------- parts of a question

_ZH_ASK = re.compile(
    r"多少|几[个家项年月天倍次]?|谁|哪|什么|何时|何地|如何|怎样|怎么|为何|为什么|是否|多大|多长|多高|多快|吗"
)
_EN_ASK = re.compile(r"\b(?:who|what|when|where|which|why|how)\b", re.I)
_EN_AND = re.compile(r",?\s+and\s+(?=(?:who|what|when|where|which|why|how)\b)", re.I)
_ZH_COMMA = re.compile(r"[，,；;]|以及|并且|同时")
_QUESTION_END = re.compile(r"(?<=[？?])\s*")
_RESPECTIVELY = re.compile(r"分别|各自|\s*respectively|\bboth\s+|\beach\b\s*")
_JOIN = r"\s*(?:和|与|及|、|,|and|&)\s*"
_RANGE = r"\s*(?:到|至|—|–|-|to|and)\s*"
_CHANGE = re.compile(
    r"(?:增加|增长|提高|提升|上升|减少|下降|降低|多|少|涨|跌|变化)了?多少|变化|"
    r"\bhow much (?:did|has|have|had|was|were)\b.*\b(?:grow|increase|rise|fall|drop|decline|decrease|change)|"
    r"\bby how (?:much|many)\b|\bhow many more\b|\bchange\b|\bgrowth\b.*\bbetween\b",
    re.I,
)


def _asks(text: str) -> bool:
    return bool(_ZH_ASK.search(text) or _EN_ASK.search(text))


def _clauses(sentence: str) -> list[str]:
    """One question sentence cut where each side asks something of its own."""
    if detect_lang(sentence) == "en":
        pieces = _EN_AND.split(sentence)
    else:
        pieces, rest = [], sentence
        while m := next(
            (m for m in _ZH_COMMA.finditer(rest) if _asks(rest[: m.start()]) and _asks(rest[m.end() :])), None
        ):
            pieces.append(rest[: m.start()])
            rest = rest[m.end() :]
        pieces.append(rest)
    pieces = [p.strip(" ，,；;") for p in pieces if p.strip(" ，,；;")]
    if len(pieces) > 1 and not all(_asks(p) for p in pieces):
        return [sentence]
    return pieces


def years_asked(question: str) -> list[str]:
    """The distinct years a question names, in order.

    >>> years_asked("从2020年到2023年，深圳5G基站增加了多少个？2020年呢")
    ['2020', '2023']
    """
    return list(dict.fromkeys(m.group(1) for m in YEAR.finditer(question)))


def _year_pair(part: str, change: bool) -> re.Match[str] | None:
    """Where ``part`` names two years side by side: joined (和, and), or as a range when it asks
    for a change (a range without a change, "2020-2023年累计…", is one period, not two parts)."""
    y = r"((?:19|20)\d\d)\s*年?"
    versus = r"\s*(?:与|和|同|较|比|compared (?:with|to))\s*"
    m = None
    if change:  # 2023年与2020年相比 / in 2023 compared with 2020
        m = re.search(rf"(?:in\s+)?{y}{versus}{y}(?:相比|比较)", part, re.I) or re.search(
            rf"(?:in\s+)?{y}\s*compared (?:with|to)\s*{y}", part, re.I
        )
    m = m or re.search(rf"(?:从|from\s+|between\s+|in\s+)?{y}{_JOIN}(?:in\s+)?{y}", part, re.I)
    if m is None and change:
        m = re.search(rf"(?:从|from\s+|between\s+)?{y}{_RANGE}{y}", part, re.I)
    return m


def _by_year(part: str, change: bool) -> list[str]:
    """``part`` once per year when it names two years side by side, else ``[part]``."""
    m = _year_pair(part, change)
    if m is None:
        return [part]
    en = detect_lang(part) == "en"
    out = []
    for year in sorted((m.group(1), m.group(2))):
        text = part[: m.start()] + (f"in {year}" if en else f"{year}年") + part[m.end() :]
        text = _RESPECTIVELY.sub(" " if en else "", text)
        if change and not en:  # each year's part asks for that year's figure
            text = re.sub(r"(?:增加|增长|提高|提升|上升|减少|下降|降低|多|少|涨|跌)了?(多少)", r"\1", text)
        out.append(re.sub(r"\s+([?,.])", r"\1", re.sub(r"\s{2,}", " ", text)).strip())
    return out


def split_question(question: str) -> list[str]:
    """The parts of a question that asks several things; ``[question]`` when it asks one.

    Parts are: questions of their own (two ？, or "…, and who/how many…", "…，…又是多少"),
    and one part per year when two years are asked side by side (和 / 分别 / respectively /
    both), or compared for a change (从…到 / from … to / 与…相比 / compared with).

    >>> split_question("深圳规上工业增加值2020年增长了多少？2023年1—11月又增长了多少？")
    ['深圳规上工业增加值2020年增长了多少？', '2023年1—11月又增长了多少？']
    >>> split_question("Who presented Shenzhen's 2020 results, and who headed the bureau in 2023?")
    ["Who presented Shenzhen's 2020 results", 'who headed the bureau in 2023?']
    >>> split_question("深圳2020年和2023年的5G基站分别有多少个？")
    ['深圳2020年的5G基站有多少个？', '深圳2023年的5G基站有多少个？']
    >>> split_question("从2020年到2023年，深圳5G基站增加了多少个？")
    ['2020年，深圳5G基站多少个？', '2023年，深圳5G基站多少个？']
    >>> split_question("How much did Shenzhen's output grow from 2020 to 2023?")
    ["How much did Shenzhen's output grow in 2020?", "How much did Shenzhen's output grow in 2023?"]
    >>> split_question("What were the output in 2020 and 2023 respectively?")
    ['What were the output in 2020?', 'What were the output in 2023?']
    >>> split_question("华为和富士康获得了什么称号？")
    ['华为和富士康获得了什么称号？']
    >>> split_question("2018-2020年深圳累计投资多少？")
    ['2018-2020年深圳累计投资多少？']
    """
    parts: list[str] = []
    for sentence in filter(None, (s.strip() for s in _QUESTION_END.split(question.strip()))):
        for clause in _clauses(sentence):
            parts.extend(_by_year(clause, bool(_CHANGE.search(clause))))
    return parts or [question]


# An elliptical later part ("到2024年初全市累计有多少个？", "局长又是谁？", "how many did the city
# have?", "its output") takes from the part before it what it leaves out.
_ZH_MEASURE = "个家项座台辆名位根条所户件次倍吨元"
_ZH_BARE = re.compile(rf"(?:多少|几)([{_ZH_MEASURE}])(?=[呢吗]?\s*[？?]?\s*$)")
_ZH_AFTER = re.compile(rf"(?:多少|几)[{_ZH_MEASURE}]([^，,；;。？?呢吗的]{{1,12}}?)\s*[呢吗]?\s*[？?]?\s*$")
_ZH_BEFORE = re.compile(
    r"([^，,；;。？?的了在中有是为]{1,10}?)(?:又|还|则|也)?(?:是|有|为)(?:谁|多少|什么|哪)"
)
_ZH_WHO = re.compile(r"([^，,；;。？?的了在中]{1,10}?)((?:又|还|则|也)?是谁)")
_EN_AUX = r"(?:had|has|have|did|do|does|were|was|are|is|will|would|could|can)"
_EN_BARE = re.compile(rf"\bhow (many|much)\s+(?={_EN_AUX}\b)", re.I)
_EN_NOUN = re.compile(rf"\bhow (?:many|much)\s+((?:(?!{_EN_AUX}\b)[\w'’-]+\s+){{1,5}}?){_EN_AUX}\b", re.I)
_EN_BACK = re.compile(r"\b(?:its|their|the city's|the city’s)\s+", re.I)
_EN_NAME = re.compile(r"(?<!^)(?<![.?!]\s)\b([A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)*?)(?:'s|’s)\b")


def _zh_thing(part: str) -> str:
    """What a Chinese part asks about: the noun after "多少个", else the one before "是谁/有多少".

    >>> _zh_thing("宝安区建成了多少个5G基站？"), _zh_thing("发布成绩单的工信局局长是谁？")
    ('5G基站', '工信局局长')
    """
    m = _ZH_AFTER.search(part) or _ZH_BEFORE.search(part)
    return m.group(1).strip() if m else ""


def _zh_places(text: str) -> list[str]:
    return [w for w, flag in pos_cut(text) if flag == "ns"]


def self_contained(part: str, before: str) -> str:
    """``part`` with what it leaves out taken from the part ``before`` it: the thing counted
    after a bare measure word or "how many", a shorter title of the same person ("局长" after
    "工信局局长"), the place when it names none, and the name "its" / "the city's" stand for.
    A part that leaves nothing out is returned unchanged.

    >>> self_contained("到2024年初深圳全市累计有多少个？", "宝安区在2021年的报道中建成了多少个5G基站？")
    '到2024年初深圳全市累计有多少个5G基站？'
    >>> self_contained("2024年初介绍新型工业化成效的局长又是谁？",
    ...                "发布深圳2020年工业成绩单的工信局局长是谁？")
    '深圳2024年初介绍新型工业化成效的工信局局长又是谁？'
    >>> self_contained("现在平台上入驻了多少家制造商？", "云工厂给非标零部件报价要多长时间？")
    '现在平台上入驻了多少家制造商？'
    >>> self_contained("how many did Shenzhen have citywide by early 2024?",
    ...                "By 2021, how many 5G base stations had Bao'an district built")
    'how many 5G base stations did Shenzhen have citywide by early 2024?'
    >>> self_contained("how fast did its new energy vehicle production grow in 2023?",
    ...                "What was Shenzhen's industrial output in 2020")
    "how fast did Shenzhen's new energy vehicle production grow in 2023?"
    """
    if detect_lang(part) == "en":
        return _en_contained(part, before)
    thing, out = _zh_thing(before), part
    if thing and (m := _ZH_BARE.search(out)):
        out = out[: m.end()] + thing + out[m.end() :]
    elif thing and (m := _ZH_WHO.search(out)) and thing.endswith(m.group(1)) and thing != m.group(1):
        out = out[: m.start(1)] + thing + out[m.end(1) :]
    places = _zh_places(before)
    if out != part and places and not _zh_places(out):
        out = places[0] + out
    return out


def contained_parts(parts: Sequence[str]) -> list[str]:
    """Each part made to stand alone with the one before it (``evidence.self_contained``).

    >>> contained_parts(["宝安区建成了多少个5G基站？", "到2024年初深圳全市累计有多少个？"])
    ['宝安区建成了多少个5G基站？', '到2024年初深圳全市累计有多少个5G基站？']
    """
    out: list[str] = []
    for part in parts:
        out.append(self_contained(part, out[-1]) if out else part)
    return out


def _en_contained(part: str, before: str) -> str:
    out = part
    noun = _EN_NOUN.search(before)
    if noun and (m := _EN_BARE.search(out)) and m.group(1).lower() in noun.group(0).lower():
        out = out[: m.end()] + noun.group(1) + out[m.end() :]
    name = _EN_NAME.search(before)
    if name and not _EN_NAME.search(out) and name.group(1) not in out:
        out = _EN_BACK.sub(f"{name.group(1)}'s ", out, count=1)
    return out


def asks_change(question: str) -> tuple[str, str] | None:
    """The (earlier, later) years of a question asking how much something changed between them.

    >>> asks_change("从2020年到2023年，深圳5G基站增加了多少个？")
    ('2020', '2023')
    >>> asks_change("How much did output grow from 2020 to 2023?")
    ('2020', '2023')
    >>> asks_change("2020年深圳规上工业增加值增长了多少？") is None
    True
    """
    m = _year_pair(question, True)
    if m is None or not _CHANGE.search(question) or m.group(1) == m.group(2):
        return None
    a, b = sorted((m.group(1), m.group(2)))
    return a, b


# --------------------------------------------------------------------------- sentence features

_PERCENT_ASKED = re.compile(
    r"比例|比重|占.*多少|百分之|百分比|增长了多少|增速|share|percent|rate|proportion", re.I
)
_AMOUNT_ASKED = re.compile(
    r"多少|几[个家项]|多大|规模|how (?:many|much)|what (?:was|is) the (?:total|amount)", re.I
)
_DATE_ASKED = re.compile(r"哪天|哪一天|何时|什么时候|几月|日期|\bwhen\b|what date|which day", re.I)
_DATE = re.compile(
    r"\d{1,2}月\d{1,2}[日号]|(?:19|20)\d\d年\d{1,2}月|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)"
    r"[a-z]*\.?\s+\d{1,2}\b|\b\d{1,2}\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b",
    re.I,
)
_NEEDS_CONTEXT = re.compile(
    r"^\s*[“\"]?(?:其中|其|这|该|此|它|他|她|同时|另外|此外|而|并|但|对此|据此|为此|"
    r"(?:it|this|these|that|they|he|she|its|their|also|meanwhile|however)\b)",
    re.I,
)


def sentence_bonus(question: str, sentence: str, doc_date: str = "") -> float:
    """What the question's years and the kind of figure asked add to a sentence's score.

    A sentence naming the asked year gains 0.08, one naming only other years loses 0.08, one
    naming none gains 0.04 when the article's date implies the year (dated that year or the
    next: "去年"); a question asking a share, an amount or a date gives 0.04 to a sentence
    holding one.

    >>> q = "2020年深圳建成了多少5G基站？"
    >>> sentence_bonus(q, "2020年深圳建成5G基站超4.6万个。")
    0.12
    >>> sentence_bonus(q, "2023年深圳累计建成5G基站7.5万个。")
    -0.04
    >>> sentence_bonus(q, "深圳建成5G基站超4.6万个。", "2021-01-20")
    0.08
    >>> when = "大会是哪天召开的？"
    >>> sentence_bonus(when, "2023年11月28日,深圳召开大会。"), sentence_bonus(when, "大会很成功。")
    (0.04, 0.0)
    """
    years, found = years_asked(question), set(years_asked(sentence))
    bonus = 0.0
    if years and found & set(years):
        bonus += 0.08
    elif years and found:
        bonus -= 0.08
    elif years and doc_date[:4].isdigit() and {doc_date[:4], str(int(doc_date[:4]) - 1)} & set(years):
        bonus += 0.04
    figures = find_figures(sentence)
    share = any(f.kind in ("percent", "points") for f in figures)
    kind_asked = (
        (share and _PERCENT_ASKED.search(question))
        or (figures and _AMOUNT_ASKED.search(question))
        or (_DATE_ASKED.search(question) and _DATE.search(sentence))
    )
    if kind_asked:
        bonus += 0.04
    return round(bonus, 6)


def needs_context(sentence: str) -> bool:
    """Whether a sentence leans on the one before it for its subject.

    >>> needs_context("其中，华为占五分之一。"), needs_context("It grew 2%."), needs_context("深圳建成基站。")
    (True, True, False)
    """
    return bool(_NEEDS_CONTEXT.match(sentence))


# --------------------------------------------------------------------------- choosing sentences

WEIGHTS = {"e5": 1.0, "encoder2": 0.3, "bm25": 0.3}  # as in retrieval's fusion (config: dense/encoder2/bm25)
CROSS_WEIGHT = 0.3  # CC-CEDICT word overlap (rag.text.lexicon), for sentences in the other language
# ... for questions in these languages only: over English sentences, Chinese questions lost their right
# Chinese sentences to English ones (2 of 24 zh->zh seed questions) for 2 zh->en gained
CROSS_FROM = ("en",)


@dataclass(frozen=True)
class Sentence:
    """A sentence of an article that may be shown, with the hit that brought it."""

    hit: Hit
    start: int  # span in the cleaned article
    end: int
    text: str
    index: int  # position among the article's sentences


@dataclass(frozen=True)
class Part:
    """One part of the question with what retrieval found for it."""

    text: str  # what was retrieved with (an elliptical part carries the part before it)
    query_vector: np.ndarray  # e5 query vector of ``text``
    hits: tuple[Hit, ...]
    own: str = ""  # the part's own words, whose years and kind of figure count ("" = ``text``)


def candidate_sentences(hits: Sequence[Hit], article: dict[str, str], per_hit: int = 1) -> list[Sentence]:
    """The sentences of the hits' chunks and ``per_hit`` sentences either side of each chunk,
    each once (the first hit that brings it keeps it), repeated texts dropped.

    >>> from rag.types import Chunk, DocMeta
    >>> text = "甲一。乙二。丙三。丁四。"
    >>> hit = Hit(Chunk("a#1", "a", "丙三。", 6, 9, "zh"), DocMeta("a", "", "", "", "zh"), 1.0, 1)
    >>> [s.text for s in candidate_sentences([hit], {"a": text})]
    ['乙二。', '丙三。', '丁四。']
    """
    out, seen, texts = [], set(), set()
    for hit in hits:
        doc = hit.chunk.doc_id
        spans = sentence_spans(article[doc])
        inside = [i for i, (a, b) in enumerate(spans) if a < hit.chunk.end and b > hit.chunk.start]
        if not inside:
            continue
        for i in range(max(0, inside[0] - per_hit), min(len(spans), inside[-1] + per_hit + 1)):
            a, b = spans[i]
            key = " ".join(article[doc][a:b].split())
            if (doc, i) in seen or key in texts:
                continue
            seen.add((doc, i))
            texts.add(key)
            out.append(Sentence(hit, a, b, article[doc][a:b], i))
    return out


LEXICAL_EXTRA = 2  # sentences per part found by rag.text.lexicon alone in the hits' other-language articles
LEXICAL_FLOOR = 0.4  # ... when they share at least this (weighted) share of the part's words


def lexical_sentences(
    questions: Sequence[str], hits: Sequence[Hit], article: dict[str, str], known: Sequence[Sentence]
) -> list[Sentence]:
    """Across languages (a question in ``CROSS_FROM``), the sentences of the hits' articles
    that share most of its words through the dictionary (``rag.text.lexicon``) though no hit's chunk
    holds them: up to ``LEXICAL_EXTRA`` per question, each brought by its article's first hit."""
    first: dict[str, Hit] = {}
    for hit in hits:
        first.setdefault(hit.chunk.doc_id, hit)
    seen = {(s.hit.chunk.doc_id, s.index) for s in known}
    out: list[Sentence] = []
    for question in questions:
        lang = detect_lang(question)
        if lang not in CROSS_FROM:
            continue
        pool = [
            (doc, i, a, b)
            for doc, h in first.items()
            if h.chunk.lang != lang
            for i, (a, b) in enumerate(sentence_spans(article[doc]))
            if (doc, i) not in seen
        ]
        scores = cross_scores(question, [article[d][a:b] for d, _, a, b in pool]) if pool else []
        for k in np.argsort(-np.asarray(scores), kind="stable")[:LEXICAL_EXTRA]:
            doc, i, a, b = pool[k]
            if scores[k] >= LEXICAL_FLOOR and (doc, i) not in seen:
                seen.add((doc, i))
                out.append(Sentence(first[doc], a, b, article[doc][a:b], i))
    return out


def pick(
    scores: Sequence[Sequence[float]],
    sizes: Sequence[int],
    budget: int,
    per_part: int = 3,
    margin: float = 0.12,
) -> list[int]:
    """Sentence indices to show: each part's best (always), then each part's next best in
    turn while the sizes fit ``budget`` and they score within ``margin`` of the part's best.

    >>> pick([[0.9, 0.1, 0.85], [0.2, 0.8, 0.1]], [10, 10, 10], 15)
    [0, 1]
    >>> pick([[0.9, 0.1, 0.85], [0.2, 0.8, 0.1]], [10, 10, 10], 30)
    [0, 1, 2]
    >>> pick([[0.9, 0.1, 0.5], [0.2, 0.8, 0.1]], [10, 10, 10], 30)
    [0, 1]
    """
    ranked = [list(np.argsort(-np.asarray(s), kind="stable"))[:per_part] for s in scores]
    chosen: list[int] = []
    used = 0
    for round_ in range(per_part):
        for p, order in enumerate(ranked):
            if round_ >= len(order) or int(order[round_]) in chosen:
                continue
            i = int(order[round_])
            if round_ and (used + sizes[i] > budget or scores[p][i] < scores[p][order[0]] - margin):
                continue
            chosen.append(i)
            used += sizes[i]
    return chosen


def part_evidence(scores: Sequence[float], chosen: Sequence[int], margin: float = 0.12) -> list[int]:
    """The chosen sentences that are a part's own evidence: those it scores within ``margin`` of
    its best chosen one, best first.

    >>> part_evidence([0.9, 0.1, 0.85, 0.7], [0, 1, 2, 3])
    [0, 2]
    """
    if not chosen:
        return []
    top = max(scores[i] for i in chosen)
    return sorted((i for i in chosen if scores[i] >= top - margin), key=lambda i: -scores[i])


class EvidencePicker:
    """Scores candidate sentences with the loaded encoders and the store's articles."""

    def __init__(
        self,
        store,
        embedder: Embedder,
        encoder2: Embedder | None = None,
        bonus: dict[str, dict[str, float]] | None = None,
    ) -> None:
        self.store, self.embedder, self.encoder2 = store, embedder, encoder2
        self.bonus = bonus or {}  # {space: {passage lang: added cosine}} for this question's language

    def select(
        self, parts: Sequence[Part], budget: int, max_hits: int = 4
    ) -> tuple[list[Passage], list[tuple[str, int]]]:
        """The passages to show, and for each part its best sentence with the number (1-based) of
        the passage holding it: (sentence, number)."""
        passages, best, _ = self.select_parts(parts, budget, max_hits)
        return passages, best

    def select_parts(
        self, parts: Sequence[Part], budget: int, max_hits: int = 4
    ) -> tuple[list[Passage], list[tuple[str, int]], list[tuple[int, ...]]]:
        """``select``, and for each part the numbers of the passages holding its own evidence: the
        shown sentences scoring within ``pick``'s margin of the part's best, best first."""
        hits = [h for p in parts for h in p.hits[:max_hits]]
        articles = {h.chunk.doc_id: self.store.doc_text(h.chunk.doc_id) for h in hits}
        sentences = candidate_sentences(hits, articles)
        sentences += lexical_sentences([p.text for p in parts], hits, articles, sentences)
        if not sentences:
            return [], [], []
        scores = self._scores(parts, sentences)
        chosen = pick(scores, [len(s.text) for s in sentences], budget)
        chosen = self._with_context(chosen, sentences, budget)
        passages, best, number = self._passages(chosen, sentences, scores, parts)
        own = [
            tuple(dict.fromkeys(number[i] for i in part_evidence(sc, chosen) if i in number)) for sc in scores
        ]
        return passages, best, own

    def _scores(self, parts: Sequence[Part], sentences: Sequence[Sentence]) -> list[list[float]]:
        texts = [s.text for s in sentences]
        langs = [s.hit.chunk.lang for s in sentences]
        e5 = self.embedder.embed(texts, kind="passage")
        enc2 = self.encoder2.embed(texts, kind="passage") if self.encoder2 is not None else None
        tokens = [tokenize(t) for t in texts]
        keyword = KeywordIndex.build(tokens)
        out = []
        for part in parts:
            dense = e5 @ np.asarray(part.query_vector, dtype=np.float32)
            score = WEIGHTS["e5"] * (dense + self._bonus("e5", langs))
            if enc2 is not None and self.encoder2 is not None:
                qv2 = self.encoder2.embed([part.text], kind="query")[0]
                score += WEIGHTS["encoder2"] * (enc2 @ qv2 + self._bonus("encoder2", langs))
            q_tokens = tokenize(part.text) + expand_query(part.text)
            bound = keyword.best_possible(q_tokens) or 1.0
            score += WEIGHTS["bm25"] * keyword.scores(q_tokens) / bound
            score += CROSS_WEIGHT * self._across(part.text, texts, langs)
            own = part.own or part.text
            score += np.array([sentence_bonus(own, s.text, s.hit.doc.date) for s in sentences])
            out.append([float(x) for x in score])
        return out

    @staticmethod
    def _across(question: str, texts: Sequence[str], langs: Sequence[str]) -> np.ndarray:
        """``rag.text.lexicon``'s score of the sentences in the other language than ``question``, 0 else."""
        out = np.zeros(len(texts))
        qlang = detect_lang(question)
        other = [i for i, lang in enumerate(langs) if lang != qlang and qlang in CROSS_FROM]
        if CROSS_WEIGHT and other:
            out[other] = cross_scores(question, [texts[i] for i in other])
        return out

    def _bonus(self, space: str, langs: Sequence[str]) -> np.ndarray:
        return np.array([self.bonus.get(space, {}).get(lang, 0.0) for lang in langs])

    def _with_context(self, chosen: list[int], sentences: Sequence[Sentence], budget: int) -> list[int]:
        """``chosen`` plus the sentence before each one that needs it for its subject."""
        where = {(s.hit.chunk.doc_id, s.index): i for i, s in enumerate(sentences)}
        used = sum(len(sentences[i].text) for i in chosen)
        out = list(chosen)
        for i in chosen:
            s = sentences[i]
            before = where.get((s.hit.chunk.doc_id, s.index - 1))
            if (
                needs_context(s.text)
                and before is not None
                and before not in out
                and used + len(sentences[before].text) <= budget * 1.25
            ):
                out.append(before)
                used += len(sentences[before].text)
        return out

    def _passages(
        self,
        chosen: list[int],
        sentences: Sequence[Sentence],
        scores: list[list[float]],
        parts: Sequence[Part],
    ) -> tuple[list[Passage], list[tuple[str, int]], dict[int, int]]:
        """Chosen sentences grouped into contiguous spans, in the order they were chosen; each
        part's best sentence with its passage's number; and the passage number of each sentence."""
        groups: list[list[int]] = []
        for i in chosen:
            s = sentences[i]
            for g in groups:
                first, last = sentences[g[0]], sentences[g[-1]]
                same = first.hit.chunk.doc_id == s.hit.chunk.doc_id
                if same and first.index - 1 <= s.index <= last.index + 1:
                    g.append(i)
                    g.sort(key=lambda j: sentences[j].index)
                    break
            else:
                groups.append([i])
        groups.sort(key=lambda g: min(sentences[i].hit.rank for i in g))  # retrieval's order, stable
        best = [max(range(len(scores[p])), key=lambda i: scores[p][i]) for p in range(len(parts))]
        passages = []
        for g in groups:
            doc = sentences[g[0]].hit.chunk.doc_id
            a, b = sentences[g[0]].start, sentences[g[-1]].end
            hit = self._covering_hit(sentences[g[0]].hit, a, b)
            marks = tuple(
                (sentences[i].start, sentences[i].end, max(sc[i] for sc in scores))
                for i in g
                if hit.chunk.start <= sentences[i].start and sentences[i].end <= hit.chunk.end
            )
            passages.append(Passage(hit, self.store.doc_text(doc)[a:b], a, b, marks))
        number = {i: n for n, g in enumerate(groups, 1) for i in g}
        return passages, [(sentences[b].text, number[b]) for b in best if b in number], number

    def _covering_hit(self, hit: Hit, a: int, b: int) -> Hit:
        """``hit`` when its chunk holds [a, b), else the same hit with the article's chunk that does."""
        if hit.chunk.start <= a and b <= hit.chunk.end:
            return hit
        chunks = self.store.chunks(self.store.doc_rows(hit.chunk.doc_id))
        best = max(chunks, key=lambda c: min(b, c.end) - max(a, c.start))
        return Hit(best, hit.doc, hit.score, hit.rank)


# --------------------------------------------------------------------------- computed change


@dataclass(frozen=True)
class Computed:
    """An answer to a change question written by code: the two figures and their difference."""

    text: str  # with citation markers [n] of the passages holding the figures
    figures: tuple[Figure, Figure]
    difference: str  # the computed figure as written in the answer (not in any source)


COMPUTED_NOTE = {"zh": "（按两处数字计算）", "en": " (computed from the two figures)"}


def figure_for_year(question: str, sentence: str, year: str) -> Figure | None:
    """The figure of ``sentence`` that ``year`` refers to: the first of the kind the question
    asks (a share or an amount) after the year's mention, else the first of that kind.

    >>> figure_for_year("增加了多少个？", "2020年建成4.6万个，2023年累计7.5万个。", "2023").text
    '7.5万'
    >>> figure_for_year("增加了多少个？", "全市累计建成5G基站7.5万个。", "2023").text
    '7.5万'
    """
    figures = find_figures(sentence)
    if _PERCENT_ASKED.search(question) and not re.search(r"多少个|多少家|how many", question):
        wanted = [f for f in figures if f.kind in ("percent", "points")] or figures
    else:
        wanted = [f for f in figures if f.kind == "amount"] or figures
    at = sentence.find(year)
    after = [f for f in wanted if at >= 0 and f.start > at]
    return (after or wanted or [None])[0]


def _unit(sentence: str, f: Figure) -> str:
    """The measure word or currency after a figure ("个", "元", "亿元" keeps only "元")."""
    m = re.match(r"\s?(?:多)?([个家根项座条名位倍次台辆只件人户所元吨]|美元|港元)", sentence[f.end :])
    return m.group(1) if m else ""


def _chinese_amount(value: float, like: Figure) -> str:
    """``value`` in the multiplier the source used for ``like`` (万, 亿): 2.9万 beside 4.6万.

    >>> _chinese_amount(29000.0, find_figures("4.6万")[0]), _chinese_amount(120.0, find_figures("1030")[0])
    ('2.9万', '120')
    """
    for word, scale in (("万亿", 10**12), ("亿", 10**8), ("万", 10**4)):
        if word in like.text:
            return f"{value / scale:.4f}".rstrip("0").rstrip(".") + word
    return f"{value:.4f}".rstrip("0").rstrip(".")


def computed_change(
    question: str, years: tuple[str, str], stated: Sequence[tuple[str, int]], lang: Lang
) -> Computed | None:
    """The templated answer to a change question, from the sentence stating each year's figure
    (``stated``: (sentence, citation number) for the earlier and the later year), or None when
    the two figures cannot be told apart safely (not found, of different kinds or units, or one
    sentence naming both years: that sentence states the change itself).

    >>> q = "从2020年到2023年，深圳5G基站增加了多少个？"
    >>> s1, s2 = "2020年深圳建成5G基站超4.6万个。", "截至2023年底，全市累计建成5G基站7.5万个。"
    >>> computed_change(q, ("2020", "2023"), [(s1, 1), (s2, 2)], "zh").text
    '2020年：4.6万个[1]；2023年：7.5万个[2]。增加2.9万个（按两处数字计算）。'
    >>> computed_change(q, ("2020", "2023"), [(s1, 1), (s2, 2)], "en").text
    '2020: 46,000 [1]; 2023: 75,000 [2]. An increase of 29,000 (computed from the two figures).'
    >>> computed_change(q, ("2020", "2023"), [("2023年比2020年增加2.9万个。", 1)] * 2, "zh") is None
    True
    """
    (s1, n1), (s2, n2) = stated
    if any(all(y in s for y in years) for s in (s1, s2)):
        return None
    f1, f2 = figure_for_year(question, s1, years[0]), figure_for_year(question, s2, years[1])
    if f1 is None or f2 is None or f1.kind != f2.kind or f1.kind == "fraction" or f1.value == f2.value:
        return None
    u1, u2 = _unit(s1, f1), _unit(s2, f2)
    if u1 != u2 and u1 and u2:
        return None
    unit = u1 or u2
    diff = f2.value - f1.value
    points = f1.kind in ("percent", "points")
    if lang == "zh":
        grew = "增加" if diff > 0 else "减少"
        amount = (
            f"{abs(diff):.4f}".rstrip("0").rstrip(".") + "个百分点"
            if points
            else _chinese_amount(abs(diff), f1) + unit
        )
        text = (
            f"{years[0]}年：{f1.text}{unit}[{n1}]；{years[1]}年：{f2.text}{unit}[{n2}]。"
            f"{grew}{amount}{COMPUTED_NOTE['zh']}。"
        )
    else:
        grew = "An increase" if diff > 0 else "A decrease"
        amount = (
            (f"{abs(diff):.4f}".rstrip("0").rstrip(".") + " percentage points")
            if points
            else english_amount(abs(diff))
        )
        currency = {"元": " yuan", "美元": " US dollars", "港元": " HK dollars"}.get(unit, "")
        amount += "" if points else currency
        en1, en2 = (f"{f.value:g}%" if points else english_amount(f.value) + currency for f in (f1, f2))
        text = f"{years[0]}: {en1} [{n1}]; {years[1]}: {en2} [{n2}]. {grew} of {amount}{COMPUTED_NOTE['en']}."
    return Computed(text, (f1, f2), amount)
