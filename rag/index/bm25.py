"""BM25 over an inverted index that can grow and shrink without tokenising anything again.

The index keeps, per term, the rows (chunk rows of the index) that contain it and how often
(``indptr``/``rows``/``tf``, grouped by term id), each row's length in tokens and whether it is
alive. Scores are computed at question time with the Lucene variant that bm25s uses:

    idf(t)    = ln(1 + (N - df + 0.5) / (df + 0.5))          N: live rows, df: live rows holding t
    score(t, d) = idf(t) · tf / (tf + k1 · (1 - b + b · |d| / avgdl))

so adding or deleting chunks only merges their postings in (``KeywordUpdate``; one pass over
the postings, no tokenisation of the rows already there), and idf and avgdl stay exact. For
the rows of a corpus built in one go the scores equal bm25s's (``tests/test_bm25.py``).

Files in the folder: ``vocab.txt`` (one term a line; line number = term id), ``indptr.npy``,
``rows.npy``, ``tf.npy``, ``doclen.npy``, ``alive.npy``, ``params.json``. They are mapped, not
read, when the index loads.

Does not tokenise (``rag.text.tokens.tokenize``) and does not know about chunks or languages.
"""

from __future__ import annotations

import json
from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from rag.arrays import map_npy

_MAX_TF = np.iinfo(np.uint16).max


class KeywordIndex:
    """BM25 over one token list per row; row ids may have holes (deleted rows score nothing)."""

    def __init__(
        self,
        terms: list[str],
        indptr: np.ndarray,
        rows: np.ndarray,
        tf: np.ndarray,
        doclen: np.ndarray,
        alive: np.ndarray,
        k1: float = 1.2,
        b: float = 0.75,
    ) -> None:
        self.terms = terms
        self.vocab = {t: i for i, t in enumerate(terms)}
        self.indptr, self.rows, self.tf = indptr, rows, tf
        self.doclen, self.alive = doclen, alive
        self.k1, self.b = k1, b
        self.n_alive = int(np.count_nonzero(alive))
        total = float(np.asarray(doclen, dtype=np.float64)[np.asarray(alive)].sum()) if len(alive) else 0.0
        avgdl = total / self.n_alive if self.n_alive else 1.0
        # k1 · (1 - b + b · |d| / avgdl) per row, the denominator's length part
        self._norm = (k1 * (1 - b + b * np.asarray(doclen, dtype=np.float32) / max(avgdl, 1e-9))).astype(
            np.float32
        )

    @property
    def n(self) -> int:
        """Size of the row space: ``scores`` returns one value per row id below it."""
        return len(self.doclen)

    # ----------------------------------------------------------------------------- building

    @classmethod
    def empty(cls, k1: float = 1.2, b: float = 0.75) -> KeywordIndex:
        z = np.zeros(0, dtype=np.int32)
        return cls([], np.zeros(1, dtype=np.int64), z, z.astype(np.uint16), z, z.astype(bool), k1, b)

    @classmethod
    def build(cls, token_lists: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75) -> KeywordIndex:
        """An index whose row ``i`` holds ``token_lists[i]``."""
        update = cls.empty(k1, b).update()
        for row, tokens in enumerate(token_lists):
            update.add(row, tokens)
        return update.apply()

    def update(self) -> KeywordUpdate:
        """A change to this index: rows added and removed, applied at once by ``apply``."""
        return KeywordUpdate(self)

    # ----------------------------------------------------------------------------- files

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "vocab.txt").write_text("".join(t + "\n" for t in self.terms), encoding="utf-8")
        for name in ("indptr", "rows", "tf", "doclen", "alive"):
            np.save(folder / f"{name}.npy", np.asarray(getattr(self, name)))
        (folder / "params.json").write_text(json.dumps({"k1": self.k1, "b": self.b}), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> KeywordIndex:
        params = json.loads((folder / "params.json").read_text(encoding="utf-8"))
        text = (folder / "vocab.txt").read_text(encoding="utf-8")
        terms = text.split("\n")[:-1] if text else []
        arrays = {
            name: map_npy(folder / f"{name}.npy") for name in ("indptr", "rows", "tf", "doclen", "alive")
        }
        if len(arrays["indptr"]) != len(terms) + 1 or len(arrays["doclen"]) != len(arrays["alive"]):
            raise ValueError(f"BM25 files in {folder} do not agree with each other")
        return cls(terms, **arrays, k1=params["k1"], b=params["b"])

    # ----------------------------------------------------------------------------- scoring

    def _postings(self, token: str) -> tuple[np.ndarray, np.ndarray]:
        tid = self.vocab.get(token)
        if tid is None:
            return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.uint16)
        a, b = int(self.indptr[tid]), int(self.indptr[tid + 1])
        return np.asarray(self.rows[a:b]), np.asarray(self.tf[a:b])

    def _idf(self, df: int) -> float:
        return float(np.log(1 + (self.n_alive - df + 0.5) / (df + 0.5)))

    def scores(self, tokens: Iterable[str]) -> np.ndarray:
        """BM25 score of every row for the query ``tokens`` (unknown tokens score nothing;
        a repeated token counts each time, as in bm25s)."""
        out = np.zeros(self.n, dtype=np.float32)
        for token in tokens:
            rows, tf = self._postings(token)
            if len(rows):
                tf = tf.astype(np.float32)
                out[rows] += np.float32(self._idf(len(rows))) * tf / (tf + self._norm[rows])
        return out

    def best_possible(self, tokens: Iterable[str]) -> float:
        """An upper bound of any row's score for ``tokens``: the sum of idf × (k1 + 1).

        A token no chunk contains counts with the idf of a token in no document, so a question
        whose words the corpus lacks (another language) stays far from the bound.
        """
        tokens = list(tokens)
        if not self.n_alive or not tokens:
            return 0.0
        return sum(self._idf(len(self._postings(t)[0])) for t in tokens) * (self.k1 + 1)

    def search(self, tokens: Iterable[str], k: int) -> list[tuple[int, float]]:
        """Top-``k`` (row, score) pairs with a positive score, best first."""
        s = self.scores(tokens)
        k = min(k, int(np.count_nonzero(s > 0)))
        if k <= 0:
            return []
        top = np.argpartition(-s, k - 1)[:k]
        top = top[np.argsort(-s[top], kind="stable")]
        return [(int(r), float(s[r])) for r in top]


class KeywordUpdate:
    """Rows to add (ids above every row of the base index, increasing) and rows to remove.

    Holds only the new rows' postings (about ten bytes per distinct token of a chunk) until
    ``apply`` merges them with the base's in one pass and drops the removed rows' postings.
    """

    def __init__(self, base: KeywordIndex) -> None:
        self.base = base
        self.terms = list(base.terms)
        self.vocab = dict(base.vocab)
        # compact typed arrays (about ten bytes a posting), not a Python object per chunk
        self._term, self._row, self._tf = array("i"), array("i"), array("H")
        self._new_rows, self._new_lens = array("q"), array("q")
        self._removed: list[int] = []

    def add(self, row: int, tokens: Sequence[str]) -> None:
        if row < self.base.n or (self._new_rows and row <= self._new_rows[-1]):
            raise ValueError(f"row {row} is not above the rows already indexed")
        counts = Counter(tokens)
        for term, tf in counts.items():
            tid = self.vocab.get(term)
            if tid is None:
                tid = self.vocab[term] = len(self.terms)
                self.terms.append(term.replace("\n", " "))
            self._term.append(tid)
            self._tf.append(min(tf, _MAX_TF))
        self._row.extend([row] * len(counts))
        self._new_rows.append(row)
        self._new_lens.append(len(tokens))

    def remove(self, rows: Iterable[int]) -> None:
        self._removed.extend(int(r) for r in rows)

    def apply(self) -> KeywordIndex:
        base = self.base
        new_rows = np.frombuffer(self._new_rows, dtype=np.int64) if self._new_rows else np.zeros(0, np.int64)
        n = max(base.n, int(new_rows[-1]) + 1 if len(new_rows) else 0)
        doclen = np.zeros(n, dtype=np.int32)
        alive = np.zeros(n, dtype=bool)
        doclen[: base.n], alive[: base.n] = base.doclen, base.alive
        if len(new_rows):
            doclen[new_rows] = np.frombuffer(self._new_lens, dtype=np.int64)
            alive[new_rows] = True
        removed = np.asarray([r for r in self._removed if r < n], dtype=np.int64)
        alive[removed] = False
        doclen[removed] = 0

        # base postings of live rows (already grouped by term, rows increasing) ...
        old_term = np.repeat(np.arange(len(base.terms), dtype=np.int32), np.diff(base.indptr))
        old_rows = np.asarray(base.rows)
        keep = alive[old_rows] if len(old_rows) else np.zeros(0, dtype=bool)
        # ... then the new rows' postings; a stable sort by term keeps rows increasing in each group
        terms = np.concatenate([old_term[keep], np.frombuffer(self._term, dtype=np.int32)])
        rows = np.concatenate([old_rows[keep], np.frombuffer(self._row, dtype=np.int32)]).astype(np.int32)
        tf = np.concatenate([np.asarray(base.tf)[keep], np.frombuffer(self._tf, dtype=np.uint16)])
        del old_term, old_rows, keep
        order = np.argsort(terms, kind="stable")
        indptr = np.zeros(len(self.terms) + 1, dtype=np.int64)
        np.cumsum(np.bincount(terms, minlength=len(self.terms)), out=indptr[1:])
        return KeywordIndex(self.terms, indptr, rows[order], tf[order], doclen, alive, base.k1, base.b)
