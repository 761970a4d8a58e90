"""Files for ``rag prepare``: a package's data file found, JSON markers, a folder written whole.

``staging_dir`` gives a temporary sibling of the target folder that replaces it only when all was
written (a crash leaves the old folder, or none); ``write_json``/``read_json`` write and read the
markers that record what was verified (an unreadable marker reads as empty: the work is redone).

Does not know which models are prepared (``rag.models.prepare`` and its helpers do).
"""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rag.errors import ModelError


def package_file(module: str, relative: str, pip_name: str) -> Path:
    try:
        path = Path(str(importlib.resources.files(module).joinpath(relative)))
    except ModuleNotFoundError:
        path = Path("/nonexistent")
    if not path.is_file():
        raise ModelError(
            f"{relative} not found: install the Python package `pip install {pip_name}` "
            "(pinned in pyproject.toml)"
        )
    return path


def package_version(pip_name: str) -> str | None:
    try:
        return importlib.metadata.version(pip_name)
    except importlib.metadata.PackageNotFoundError:
        return None


def write_json(path: Path, obj: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def read_json(path: Path) -> dict[str, Any]:
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return obj if isinstance(obj, dict) else {}


@contextmanager
def staging_dir(target: Path) -> Iterator[Path]:
    """A temporary sibling of ``target`` that replaces it on success and is removed on failure."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        for path in [tmp, *tmp.rglob("*")]:  # mkdtemp and some writers make files private
            path.chmod(0o755 if path.is_dir() else 0o644)
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        if target.exists():
            target.rename(old)
        tmp.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
