"""An English name for a chosen answer the sources name only in Chinese: written by the model,
kept by code only when the dictionary bears it out.

For an English reader, a chosen organisation, facility or thing that the sources give only in
Chinese ("深圳·国际开源谷"), with no English telling, person's name or dictionary entry to write it
from (``rag.answer.candidates.writing.english_text``), is named in English by the generator in a
prompt of a few dozen tokens. The name is kept only when most of its words are glosses of the
Chinese words (``rag.text.lexicon``), so an invented name ("Beijing County" for 宝安区) is never
shown; the answer then keeps the Chinese alone. The Chinese always follows the English name.

Does not choose the candidate or write the answer around the name.
"""

from __future__ import annotations

import re

from rag.answer.candidates.extract import Candidate
from rag.answer.candidates.writing import english_text
from rag.models.generator import Generator
from rag.text.lang import HAN
from rag.text.lexicon import english_roots, text_roots
from rag.types import Lang

__all__ = ["english_name", "glossed", "needs_english_name"]

NAME_PROMPT = "Translate the Chinese name into English. Reply with the English name only."
MAX_NAME_TOKENS = 24  # an organisation's name; a longer reply is no name


def needs_english_name(candidate: Candidate, lang: Lang) -> bool:
    """Whether code has no English for a chosen ``candidate`` an English reader is given.

    >>> needs_english_name(Candidate("深圳·国际开源谷", "name", 0, ""), "en")
    True
    >>> [needs_english_name(Candidate(t, "name", 0, ""), "en") for t in ("海南", "Huawei")]
    [False, False]
    """
    if lang != "en" or candidate.kind not in ("name", "item"):
        return False
    return bool(re.search(f"[{HAN}]", english_text(candidate, with_chinese=False)))


def glossed(chinese: str, english: str) -> bool:
    """Whether more than half of the words of ``english`` are glosses of ``chinese``'s words (or
    its own Latin words): the name translates, it does not invent.

    >>> glossed("金砖国家未来网络研究院中国分院", "China Institute of Future Network Research of the BRICS")
    True
    >>> glossed("宝安区", "Beijing County"), glossed("创维-RGB电子有限公司", "Crayon RGB")
    (False, False)
    """
    words = english_roots(english)
    if not words or re.search(f"[{HAN}]", english):
        return False
    roots = text_roots(chinese)
    return 2 * sum(w not in roots for w in words) < len(words)


def english_name(generator: Generator, chinese: str) -> str:
    """The generator's English name for ``chinese`` when ``glossed`` bears it out, else ""."""
    messages = [{"role": "system", "content": NAME_PROMPT}, {"role": "user", "content": chinese}]
    reply = "".join(generator.stream(messages, max_tokens=MAX_NAME_TOKENS)).strip()
    name = reply.splitlines()[0].strip(" \"'“”.。") if reply else ""
    return name if glossed(chinese, name) else ""
