"""Every docstring example in ``rag`` runs and gives what it shows."""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import pkgutil

import pytest

import rag

MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(rag.__path__, "rag.")
    if ">>>" in (importlib.util.find_spec(m.name).loader.get_source(m.name) or "")
)


def test_modules_with_examples_are_found():
    expected = {
        "rag.web.app",
        "rag.ingest.cleaning",
        "rag.text.figures",
        "rag.answer.review.grounding",
        "rag.answer.review.trust",
        "rag.answer.review.conflicts",
        "rag.answer.retrieve.stories",
        "rag.bench.failures",
    }
    assert expected <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
