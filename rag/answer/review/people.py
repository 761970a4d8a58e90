"""The people an answer names, looked for in the sources in either language.

``answer_names`` the people's names an answer gives (Chinese names, pinyin-like Latin ones);
``name_in`` whether a text gives a person (as written, or the pinyin of a Chinese name either
way round); ``unfound_names`` the names no source gives (an invented "Li Jiabin"), with its
notice; ``unnamed_role`` the role asked ("Who is the mayor?") that no sentence naming the
person says.

Does not write names in English for the reader: ``rag.text.names`` does.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.answer.review.support import Evidence, sentences_of
from rag.answer.review.terms import covered, key_terms, pinyin_text
from rag.text.figures import CITATION_MARKER
from rag.text.lang import HAN, detect_lang
from rag.text.names import LATIN_NAME, chinese_names, english_form, looks_pinyin, pinyin_orders
from rag.text.tokens import normalize, tokenize
from rag.types import Lang


def answer_names(question: str, answer: str) -> list[str]:
    """The people's names ``answer`` gives that ``question`` does not: Chinese names, and
    pinyin-like Latin ones ("Jia Xingdong").

    >>> answer_names("谁发布了数据？", "局长贾兴东发布[1]")
    ['贾兴东']
    >>> answer_names("Who said it?", "Jia Xingdong said [1].")
    ['Jia Xingdong']
    """
    text = CITATION_MARKER.sub("", answer)
    latin = [m.group(0) for m in LATIN_NAME.finditer(text) if looks_pinyin(m.group(0))]
    names = dict.fromkeys([*chinese_names(text), *latin])
    return [n for n in names if n.casefold() not in question.casefold()]


def name_in(name: str, text: str) -> bool:
    """Whether ``text`` gives the person ``name``: as written, or across languages (the pinyin
    of a Chinese name either way round).

    >>> name_in("Jia Xingdong", "局长贾兴东表示"), name_in("贾兴东", "Jia Xingdong said")
    (True, True)
    >>> name_in("Li Jiabin", "局长贾兴东表示"), name_in("Ping An", "平安集团")  # a company, not tagged a name
    (False, True)
    """
    if name.casefold() in text.casefold():
        return True
    if re.search(f"[{HAN}]", name):
        return english_form(name, [text]) is not None
    key = re.sub(r"[^a-z]", "", name.casefold())
    in_names = any(key in pinyin_orders(n) for n in chinese_names(text))
    return in_names or (len(key) >= 4 and key in pinyin_text(text))


def unfound_names(question: str, answer: str, sources: Sequence[str]) -> tuple[str, ...]:
    """The people's names of ``answer`` (``answer_names``) that no source gives in either
    language: an invented name ("Li Jiabin" when the articles name no such person).

    >>> unfound_names("Who is the mayor?", "The mayor is Li Jiabin [1].", ["局长贾兴东表示", "杨少昆 摄"])
    ('Li Jiabin',)
    >>> unfound_names("Who heads it?", "Jia Xingdong [1].", ["局长贾兴东表示"])
    ()
    """
    words = set(re.findall(r"[a-z']+", " ".join(sources).casefold()))
    out = []
    for name in answer_names(question, answer):
        latin = not re.search(f"[{HAN}]", name)
        if latin and any(w.casefold() in words for w in re.split(r"[ -]", name)):
            continue  # a word of the sources (Shenzhen, Bao'an), not an invented name
        if not any(name_in(name, s) for s in sources):
            out.append(name)
    return tuple(out)


def unfound_names_notice(names: Sequence[str], lang: Lang) -> str:
    """Why an answer was withdrawn for ``unfound_names``.

    >>> unfound_names_notice(["Li Jiabin"], "en")
    'An answer was written, but no source names Li Jiabin.'
    """
    if lang == "zh":
        return f"模型写出了答案，但资料中没有提到{'、'.join(names)}。"
    return f"An answer was written, but no source names {', '.join(names)}."


def unnamed_role(question: str, answer: str, evidence: Sequence[Evidence]) -> str:
    """For a question asking who holds a role ("Who is the mayor?"), the role when no sentence
    naming the person the answer gives says it (itself or the one before), in its own language,
    "" otherwise (a role the other language's sentence cannot be judged on is not held against it).

    >>> ev = [Evidence("Jia Xingdong, director of the industry bureau, said so.")]
    >>> unnamed_role("Who is the mayor of Shenzhen?", "The mayor is Jia Xingdong [1].", ev)
    'mayor'
    >>> unnamed_role("Who is the director of the bureau?", "Jia Xingdong [1].", ev)
    ''
    """
    names = answer_names(question, answer)
    roles = [t for t in key_terms(question) if not t.proper and not re.fullmatch(r"\d{4}", t.text)]
    if not names or not roles or not _WHO_ASKED.search(question):
        return ""
    naming = False  # a sentence names the person (none: nothing to judge)
    for e in evidence:
        sentences = sentences_of(e.text)
        for j, sentence in enumerate(sentences):
            if not all(name_in(n, sentence) for n in names):
                continue
            naming = True
            context = normalize(" ".join(sentences[max(j - 1, 0) : j + 1]))
            same = [t for t in roles if t.lang == detect_lang(sentence)]
            if not same or any(covered(t, context, set(tokenize(context))) for t in same):
                return ""
    return roles[0].text if naming else ""


_WHO_ASKED = re.compile(r"\bwho(?:m|se)?\b|谁", re.IGNORECASE)
