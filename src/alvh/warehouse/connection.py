"""Opening the DuckDB warehouse: one clear error per way it can fail, and short write windows
that wait for readers.

Readers never make a run fail at once. DuckDB lets one process write a file, or any number read
it, not both; every task of a job opens the warehouse only for its own short write window, and a
window that finds the file held by a reader (a notebook, a BI tool) retries until the job's
``lock_timeout_s`` has passed, then names the reader's program and PID. Readers that must never
delay a run read the export snapshot instead (``<export_dir>/current/signals.duckdb`` or the
Parquet files), which a run replaces atomically.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from alvh.core.errors import WarehouseInvalid, WarehouseLocked, WarehouseMissing, WarehouseReadOnly

_HOLDER = re.compile(r"Conflicting lock is held in (?P<holder>.+?) \(PID (?P<pid>\d+)\)")
_READ_ONLY = ("Read-only file system", "Permission denied")
MIN_READER_WAIT_S = 2.0  # a write window always rides out a reader's short query (seconds)
_POLL_S = 0.1


def _held_wait(path: Path) -> float:
    """The ``lock_timeout_s`` of the job holding this warehouse's run lock in this process (0 if none)."""
    return _held_wait_s.get(str(path) + ".lock", 0.0)


def _open_once(p: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    """One attempt; raises the alvh error that says what is wrong (or duckdb's lock error)."""
    if p.is_dir():
        raise WarehouseInvalid(
            "the warehouse path is a folder, not a DuckDB file; point --warehouse / ALVH_WAREHOUSE at a file",
            file=str(p),
        )
    if read_only and not p.exists():
        raise WarehouseMissing(
            "no warehouse here: run `alvh ingest` (or `alvh run`) first, or point --warehouse / ALVH_WAREHOUSE "
            "at yours",
            file=str(p),
        )
    if not read_only:
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WarehouseReadOnly(
                f"cannot create the warehouse folder ({exc.strerror}); choose a writable place with "
                "--warehouse / ALVH_WAREHOUSE",
                file=str(p),
            ) from None
    try:
        return duckdb.connect(str(p), read_only=read_only)
    except duckdb.IOException as exc:
        text = str(exc)
        if "not a valid DuckDB database" in text:
            raise WarehouseInvalid(
                "this file is not a DuckDB database (damaged, or another program's file); move it away and "
                "rebuild with `alvh ingest`, or point --warehouse / ALVH_WAREHOUSE at the right file",
                file=str(p),
            ) from None
        if any(m in text for m in _READ_ONLY):
            raise WarehouseReadOnly(
                "the warehouse cannot be written here (read-only file system or no permission); copy it to a "
                "writable place and point --warehouse / ALVH_WAREHOUSE there",
                file=str(p),
            ) from None
        if _HOLDER.search(text) is None and "Cannot open file" in text:
            raise WarehouseInvalid(
                f"the warehouse file cannot be opened here ({text.split(':')[-1].strip()}); point --warehouse / "
                "ALVH_WAREHOUSE at a file on an ordinary, writable disk",
                file=str(p),
            ) from None
        raise


def connect(path: Path | str, *, read_only: bool = False, wait_s: float | None = None) -> duckdb.DuckDBPyConnection:
    """Open the warehouse file (creating its folder when writing).

    A write that finds the file held by another process (a reader, or a writer outside the run
    lock) retries every 0.1 s for ``wait_s`` seconds, by default the job's ``lock_timeout_s``
    (at least 2 s).

    Raises
    ------
    WarehouseMissing
        Reading a warehouse that does not exist.
    WarehouseInvalid
        The path is a folder, or the file is not a DuckDB database.
    WarehouseReadOnly
        Writing where the file system or permissions do not allow it.
    WarehouseLocked
        Another process still holds the file after the wait; names its program and PID.
    """
    p = Path(path)
    wait_s = max(MIN_READER_WAIT_S, _held_wait(p) if wait_s is None else wait_s)
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return _open_once(p, read_only)
        except duckdb.IOException as exc:
            m = _HOLDER.search(str(exc))
            if m is None:
                raise
            if time.monotonic() >= deadline:
                job = run_lock_holder(p)
                if job is not None:  # a writing job (its command), not a reader
                    raise WarehouseLocked(
                        f"a job holds the warehouse ({job}); waited {wait_s:g} s — retry when it ends, or raise "
                        "ALVH_LOCK_TIMEOUT_S; readers that must never wait read the export snapshot, "
                        "current/signals.duckdb in the export folder",
                        file=str(p),
                    ) from None
                holder = f"{m.group('holder')} (PID {m.group('pid')})"
                raise WarehouseLocked(
                    f"the warehouse is open in {holder}, e.g. a notebook or BI tool; waited {wait_s:g} s. Close it "
                    "(or raise ALVH_LOCK_TIMEOUT_S); readers that must never delay a run read the export "
                    "snapshot, current/signals.duckdb in the export folder",
                    file=str(p),
                ) from None
            time.sleep(_POLL_S)


def run_lock_holder(path: Path | str) -> str | None:
    """The PID and command of the job holding ``<warehouse>.lock`` in another process, or None
    when no job holds it."""
    import fcntl
    import os

    lock_path = str(Path(path)) + ".lock"
    if _held.get(lock_path):
        return None
    try:
        fd = os.open(lock_path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return Path(lock_path).read_text(errors="replace").strip() or "another process"
    except OSError:
        return None
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def check_writable(path: Path | str, wait_s: float = 0) -> None:
    """Open the warehouse for writing once and close it (creating an empty one if missing): a
    job's first step, so a wrong path fails in a second with its own message, not after the work.
    A reader holding the file is waited for ``wait_s`` seconds (the job's ``lock_timeout_s``)."""
    connect(path, wait_s=wait_s).close()


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
_held_wait_s: dict[str, float] = {}  # lock path → the holding job's lock_timeout_s (seconds)


@contextmanager
def run_lock(path: Path | str, timeout_s: float = 0.0, poll_s: float = 0.2) -> Iterator[None]:
    """Hold ``<warehouse>.lock`` (``flock``, released by the OS even on SIGKILL) for a whole job.

    A second writer waits up to ``timeout_s`` seconds, then raises ``WarehouseLocked`` naming the
    holder's PID and command. Re-entrant within one process. Readers do not take it; while the lock
    is held, each write window of the job waits up to ``timeout_s`` for readers to close the file.
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
    try:
        Path(lock_path).parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise WarehouseReadOnly(
            f"cannot create the run lock {lock_path} ({exc.strerror}); the warehouse must be in a writable folder",
            file=str(path),
        ) from None
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
        _held_wait_s[lock_path] = timeout_s
        try:
            yield
        finally:
            _held.pop(lock_path, None)
            _held_wait_s.pop(lock_path, None)
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
