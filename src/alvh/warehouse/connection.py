"""Opening the DuckDB warehouse, with a clear error when another process holds it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from alvh.core.errors import WarehouseLocked

_HOLDER = re.compile(r"Conflicting lock is held in (?P<holder>.+?) \(PID (?P<pid>\d+)\)")


def connect(path: Path | str, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse file (creating its folder when writing).

    Raises
    ------
    WarehouseLocked
        Another process holds the file; the message names the holder's program and PID.
    """
    p = Path(path)
    if not read_only:
        p.parent.mkdir(parents=True, exist_ok=True)
    try:
        return duckdb.connect(str(p), read_only=read_only)
    except duckdb.IOException as exc:
        m = _HOLDER.search(str(exc))
        holder = f"{m.group('holder')} (PID {m.group('pid')})" if m else "another process"
        raise WarehouseLocked(
            f"the warehouse is locked by {holder}; wait for it to finish or stop it",
            file=str(p),
        ) from exc


@contextmanager
def open_warehouse(path: Path | str, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Context manager: a connection with the schema migrated (when writable), closed on exit."""
    from alvh.warehouse.migrations import migrate

    con = connect(path, read_only=read_only)
    try:
        if not read_only:
            migrate(con)
        yield con
    finally:
        con.close()


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All statements inside commit together or not at all."""
    con.begin()
    try:
        yield con
    except BaseException:
        con.rollback()
        raise
    con.commit()


# --- the run lock: one writing job per warehouse at a time ----------------------------------------

_held: dict[str, int] = {}  # lock path → depth, for re-entrant use within one process


@contextmanager
def run_lock(path: Path | str, timeout_s: float = 0.0, poll_s: float = 0.2) -> Iterator[None]:
    """Hold ``<warehouse>.lock`` (``flock``, released by the OS even on SIGKILL) for a whole job.

    A second writer waits up to ``timeout_s`` seconds, then raises ``WarehouseLocked`` naming the
    holder's PID and command. Re-entrant within one process. Readers do not take it.
    """
    import fcntl
    import os
    import sys
    import time

    lock_path = str(Path(path)) + ".lock"
    if _held.get(lock_path):
        _held[lock_path] += 1
        try:
            yield
        finally:
            _held[lock_path] -= 1
        return
    Path(lock_path).parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = Path(lock_path).read_text(errors="replace").strip() or "another process"
                    raise WarehouseLocked(
                        f"another job holds the warehouse ({holder}); waited {timeout_s:g} s — retry later "
                        "or raise ALVH_LOCK_TIMEOUT_S",
                        file=str(path),
                    ) from None
                time.sleep(poll_s)
        os.ftruncate(fd, 0)
        os.write(fd, f"PID {os.getpid()}: {' '.join(sys.argv)[:200]}".encode())
        _held[lock_path] = 1
        try:
            yield
        finally:
            _held.pop(lock_path, None)
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
