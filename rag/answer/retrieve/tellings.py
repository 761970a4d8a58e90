"""The stories of one loaded index: which articles tell the same news as a cited one.

``Tellings.of(store)`` groups the stored articles once (``rag.answer.retrieve.stories``: their figures and
mean vectors; for a few thousand articles well under a second) and keeps each article's figure
keys. The pipeline asks it for the other tellings of the articles it cites, their English
articles (a Chinese passage's English names and figures), and the hits worth showing (one
telling of a story, unless another adds a figure).

Does not decide what makes two articles one story (``rag.answer.retrieve.stories`` does), and holds no
per-question state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rag.answer.retrieve.passages import Passage
from rag.answer.retrieve.stories import doc_vectors, drop_story_duplicates, story_groups
from rag.index.store import IndexStore
from rag.text.figures import figure_key, find_figures
from rag.types import Hit

__all__ = ["Tellings"]


@dataclass(frozen=True)
class Tellings:
    store: IndexStore
    groups: dict[str, str]  # {doc_id: group id}: articles telling the same story share a group
    keys: dict[str, set[tuple[str, float]]]  # {doc_id: the figure keys it states}

    @classmethod
    def of(cls, store: IndexStore) -> Tellings:
        """The story groups and figure keys of every article of ``store``."""
        docs = store.docs()
        texts = {d.doc_id: store.doc_text(d.doc_id) for d in docs}
        rows = {d.doc_id: store.doc_rows(d.doc_id) for d in docs}
        vectors = doc_vectors(store.vectors(), rows)
        groups = story_groups([(d.doc_id, d.date, texts[d.doc_id]) for d in docs], vectors)
        keys = {d: {figure_key(f) for f in find_figures(t)} for d, t in texts.items()}
        return cls(store, groups, keys)

    def others(self, doc_ids: set[str]) -> dict[str, list[str]]:
        """``{doc_id: the other articles of its story}`` for ``doc_ids``."""
        groups = self.groups
        wanted = {groups.get(d, d) for d in doc_ids}
        members: dict[str, list[str]] = {}
        for d, g in groups.items():
            if g in wanted:
                members.setdefault(g, []).append(d)
        return {d: sorted(o for o in members.get(groups.get(d, d), []) if o != d) for d in doc_ids}

    def english(self, passages: Sequence[Passage], order: Sequence[int]) -> list[str]:
        """The English articles of the stories the cited (else shown) Chinese passages belong to."""
        docs = {passages[n - 1].hit.doc.doc_id for n in order} or {p.hit.doc.doc_id for p in passages}
        others = self.others(docs)
        tellings = sorted({o for d in docs for o in [d, *others[d]]})
        return [self.store.doc_text(d) for d in tellings if self.store.doc(d).lang == "en"]

    def distinct(self, hits: Sequence[Hit]) -> list[Hit]:
        """Hits without a second telling of a better-ranked story, unless it gives another figure."""
        keep = drop_story_duplicates([(h.chunk.doc_id, h.chunk.text) for h in hits], self.groups, self.keys)
        return [hits[i] for i in keep]
