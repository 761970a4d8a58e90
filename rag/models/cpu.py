"""The CPU's instruction-set flags, read from ``/proc/cpuinfo``, with the standard library only.

``rag.models.embed_backend`` reads them to choose how e5 runs; ``scripts/install_llama.py`` loads
this file by its path (before the package's dependencies are installed) to choose the llama.cpp
build. Keep it free of imports beyond the standard library.

Does not decide anything from the flags: each caller does.
"""

from __future__ import annotations

from pathlib import Path


def cpu_flags(cpuinfo: str | None = None) -> set[str]:
    """The ISA flags of the first CPU in ``/proc/cpuinfo`` (empty where there is none).

    >>> sorted(cpu_flags("processor : 0\\nflags : fpu avx2 fma\\n"))
    ['avx2', 'fma', 'fpu']
    """
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return set()
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()
