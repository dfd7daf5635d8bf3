"""Opening the DuckDB warehouse, with a clear error when another process holds it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from schemas.errors import WarehouseLocked

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
    from warehouse.migrations import migrate

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
