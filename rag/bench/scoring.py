"""Scoring: whether one answer is right, and the shares, ranks and latencies a run is summed up in.

Answers are compared after ``normalize`` (NFKC, case, citation markers, thousands separators,
spaces beside Han characters); an answer's language is told by ``answer_language``; retrieval by the
rank of the first passage of a source document (hit@k, MRR). Used by the question-set runner
(``rag.bench.evaluation``), the public benchmarks and the failure classes. Does not run questions.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from rag.text.figures import CITATION_MARKER
from rag.text.lang import HAN, detect_lang, han_count
from rag.types import Answer, Hit, Timings

if TYPE_CHECKING:
    from rag.bench.questions import Question

HIT_KS = (1, 3, 5)

_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")


_SPACE_BY_HAN = re.compile(rf"\s+(?=[{HAN}])|(?<=[{HAN}])\s+")


def normalize(text: str) -> str:
    """Text as answers are compared: NFKC (full-width to half-width), case-folded, citation
    markers and thousands separators removed, whitespace collapsed and dropped beside Han characters.

    >>> normalize("ＧＤＰ of ４６，６００ Base Stations [1]，约 4.6 万个")
    'gdp of 46600 base stations ,约4.6万个'
    """
    t = unicodedata.normalize("NFKC", text).casefold()
    t = CITATION_MARKER.sub("", t)
    t = _THOUSANDS.sub("", t)
    t = re.sub(r"\s+", " ", t)
    return _SPACE_BY_HAN.sub("", t).strip()


def contains_answers(text: str, answers: Sequence[str], all_required: bool = False) -> bool:
    """Whether ``text`` contains any (or every) answer string, both sides normalised.

    >>> contains_answers("建成5G基站超4.6万个[1]", ["4.6万", "46,000"])
    True
    >>> contains_answers("2,000", ["2000", "x"], all_required=True)
    False
    """
    if not answers:
        return False
    hay = normalize(text)
    found = [normalize(a) in hay for a in answers]
    return all(found) if all_required else any(found)


def answer_language(text: str) -> str | None:
    """The language an answer is written in, or None when it is too short to tell.

    Citation markers are ignored. An answer with fewer than 2 Han characters and fewer than
    4 Latin letters (a bare figure such as "46,600 [1]", "52.6%" or "5G") is neutral: it
    reads the same in both languages. A gloss in brackets (an English name's Chinese original,
    a Chinese figure's English value) does not count when the rest of the answer can tell.

    >>> answer_language("约4.6万个[1]。"), answer_language("About 46,000 [1]."), answer_language("46,600 [1]")
    ('zh', 'en', None)
    >>> answer_language("Li Qin (李钦) [1]."), answer_language("总产值3.7万亿元（572 billion US dollars）")
    ('en', 'zh')
    """
    t = CITATION_MARKER.sub("", unicodedata.normalize("NFKC", text))
    unglossed = re.sub(r"\([^()]*\)", "", t)
    if _tells(unglossed):
        return detect_lang(unglossed)
    return detect_lang(t) if _tells(t) else None


def _tells(text: str) -> bool:
    """Whether ``text`` has enough letters to tell its language (2 Han, or 4 Latin letters)."""
    return han_count(text) >= 2 or len(re.findall(r"[A-Za-z]", text)) >= 4


def first_hit_rank(hits: Sequence[Hit], sources: Iterable[str]) -> int | None:
    """Rank of the first hit from one of ``sources``, None when none was retrieved."""
    gold = set(sources)
    return next((h.rank for h in hits if h.chunk.doc_id in gold), None)


def is_correct(q: Question, answer: Answer) -> bool:
    if not q.answerable:
        return answer.abstained
    return not answer.abstained and contains_answers(answer.text, q.answers, q.all_required)


def share(flags: Iterable[bool]) -> float | None:
    """Fraction of true values, rounded to 4 places; None for no values."""
    values = list(flags)
    return round(sum(values) / len(values), 4) if values else None


def retrieval_metrics(ranks: Sequence[int | None], ks: Sequence[int] = HIT_KS) -> dict:
    """hit@k and MRR from hit ranks (None = not retrieved).

    >>> retrieval_metrics([1, 2, None, 4])
    {'hit@1': 0.25, 'hit@3': 0.5, 'hit@5': 0.75, 'mrr': 0.4375}
    """
    out: dict[str, float | None] = {f"hit@{k}": share(r is not None and r <= k for r in ranks) for k in ks}
    out["mrr"] = round(float(np.mean([1 / r if r else 0.0 for r in ranks])), 4) if ranks else None
    return out


def percentile(values: Sequence[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 1) if len(values) else None


def latency_summary(timings: Sequence[Timings]) -> dict:
    """Medians (and the 95th percentile of the total) in ms; first token only where a model wrote."""
    total = [t.total_ms for t in timings]
    return {
        "retrieve_p50": percentile([t.retrieve_ms for t in timings], 50),
        "first_token_p50": percentile([t.first_token_ms for t in timings if t.first_token_ms > 0], 50),
        "total_p50": percentile(total, 50),
        "total_p95": percentile(total, 95),
    }
