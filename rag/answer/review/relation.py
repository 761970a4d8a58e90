"""What a question asks about its subject (the relation), and whether a sentence says it.

A passage on the right subject still answers the question only if it says what was asked of
it: a sentence naming a film's 主演 answers no question about its 导演, a company's loss no
question about its revenue, a tournament's fifth match day no question about when it began.
``asked_relation`` finds the words of a Chinese question that say what is asked (next to its
question word), ``relation_said`` whether a sentence says one of them, as written or in other
words sharing an English gloss in CC-CEDICT; ``not_asked`` applies this, and the question's
names, to the sentence an answer chosen among the passages' spans comes from.

Pure functions over text, used by ``rag.answer.review.grounding``. English questions are not
judged: their relation is rarely one word, and across languages a sentence's words are
matched through glosses only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from rag.answer.question.parts import asks_change
from rag.answer.question.source import without_attribution
from rag.answer.review.support import Evidence, read_so_far, sentences_of, support
from rag.answer.review.terms import ZH_ASKED, Term, covered, forgiven, key_terms, written_alike
from rag.text.lang import HAN, detect_lang
from rag.text.lexicon import glosses, text_roots
from rag.text.tokens import normalize, pos_cut, tokenize

__all__ = ["asked_relation", "not_asked", "relation_said"]

# what asks in a Chinese question: the word that holds the relation asked is next to it
_ZH_QUESTION_WORD = re.compile(r"^(?:多少|什么|谁|几|哪|何时|多大|多长|多高|多快)")
_ZH_TYPED = re.compile(r"^(?:哪[个家位所些项座种]?|多少个?|几个?)$")  # the type of the answer follows
_ZH_AND = frozenset("和 与 及 以及 跟 、".split())  # noqa: SIM905
_ZH_RELATION_TAGS = ("n", "v", "vn", "eng", "nz", "l", "an")
_ZH_LIGHT = frozenset(  # words that say nothing of what is asked
    "是 的 了 有 为 在 到 达 约 大约 共 一共 总共 造成 用 把 被 将 还有 还 也 都 又 再 已 已经".split()  # noqa: SIM905
)


@lru_cache(maxsize=512)
def asked_relation(question: str) -> tuple[Term, ...]:
    """The words of a Chinese ``question`` saying what is asked about its subject (the
    relation): the content words nearest its question word on either side (its last one when
    it has none; and the one joined to it by 和: 导演和主演); a word jieba cut into single
    characters is joined again (营收), an asked word at its end is cut off (发售日期 -> 发售).
    A sentence stating an answer says one of them: 主演 answers no question about a film's
    导演, a loss no question about revenue. () for an English question, a change between two
    years (code computes it), or when none is found.

    >>> [[t.text for t in asked_relation(q)] for q in ("《重生之门》的导演", "美团第一季度营收是多少？")]
    [['导演'], ['营收']]
    >>> [[t.text for t in asked_relation(q)] for q in ("谁枪击了安倍晋三？", "艾尔登法环发售日期")]
    [['枪击'], ['发售']]
    >>> [t.text for t in asked_relation("《流浪地球》的导演和主演分别是谁？")]
    ['主演', '导演']
    >>> asked_relation("How many 5G base stations did Shenzhen build?")
    ()
    """
    if not re.search(f"[{HAN}]", question) or re.search(r"[A-Za-z]{3,}\s+[A-Za-z]{3,}", question):
        return ()
    if asks_change(question):  # computed by code from two figures: no sentence says the change
        return ()
    words = _joined(pos_cut(without_attribution(question)))
    at = next((k for k, (w, _) in enumerate(words) if _ZH_QUESTION_WORD.match(w)), None)
    before = range((len(words) if at is None else at) - 1, -1, -1)
    sides = [before] if at is None else [before, range(at + 1, len(words))]
    if at is not None and _ZH_TYPED.match(words[at][0]):  # 哪家深圳企业: the nouns after are its type
        sides[1] = range(_after_type(words, at + 1), len(words))
    found = [_nearest_relation(words, side) for side in sides]
    k, word = found[0]
    if word and k >= 2 and words[k - 1][0] in _ZH_AND:  # 导演和主演是谁: both are asked
        found.append(_nearest_relation(words, range(k - 2, k - 3, -1)))
    return tuple(dict.fromkeys(Term(normalize(w), False, "zh") for _, w in found if w))


def relation_said(relation: Sequence[Term], context: str) -> bool:
    """Whether ``context`` says one of the ``relation``'s words (``asked_relation``): as written or
    abbreviated (``covered``), by the word it is made from (``_head``: 举办 for 举办地), or in other
    words that share an English gloss in CC-CEDICT (建设 for 建成: "build"; 计划 for 打算: "plan").
    True when there is no relation to say.

    >>> asked = asked_relation("深圳累计建成了多少个5G基站？")
    >>> [relation_said(asked, s) for s in ("全市累计建设5G基站7.5万个。", "5G用户达到1000万户。")]
    [True, False]
    """
    if not relation:
        return True
    tokens = set(tokenize(context))
    if any(covered(t, context, tokens) for t in (*relation, *map(_head, relation))):
        return True
    roots = text_roots(context)
    return any(glosses(t.text) & roots for t in relation)


# the ending of a noun made from a verb: its place, doer, party, country, prize or rate (举办地, 获得者,
# 增长率: "同比增长4.8%" says the growth rate)
_ZH_AGENT_END = frozenset("地者方国奖率")


def _head(term: Term) -> Term:
    """The verb or noun a relation word of three characters or more is made from, when it ends
    in a place, a doer, a party, a country, a prize or a rate: a sentence saying where something
    was 举办 says its 举办地, one saying who 获得 a prize its 获得者, one saying by how much it
    增长 its 增长率. ``term`` itself otherwise.

    >>> [_head(Term(w, False, "zh")).text for w in ("举办地", "获得者", "影片奖", "增长率", "起点", "导演")]
    ['举办', '获得', '影片', '增长', '起点', '导演']
    """
    if len(term.text) >= 3 and term.text[-1] in _ZH_AGENT_END:
        return Term(term.text[:-1], term.proper, term.lang)
    return term


def _after_type(words: list[tuple[str, str]], start: int) -> int:
    """Where the answer's type after a typed question word ends: past its measure words,
    numbers and run of nouns and names (哪家|深圳 企业|入选; 多少|个 5 G 基站|?)."""
    k = start
    while k < len(words) and (words[k][1][:1] in ("m", "q", "n", "j") or words[k][1] == "eng"):
        k += 1
    return k


def _nearest_relation(words: list[tuple[str, str]], order: range) -> tuple[int, str]:
    """The first content word of ``words`` in ``order`` when it can hold a relation (not a name,
    not an asked word), its asked ending cut off, with its place; (-1, "") when there is none."""
    for k in order:
        word, flag = words[k]
        if word in _ZH_LIGHT or word in ZH_ASKED or len(word) < 2 or flag.startswith(tuple("upcdmxrt")):
            continue  # particles, prepositions, adverbs, numbers, punctuation, pronouns, times: look further
        for asked in ZH_ASKED:  # 发售日期 -> 发售
            if word.endswith(asked) and len(word) - len(asked) >= 2:
                word = word[: -len(asked)]
        return (k, word) if flag in _ZH_RELATION_TAGS and word not in ZH_ASKED and len(word) > 1 else (k, "")
    return -1, ""


def _joined(words: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``words`` with runs of single Han characters tagged noun or verb joined into one word
    (jieba cuts a word it does not know into characters: 营收 -> 营 收)."""
    out: list[tuple[str, str]] = []
    for word, flag in words:
        single = len(word) == 1 and re.match(f"[{HAN}]", word) and flag[:1] in "nv" and word not in _ZH_LIGHT
        if single and out and out[-1][1] == "join":
            out[-1] = (out[-1][0] + word, "join")
        else:
            out.append((word, "join" if single else flag))
    return [(w, "n" if f == "join" else f) for w, f in out]


def not_asked(question: str, answer: str, evidence: Sequence[Evidence], cited: int = 0) -> tuple[str, ...]:
    """What of ``question`` the sentence stating ``answer`` (a span chosen from the first
    ``cited`` passages) leaves out when that makes it about something else: a name of the
    question the article has not introduced by the end of that sentence (``read_so_far``), or
    the relation asked (``asked_relation``, Chinese sentences). Only terms of the sentence's
    language are judged: across languages the terms' forms are too uncertain to withdraw a
    span copied from the source. Names are forgiven when another passage shown states the same
    answer with all of them (``_named_elsewhere``). () when some sentence stating it leaves out
    none, or when no sentence states it.

    >>> la = Evidence("洛杉矶GDP超8000亿美元。", "城市GDP", "", "洛杉矶GDP超8000亿美元。上海增速最快。")
    >>> not_asked("上海2021年的GDP是多少？", "超8000亿美元[1]", [la])
    ('上海',)
    >>> not_asked("美团第一季度营收是多少？", "58亿[1]", [Evidence("美团第一季度亏损减至58亿元。")])
    ('营收',)
    >>> not_asked("小米MIX4的处理器是什么", "骁龙855[1]", [Evidence("搭载骁龙855处理器的小米旗舰将发布。")])
    ('mix4',)
    """
    shown = evidence[: cited or len(evidence)]
    best: tuple[str, ...] | None = None
    for i, j in support(question, answer, [e.text for e in shown]):
        names, relation = _left_out(question, shown[i], j)
        if (
            names
            and not relation
            and _named_elsewhere(question, answer, evidence, names, _so_far(shown[i], j))
        ):
            names = []  # the passage it is cited from says what was asked of the subject another names
        left = forgiven(question, [*names, *relation])  # 上海和北京: one of them answers its part
        if best is None or len(left) < len(best):
            best = left
    return best or ()


def _left_out(question: str, e: Evidence, j: int) -> tuple[list[str], list[str]]:
    """The question's names the article of ``e`` has not introduced by the end of its sentence
    ``j``, and the relation asked when the sentence (with the two before it and the title) does
    not say it."""
    sentences, src_lang = sentences_of(e.text), detect_lang(e.text)
    context = normalize(" ".join([e.title, *sentences[max(j - 2, 0) : j + 1]]))
    so_far = _so_far(e, j)
    names = [
        t.text
        for t in key_terms(question)
        if t.proper and written_alike(t, src_lang) and not covered(t, so_far, set(tokenize(so_far)))
    ]
    relation = asked_relation(question) if src_lang == "zh" else ()
    return names, [] if relation_said(relation, context) else [relation[0].text]


def _so_far(e: Evidence, j: int) -> str:
    """``read_so_far`` for the sentence ``j`` of ``e``, normalised."""
    return normalize(read_so_far(e, sentences_of(e.text)[j]))


def _named_elsewhere(
    question: str, answer: str, evidence: Sequence[Evidence], names: Sequence[str], so_far: str
) -> bool:
    """Whether another of the passages shown states ``answer`` in an article that names all the
    question's names, when the article it is cited from (read ``so_far``) names another of them
    but not ``names``: "谷歌创建的Minerva在MATH上得分50%" ties the Minerva of "Minerva在MATH上的
    准确率高达50%" to 谷歌.

    >>> ev = [Evidence("Minerva在MATH上的准确率高达50%。"), Evidence("谷歌创建的Minerva在MATH上得分50%。")]
    >>> q, so_far = "谷歌Minerva在MATH上的准确率是多少？", "minerva在math上的准确率高达50%。"
    >>> [_named_elsewhere(q, "50%[1]", passages, ["谷歌"], so_far) for passages in (ev, ev[:1])]
    [True, False]
    """
    tokens = set(tokenize(so_far))
    others = [t for t in key_terms(question) if t.proper and t.text not in names]
    if not any(covered(t, so_far, tokens) for t in others):  # nothing ties the two passages
        return False
    places = support(question, answer, [e.text for e in evidence])
    return any(not _left_out(question, evidence[i], j)[0] for i, j in places)
