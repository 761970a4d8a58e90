"""Evidence first: the sentences that answer each part of the question, before anything is written.

``EvidencePicker.select`` scores every candidate sentence (``rag.answer.evidence.sentences``:
those of the retrieved chunks and their neighbours, and across languages those the dictionary
finds) against each part of the question (``rag.answer.question.parts``):

* the e5 cosine and the second encoder's cosine (with the same cross-language bonus as
  retrieval), and BM25 over the candidate sentences (``rag.text.tokens`` tokens, as a share of
  the best possible score);
* one word score per sentence, whatever its language: its BM25 share or, when higher, the
  share of the question's words it speaks of through CC-CEDICT (``rag.text.lexicon``), so a
  sentence in the other language is neither scored twice nor left out;
* the question's years and the kind of figure asked for (``sentence_bonus``).

Each part's best sentence is taken first, then the next best of every part in turn, while
the character budget lasts (a sentence an earlier one already says, near word for word, is not taken:
``repeats``); a sentence that opens with a pronoun or a connective ("其中",
"他说", "It") brings the sentence before it, one that asks a question the sentence after it.
Chosen sentences of one article that follow each other become one ``Passage``, an exact span
of the article, so citations still point at it.

Does not split the question (``rag.answer.question.parts``), compute a change
(``rag.answer.evidence.change``), generate text, check answers, or retrieve (``rag.answer.retrieve.search``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rag.answer.evidence.sentences import (
    CROSS_FROM,
    Sentence,
    candidate_sentences,
    is_question,
    lexical_sentences,
    needs_context,
    sentence_bonus,
)
from rag.answer.retrieve.passages import Passage
from rag.index.bm25 import KeywordIndex
from rag.models.embedding import Embedder
from rag.text.dates import implied_date
from rag.text.lang import detect_lang
from rag.text.lexicon import cross_scores
from rag.text.tokens import expand_query, normalize, tokenize
from rag.types import Hit

WEIGHTS = {"e5": 1.0, "encoder2": 0.3, "bm25": 0.3}  # as in retrieval's fusion (config: dense/encoder2/bm25)


@dataclass(frozen=True)
class Part:
    """One part of the question with what retrieval found for it."""

    text: str  # what was retrieved with (an elliptical part carries the part before it)
    query_vector: np.ndarray  # e5 query vector of ``text``
    hits: tuple[Hit, ...]
    own: str = ""  # the part's own words, whose years and kind of figure count ("" = ``text``)


def pick(
    scores: Sequence[Sequence[float]],
    sizes: Sequence[int],
    budget: int,
    per_part: int = 3,
    margin: float = 0.12,
) -> list[int]:
    """Sentence indices to show: each part's best (always), then each part's next best in
    turn while the sizes fit ``budget`` and they score within ``margin`` of the part's best.

    >>> pick([[0.9, 0.1, 0.85], [0.2, 0.8, 0.1]], [10, 10, 10], 15)
    [0, 1]
    >>> pick([[0.9, 0.1, 0.85], [0.2, 0.8, 0.1]], [10, 10, 10], 30)
    [0, 1, 2]
    >>> pick([[0.9, 0.1, 0.5], [0.2, 0.8, 0.1]], [10, 10, 10], 30)
    [0, 1]
    """
    ranked = [list(np.argsort(-np.asarray(s), kind="stable"))[:per_part] for s in scores]
    chosen: list[int] = []
    used = 0
    for round_ in range(per_part):
        for p, order in enumerate(ranked):
            if round_ >= len(order) or int(order[round_]) in chosen:
                continue
            i = int(order[round_])
            if round_ and (used + sizes[i] > budget or scores[p][i] < scores[p][order[0]] - margin):
                continue
            chosen.append(i)
            used += sizes[i]
    return chosen


def repeats(texts: Sequence[str], share: float = 0.8, byline: int = 16) -> list[bool]:
    """Which ``texts`` say what an earlier one says: all their character pairs in one earlier
    text but ``1 - share`` of them, or but a ``byline``'s worth (spaces and width aside), as the
    same article reposted under another byline, a search snippet of a passage also shown, or a
    heading said again in the text. Showing it again only spends the budget that
    another sentence, the one holding the figure, needed.

    >>> repeats(["贡嘎来松 摄 上半年西藏经济运行情况新闻发布会30日在拉萨举行。", "西藏增长4.8%。",
    ...          "中新网拉萨7月31日电 (贡嘎来松)上半年西藏经济运行情况新闻发布会30日在拉萨举行。"])
    [False, False, True]
    """
    seen: list[set[str]] = []
    out = []
    for t in texts:
        key = re.sub(r"\s+", "", normalize(t))
        pairs = {key[k : k + 2] for k in range(len(key) - 1)}
        out.append(any(_said_in(pairs, s, share, byline) for s in seen))
        seen.append(pairs)
    return out


def _said_in(pairs: set[str], earlier: set[str], share: float, byline: int) -> bool:
    """Whether ``earlier`` holds all of ``pairs`` but a ``1 - share`` of them, or but a byline's
    worth when it holds twice as many as it leaves out (a sentence reposted under another byline)."""
    left, common = len(pairs - earlier), len(pairs & earlier)
    return bool(pairs) and (
        left <= (1 - share) * len(pairs) or (left <= byline and common >= max(2 * left, byline))
    )


def part_evidence(scores: Sequence[float], chosen: Sequence[int], margin: float = 0.12) -> list[int]:
    """The chosen sentences that are a part's own evidence: those it scores within ``margin`` of
    its best chosen one, best first.

    >>> part_evidence([0.9, 0.1, 0.85, 0.7], [0, 1, 2, 3])
    [0, 2]
    """
    if not chosen:
        return []
    top = max(scores[i] for i in chosen)
    return sorted((i for i in chosen if scores[i] >= top - margin), key=lambda i: -scores[i])


class EvidencePicker:
    """Scores candidate sentences with the loaded encoders and the store's articles."""

    def __init__(
        self,
        store,
        embedder: Embedder,
        encoder2: Embedder | None = None,
        bonus: dict[str, dict[str, float]] | None = None,
    ) -> None:
        self.store, self.embedder, self.encoder2 = store, embedder, encoder2
        self.bonus = bonus or {}  # {space: {passage lang: added cosine}} for this question's language

    def select(
        self, parts: Sequence[Part], budget: int, max_hits: int = 4
    ) -> tuple[list[Passage], list[tuple[str, int]]]:
        """The passages to show, and for each part its best sentence with the number (1-based) of
        the passage holding it: (sentence, number)."""
        passages, best, _ = self.select_parts(parts, budget, max_hits)
        return passages, best

    def select_parts(
        self, parts: Sequence[Part], budget: int, max_hits: int = 4
    ) -> tuple[list[Passage], list[tuple[str, int]], list[tuple[int, ...]]]:
        """``select``, and for each part the numbers of the passages holding its own evidence: the
        shown sentences scoring within ``pick``'s margin of the part's best, best first."""
        hits = [h for p in parts for h in p.hits[:max_hits]]
        articles = {h.chunk.doc_id: self.store.doc_text(h.chunk.doc_id) for h in hits}
        # an undated article is read as of the month its text implies (years are code's job)
        dates = {d: self.store.doc(d).date or implied_date(text) for d, text in articles.items()}
        sentences = candidate_sentences(hits, articles)
        sentences += lexical_sentences([p.text for p in parts], hits, articles, sentences)
        if not sentences:
            return [], [], []
        scores = self._scores(parts, sentences, dates)
        again = repeats([s.text for s in sentences])
        scores = [[-1e9 if r else x for x, r in zip(sc, again, strict=True)] for sc in scores]
        chosen = pick(scores, [len(s.text) for s in sentences], budget)
        chosen = self._with_context(chosen, sentences, budget)
        passages, best, number = self._passages(chosen, sentences, scores, parts, dates)
        own = [
            tuple(dict.fromkeys(number[i] for i in part_evidence(sc, chosen) if i in number)) for sc in scores
        ]
        return passages, best, own

    def _scores(
        self, parts: Sequence[Part], sentences: Sequence[Sentence], dates: dict[str, str]
    ) -> list[list[float]]:
        texts = [s.text for s in sentences]
        langs = [s.hit.chunk.lang for s in sentences]
        e5 = self.embedder.embed(texts, kind="passage")
        enc2 = self.encoder2.embed(texts, kind="passage") if self.encoder2 is not None else None
        tokens = [tokenize(t) for t in texts]
        keyword = KeywordIndex.build(tokens)
        out = []
        for part in parts:
            dense = e5 @ np.asarray(part.query_vector, dtype=np.float32)
            score = WEIGHTS["e5"] * (dense + self._bonus("e5", langs))
            if enc2 is not None and self.encoder2 is not None:
                qv2 = self.encoder2.embed([part.text], kind="query")[0]
                score += WEIGHTS["encoder2"] * (enc2 @ qv2 + self._bonus("encoder2", langs))
            q_tokens = tokenize(part.text) + expand_query(part.text)
            bound = keyword.best_possible(q_tokens) or 1.0
            words = keyword.scores(q_tokens) / bound
            score += WEIGHTS["bm25"] * np.maximum(words, self._across(part.text, texts))
            own = part.own or part.text
            score += np.array([sentence_bonus(own, s.text, dates[s.hit.chunk.doc_id]) for s in sentences])
            out.append([float(x) for x in score])
        return out

    @staticmethod
    def _across(question: str, texts: Sequence[str]) -> np.ndarray:
        """``rag.text.lexicon``'s word score of every sentence, in either language, for a question
        in ``CROSS_FROM`` (0 for others): one measure for both languages, so neither is favoured."""
        if detect_lang(question) not in CROSS_FROM:
            return np.zeros(len(texts))
        return np.asarray(cross_scores(question, texts), dtype=float)

    def _bonus(self, space: str, langs: Sequence[str]) -> np.ndarray:
        return np.array([self.bonus.get(space, {}).get(lang, 0.0) for lang in langs])

    def _with_context(self, chosen: list[int], sentences: Sequence[Sentence], budget: int) -> list[int]:
        """``chosen`` plus the sentence before each one that needs it for its subject, and the
        sentence after each one that asks a question (the answer follows it)."""
        where = {(s.hit.chunk.doc_id, s.index): i for i, s in enumerate(sentences)}
        used = sum(len(sentences[i].text) for i in chosen)
        out = list(chosen)
        for i in chosen:
            s = sentences[i]
            step = -1 if needs_context(s.text) else 1 if is_question(s.text) else 0
            other = where.get((s.hit.chunk.doc_id, s.index + step)) if step else None
            if other is not None and other not in out and used + len(sentences[other].text) <= budget * 1.25:
                out.append(other)
                used += len(sentences[other].text)
        return out

    def _passages(
        self,
        chosen: list[int],
        sentences: Sequence[Sentence],
        scores: list[list[float]],
        parts: Sequence[Part],
        dates: dict[str, str],
    ) -> tuple[list[Passage], list[tuple[str, int]], dict[int, int]]:
        """Chosen sentences grouped into contiguous spans, in the order they were chosen; each
        part's best sentence with its passage's number; and the passage number of each sentence."""
        groups: list[list[int]] = []
        for i in chosen:
            s = sentences[i]
            for g in groups:
                first, last = sentences[g[0]], sentences[g[-1]]
                same = first.hit.chunk.doc_id == s.hit.chunk.doc_id
                if same and first.index - 1 <= s.index <= last.index + 1:
                    g.append(i)
                    g.sort(key=lambda j: sentences[j].index)
                    break
            else:
                groups.append([i])
        groups.sort(key=lambda g: min(sentences[i].hit.rank for i in g))  # retrieval's order, stable
        best = [max(range(len(scores[p])), key=lambda i: scores[p][i]) for p in range(len(parts))]
        passages = []
        for g in groups:
            doc = sentences[g[0]].hit.chunk.doc_id
            a, b = sentences[g[0]].start, sentences[g[-1]].end
            hit = self._covering_hit(sentences[g[0]].hit, a, b)
            marks = tuple(
                (sentences[i].start, sentences[i].end, max(sc[i] for sc in scores))
                for i in g
                if hit.chunk.start <= sentences[i].start and sentences[i].end <= hit.chunk.end
            )
            passages.append(Passage(hit, self.store.doc_text(doc)[a:b], a, b, marks, dates[doc]))
        number = {i: n for n, g in enumerate(groups, 1) for i in g}
        return passages, [(sentences[b].text, number[b]) for b in best if b in number], number

    def _covering_hit(self, hit: Hit, a: int, b: int) -> Hit:
        """``hit`` when its chunk holds [a, b), else the same hit with the article's chunk that does."""
        if hit.chunk.start <= a and b <= hit.chunk.end:
            return hit
        chunks = self.store.chunks(self.store.doc_rows(hit.chunk.doc_id))
        best = max(chunks, key=lambda c: min(b, c.end) - max(a, c.start))
        return Hit(best, hit.doc, hit.score, hit.rank)
