"""The answer's prompt and its citation markers: what the model reads, and its text renumbered.

* ``build_messages`` turns a question and numbered passages into chat messages. The
  system prompt (``prompts/system_<lang>.txt``) comes first and never changes, so the
  runtime can reuse its KV cache across questions. English prompts show the English value
  next to every 万/亿 figure (``rag.text.figures``).
* ``NO_ANSWER`` is the reply the system prompt asks for when the sources do not answer; the
  pipeline recognises it.
* ``CitationRewriter`` renumbers ``[n]`` markers as text streams: the first passage cited
  becomes [1], the next [2]...; markers that point at no shown passage are dropped.

Does not run a model (``rag.models.generator`` does), retrieve, or decide whether to abstain.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.models.generator import Message
from rag.prompts import prompt_text
from rag.text.figures_en import annotate_for_english
from rag.types import Hit, Lang

NO_ANSWER = "NO_ANSWER"


def format_passage(n: int, hit: Hit, text: str, lang: Lang) -> str:
    """One numbered passage as the model sees it.

    The English prompt carries English values of Chinese figures.
    """
    body = annotate_for_english(text) if lang == "en" else text
    date = f" ({hit.doc.date})" if hit.doc.date else ""
    return f"[{n}] {hit.doc.title}{date}\n{body}"


def build_messages(
    question: str, passages: Sequence[tuple[Hit, str]], lang: Lang, parts: Sequence[str] = ()
) -> list[Message]:
    """Chat messages for ``question`` over ``passages`` (hit, text shown), numbered from 1; a
    question of several ``parts`` lists them and asks for each with its citation."""
    blocks = "\n\n".join(format_passage(i, hit, text, lang) for i, (hit, text) in enumerate(passages, 1))
    user = prompt_text(f"user_{lang}").format(passages=blocks, question=question)
    if len(parts) > 1:
        listed = "".join(f"\n({i}) {p}" for i, p in enumerate(parts, 1))
        user += "\n" + prompt_text(f"parts_{lang}").format(n=len(parts), parts=listed)
    return [{"role": "system", "content": prompt_text(f"system_{lang}")}, {"role": "user", "content": user}]


_MARKER = re.compile(r"[\[【]\s*(\d{1,3}(?:\s*[,，、]\s*\d{1,3})*)\s*[\]】]")
_OPEN = re.compile(r"[\[【][\d\s,，、]*$")


class CitationRewriter:
    """Renumber ``[n]`` markers in streamed text; drop markers of passages not shown.

    >>> r = CitationRewriter(valid=3)
    >>> r.feed("A [3") + r.feed("], B [7] and C [1, 3]。") + r.finish()
    'A [1], B and C [2][1]。'
    >>> r.order
    [3, 1]
    """

    def __init__(self, valid: int) -> None:
        self.valid = valid
        self.order: list[int] = []  # original passage numbers, in order of first citation
        self._buf = ""

    def _map(self, m: re.Match[str]) -> str:
        out = []
        for s in re.split(r"\s*[,，、]\s*", m.group(1)):
            n = int(s)
            if 1 <= n <= self.valid:
                if n not in self.order:
                    self.order.append(n)
                new = f"[{self.order.index(n) + 1}]"
                if new not in out:
                    out.append(new)
        return "".join(out)

    def _rewrite(self, text: str) -> str:
        text = _MARKER.sub(self._map, text)
        return re.sub(r"[ \t]+([，。；,.;])", r"\1", re.sub(r" {2,}", " ", text))

    def feed(self, delta: str) -> str:
        self._buf += delta
        m = _OPEN.search(self._buf)
        if m and len(self._buf) - m.start() <= 16:
            ready, self._buf = self._buf[: m.start()], self._buf[m.start() :]
        else:
            ready, self._buf = self._buf, ""
        return self._rewrite(ready)

    def finish(self) -> str:
        rest, self._buf = self._buf, ""
        return self._rewrite(rest)
