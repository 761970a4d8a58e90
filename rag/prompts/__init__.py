"""The prompts, as data: one text file per prompt and language (``system_en.txt``, ``user_zh.txt``).

``prompt_text(name)`` reads one. The files are ``str.format`` templates where they take values
(``user_*``: ``{passages}``, ``{question}``); nothing here builds a prompt.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

__all__ = ["prompt_text"]


@cache
def prompt_text(name: str) -> str:
    """A prompt file of this folder (e.g. ``system_en``), without the final newline."""
    return resources.files(__name__).joinpath(f"{name}.txt").read_text(encoding="utf-8").rstrip("\n")
