"""Process memory tuning for large numeric columns (Linux/glibc only; a no-op elsewhere).

glibc serves allocations above 128 KiB with fresh ``mmap`` pages and returns them to the OS on
free, so every 80 MB indicator or pricing output column is page-faulted in again — on our 2-core
VMs that costs ~160 ms per 10 M doubles, 5–8× the computation itself. Raising the mmap threshold
and the trim threshold keeps freed large blocks in the heap for reuse. Memory is then held at the
process's peak instead of being returned early; the pipeline's processes are short-lived.
"""

from __future__ import annotations

import ctypes
import sys

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
