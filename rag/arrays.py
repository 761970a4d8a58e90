"""numpy's ``.npy`` / ``.npz`` files read while other threads run.

numpy parses a file's header with ``ast.literal_eval``, and CPython 3.11 may raise
``SystemError: AST constructor recursion depth mismatch`` when two threads build an AST at once
(python/cpython#106905): a question reloading the index while a build loads the previous one, or
the generator's saved prompt state read while the index loads. Every header the project reads is
parsed under one lock:

    map_npy(path)    a ``.npy`` file's array, mapped read-only
    HEADERS          the lock itself, held while an ``.npz`` is read (its members are parsed on access)
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

HEADERS = threading.Lock()


def map_npy(path: Path) -> np.ndarray:
    """The array of the ``.npy`` file ``path``, mapped read-only (its header parsed under ``HEADERS``)."""
    with HEADERS:
        return np.load(path, mmap_mode="r")
