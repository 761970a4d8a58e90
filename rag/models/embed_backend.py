"""How e5 runs on this machine: torch or OpenVINO, float32 or bfloat16, chosen from the CPU's flags.

``choose_backend`` picks the path at load time: OpenVINO on the copy ``rag prepare`` converted
(BERT + mean pooling in one graph; fp32 on AVX2, bfloat16 on AMX/AVX512-BF16) where it is there,
else torch (bfloat16 where the CPU has the units, fp32 elsewhere). ``converted_dir`` names the
converted copy's folder, beside the model.

Does not load or run a model (``rag.models.embedding`` and ``rag.models.openvino_e5`` do) and does
not convert one (``rag prepare`` does).
"""

from __future__ import annotations

from pathlib import Path

from rag.errors import ModelError

BF16_FLAGS = {"amx_bf16", "avx512_bf16"}  # CPU units that run bfloat16 matrix work natively
CONVERTED = {"openvino": "openvino"}  # backend -> suffix of the folder beside the model (rag.models.prepare)
OV_FILE = "openvino_model.xml"


def converted_dir(path: str | Path, backend: str) -> Path:
    """Where ``rag prepare`` saves the model converted for ``backend``: a sibling folder.

    >>> converted_dir("models/multilingual-e5-small", "openvino").as_posix()
    'models/multilingual-e5-small-openvino'
    """
    path = Path(path)
    return path.with_name(f"{path.name}-{CONVERTED[backend]}")


def available_runtimes(path: str | Path) -> set[str]:
    """Backends that can run the model at ``path`` here: torch always, OpenVINO when it is
    installed and the converted copy exists."""
    found = {"torch"}
    if (converted_dir(path, "openvino") / OV_FILE).is_file():
        import importlib.util

        if importlib.util.find_spec("openvino") is not None:
            found.add("openvino")
    return found


def choose_backend(
    flags: set[str], runtimes: set[str], backend: str = "auto", dtype: str = "auto"
) -> tuple[str, str]:
    """The embedding path for a CPU with ``flags``: (backend, dtype). OpenVINO where its converted
    model is there (fp32 on AVX2, bfloat16 with AMX or AVX512-BF16), else torch; bfloat16 only on
    CPUs that have the units. ``backend``/``dtype`` other than "auto" force a choice.

    >>> avx2, zen4, amx = {"avx2", "fma"}, {"avx512f", "avx512_bf16"}, {"avx512f", "amx_bf16"}
    >>> choose_backend(avx2, {"torch", "openvino"})
    ('openvino', 'float32')
    >>> choose_backend(zen4, {"torch", "openvino"})
    ('openvino', 'bfloat16')
    >>> choose_backend(amx, {"torch"})  # not converted: torch, bfloat16 on AMX
    ('torch', 'bfloat16')
    >>> choose_backend(avx2, {"torch"})
    ('torch', 'float32')
    >>> choose_backend(zen4, {"torch", "openvino"}, backend="torch", dtype="float32")
    ('torch', 'float32')
    """
    if backend not in ("auto", "torch", *CONVERTED):
        raise ModelError(f"embed_backend must be auto, torch or {', '.join(CONVERTED)}; got {backend!r}")
    if backend != "auto" and backend not in runtimes:
        raise ModelError(
            f"the {backend} embedding backend is not available here (not installed, or the "
            "model was not converted): run `python -m rag prepare`, or use embed_backend=auto"
        )
    chosen = backend if backend != "auto" else ("openvino" if "openvino" in runtimes else "torch")
    if dtype == "auto":
        dtype = "bfloat16" if BF16_FLAGS & flags else "float32"
    return chosen, dtype
