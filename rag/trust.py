"""Answers people can trust: figures checked against their sources, conflicts between sources
surfaced, dates named, the answer's language checked, one story told once.

Pure functions over text and small frozen dataclasses; the pipeline calls them around the
generator:

* before generation: ``story_groups`` (computed once per loaded index) and
  ``drop_story_duplicates`` keep the prompt from spending its budget twice on the same news
  (000 in Chinese, 004 in English), unless the second telling carries a different figure;
* after generation: ``drop_echoed_figures`` removes "4.76万 (47,600)" echoes of the prompt's
  annotations; ``unverified_figures`` lists the answer's figures that none of the passages
  it cites states (``rescale_figures`` first repairs the one error seen again and again,
  "7.3万" written as "7.3 million"); ``find_conflicts`` finds other articles that give a
  different value for a figure the answer states, and ``conflict_note`` writes them out with
  their citations and dates (``rag.grounding`` withdraws answers about another year or
  another subject); ``date_note`` names the date of the source a "latest" answer
  relies on; ``language_drift`` tells when the answer is not in the question's language.

Why figures for story groups, not vectors: the e5 vectors of the same news in Chinese and in
English are further apart (cosine 0.84 for 000/004) than two different Chinese stories (0.97),
so no vector threshold separates them; the figures an article reports are language-neutral and
nearly unique to a story (000 and 004 share 10 of 14 figures, other pairs at most 5 of 22).
Same-language reprints are also caught by their mean vectors (cosine >= 0.985).

Does not call the models and does not decide to regenerate: the pipeline does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .figures import CITATION_MARKER, Figure, english_amount, find_figures
from .lang import detect_lang, han_count
from .types import Lang

_CLAUSE_END = re.compile(r"[，,；;。！？!?：:\n]|\.(?=\s|$)")
_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d\d)(?=\s?年|\b)")
NEAR = 0.25  # two values of one fact differ by at most this share of the larger one


# --------------------------------------------------------------------------- figures


def figure_key(f: Figure) -> tuple[str, float]:
    """A figure as a comparable key: its kind and value rounded to 6 significant digits."""
    return f.kind, float(f"{f.value:.6g}")


def unverified_figures(answer: str, sources: Iterable[str], question: str = "") -> tuple[str, ...]:
    """The figures of ``answer`` that no source states (the question's own figures count as stated).

    A figure matches one of the same kind whose value lies within the rounding of the figure as
    written: "46,000" matches "4.6万", "3.7 trillion" matches "3.7万亿元", "4.6万" matches "4.63万".

    >>> answer = "建成4.6万个[1]，投资3.7 trillion yuan[2]，52.6 percent。"
    >>> unverified_figures(answer, ["超4.6万个", "3.7万亿元，52.6%"])
    ()
    >>> unverified_figures("About 47,000 base stations [1] in 2020.", ["2020年建成5G基站超4.6万个"])
    ('47,000',)
    """
    stated = [f for s in (*sources, question) for f in find_figures(s)]
    out = []
    for f in find_figures(answer):
        if not any(f.matches(g) for g in stated) and f.text not in out:
            out.append(f.text)
    return tuple(out)


def unverified_notice(figures: Sequence[str], lang: Lang) -> list[str]:
    """The notice shown with an answer whose figures no cited passage states (none when all are).

    >>> unverified_notice(["5.2万"], "zh"), unverified_notice([], "en")
    (['未能在所引资料中核实的数字：5.2万'], [])
    """
    if not figures:
        return []
    head = "未能在所引资料中核实的数字：" if lang == "zh" else "Figures not found in the cited sources: "
    return [head + ", ".join(figures)]


def rescale_figures(answer: str, sources: Iterable[str]) -> tuple[str, tuple[str, ...]]:
    """Repair figures whose digits are a source's 万/亿 figure written with the wrong English scale.

    Returns the repaired text and the figures replaced. Only a figure no source states is
    touched, and only when exactly one source value has the same digits.

    >>> rescale_figures("Shenzhen built 7.3 million base stations [1].", ["建成基站7.3万个"])
    ('Shenzhen built 73,000 base stations [1].', ('7.3 million',))
    >>> rescale_figures("It built 46,000 [1].", ["超4.6万个"])
    ('It built 46,000 [1].', ())
    """
    stated = [f for s in sources for f in find_figures(s)]
    fixed, out = [], answer
    for f in reversed(find_figures(answer)):
        if f.kind != "amount" or any(f.matches(g) for g in stated):
            continue
        digits = _digits(f.text)
        same = {
            g.value
            for g in stated
            if g.kind == "amount" and re.search("[万亿]", g.text) and _digits(g.text) == digits
        }
        if len(same) == 1:
            out = out[: f.start] + english_amount(same.pop()) + out[f.end :]
            fixed.append(f.text)
    return out, tuple(reversed(fixed))


def drop_echoed_figures(answer: str, lang: Lang) -> str:
    """Drop a figure repeated in brackets right after itself, as the model copies the English values
    the prompt shows ("4.76万 (47,600)"); an English answer keeps the English form.

    >>> drop_echoed_figures("It built 4.76万 (47,600) stations [1] and 47,600 (47,600) more.", "en")
    'It built 47,600 stations [1] and 47,600 more.'
    >>> drop_echoed_figures("建成4.76万 (47,600)个[1]", "zh")
    '建成4.76万个[1]'
    """
    figs = find_figures(answer)
    out = answer
    for a, b in reversed(list(zip(figs, figs[1:], strict=False))):
        between = answer[a.end : b.start]
        after = answer[b.end : b.end + 1]
        if re.fullmatch(r"\s*[(（]", between) and after in ")）" and after and a.matches(b) and b.matches(a):
            keep = b.text if lang == "en" and not re.search("[万亿]", b.text) else a.text
            out = out[: a.start] + keep + out[b.end + 1 :]
    return out


def _digits(text: str) -> str:
    """The significant digits of a number as written: "7.3 million" -> "73", "46,600" -> "466"."""
    number = re.match(r"[\d,.]*", text.translate(_ASCII_DIGITS)).group(0)  # type: ignore[union-attr]
    return re.sub(r"\D", "", number).strip("0") or "0"


_ASCII_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


# --------------------------------------------------------------------------- conflicts


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
    asked_years = set(_YEAR.findall(question))
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
        a_doc, a_clause = sources[a].doc_id, _clause(sources[a].text, g0)
        others: dict[str, Reading] = {}
        for j, src in enumerate(sources):
            if src.doc_id == a_doc or src.doc_id in others or any(f.matches(g) for g in figures[j]):
                continue
            sibling = groups.get(src.doc_id, src.doc_id) == groups.get(a_doc, a_doc)
            best = None
            for g in figures[j]:
                if g.kind != g0.kind or not _near(g0.value, g.value) or g0.matches(g):
                    continue
                if _currency(src.text, g) != _currency(sources[a].text, g0):
                    continue
                clause = _clause(src.text, g)
                if sibling:
                    if not _mutual_nearest(
                        articles.get(a_doc, sources[a].text), g0, articles.get(src.doc_id, src.text), g
                    ):
                        continue
                else:
                    years = set(_YEAR.findall(clause)) | set(_YEAR.findall(a_clause))
                    if (
                        _overlap(a_clause, clause) < 0.4
                        or len(years) > 1
                        or (asked_years and years - asked_years)
                    ):
                        continue
                gap = abs(g.value - g0.value)
                if best is None or gap < best[0]:
                    best = (gap, g)
            if best:
                others[src.doc_id] = Reading(j, best[1], _unit(src.text, best[1]))
        if others:
            out.append(Conflict(Reading(a, g0, _unit(sources[a].text, g0)), tuple(others.values())))
    return out


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
                parts.append(f"{_english(r.figure)} [{number[r.source]}] ({date or 'undated'})")
        lines.append(
            ("资料说法不一：" + "；".join(parts) + "。")
            if lang == "zh"
            else ("The sources differ: " + "; ".join(parts) + ".")
        )
    return "\n".join(lines)


def _english(f: Figure) -> str:
    if f.kind == "percent":
        return f"{f.value:g}%"
    if f.kind == "points":
        return f"{f.value:g} percentage points"
    return f.text if f.kind == "fraction" else english_amount(f.value)


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
        han = re.findall(rf"[{_HAN}#a-z]", t)
        return words | {x + y for x, y in zip(han, han[1:], strict=False)}

    ga, gb = grams(a), grams(b)
    return 2 * len(ga & gb) / (len(ga) + len(gb)) if ga and gb else 0.0


# --------------------------------------------------------------------------- dates

_LATEST = re.compile(
    r"最新|目前|现在|当前|如今|至今|迄今|截至|截止|今年|近期|最近|"
    r"\b(?:latest|current(?:ly)?|now|today|so far|as of|most recent|recent(?:ly)?|to date)\b|"
    r"\bby (?:early |mid-?|late |the end of )?(?:19|20)\d\d\b",
    re.IGNORECASE,
)


def asks_latest(question: str) -> bool:
    """Whether the question asks for the latest or current state of things.

    >>> asks_latest("深圳目前有多少5G基站？"), asks_latest("How many had it built by early 2024?")
    (True, True)
    >>> asks_latest("2020年深圳建成了多少5G基站？")
    False
    """
    return bool(_LATEST.search(question))


def date_note(answer: str, n: int, date: str, text: str, lang: Lang) -> str:
    """A short note naming the date of source ``[n]`` (the source a "latest" answer relies on),
    or "" when the answer already names it. An undated source is said to be undated, with the
    latest year its text mentions.

    >>> date_note("超4.6万个[1]。", 1, "2021-01-20", "", "zh")
    '（资料[1]的日期：2021-01-20）'
    >>> date_note("Over 75,000 [1].", 1, "", "仍将是2024年深圳的主旋律；2023年…", "en")
    '(Source [1] is undated; the latest year it mentions is 2024.)'
    """
    if date and date in answer:
        return ""
    years = sorted({int(y) for y in _YEAR.findall(text)})
    if lang == "zh":
        if date:
            return f"（资料[{n}]的日期：{date}）"
        return f"（资料[{n}]未注明日期" + (f"，文中提到的最近年份是{years[-1]}年）" if years else "）")
    if date:
        return f"(Source [{n}] is dated {date}.)"
    return f"(Source [{n}] is undated" + (
        f"; the latest year it mentions is {years[-1]}.)" if years else ".)"
    )


# --------------------------------------------------------------------------- language


_FOREIGN = re.compile(
    r"\b(?:le|la|les|de|des|est|un|une|du|et|sur|ont|pour|avec|sont|dans|qui|que|pas|au|aux|der|die|das|und|ist|nicht|los|las|el|por|con|una|para)\b"
    r"|[àâçèéêëîïôûùüÿñæœßäö]",
    re.IGNORECASE,
)
_INSIST = {
    "en": "Write the whole answer in English (the question is in English), translating from the sources.",
    "zh": "请只用中文写出整个答案（问题是中文），英文资料的内容请译成中文。",
}


def language_drift(answer: str, lang: Lang) -> bool:
    """Whether ``answer`` is not written in ``lang``; a bare figure reads the same in both.
    Latin text that reads as French, German or Spanish is not English.

    >>> language_drift("约4.6万个[1]。", "en"), language_drift("46,600 [1]", "zh")
    (True, False)
    >>> language_drift("About 46,000 [1].", "en")
    False
    >>> language_drift("La ville a construit 46 600 stations de base [1].", "en")
    True
    """
    t = CITATION_MARKER.sub("", answer)
    if han_count(t) < 2 and len(re.findall(r"[A-Za-z]", t)) < 4:
        return False
    if detect_lang(t) != lang:
        return True
    words = re.findall(r"[^\W\d_]+", t)
    return lang == "en" and len(words) >= 3 and len(_FOREIGN.findall(t)) >= max(2, len(words) // 5)


def insist_on_language(messages: list[dict[str, str]], lang: Lang) -> list[dict[str, str]]:
    """The same chat with a stronger language instruction after the question (the system prompt
    and the passages stay first, so the runtime reuses their cached state)."""
    out = [dict(m) for m in messages]
    out[-1]["content"] += "\n\n" + _INSIST[lang]
    return out


def language_fallback(answer: str, lang: Lang) -> str:
    """A templated answer in ``lang`` when the model kept writing another language: the answer's
    figures with their citations, else a pointer to the cited passages.

    >>> language_fallback("深圳建成5G基站超4.6万个[1]，增长2%[2]。", "en")
    'The sources give: 46,000 [1]; 2% [2].'
    >>> language_fallback("The city built base stations [1].", "zh")
    '答案见所引资料[1]，但未能用中文写出，请阅读下方引文。'
    """
    parts = []
    for f in find_figures(answer):
        m = CITATION_MARKER.search(answer, f.end)
        cite = m.group(0) if m and not find_figures(answer[f.end : m.start()]) else ""
        parts.append((f"{_english(f)} {cite}" if lang == "en" else f.text + cite).strip())
    if parts:
        return (
            ("The sources give: " + "; ".join(parts) + ".")
            if lang == "en"
            else ("资料给出的数字：" + "；".join(parts) + "。")
        )
    cites = "".join(dict.fromkeys(m.group(0) for m in CITATION_MARKER.finditer(answer))) or "[1]"
    if lang == "en":
        return (f"The answer is in the cited sources {cites}, but it could not be written in English; "
                "please read the passages below.")
    return f"答案见所引资料{cites}，但未能用中文写出，请阅读下方引文。"


# --------------------------------------------------------------------------- story groups


def story_groups(
    docs: Sequence[tuple[str, str, str]],
    vectors: Mapping[str, np.ndarray] | None = None,
    min_shared: int = 3,
    min_share: float = 0.5,
    min_cosine: float = 0.985,
    max_days: int = 31,
) -> dict[str, str]:
    """Group articles that tell the same story: ``{doc_id: group_id}`` for every article, the group
    id being the smallest doc id of the group (an article alone is its own group).

    ``docs`` are (doc_id, date, text). Two articles are one story when they share at least
    ``min_shared`` figures making at least ``min_share`` of the smaller article's figures, or
    (with ``vectors``: one L2-normalised mean vector per article) when their vectors have cosine
    >= ``min_cosine``; never when both are dated more than ``max_days`` apart.

    >>> story_groups([("000", "2021-01-20", "产值3.7万亿元，资金4.55亿元，项目1030个，基站4.6万个"),
    ...               ("004", "2021-01-21", "3.7 trillion yuan, 455 million yuan, 1,030 projects, 46,600"),
    ...               ("002", "", "产值9164.8亿元，基站4.76万个")])
    {'000': '000', '004': '000', '002': '002'}
    """
    keys = {d: {figure_key(f) for f in find_figures(t)} for d, _, t in docs}
    dates = {d: date for d, date, _ in docs}
    parent = {d: d for d, _, _ in docs}

    def root(d: str) -> str:
        while parent[d] != d:
            parent[d] = parent[parent[d]]
            d = parent[d]
        return d

    def join(a: str, b: str) -> None:
        if _days_apart(dates[a], dates[b]) > max_days:
            return
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    by_key: dict[tuple[str, float], list[str]] = {}
    for d, ks in keys.items():
        for k in ks:
            by_key.setdefault(k, []).append(d)
    shared: dict[tuple[str, str], int] = {}
    for ds in by_key.values():
        if len(ds) <= 50:  # a figure in very many articles (a common percentage) says nothing
            for i, a in enumerate(ds):
                for b in ds[i + 1 :]:
                    shared[(a, b)] = shared.get((a, b), 0) + 1
    for (a, b), n in shared.items():
        if n >= min_shared and n >= min_share * min(len(keys[a]), len(keys[b])):
            join(a, b)
    if vectors:
        ids = [d for d, _, _ in docs if d in vectors]
        if 1 < len(ids) <= 5000:
            m = np.stack([vectors[d] for d in ids]).astype(np.float32)
            sims = m @ m.T
            for i, j in zip(*np.nonzero(np.triu(sims >= min_cosine, k=1)), strict=True):
                join(ids[i], ids[j])
    return {d: root(d) for d, _, _ in docs}


def _days_apart(a: str, b: str) -> int:
    if not (re.match(r"\d{4}-\d\d-\d\d$", a or "") and re.match(r"\d{4}-\d\d-\d\d$", b or "")):
        return 0
    return abs((np.datetime64(a) - np.datetime64(b)).astype(int))


def doc_vectors(vectors: np.ndarray, rows: Mapping[str, Sequence[int]]) -> dict[str, np.ndarray]:
    """One L2-normalised mean vector per article from the index's chunk vectors."""
    out = {}
    for d, rs in rows.items():
        if len(rs):
            v = np.asarray(vectors[list(rs)], dtype=np.float32).mean(axis=0)
            out[d] = v / (np.linalg.norm(v) or 1.0)
    return out


def drop_story_duplicates(
    items: Sequence[tuple[str, str]], groups: Mapping[str, str], doc_keys: Mapping[str, set]
) -> list[int]:
    """Indices of the ``items`` (doc_id, text), best first, worth showing: an item is dropped when
    an article of the same story ranks higher and already states every figure of the item.

    >>> keys = {"000": {figure_key(f) for f in find_figures("3.7万亿元，4.6万个")}}
    >>> items = [("000", "3.7万亿元"), ("004", "3.7 trillion yuan"), ("004", "46,600 stations")]
    >>> drop_story_duplicates(items, {"000": "000", "004": "000"}, keys)
    [0, 2]
    """
    kept, seen = [], []
    for i, (doc, text) in enumerate(items):
        group = groups.get(doc, doc)
        better = [d for d in seen if d != doc and groups.get(d, d) == group]
        if better:
            mine = {figure_key(f) for f in find_figures(text)}
            known = set().union(*(doc_keys.get(d, set()) for d in better))
            if not mine - known:
                continue
        kept.append(i)
        if doc not in seen:
            seen.append(doc)
    return kept
