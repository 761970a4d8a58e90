"""Conflicts between sources: other articles that give a different value for a figure the
answer states, written out with their citations and dates.

A pure function over text (``find_conflicts``) and its note (``conflict_note``); the pipeline
shows the note under the answer. Two values are one fact when the articles tell the same story
(``rag.answer.retrieve.stories``) and each value is the other's closest, or when the wording around them is
the same and no other year is named. Does not decide which value is right: it shows both.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rag.text.figures import YEAR, Figure, figure_key, find_figures
from rag.text.figures_en import english_figure
from rag.text.lang import HAN
from rag.types import Lang

_CLAUSE_END = re.compile(r"[，,；;。！？!?：:\n]|\.(?=\s|$)")
NEAR = 0.25  # two values of one fact differ by at most this share of the larger one


@dataclass(frozen=True)
class Source:
    """A text an answer may rest on: a passage shown to the model, or a story sibling's article."""

    doc_id: str
    date: str  # "" when the article has none
    text: str


@dataclass(frozen=True)
class Reading:
    """One source's value for a fact."""

    source: int  # index into the sources given
    figure: Figure
    unit: str  # the measure word written after it in the source ("个", "根"), or ""


@dataclass(frozen=True)
class Conflict:
    """A figure the answer states and the other values other articles give for the same fact."""

    stated: Reading
    others: tuple[Reading, ...]


def find_conflicts(
    answer: str,
    sources: Sequence[Source],
    cited: Sequence[int],
    groups: Mapping[str, str] | None = None,
    question: str = "",
    articles: Mapping[str, str] | None = None,
) -> list[Conflict]:
    """Other articles that give a different value for a figure of ``answer``.

    ``cited`` are the indices of the sources the answer cites. A figure of the answer is anchored
    in the first cited source stating it. Another article (not the anchor's) disagrees when it
    does not state that value but gives one of the same kind within ``NEAR`` of it, and it tells
    the same fact: the same story (``groups``, e.g. a translation) where, over the whole articles
    (``articles``: doc_id -> text, when given), each of the two values is the other's closest
    unmatched value; or the same wording around the figure (the clauses share at least 40% of
    their character bigrams or words) and no other year. Values in different currencies never
    conflict. One reading per article: the closest value.

    >>> srcs = [Source("000", "2021-01-20", "2020年深圳建成5G基站超4.6万个，成为首个城市。"),
    ...         Source("002", "", "2020年，深圳建成5G基站4.76万个，率先实现5G信号全覆盖。"),
    ...         Source("001", "", "全市累计建设5G基站超过7.5万个,密度全国领先。")]
    >>> [(c.stated.figure.text, [(srcs[r.source].doc_id, r.figure.text + r.unit) for r in c.others])
    ...  for c in find_conflicts("深圳建成5G基站超4.6万个[1]。", srcs, [0])]
    [('4.6万', [('002', '4.76万个')])]
    """
    groups, articles = groups or {}, articles or {}
    figures = [find_figures(s.text) for s in sources]
    asked_years = set(YEAR.findall(question))
    out: list[Conflict] = []
    done: set[tuple[str, float]] = set()
    for f in find_figures(answer):
        anchor = next(
            ((i, g) for i in cited if 0 <= i < len(sources) for g in figures[i] if f.matches(g)), None
        )
        if anchor is None or figure_key(anchor[1]) in done:
            continue
        a, g0 = anchor
        done.add(figure_key(g0))
        stated = _Anchor(sources[a], g0, _clause(sources[a].text, g0))
        others = _other_readings(f, stated, sources, figures, groups, articles, asked_years)
        if others:
            out.append(Conflict(Reading(a, g0, _unit(sources[a].text, g0)), others))
    return out


@dataclass(frozen=True)
class _Anchor:
    """A figure of the answer as the first cited source stating it writes it, and its clause."""

    source: Source
    figure: Figure
    clause: str


def _other_readings(
    f: Figure,
    stated: _Anchor,
    sources: Sequence[Source],
    figures: Sequence[list[Figure]],
    groups: Mapping[str, str],
    articles: Mapping[str, str],
    asked_years: set[str],
) -> tuple[Reading, ...]:
    """One reading per article other than the anchor's and stating no value matching ``f``: its
    value closest to the anchor's among those telling the same fact (``_same_fact``)."""
    a_doc, g0 = stated.source.doc_id, stated.figure
    others: dict[str, Reading] = {}
    for j, src in enumerate(sources):
        if src.doc_id == a_doc or src.doc_id in others or any(f.matches(g) for g in figures[j]):
            continue
        sibling = groups.get(src.doc_id, src.doc_id) == groups.get(a_doc, a_doc)
        same = [g for g in figures[j] if _same_fact(stated, src, g, sibling, articles, asked_years)]
        best = min(same, key=lambda g: abs(g.value - g0.value), default=None)  # the first of the closest
        if best is not None:
            others[src.doc_id] = Reading(j, best, _unit(src.text, best))
    return tuple(others.values())


def _same_fact(
    anchor: _Anchor,
    src: Source,
    g: Figure,
    sibling: bool,
    articles: Mapping[str, str],
    asked_years: set[str],
) -> bool:
    """Whether ``g`` of ``src`` is another value for the fact of ``anchor``: of the same kind, near
    it and not matching it, in the same currency; then, in a telling of the same story
    (``sibling``), each value the other's closest over the whole articles; else the clauses'
    wording shared (at least 40%), at most one year named and none other than asked."""
    g0 = anchor.figure
    if g.kind != g0.kind or not _near(g0.value, g.value) or g0.matches(g):
        return False
    if _currency(src.text, g) != _currency(anchor.source.text, g0):
        return False
    if sibling:
        a_doc = anchor.source.doc_id
        return _mutual_nearest(
            articles.get(a_doc, anchor.source.text), g0, articles.get(src.doc_id, src.text), g
        )
    clause = _clause(src.text, g)
    years = set(YEAR.findall(clause)) | set(YEAR.findall(anchor.clause))
    return not (
        _overlap(anchor.clause, clause) < 0.4 or len(years) > 1 or (asked_years and years - asked_years)
    )


def conflict_note(
    conflicts: Sequence[Conflict], sources: Sequence[Source], number: Mapping[int, int], lang: Lang
) -> str:
    """One sentence per conflict naming each value with its citation ``[n]`` and its article's date.

    ``number`` maps a source index to the citation number the answer uses for it.

    >>> f = find_figures("4.6万个 4.76万个")
    >>> c = Conflict(Reading(0, f[0], "个"), (Reading(1, f[1], "个"),))
    >>> s = [Source("000", "2021-01-20", ""), Source("002", "", "")]
    >>> conflict_note([c], s, {0: 1, 1: 2}, "zh")
    '资料说法不一：4.6万个[1]（2021-01-20）；4.76万个[2]（日期不详）。'
    >>> conflict_note([c], s, {0: 1, 1: 2}, "en")
    'The sources differ: 46,000 [1] (2021-01-20); 47,600 [2] (undated).'
    """
    lines = []
    for c in conflicts:
        parts = []
        for r in (c.stated, *c.others):
            date = sources[r.source].date
            if lang == "zh":
                parts.append(f"{r.figure.text}{r.unit}[{number[r.source]}]（{date or '日期不详'}）")
            else:
                parts.append(f"{english_figure(r.figure)} [{number[r.source]}] ({date or 'undated'})")
        lines.append(
            ("资料说法不一：" + "；".join(parts) + "。")
            if lang == "zh"
            else ("The sources differ: " + "; ".join(parts) + ".")
        )
    return "\n".join(lines)


def _mutual_nearest(text_a: str, fa: Figure, text_b: str, fb: Figure) -> bool:
    """Whether ``fa`` and ``fb`` are each other's closest value among the figures of the same kind
    that the other article does not state (so 50% does not pair with 52.5 when 52.6% is there)."""
    figs_a = [f for f in find_figures(text_a) if f.kind == fa.kind]
    figs_b = [f for f in find_figures(text_b) if f.kind == fb.kind]
    free_a = [f for f in figs_a if not any(f.matches(g) or g.matches(f) for g in figs_b)]
    free_b = [f for f in figs_b if not any(f.matches(g) or g.matches(f) for g in figs_a)]
    if not free_a or not free_b:
        return False
    near_a = min(free_a, key=lambda f: abs(f.value - fb.value))
    near_b = min(free_b, key=lambda f: abs(f.value - fa.value))
    return figure_key(near_a) == figure_key(fa) and figure_key(near_b) == figure_key(fb)


_CURRENCIES = (
    ("USD", r"US\$|\$|美元|dollars?"),
    ("SGD", r"新元|S\$|Singapore"),
    ("HKD", r"港元|港币|HK\$"),
    ("EUR", r"欧元|euros?|€"),
    ("CNY", r"元|yuan|RMB|人民币"),
)


def _currency(text: str, f: Figure) -> str:
    """The currency written next to a figure ("US$572 billion" -> "USD"), or ""."""
    before, after = text[max(0, f.start - 4) : f.start], text[f.end : f.end + 10]
    for code, pattern in _CURRENCIES:
        if re.search(rf"(?:{pattern})\s?$", before) or re.match(rf"\s?(?:{pattern})", after, re.IGNORECASE):
            return code
    return ""


def _near(a: float, b: float) -> bool:
    return a != b and abs(a - b) <= NEAR * max(abs(a), abs(b))


def _clause(text: str, f: Figure) -> str:
    """The clause of ``text`` around figure ``f`` (cut at ，；。 and sentence ends)."""
    starts = [m.end() for m in _CLAUSE_END.finditer(text, 0, f.start)]
    end = _CLAUSE_END.search(text, f.end)
    return text[(starts[-1] if starts else 0) : (end.start() if end else len(text))]


def _unit(text: str, f: Figure) -> str:
    m = re.match(r"\s?([个家根项座条名位倍次台辆只件人户所元吨])", text[f.end : f.end + 2])
    return m.group(1) if m and f.kind == "amount" else ""


def _overlap(a: str, b: str) -> float:
    """Dice overlap of two clauses' character bigrams (Chinese) or words (English), digits removed.

    >>> round(_overlap("2020年深圳建成5G基站超4.6万个", "2020年，深圳建成5G基站4.76万个"), 2)
    0.88
    """

    def grams(t: str) -> set[str]:
        t = re.sub(r"[\d.,%]+", "#", t.lower())
        words = set(re.findall(r"[a-z]{3,}", t))
        han = re.findall(rf"[{HAN}#a-z]", t)
        return words | {x + y for x, y in zip(han, han[1:], strict=False)}

    ga, gb = grams(a), grams(b)
    return 2 * len(ga & gb) / (len(ga) + len(gb)) if ga and gb else 0.0
