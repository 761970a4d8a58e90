"""The CPU ``bench speed`` runs on: model, cores, clock, ISA flags, its peak GFLOP/s, the llama.cpp build.

The peak is what the instruction set in use allows (two FMA units per core), the yardstick the
achieved GFLOP/s of embedding and prompt reading are set against. Does not measure anything itself.
"""

from __future__ import annotations

import os
from pathlib import Path

ISA_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16", "amx_int8")


def cpu_info(cpuinfo: str | None = None) -> dict:
    """Model name, logical CPUs, current clock (MHz) and the ISA flags of ``ISA_FLAGS`` present.

    >>> info = cpu_info("model name\\t: AMD EPYC\\ncpu MHz\\t\\t: 2445.4\\nflags\\t\\t: fpu avx2 fma\\n")
    >>> info["model"], info["mhz"], info["isa"]
    ('AMD EPYC', 2445.4, ['avx2', 'fma'])
    """
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            cpuinfo = ""
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    flags = set(fields.get("flags", "").split())
    return {
        "model": fields.get("model name", "unknown"),
        "cores": len(os.sched_getaffinity(0)),
        "mhz": float(fields.get("cpu MHz") or 0),
        "isa": [f for f in ISA_FLAGS if f in flags],
    }


def flops_per_cycle(isa: list[str], dtype: str = "float32") -> int:
    """Peak FLOP per cycle per core of the instruction set in use: two FMA units of 8 (AVX2) or 16
    (AVX-512) fp32 lanes; AVX512-BF16 dot products double that; AMX tiles 1024 in bfloat16. In
    int8 (llama.cpp's quantised dot products) 4x the fp32 lanes, AMX 2048.

    >>> flops_per_cycle(["avx2", "fma"]), flops_per_cycle(["avx2", "fma", "avx512f"])
    (32, 64)
    >>> flops_per_cycle(["avx512f", "avx512_bf16", "amx_bf16"], "bfloat16")
    1024
    >>> flops_per_cycle(["avx2", "fma"], "int8")
    128
    """
    if dtype == "int8":
        return 2048 if "amx_int8" in isa else 4 * flops_per_cycle(isa)
    if dtype == "bfloat16" and "amx_bf16" in isa:
        return 1024
    if dtype == "bfloat16" and "avx512_bf16" in isa:
        return 128
    if "avx512f" in isa:
        return 64
    return 32 if {"avx2", "fma"} <= set(isa) else 8


def peak_gflops(cpu: dict, dtype: str = "float32") -> float:
    """cores x clock x FLOP per cycle, in GFLOP/s.

    >>> round(peak_gflops({"cores": 2, "mhz": 2445.4, "isa": ["avx2", "fma"]}), 1)
    156.5
    """
    return cpu["cores"] * cpu["mhz"] / 1000 * flops_per_cycle(cpu["isa"], dtype)


def llama_build() -> str:
    """Which llama.cpp build is installed: amx, avx512, avx2 or generic (from its own report)."""
    try:
        import llama_cpp

        info = llama_cpp.llama_print_system_info().decode()
    except Exception:  # noqa: BLE001 - not installed or not loadable: say so in the table
        return "not installed"
    on = {part.split("=")[0].strip() for part in info.split("|") if part.strip().endswith("= 1")}
    for name, marker in (("amx", "AMX_INT8"), ("avx512", "AVX512"), ("avx2", "AVX2")):
        if marker in on:
            return name
    return "generic"
