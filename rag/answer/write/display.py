"""What a reader is shown around a citation: the sentences about it and the other tellings of its story.

    context_window(text, start, end)          a cited span with a little of its surroundings
    displayed(citations, store, story_of)     citations with their story, context and story's articles

The pipeline fills these fields of ``Citation`` when it answers, from the index the answer was read
from, so the chat UI (``rag.web.render``) and the API draw a source from the answer alone.

Does not choose, number or narrow citations (``rag.answer.pipeline.cite``), group them by story
for display nor write HTML (``rag.web.render``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from rag.types import Citation

if TYPE_CHECKING:
    from rag.index.store import IndexStore

_SENTENCE_END = re.compile(r"[。！？!?；;\n]|\.(?=\s)")


def context_window(text: str, start: int, end: int, chars: int = 80) -> tuple[str, str, str]:
    """(before, span, after): the span ``text[start:end]`` with whole sentences of context from
        the ``chars`` characters each side, or "…" where no sentence boundary falls in them; runs of
    white space in the context become one space.

        >>> context_window("第一句。第二句很长。第三句。第四句。", 4, 10, chars=6)
        ('第一句。', '第二句很长。', '第三句。')
        >>> context_window("One. Two three four. Five six.", 5, 20, chars=3)
        ('', 'Two three four.', ' Fi…')
    """
    before = text[max(0, start - chars) : start]
    if start > chars:  # the window starts mid-text: from the first sentence start in it
        ends = list(_SENTENCE_END.finditer(before))
        before = before[ends[0].end() :] if ends else "…" + before
    after = text[end : end + chars]
    if end + chars < len(text):  # the window ends mid-text: up to its last sentence end
        ends = list(_SENTENCE_END.finditer(after))
        after = after[: ends[-1].end()] if ends else after + "…"
    return re.sub(r"\s+", " ", before.lstrip()), text[start:end], re.sub(r"\s+", " ", after.rstrip())


def displayed(
    citations: Sequence[Citation], store: IndexStore | None, story_of: Mapping[str, str]
) -> tuple[Citation, ...]:
    """``citations`` with what the reader is shown around them: their article's story
    (``story_of``: ``Pipeline.story_groups``), the sentences before and after the cited span in the
    article (when ``store`` holds it and the span still matches), and the other articles of
    the story that ``store`` holds. Without a store only the story is filled.

    >>> c = Citation(1, "000", "t", "", "", "000#0", "第二句。", 4, 8, "zh")
    >>> d = displayed([c], None, {"000": "s"})[0]
    >>> d.story, d.before, d.after, d.tellings
    ('s', '', '', ())
    """
    if not citations:
        return ()
    docs = {d.doc_id: d for d in store.docs()} if store is not None else {}
    members: dict[str, list[str]] = {}
    for doc_id, story in sorted(story_of.items()):
        if doc_id in docs:
            members.setdefault(story, []).append(doc_id)
    out = []
    for c in citations:
        story = story_of.get(c.doc_id, "")
        before = after = ""
        text = store.doc_text(c.doc_id) if store is not None else ""
        if text[c.start : c.end] == c.text:
            before, _, after = context_window(text, c.start, c.end)
        tellings = tuple(docs[d] for d in members.get(story, []) if d != c.doc_id) if story else ()
        out.append(replace(c, story=story, before=before, after=after, tellings=tellings))
    return tuple(out)
