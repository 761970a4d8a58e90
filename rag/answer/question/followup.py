"""An elliptical follow-up made into a question that stands alone, by code, from the conversation.

``standalone(question, history)`` reads the earlier (question, answer) pairs, oldest first, and
returns a ``Followup`` whose ``text`` is what evidence, generation and review read and whose
``query`` is what retrieval reads:

- a new time for the same question ("2020年深圳建成多少5G基站？" + "那2023年呢？"): the earlier
  question with its time replaced;
- a new quoted term ("哪些省市处于“示范引领”位置？" + "那“孕育起步”的呢？"): the term replaced;
- who said it ("What was the output in 2020?" + "And who said that?"): who said the earlier
  answer's claim, built from the earlier question and answer;
- a new thing in English ("What about watches?", "And its revenue?"): the earlier question
  with the thing in its slot replaced (what a share is of, what of a company grows, what is
  counted, what ends it);
- any other elliptical follow-up ("手表呢？", "它比2018年提高了多少？"): retrieved
  with the earlier questions it needs in front, "(Following: …) What about watches?", and
  otherwise read as asked.

A question is elliptical when it is short (under 16 characters in Chinese, 6 words in English),
opens like a follow-up (那…, 还有…, "And…", "What about…") or points back (它, 其, it, its, that
report). A question that stands alone is returned unchanged.

Does not call the generator, resolve pronouns to names, or look at the passages.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.text.dates import MONTH_NAMES
from rag.text.lang import detect_lang

History = Sequence[tuple[str, str]]  # (question, answer) pairs, oldest first
MAX_CONTEXT = 2  # earlier questions carried in front of a follow-up code cannot fold in
LOOK_BACK = 4  # earlier turns read to resolve the chain of follow-ups
EARLIER_CHARS = 1000  # an earlier question or answer is read up to this (the pipeline's question limit)
NOTICE = {"zh": "按上文理解为：{}", "en": "Read in context as: {}"}

_FOLLOW_UP = re.compile(
    r"^(那|那么|还有|而|它|他|她|其|这|该|and\b|what about\b|how about\b|and who\b|who said)", re.I
)
_POINTS_BACK = re.compile(
    r"它|其|该|上述|\b(?:it|its|they|their|them|he|his|she|her|those|these)\b|\b(?:that|this)\s+\w+", re.I
)
_ZH_TIME = re.compile(
    r"(?:到|截至|截止到?)?\d{4}年(?:\d{1,2}(?:[—–-]\d{1,2})?月份?)?"
    r"(?:初|底|末|上半年|下半年|前三季度|全年)?"
)
_EN_TIME = re.compile(
    r"\b(?:(?:in|by|at|for|during|of)\s+(?:the\s+)?(?:(?:end|start|beginning|first half|second half|"
    r"first (?:two |three )?quarters?)\s+of\s+)?)?(?:early\s+|late\s+)?\d{4}\b",
    re.I,
)
_ONLY_TIME_REST = re.compile(
    r"^(?:那么?|而|还有|and|what about|how about|then|[\s,，的])*(?:呢|怎么样|如何|"
    r"又如何|又是多少|又有多少|then)?[\s？?。.!！]*$",
    re.I,
)
_QUOTED = re.compile(r"“[^”]+”|\"[^\"]+\"|「[^」]+」")
_WHO_SAID = re.compile(
    r"^(?:and\s+|but\s+)?who\s+(?:said|says|stated|gave|provided|announced|released|cited|mentioned)\b"
    r"(?:\s+(?:that|this|it|so|those|these|the))?(?:\s+(?:figures?|numbers?|data|statistics?))?\s*[?？]?$|"
    r"^(?:那|这|这是|那是|这些|那些)?(?:数据|数字|说法)?(?:是)?谁(?:说|讲|表示|提出|公布|透露|给出)的?(?:呢)?[？?]?$",
    re.I,
)
_EN_WHAT_IS = re.compile(r"^(?:what|how much|how many|which)\s+(was|is|were|are)\s+(.+?)\s*[?？]?$", re.I)
# "What about watches?", "And its revenue?", "And the 100 mask machines?": a new thing, nothing else
_EN_NEW_THING = re.compile(
    r"^(?:and|what about|how about)\s+(?:the\s+|its\s+|their\s+)?"
    r"((?!(?:how|what|who|where|when|which|why|did|does|do|is|was|were|are)\b)[\w'’-]+(?:\s+[\w'’-]+){0,3})\s*[?？]?$",
    re.I,
)
_EN_SLOTS = (  # where the thing asked about stands in an English question, most telling first
    re.compile(
        r"\bof (?:the world['’]s |the country's |china's |global )?([\w -]+?) "
        r"(?:did|does|do|was|were|is|are)\b",
        re.I,
    ),
    re.compile(r"['’]s ([\w -]+?) (?:grow|rise|increase|fall|decline|change|reach)\b", re.I),
    re.compile(r"^how (?:many|much) ([\w -]+?) (?:did|does|do|was|were|is|are|has|have)\b", re.I),
    re.compile(r"\b(?:the|its|their) ([\w -]+?)\s*[?？]$", re.I),
)
_EN_NAME = re.compile(
    rf"(?<=\s)(?!(?:{MONTH_NAMES})\b)[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)*"
)  # the first name after the question's first word
_MARKERS = re.compile(r"\s*\[\d+\]|\s*[(（][^()（）]*[)）]")


@dataclass(frozen=True)
class Followup:
    question: str  # as asked
    core: str  # the question that stands alone (the question itself when code could not fold it)
    context: tuple[str, ...] = ()  # earlier questions it still needs, oldest first
    how: str = ""  # "" (unchanged), "time", "term", "thing", "who" or "context"

    @property
    def text(self) -> str:
        """What evidence, generation and review read: the question that stands alone; a follow-up
        code could not fold in stays as asked (in front of it, the earlier questions made the 1.5B
        generator answer them instead: 8 of 22 such turns wrong against 6 as asked)."""
        return self.question if self.how == "context" else self.core

    @property
    def query(self) -> str:
        """What retrieval reads: the core, after the earlier questions it still needs."""
        if not self.context:
            return self.core
        if detect_lang(self.question) == "zh":
            earlier = "”“".join(_plain(c) for c in self.context)
            return f"（接着问“{earlier}”）{self.core}"
        earlier = '"; "'.join(_plain(c) for c in self.context)
        return f'(Following: "{earlier}") {self.core}'

    @property
    def notices(self) -> tuple[str, ...]:
        """The rewritten question, shown so the reader sees what was answered (none if unchanged)."""
        if self.text == self.question:  # unchanged, or only retrieved with the earlier questions
            return ()
        return (NOTICE[detect_lang(self.question)].format(self.text),)


def standalone(question: str, history: History = ()) -> Followup:
    """``question`` made to stand alone with the earlier turns of ``history``.

    >>> standalone("那2023年呢？", [("2020年深圳建成多少5G基站？", "4.6万个[1]")]).text
    '2023年深圳建成多少5G基站？'
    >>> standalone("那到2024年初呢？", [("2020年深圳建成了多少5G基站？", "4.6万个")]).text
    '到2024年初深圳建成了多少5G基站？'
    >>> standalone("What about 2022?", [("How much did BYD's revenue grow in 2023?", "57.75% [1]")]).text
    "How much did BYD's revenue grow in 2022?"
    >>> standalone("那“孕育起步”的是哪几个？", [("哪些省市处于“示范引领”位置？", "北京、上海")]).text
    '哪些省市处于“孕育起步”位置？'
    >>> standalone("And who said that?", [("What was Shenzhen's output in 2020?", "3.7 trillion [1]")]).text
    "Who said that Shenzhen's output in 2020 was 3.7 trillion?"
    >>> standalone("是谁说的？", [("2020年深圳建成了多少5G基站？", "4.6万个[1]（2021-01-20）")]).text
    '谁说过“2020年深圳建成了4.6万个5G基站”？'
    >>> standalone("What about watches?", [("What share of drones did Shenzhen make?", "70% [1]")]).text
    'What share of watches did Shenzhen make?'
    >>> standalone("How did it rank?", [("What was the output in 2020?", "3.7 trillion [1]")]).query
    '(Following: "What was the output in 2020") How did it rank?'
    >>> standalone("And how many projects did it support?", [("Who heads the bureau?", "Jia [1]")]).query
    '(Following: "Who heads the bureau") How many projects did it support?'
    >>> chain = [("云工厂平台入驻了多少家制造商？", "上万家"), ("它上半年撮合了多少采购？", "100多亿元")]
    >>> standalone("同比增长了多少？", chain).query
    '（接着问“云工厂平台入驻了多少家制造商”“它上半年撮合了多少采购”）同比增长了多少？'
    >>> standalone("Who heads Bao'an district's industry bureau?", [("Who said that?", "")]).how
    ''
    """
    previous: Followup | None = None
    answer = ""
    for q, a in list(history)[-LOOK_BACK:]:
        previous, answer = _resolve(q[:EARLIER_CHARS], previous, answer), a[:EARLIER_CHARS]
    return _resolve(question, previous, answer)


def elliptical(question: str) -> bool:
    """Whether ``question`` leans on an earlier one (see the module docstring).

    >>> elliptical("制造业投资呢？"), elliptical("How did it rank among Chinese cities?")
    (True, True)
    >>> elliptical("What share of the world's consumer drones did Shenzhen produce in 2023?")
    False
    """
    q = question.strip()
    short = len(q) < 16 if detect_lang(q) == "zh" else len(q.split()) < 6
    return short or bool(_FOLLOW_UP.match(q) or _POINTS_BACK.search(q))


def _resolve(question: str, previous: Followup | None, answer: str) -> Followup:
    """``question`` resolved against the ``previous`` question (itself resolved) and its answer."""
    if previous is None or not elliptical(question):
        return Followup(question, question)
    anchor = previous.core
    for how, core in (
        ("who", _who_said(question, anchor, answer)),
        ("time", _new_time(question, anchor)),
        ("term", _new_term(question, anchor)),
        ("thing", _new_thing(question, anchor)),
    ):
        if core:
            return Followup(question, core, previous.context, how)
    core = re.sub(r"^(?:and|but)\s+(\w)", lambda m: m.group(1).upper(), question.strip(), flags=re.I)
    return Followup(question, core, (*previous.context, anchor)[-MAX_CONTEXT:], "context")


def _new_time(question: str, anchor: str) -> str:
    """``anchor`` asked for the one time ``question`` names, when that is all it adds; else ''."""
    zh = detect_lang(question) == "zh"
    times = list((_ZH_TIME if zh else _EN_TIME).finditer(question))
    if len(times) != 1 or not _ONLY_TIME_REST.match(
        question[: times[0].start()] + question[times[0].end() :]
    ):
        return ""
    new = times[0].group(0)
    old = (_ZH_TIME if zh else _EN_TIME).search(anchor)
    if old is None:
        return new + anchor if zh else re.sub(r"\s*[?？]?$", f" in {new}?", anchor, count=1)
    if not zh and new.isdigit():  # "What about 2022?" keeps the earlier "in the first half of"
        return anchor[: old.start()] + re.sub(r"\d{4}", new, old.group(0)) + anchor[old.end() :]
    return anchor[: old.start()] + new + anchor[old.end() :]


def _new_term(question: str, anchor: str) -> str:
    """``anchor`` with its one quoted term replaced by the one ``question`` quotes; else ''."""
    new, old = _QUOTED.findall(question), _QUOTED.findall(anchor)
    if len(new) != 1 or len(old) != 1:
        return ""
    return anchor.replace(old[0], new[0])


def _new_thing(question: str, anchor: str) -> str:
    """``anchor`` asked of the new thing an English follow-up names ("What about watches?", "And
    its revenue?"): the thing in the earlier question's slot for it (what a share is "of", what
    of a company grows, what is counted, what ends it); else ''.

    >>> _new_thing("What about watches?", "What share of the world's consumer drones did Shenzhen produce?")
    "What share of the world's watches did Shenzhen produce?"
    >>> _new_thing("And its revenue?", "How much did BYD's net profit grow in 2023?")
    "How much did BYD's revenue grow in 2023?"
    >>> _new_thing("And the 100 mask machines?", "How long did it take to deliver the testing equipment?")
    'How long did it take to deliver the 100 mask machines?'
    >>> _new_thing("What about Guangzhou?", "How many 5G base stations did Shenzhen build in 2020?")
    'How many 5G base stations did Guangzhou build in 2020?'
    >>> _new_thing("And how many projects did it support?", "Who heads the bureau?")
    ''
    """
    m = _EN_NEW_THING.match(question.strip())
    if m is None or detect_lang(anchor) != "en":
        return ""
    if m.group(1)[0].isupper():  # a place or a name: it takes the earlier one's place
        name = _EN_NAME.search(anchor)
        if name is None:
            return ""
        end = name.end() - 2 if re.search(r"['’]s$", name.group(0)) else name.end()  # BYD's: keep 's
        return anchor[: name.start()] + m.group(1) + anchor[end:]
    for slot in _EN_SLOTS:
        if found := slot.search(anchor):
            return anchor[: found.start(1)] + m.group(1) + anchor[found.end(1) :]
    return ""


def _who_said(question: str, anchor: str, answer: str) -> str:
    """Who said the earlier ``answer`` to ``anchor``, as a question of its own; else ''."""
    claim = _claim(answer)
    if not _WHO_SAID.match(question.strip()) or not claim:
        return ""
    if detect_lang(question) == "zh":
        plain = _plain(anchor)
        said = re.sub(r"多少[个家项元台]?|几[个家项]?", claim, plain, count=1)
        return f"谁说过“{said if said != plain else plain + '：' + claim}”？"
    m = _EN_WHAT_IS.match(_plain(anchor))
    said = f"{m.group(2)} {m.group(1).lower()} {claim}" if m else f'"{_plain(anchor)}" is {claim}'
    return f"Who said that {said}?"


def _claim(answer: str) -> str:
    """The first line of an answer without citation markers and notes; '' for an abstention.

    >>> _claim("3.7 trillion yuan [1] (3.7 trillion)\\nThe sources differ: …")
    '3.7 trillion yuan'
    """
    first = _MARKERS.sub("", (answer or "").strip().split("\n")[0]).strip(" 。.")
    if not first or "没有找到" in first or "do not contain" in first:
        return ""
    return first


def _plain(question: str) -> str:
    """A question without its end mark and inner commas, to be quoted inside another one."""
    return re.sub(r"[，,；;]\s*", " ", question.strip()).rstrip("？?。. ")
