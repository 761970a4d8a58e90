"""How likely each option is as the whole reply: the arithmetic over the logits llama.cpp returns.

``shared_runs`` groups the options' token sequences so that one read serves every option that
begins another ("7.5万" of "7.5万个"); ``run_scores`` turns the logits before a run and after each
of its tokens into the log-probability of each such option followed by the end-of-reply token.

Does not run the model (``rag.models.generator.LlamaGenerator.candidate_scores`` does) and does not
choose among the options (``rag.answer.candidates.choice``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def shared_runs(seqs: Sequence[Sequence[int]]) -> list[tuple[list[int], list[int]]]:
    """The token runs to read so that every sequence of ``seqs`` is one of them or begins one,
    longest first, each with the indices of the sequences it holds.

    >>> shared_runs([[5, 6], [5, 6, 7], [8], [5]])
    [([5, 6, 7], [1, 0, 3]), ([8], [2])]
    """
    runs: list[tuple[list[int], list[int]]] = []
    for i in sorted(range(len(seqs)), key=lambda i: -len(seqs[i])):
        seq = list(seqs[i])
        home = next((r for r in runs if r[0][: len(seq)] == seq), None)
        if home is None:
            runs.append((seq, [i]))
        else:
            home[1].append(i)
    return runs


def run_scores(
    last: np.ndarray, rows: np.ndarray, run: Sequence[int], lengths: Sequence[int], end: int
) -> list[float]:
    """The log-probability of the first ``n`` tokens of ``run`` then ``end``, for each ``n`` of
    ``lengths``, from the logits before the run (``last``) and after each of its tokens (``rows``).

    >>> uniform = np.zeros(4)  # four tokens, each 1/4 at every position
    >>> [round(x, 3) for x in run_scores(uniform, np.zeros((2, 4)), [1, 2], [2, 1], end=3)]
    [-4.159, -2.773]
    """
    logits = np.vstack([last[None, :], np.asarray(rows, dtype=np.float64).reshape(-1, last.shape[0])])
    top = logits.max(axis=1, keepdims=True)
    logz = top[:, 0] + np.log(np.exp(logits - top).sum(axis=1))  # position k: the distribution of token k
    taken = np.cumsum(np.concatenate([[0.0], logits[np.arange(len(run)), list(run)] - logz[: len(run)]]))
    return [float(taken[n] + logits[n, end] - logz[n]) for n in lengths]
