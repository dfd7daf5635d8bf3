"""Idempotent upserts on natural keys that never overwrite a past value silently.

New keys are inserted; a key whose values differ from what is stored is updated and every
changed column is written to ``meta.revision`` (old value, new value, run id, file); identical
rows are left untouched, so a re-run changes nothing. The caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import duckdb
import pandera.polars as pa
import polars as pl

from alvh.warehouse.ddl import LOAD_META_COLUMNS, column_order, primary_key

DATE_KEYS = ("date", "trade_date", "session_date")  # the key column that dates a revised row


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, frame: pl.DataFrame, name: str = "_frame") -> Iterator[str]:
    """``frame`` visible to SQL as the view ``name`` for the duration of the block."""
    con.register(name, frame)
    try:
        yield name
    finally:
        con.unregister(name)


def write_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame, *, or_ignore: bool = False) -> None:
    """Insert every row of ``frame`` into ``table`` by column name (``or_ignore``: skip rows whose
    key is already stored) — the one place a frame is written."""
    if frame.is_empty():
        return
    cols = ", ".join(frame.columns)
    verb = "INSERT OR IGNORE" if or_ignore else "INSERT"
    with registered(con, frame, "_write") as view:
        con.execute(f"{verb} INTO {table} ({cols}) SELECT {cols} FROM {view}")


@dataclass
class UpsertCounts:
    """Rows inserted and updated, per source file."""

    inserted: dict[str, int]
    updated: dict[str, int]

    @property
    def total_inserted(self) -> int:
        return sum(self.inserted.values())

    @property
    def total_updated(self) -> int:
        return sum(self.updated.values())


def upsert_with_revisions(
    con: duckdb.DuckDBPyConnection,
    table: str,
    model: type[pa.DataFrameModel],
    frame: pl.DataFrame,
    *,
    run_id: str,
    now: datetime,
) -> UpsertCounts:
    """Upsert ``frame`` (already validated, unique on the key) into ``table``.

    Value columns are the model's columns minus the key and the load metadata; a row counts as
    changed when any value column IS DISTINCT FROM the stored one.
    """
    key = primary_key(model)
    cols = column_order(model)
    values = [c for c in cols if c not in key and c not in LOAD_META_COLUMNS]
    incoming = frame.select(cols)
    with registered(con, incoming, "_incoming"):
        on = " AND ".join(f"t.{k} = i.{k}" for k in key)
        differs = " OR ".join(f"t.{c} IS DISTINCT FROM i.{c}" for c in values) or "FALSE"
        row_key = " || ', ' || ".join(f"'{k}=' || CAST(i.{k} AS VARCHAR)" for k in key)
        date_key = next((k for k in key if k in DATE_KEYS), None)
        row_date = f"i.{date_key}" if date_key else "CAST(NULL AS DATE)"
        if values:
            per_column = " UNION ALL ".join(
                f"SELECT {row_key} AS row_key, {row_date} AS row_date, '{c}' AS column_name, "
                f"CAST(t.{c} AS VARCHAR) AS old_value, CAST(i.{c} AS VARCHAR) AS new_value, "
                f"i.source_file FROM _incoming i JOIN {table} t ON {on} "
                f"WHERE t.{c} IS DISTINCT FROM i.{c}"
                for c in values
            )
            con.execute(
                "INSERT INTO meta.revision(run_id, table_name, row_key, row_date, column_name, old_value, "
                f"new_value, source_file, revised_at) SELECT ?, ?, row_key, row_date, column_name, "
                f"old_value, new_value, source_file, ? FROM ({per_column})",
                [run_id, table, now],
            )
        updated = dict(
            con.execute(
                f"SELECT i.source_file, count(*) FROM _incoming i JOIN {table} t ON {on} WHERE {differs} GROUP BY 1"
            ).fetchall()
        )
        if updated:
            assignments = ", ".join(f"{c} = i.{c}" for c in values + LOAD_META_COLUMNS if c in cols)
            con.execute(f"UPDATE {table} AS t SET {assignments} FROM _incoming i WHERE {on} AND ({differs})")
        exists = " AND ".join(f"t.{k} = i.{k}" for k in key)
        new_rows = f"FROM _incoming i WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE {exists})"
        inserted = dict(con.execute(f"SELECT i.source_file, count(*) {new_rows} GROUP BY 1").fetchall())
        if inserted:
            selected = ", ".join("i." + c for c in cols)
            con.execute(f"INSERT INTO {table} ({', '.join(cols)}) SELECT {selected} {new_rows}")
    return UpsertCounts(inserted=inserted, updated=updated)


def replace_table(
    con: duckdb.DuckDBPyConnection, table: str, model: type[pa.DataFrameModel], frame: pl.DataFrame
) -> int:
    """Replace every row of a derived table (staging) with ``frame``; returns rows written."""
    con.execute(f"DELETE FROM {table}")
    write_frame(con, table, frame.select(column_order(model)))
    return frame.height


def insert_ignore(
    con: duckdb.DuckDBPyConnection, table: str, model: type[pa.DataFrameModel], frame: pl.DataFrame
) -> int:
    """Insert rows whose key is not yet stored (append-only tables: quarantine, lineage)."""
    if frame.is_empty():
        return 0
    before = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    write_frame(con, table, frame.select(column_order(model)), or_ignore=True)
    after = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    return int(after) - int(before)
