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

from alvh.schemas.columns import LOAD_META_COLUMNS, column_order
from alvh.warehouse.ddl import primary_key

DATE_KEYS = ("date", "trade_date", "session_date", "quote_date")  # the key column that dates a revised row
# a value column that dates a row whose key has no date (a scheduled release, keyed by what it is
# of): a revised row is dated by the earlier of its stored and its new value
DATED_VALUES = ("release_date",)
# columns written with a row but never compared: the line as read is not a value of the row
NOT_COMPARED = ("raw_text",)


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
    values = _value_columns(model)
    incoming = frame.select(cols)
    with registered(con, incoming, "_incoming"):
        on = " AND ".join(f"t.{k} = i.{k}" for k in key)
        differs = " OR ".join(f"t.{c} IS DISTINCT FROM i.{c}" for c in values) or "FALSE"
        if values:
            con.execute(
                "INSERT INTO meta.revision(run_id, table_name, row_key, row_date, column_name, old_value, "
                f"new_value, source_file, revised_at) SELECT ?, ?, row_key, row_date, column_name, "
                f"old_value, new_value, source_file, ? FROM ({_changes_sql(table, model)})",
                [run_id, table, now],
            )
        updated = dict(
            con.execute(
                f"SELECT i.source_file, count(*) FROM _incoming i JOIN {table} t ON {on} WHERE {differs} GROUP BY 1"
            ).fetchall()
        )
        if updated:
            written = values + [c for c in NOT_COMPARED if c in cols] + LOAD_META_COLUMNS
            assignments = ", ".join(f"{c} = i.{c}" for c in written if c in cols)
            con.execute(f"UPDATE {table} AS t SET {assignments} FROM _incoming i WHERE {on} AND ({differs})")
        exists = " AND ".join(f"t.{k} = i.{k}" for k in key)
        new_rows = f"FROM _incoming i WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE {exists})"
        inserted = dict(con.execute(f"SELECT i.source_file, count(*) {new_rows} GROUP BY 1").fetchall())
        if inserted:
            selected = ", ".join("i." + c for c in cols)
            con.execute(f"INSERT INTO {table} ({', '.join(cols)}) SELECT {selected} {new_rows}")
    return UpsertCounts(inserted=inserted, updated=updated)


def _value_columns(model: type[pa.DataFrameModel]) -> list[str]:
    key = primary_key(model)
    return [c for c in column_order(model) if c not in key and c not in LOAD_META_COLUMNS and c not in NOT_COMPARED]


def _changes_sql(table: str, model: type[pa.DataFrameModel]) -> str:
    """SELECT of every stored value the view ``_incoming`` would change: row_key, row_date,
    column_name, old_value, new_value, source_file."""
    key = primary_key(model)
    on = " AND ".join(f"t.{k} = i.{k}" for k in key)
    row_key = " || ', ' || ".join(f"'{k}=' || CAST(i.{k} AS VARCHAR)" for k in key)
    date_key = next((k for k in key if k in DATE_KEYS), None)
    dated = next((c for c in _value_columns(model) if c in DATED_VALUES), None)
    if date_key:
        row_date = f"i.{date_key}"
    elif dated:
        row_date = f"least(t.{dated}, i.{dated})"
    else:
        row_date = "CAST(NULL AS DATE)"
    return " UNION ALL ".join(
        f"SELECT {row_key} AS row_key, {row_date} AS row_date, '{c}' AS column_name, "
        f"CAST(t.{c} AS VARCHAR) AS old_value, CAST(i.{c} AS VARCHAR) AS new_value, "
        f"i.source_file FROM _incoming i JOIN {table} t ON {on} "
        f"WHERE t.{c} IS DISTINCT FROM i.{c}"
        for c in _value_columns(model)
    )


def pending_revisions(
    con: duckdb.DuckDBPyConnection, table: str, model: type[pa.DataFrameModel], frame: pl.DataFrame
) -> pl.DataFrame:
    """The stored values ``frame`` would change if upserted (nothing is written): one row per
    value, ``source_file, row_key, row_date, column_name, old_value, new_value``."""
    schema = {
        "source_file": pl.String,
        "row_key": pl.String,
        "row_date": pl.Date,
        "column_name": pl.String,
        "old_value": pl.String,
        "new_value": pl.String,
    }
    if frame.is_empty() or not _value_columns(model):
        return pl.DataFrame(schema=schema)
    with registered(con, frame.select(column_order(model)), "_incoming"):
        out = con.sql(
            "SELECT source_file, row_key, row_date, column_name, old_value, new_value "
            f"FROM ({_changes_sql(table, model)}) ORDER BY source_file, row_date, row_key, column_name"
        ).pl()
    return out.cast(schema)


def stored_rows_by_file(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, int]:
    """Rows of ``table`` by the file (name) that last wrote them."""
    return {name: int(n) for name, n in con.execute(f"SELECT source_file, count(*) FROM {table} GROUP BY 1").fetchall()}


def mark_accepted(
    con: duckdb.DuckDBPyConnection, run_id: str, table: str, files: dict[str, tuple[str, datetime]]
) -> None:
    """Record who applied a suspect file on purpose, and when, on its revisions of this run."""
    for name, (user, when) in files.items():
        con.execute(
            "UPDATE meta.revision SET accepted_by = ?, accepted_at = ? "
            "WHERE run_id = ? AND table_name = ? AND source_file = ?",
            [user, when, run_id, table, name],
        )


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
