"""Answers people can trust: the answer's figures checked against the passages it cites, the
date of a "latest" answer named, the answer's language checked.

Pure functions over text; the pipeline calls them after generation: ``drop_echoed_figures``
removes "4.76万 (47,600)" echoes of the prompt's annotations; ``unverified_figures`` lists the
answer's figures that none of the passages it cites states (``rescale_figures`` first repairs
the one error seen again and again, "7.3万" written as "7.3 million"); ``date_note`` names the
date of the source a "latest" answer relies on; ``language_drift`` tells when the answer is not
in the question's language and ``language_fallback`` writes its figures in the right one.

Conflicts between sources are ``conflicts``; one story told once is ``rag.answer.retrieve.stories``;
answers whose figures are of another year or in no passage are withdrawn by ``claims``, answers about
another subject by ``grounding``; ``verdict`` calls these checks in one step. Does not call the
models and does not decide to regenerate: the pipeline does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from rag.text.dates import implied_date
from rag.text.figures import CITATION_MARKER, Figure, find_figures
from rag.text.figures_en import english_amount, english_figure
from rag.text.lang import detect_lang, han_count
from rag.types import Lang

# --------------------------------------------------------------------------- figures


def unverified_figures(answer: str, sources: Iterable[str], question: str = "") -> tuple[str, ...]:
    """The figures of ``answer`` that no source states (the question's own figures count as stated).

    A figure matches one of the same kind whose value lies within the rounding of the figure as
    written: "46,000" matches "4.6万", "3.7 trillion" matches "3.7万亿元", "4.6万" matches "4.63万".

    >>> answer = "建成4.6万个[1]，投资3.7 trillion yuan[2]，52.6 percent。"
    >>> unverified_figures(answer, ["超4.6万个", "3.7万亿元，52.6%"])
    ()
    >>> unverified_figures("About 47,000 base stations [1] in 2020.", ["2020年建成5G基站超4.6万个"])
    ('47,000',)

    A change computed from two stated amounts (their difference, or its percentage of the
    first) is stated too: the answer says so, and code, not the model, computed it.

    >>> answer = "从4.6万个[1]增至7.5万个[2]，增加2.9万个，增长63%（由代码计算）。"
    >>> unverified_figures(answer, ["4.6万个", "7.5万个"])
    ()
    """
    stated = [f for s in (*sources, question) for f in find_figures(s)]
    out = []
    for f in find_figures(answer):
        if not any(f.matches(g) for g in stated) and not _computed(f, stated) and f.text not in out:
            out.append(f.text)
    return tuple(out)


def _computed(f: Figure, stated: Sequence[Figure]) -> bool:
    """Whether ``f`` is the difference of two stated amounts, or that difference in percent of one."""
    amounts = {g.value for g in stated if g.kind == "amount" and g.value}
    if len(amounts) < 2 or len(amounts) > 40:
        return False
    for a in amounts:
        for b in amounts:
            if a < b and (
                (f.kind == "amount" and abs(f.value - (b - a)) <= f.tolerance + 1e-9 * b)
                or (f.kind == "percent" and abs(f.value - (b - a) / a * 100) <= max(f.tolerance, 0.5))
            ):
                return True
    return False


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
    month its text implies it was written in at the earliest (``rag.text.dates.implied_date``:
    the last day it reports, the years it calls past; not a target year ahead).

    >>> date_note("超4.6万个[1]。", 1, "2021-01-20", "", "zh")
    '（资料[1]的日期：2021-01-20）'
    >>> date_note("Over 75,000 [1].", 1, "", "在刚刚过去的2023年……到2035年建成先进制造业中心。", "en")
    '(Source [1] is undated; its text was written in 2024-01 or later.)'
    >>> date_note("7.5万个[1]。", 1, "", "到2035年建成先进制造业中心。", "zh")
    '（资料[1]未注明日期）'
    """
    if date and date in answer:
        return ""
    implied = implied_date(text)
    if lang == "zh":
        if date:
            return f"（资料[{n}]的日期：{date}）"
        return f"（资料[{n}]未注明日期" + (f"，从内容看写于{implied}或之后）" if implied else "）")
    if date:
        return f"(Source [{n}] is dated {date}.)"
    return f"(Source [{n}] is undated" + (
        f"; its text was written in {implied} or later.)" if implied else ".)"
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
        parts.append((f"{english_figure(f)} {cite}" if lang == "en" else f.text + cite).strip())
    if parts:
        return (
            ("The sources give: " + "; ".join(parts) + ".")
            if lang == "en"
            else ("资料给出的数字：" + "；".join(parts) + "。")
        )
    cites = "".join(dict.fromkeys(m.group(0) for m in CITATION_MARKER.finditer(answer))) or "[1]"
    if lang == "en":
        return (
            f"The answer is in the cited sources {cites}, but it could not be written in English; "
            "please read the passages below."
        )
    return f"答案见所引资料{cites}，但未能用中文写出，请阅读下方引文。"
