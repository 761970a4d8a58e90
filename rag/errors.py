"""The project's exceptions: one base class, a few specific ones.

    RagError                     base; the CLI prints its message and exits 1
    ├── CorpusError              corpus folder missing/empty, unreadable or oversized file
    ├── ModelError               model files missing, corrupt or failing to load
    ├── IndexError_              index missing, corrupt, or built with other settings
    │   └── IndexMismatchError   manifest does not match the configured embedder/chunker
    ├── IndexLockedError         another build holds the index lock
    ├── QuestionError            empty or unusable question
    └── QuestionSetError         question set or benchmark file unusable (bad JSON, missing key...)

Every message says what was expected, what was found, and what to do.
"""

from __future__ import annotations


class RagError(Exception):
    """Base class for errors a user can act on."""


class CorpusError(RagError):
    """The corpus (folder or a file in it) cannot be used."""


class ModelError(RagError):
    """A model is missing, corrupt, or failed to load."""


class IndexError_(RagError):  # noqa: N801, N818 - avoid shadowing the builtin IndexError
    """The index is missing, corrupt or unusable."""


class IndexMismatchError(IndexError_):
    """The index was built with settings other than the configured ones."""


class IndexLockedError(RagError):
    """Another process is building this index."""


class QuestionError(RagError):
    """The question cannot be answered as given (empty, only punctuation...)."""


class QuestionSetError(RagError):
    """A question-set or benchmark file cannot be used (bad JSON, missing key, unknown source)."""
