"""What the reader is told when no answer is given: the closest sentences found, numbered.

``closest_passages`` picks the sentences closest to the question (sharing the most of its
terms, in either language) in a few different articles; ``abstention_text`` writes the
abstention followed by them, naming (not quoting) a sentence in the other language.

``abstention`` is the whole Answer: the prompt's "not found" sentence, then those sentences, cited.

Does not decide to abstain: retrieval's relevance, the candidate step, the gate, the model's
NO_ANSWER and the review do.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Literal

from rag.answer.retrieve.passages import Passage
from rag.answer.review.terms import cross_tokens
from rag.answer.write.citations import citation
from rag.index.chunking import sentence_spans
from rag.prompts import prompt_text
from rag.text.lang import detect_lang
from rag.text.tokens import expand_query, tokenize
from rag.types import Answer, Lang, Timings, Trace


def closest_passages(
    question: str, texts: Sequence[str], groups: Sequence[str], n: int = 2
) -> list[tuple[int, int, int]]:
    """(passage, start, end) of the sentences closest to ``question`` in at most ``n`` passages of
    different articles (``groups``), best first: those sharing the most of the question's terms
    (either language; ties by passage order).

    >>> texts = ["深圳很大。智能手机占全球产量1/7。", "无关。"]
    >>> closest_passages("深圳智能手机占全球产量多少？", texts, ["a", "b"])
    [(0, 5, 18), (1, 0, 3)]
    """
    asked = set(tokenize(question)) | set(expand_query(question))
    best: list[tuple[int, int, int, int]] = []
    for i, text in enumerate(texts):
        spans = sentence_spans(text) or [(0, len(text))]
        scored = [(len(asked & (set(tokenize(text[a:b])) | cross_tokens(text[a:b]))), a, b) for a, b in spans]
        shared, a, b = max(scored, key=lambda x: x[0])  # first of the best
        best.append((-shared, i, a, b))
    out: list[tuple[int, int, int]] = []
    seen: set[str] = set()
    for _, i, a, b in sorted(best):
        if groups[i] not in seen and len(out) < n:
            seen.add(groups[i])
            out.append((i, a, b))
    return out


def abstention_text(head: str, sentences: Sequence[str], lang: Lang, limit: int = 160) -> str:
    """The abstention (``head``, the prompt's sentence) followed by the closest sentences found,
    numbered as their citations. A sentence in the other language is not quoted (the reply stays in
    the question's language): it is named, and the sources panel shows it.

    >>> print(abstention_text("资料中没有找到这个问题的答案。", ["智能手机占全球产量1/7。"], "zh"))
    资料中没有找到这个问题的答案。
    未能确认答案；最相关的资料是：
    [1] 智能手机占全球产量1/7。
    >>> print(abstention_text("No answer.", ["智能手机占全球产量1/7。", "Phones: 1/7 of the world's."], "en"))
    No answer.
    I could not confirm an answer; the most relevant passages are:
    [1] (a passage in Chinese, shown under the sources)
    [2] Phones: 1/7 of the world's.
    """
    if not sentences:
        return head
    intro = (
        "未能确认答案；最相关的资料是："
        if lang == "zh"
        else "I could not confirm an answer; the most relevant passages are:"
    )
    other = "（一段英文资料，见来源）" if lang == "zh" else "(a passage in Chinese, shown under the sources)"

    def line(k: int, s: str) -> str:
        if detect_lang(s) != lang:
            return f"[{k}] {other}"
        text = re.sub(r"\s+", " ", s.strip())
        return f"[{k}] {text[:limit]}" + ("…" if len(text) > limit else "")

    return "\n".join([head, intro, *(line(k, s) for k, s in enumerate(sentences, 1))])


def abstention(
    lang: Lang,
    question: str,
    passages: Sequence[Passage],
    groups: Mapping[str, str],
    timings: Timings,
    mode: Literal["llm", "extractive"],
    notices: Sequence[str],
    trace: Trace | None = None,
) -> Answer:
    """The abstention, with the closest ``passages``' sentences cited when any were found, at most
    one per story (``groups``: ``{doc_id: story}``). The answer stays ``abstained``: evaluation
    does not count these citations."""
    found = closest_passages(
        question,
        [p.text for p in passages],
        [groups.get(p.hit.doc.doc_id, p.hit.doc.doc_id) for p in passages],
    )
    sentences = [passages[i].text[a:b] for i, a, b in found]
    text = abstention_text(prompt_text(f"abstain_{lang}"), sentences, lang)
    citations = tuple(citation(k, passages[i], a, b) for k, (i, a, b) in enumerate(found, 1))
    return Answer(text, lang, True, citations, timings, mode, tuple(notices), trace=trace or Trace())
