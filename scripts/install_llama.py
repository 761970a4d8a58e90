"""Install llama-cpp-python built for this CPU.

The PyPI source distribution is compiled with the fastest instruction set the CPU
reports (read from /proc/cpuinfo), because the default ``GGML_NATIVE`` build dies
with "Illegal instruction" on AMX machines:

* ``amx``    AVX-512 + VNNI + BF16 + AMX tiles.  GCC 12's ``_tile_loadconfig``
             declares only 8 bytes of its argument as input, so the stores that
             fill the tile configuration are dropped and the first ``tilezero``
             faults.  We add a compiler barrier in llama.cpp's ``amx/mmq.cpp``.
* ``avx512`` AVX-512 + VNNI + BF16.
* ``avx2``   the safe fallback for other x86_64 CPUs.
* ``generic`` anything else (plain ``pip install``).

Built wheels are kept in ``~/.cache/rag-news/wheels/<variant>/`` (``$XDG_CACHE_HOME`` if set), outside
the work tree, so a second run, or a fresh clone on the same machine, only installs.
Override the choice with ``LLAMA_VARIANT=avx2`` (for example).
"""

from __future__ import annotations

import importlib.util
import os
import platform
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VERSION = "0.3.36"
BASE_FLAGS = [
    "-DGGML_NATIVE=OFF",
    "-DGGML_AVX=ON",
    "-DGGML_AVX2=ON",
    "-DGGML_FMA=ON",
    "-DGGML_F16C=ON",
    "-DGGML_BMI2=ON",
]
VARIANTS = {
    "avx2": BASE_FLAGS + ["-DGGML_AVX512=OFF"],
    "avx512": BASE_FLAGS + ["-DGGML_AVX512=ON", "-DGGML_AVX512_VNNI=ON", "-DGGML_AVX512_BF16=ON"],
    "amx": BASE_FLAGS
    + [
        "-DGGML_AVX512=ON",
        "-DGGML_AVX512_VNNI=ON",
        "-DGGML_AVX512_BF16=ON",
        "-DGGML_AMX_TILE=ON",
        "-DGGML_AMX_INT8=ON",
    ],
}
# (original, replacement) pairs applied to vendor/llama.cpp/ggml/src/ggml-cpu/amx/mmq.cpp
AMX_PATCHES = [
    (
        "    _tile_loadconfig(&tc);",
        '    __asm__ __volatile__("" : : "r"(&tc) : "memory");\n    _tile_loadconfig(&tc);',
    ),
    ("    static thread_local bool done = false;", "    bool done = false;  // reload: others release it"),
]
PATCH_REVISION = 2  # bump when AMX_PATCHES change, so cached wheels are rebuilt


def cpu_flags() -> set[str]:
    """This CPU's flags, by ``rag/models/cpu.py`` loaded from its path: the package itself cannot
    be imported yet (this script runs before its dependencies are installed), and that module
    needs only the standard library."""
    path = Path(__file__).resolve().parents[1] / "rag" / "models" / "cpu.py"
    spec = importlib.util.spec_from_file_location("rag_cpu", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot read the CPU flags: {path} is missing")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.cpu_flags()


def choose_variant(flags: set[str]) -> str:
    if platform.machine() not in ("x86_64", "AMD64") or not sys.platform.startswith("linux"):
        return "generic"
    if {"avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_int8"} <= flags:
        return "amx"
    if {"avx512f", "avx512_vnni", "avx512_bf16"} <= flags:
        return "avx512"
    if {"avx2", "fma", "f16c"} <= flags:
        return "avx2"
    return "generic"


def pip(*args: str, env: dict[str, str] | None = None) -> None:
    subprocess.run([sys.executable, "-m", "pip", *args], check=True, env=env)


def build_wheel(variant: str, out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        pip(
            "download",
            "--quiet",
            "--no-deps",
            "--no-binary",
            ":all:",
            f"llama-cpp-python=={VERSION}",
            "-d",
            tmp,
        )
        sdist = next(Path(tmp).glob("llama_cpp_python-*.tar.gz"))
        with tarfile.open(sdist) as tar:
            tar.extractall(tmp, filter="data")
        src = Path(tmp) / f"llama_cpp_python-{VERSION}"
        if variant == "amx":
            mmq = src / "vendor/llama.cpp/ggml/src/ggml-cpu/amx/mmq.cpp"
            code = mmq.read_text()
            for old, new in AMX_PATCHES:
                if old not in code:
                    raise SystemExit(f"cannot apply the AMX fix: {old.strip()!r} not in {mmq.name}")
                code = code.replace(old, new, 1)
            mmq.write_text(code)
        env = dict(
            os.environ,
            CMAKE_ARGS=" ".join(VARIANTS[variant]),
            CMAKE_BUILD_PARALLEL_LEVEL=str(os.cpu_count() or 2),
        )
        print(f"building llama-cpp-python {VERSION} ({variant}); this takes several minutes once", flush=True)
        pip("wheel", "--quiet", "--no-deps", "-w", str(out), str(src), env=env)


def main() -> None:
    variant = os.environ.get("LLAMA_VARIANT") or choose_variant(cpu_flags())
    if variant == "generic":
        pip("install", "--quiet", f"llama-cpp-python=={VERSION}")
        return
    if variant not in VARIANTS:
        raise SystemExit(f"LLAMA_VARIANT must be one of {sorted(VARIANTS)} or generic, got {variant!r}")
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    out = cache / "rag-news" / "wheels" / f"llama-{variant}-r{PATCH_REVISION}"
    wheels = sorted(out.glob("llama_cpp_python-*.whl"))
    if not wheels:
        out.mkdir(parents=True, exist_ok=True)
        build_wheel(variant, out)
        wheels = sorted(out.glob("llama_cpp_python-*.whl"))
    pip("install", "--quiet", "--no-deps", "--force-reinstall", str(wheels[-1]))
    pip("install", "--quiet", "diskcache>=5.6", "jinja2>=2.11", "numpy>=1.20", "typing-extensions>=4.5")
    (out.parent / "llama-variant.txt").write_text(variant + "\n")
    print(f"llama-cpp-python {VERSION} installed ({variant} build)")


if __name__ == "__main__":
    main()
