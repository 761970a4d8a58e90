"""What the checks read, and the sentences of it that state an answer.

``Evidence`` is a cited passage as the checks read it (its text, title, date, whole article and
the other language's telling); ``support`` the (passage, sentence) positions of the sentences
sharing the most of the answer's own tokens (``own_tokens``: not the question's, not how answers
are phrased), its figures by value so "46,000" finds "4.6万", across languages through
``rag.answer.review.terms.cross_tokens``.

Does not judge whether a sentence is about what was asked: ``rag.answer.review.grounding`` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rag.answer.review.terms import cross_tokens
from rag.index.chunking import sentence_spans
from rag.text.figures import CITATION_MARKER
from rag.text.lang import detect_lang
from rag.text.tokens import tokenize

# how answers are phrased, not what they say
_ANSWER_WORDS = frozenset("""
根据 资料 来源 编号 显示 表示 提到 指出 文中 文章 材料 答案 问题 包括 the according source sources passage
passages article articles answer
""".split())  # fmt: skip  # noqa: SIM905


def sentences_of(text: str) -> list[str]:
    """The sentences of ``text``, in order."""
    return [text[a:b] for a, b in sentence_spans(text)]


@dataclass(frozen=True)
class Evidence:
    """A cited passage as the check reads it: its text, its article's title and date."""

    text: str
    title: str = ""
    date: str = ""  # ISO date of the article, "" when unknown
    article: str = ""  # the whole article ("" = the passage is all there is)
    story: str = ""  # the same story told in the other language ("" = none known)


def read_so_far(e: Evidence, sentence: str) -> str:
    """``e``'s title and article up to the end of ``sentence``: what a reader has been told on
    reaching it. An article names its subject before it speaks of it; a name written only after
    the sentence is not what the sentence is about (a sentence on Los Angeles' GDP is no answer
    about Shanghai's because the article lists Shanghai further on). The whole article when the
    sentence is not found in it.

    >>> e = Evidence("洛杉矶GDP超8000亿美元。", "城市GDP", article="洛杉矶GDP超8000亿美元。上海增速最快。")
    >>> read_so_far(e, "洛杉矶GDP超8000亿美元。")
    '城市GDP 洛杉矶GDP超8000亿美元。'
    """
    article, sentence = e.article or e.text, sentence.strip()
    at = article.find(sentence) if sentence else -1
    return f"{e.title} {article if at < 0 else article[: at + len(sentence)]}"


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
        for j, sentence in enumerate(sentences_of(text)):
            tokens = set(tokenize(sentence)) | (cross_tokens(sentence) if across else set())
            shared = len(own & tokens)
            if shared:
                scored.append((shared, i, j))
    best = max((s for s, _, _ in scored), default=0)
    return [(i, j) for s, i, j in scored if s == best]
