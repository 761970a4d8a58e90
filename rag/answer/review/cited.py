"""Where an answer's citations point: the source and the sentence each ``[n]`` stands for.

``recited`` moves a marker to the one other source that states the figures before it, when the
cited source states none of them (a small model cites [1] for a figure it read in [2]);
``cited_sentence`` finds the sentence of a passage that states what the answer cites it for,
so the sources panel can show it.

Does not renumber citations or build them (``rag.answer.pipeline``) and does not judge the
answer (``rag.answer.review.verdict``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.answer.review.support import support
from rag.index.chunking import sentence_spans
from rag.text.figures import CITATION_MARKER, find_figures


def recited(answer: str, sources: Sequence[str]) -> str:
    """``answer`` with each marker ``[n]`` (numbering ``sources`` from 1) moved to the one other
    source that states the figures of the words before it, when source ``n`` states none of them:
    a small model cites [1] for a figure it read in [2].

    >>> recited("占1/7[1]，增长5.5%[1]。", ["增长5.5%。", "智能手机占全球产量1/7。"])
    '占1/7[2]，增长5.5%[1]。'
    """
    stated = [find_figures(s) for s in sources]
    out, last, moved = [], 0, False
    for m in CITATION_MARKER.finditer(answer):
        out.append(answer[last : m.start()])
        figures = find_figures(answer[last : m.start()])
        n = int(re.sub(r"\D", "", m.group(0)) or 0)
        marker = m.group(0)
        if figures and re.fullmatch(r"[\[【]\s*\d+\s*[\]】]", marker) and 1 <= n <= len(sources):
            others = [
                i
                for i in range(len(sources))
                if i != n - 1 and all(any(f.matches(g) for g in stated[i]) for f in figures)
            ]
            # either way round: 4.6万 (rounded) states the 46,600 of another telling
            none_here = not any(f.matches(g) or g.matches(f) for f in figures for g in stated[n - 1])
            if none_here and len(others) == 1:
                marker, moved = f"[{others[0] + 1}]", True
        out.append(marker)
        last = m.end()
    return "".join(out) + answer[last:] if moved else answer


def cited_sentence(question: str, answer: str, n: int, passage: str) -> tuple[int, int] | None:
    """The span in ``passage`` of the sentence that states what ``answer`` cites ``[n]`` for (the
    words before each ``[n]``, back to the previous marker or sentence end); None when no sentence
    shares anything with them.

    >>> p = "在2023年，深圳通信基站占全球产量1/2。智能手机占全球产量1/7。"
    >>> a, b = cited_sentence("深圳智能手机占全球产量多少？", "占1/7[1]。", 1, p)
    >>> p[a:b]
    '智能手机占全球产量1/7。'
    """
    clauses, last = [], 0
    for m in CITATION_MARKER.finditer(answer):
        if re.fullmatch(rf"[\[【]\s*{n}\s*[\]】]", m.group(0)):
            clause = answer[last : m.start()]
            clauses.append(re.split(r"(?<=[。！？!?;；])|(?<=\.\s)", clause.strip())[-1] or clause)
        last = m.end()
    if not clauses:
        return None
    spans = sentence_spans(passage)
    figures = find_figures(" ".join(clauses))
    for a, b in spans if figures else []:  # the sentence stating the clause's figures, first
        if all(any(f.matches(g) for g in find_figures(passage[a:b])) for f in figures):
            return a, b
    places = support(question, " ".join(clauses), [passage])
    return spans[places[0][1]] if places else None
