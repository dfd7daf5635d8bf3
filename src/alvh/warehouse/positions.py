"""A user's imported positions in storage: one import stored in one transaction, and the holdings
and SPX legs in force on a session read back (the next signal starts from them). Tables
``meta.position_import_run``, ``meta.position_import`` and ``meta.ic_leg_import``. Parsing the files is
``alvh.sources.positions`` and ``alvh.sources.broker``; checking and joining them is
``alvh.pipeline.positions``."""

from __future__ import annotations

import uuid
from datetime import date

import duckdb
import polars as pl

from alvh.schemas.broker import IcLegImport
from alvh.schemas.meta import PositionImport, PositionImportRun
from alvh.warehouse.connection import transaction
from alvh.warehouse.load import utcnow
from alvh.warehouse.upsert import insert_ignore


def store_import(
    con: duckdb.DuckDBPyConnection,
    holdings: pl.DataFrame,
    as_of: date,
    source_file: str,
    ic_legs: pl.DataFrame | None = None,
    hedge: bool = True,
) -> str:
    """Store one import (its record, its holdings — one row per contract and strike — and any SPX
    legs: ``occ_symbol, expiry, strike, put_call, qty, entry_price``) in one transaction; returns
    its id. ``hedge`` False: the SPX legs alone (the hedge book stays)."""
    import_id, now = str(uuid.uuid4()), utcnow()
    run = pl.DataFrame(
        [
            {
                "import_id": import_id,
                "imported_at": now,
                "as_of": as_of,
                "source_file": source_file,
                "lines": holdings.height,
                "contracts": int(holdings["qty"].sum()) if holdings.height else 0,
            }
        ]
    )
    frame = holdings.with_columns(
        pl.lit(import_id).alias("import_id"),
        pl.lit(now).alias("imported_at"),
        pl.lit(as_of).alias("as_of"),
        pl.lit(source_file).alias("source_file"),
    )
    stamp = [
        pl.lit(import_id).alias("import_id"),
        pl.lit(now).alias("imported_at"),
        pl.lit(as_of).alias("as_of"),
        pl.lit(source_file).alias("source_file"),
    ]
    with transaction(con):
        if hedge:
            insert_ignore(con, "meta.position_import_run", PositionImportRun, run)
            insert_ignore(con, "meta.position_import", PositionImport, frame)
        if ic_legs is not None and ic_legs.height:
            insert_ignore(con, "meta.ic_leg_import", IcLegImport, ic_legs.with_columns(stamp))
    return import_id


def imported_ic_legs(con: duckdb.DuckDBPyConnection, first: date) -> tuple[date, pl.DataFrame] | None:
    """(as_of, legs) of the latest SPX-leg import in force on session ``first``: effective by then
    and with no leg expired before it (None when there is none)."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'meta' AND table_name = 'ic_leg_import'"
    ).fetchall()[0][0]
    if not exists:  # a warehouse opened read-only before its migration: nothing was imported into it
        return None
    rows = con.execute(
        "SELECT import_id, as_of FROM meta.ic_leg_import WHERE as_of <= ? GROUP BY import_id, as_of, imported_at "
        "HAVING min(expiry) > ? ORDER BY imported_at DESC LIMIT 1",
        [first, first],
    ).fetchall()
    if not rows:
        return None
    import_id, as_of = rows[0]
    legs = con.sql(
        "SELECT occ_symbol, expiry, strike, put_call, qty, entry_price FROM meta.ic_leg_import "
        "WHERE import_id = $id ORDER BY expiry, put_call, strike",
        params={"id": import_id},
    ).pl()
    return as_of, legs


def pending_import(con: duckdb.DuckDBPyConnection, first: date, last_published: date | None) -> pl.DataFrame | None:
    """The latest import not yet superseded by a published session, effective by ``first`` (an
    empty frame: the user is flat)."""
    rows = con.execute(
        "SELECT import_id FROM meta.position_import_run WHERE as_of <= ? AND (? IS NULL OR as_of > ?) "
        "ORDER BY imported_at DESC LIMIT 1",
        [first, last_published, last_published],
    ).fetchall()
    if not rows:
        return None
    import_id = str(rows[0][0]).replace("'", "")
    return con.sql(
        "SELECT contract_expiry, strike, qty, avg_cost FROM meta.position_import "
        f"WHERE import_id = '{import_id}' ORDER BY contract_expiry, strike"
    ).pl()
