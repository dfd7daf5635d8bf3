"""Process-wide choices made once at the CLI's start: memory tuning for large numeric columns
(Linux/glibc only; a no-op elsewhere) and the size of numba's thread pool.

glibc serves allocations above 128 KiB with fresh ``mmap`` pages and returns them to the OS on
free, so every 80 MB indicator or pricing output column is page-faulted in again — on our 2-core
VMs that costs ~160 ms per 10 M doubles, 5–8× the computation itself. Raising the mmap threshold
and the trim threshold keeps freed large blocks in the heap for reuse. Memory is then held at the
process's peak instead of being returned early; the pipeline's processes are short-lived.
"""

from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
_done = False


def keep_large_allocations_on_heap(threshold: int = 1 << 30) -> bool:
    """Ask glibc to keep blocks up to ``threshold`` bytes on the heap; True if applied."""
    global _done
    if _done or not sys.platform.startswith("linux"):
        return _done
    try:
        libc = ctypes.CDLL("libc.so.6")
        ok = libc.mallopt(M_MMAP_THRESHOLD, threshold) == 1
        ok &= libc.mallopt(M_TRIM_THRESHOLD, 2 * threshold) == 1
    except (OSError, AttributeError):
        return False
    _done = bool(ok)
    return _done


def choose_numba_threads() -> int:
    """Size numba's thread pool to the CPUs this process may actually use, unless
    ``NUMBA_NUM_THREADS`` is set; returns the number chosen. Must run before numba is imported.

    numba's default is the machine's CPU count, even when this process is confined to fewer (CPU
    affinity, a cgroup quota): its parallel kernels (the indicators mart) would then start more
    threads than there are CPUs and compete with each other and with the neighbours. The readable
    engine's pricing kernels run on one thread whatever this says (``alvh.transforms.pricing``),
    and Dask workers get ``NUMBA_NUM_THREADS=1`` (one-thread workers)."""
    given = os.environ.get("NUMBA_NUM_THREADS", "").strip()
    if given.isdigit() and int(given) > 0:
        return int(given)
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:  # cgroup v2 quota, e.g. "200000 100000" = 2 CPUs; "max" = none
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            n = min(n, max(1, int(int(quota) // int(period))))
    except (OSError, ValueError):
        pass
    os.environ["NUMBA_NUM_THREADS"] = str(max(1, n))
    return max(1, n)
