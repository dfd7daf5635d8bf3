"""Schema migrations: create every schema and table from the models; add columns that a newer
model has and an older warehouse file lacks (nullable columns only; anything else needs a
rebuild, and says so)."""

from __future__ import annotations

import duckdb

from alvh.core.errors import AlvhError
from alvh.schemas.columns import column_order
from alvh.schemas.registry import SCHEMAS, TABLES
from alvh.warehouse.ddl import create_table_sql, duckdb_type

SCHEMA_VERSION = 1
# schemas whose tables every run rewrites from scratch (the backtest's results): a column the
# current model no longer has is dropped (e.g. backtest.event.capture, replaced in ALVH-2026.2),
# and a new NOT NULL column is added as nullable: the earlier runs' rows predate it (NULL there);
# every new row is validated by the model before it is written
DERIVED_SCHEMAS = ("backtest",)


def migrate(con: duckdb.DuckDBPyConnection) -> None:
    """Bring the warehouse up to the current models (idempotent)."""
    for schema in SCHEMAS:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    con.execute(
        "CREATE TABLE IF NOT EXISTS meta.schema_version (version INTEGER NOT NULL, "
        "applied_at TIMESTAMP NOT NULL DEFAULT now())"
    )
    existing: dict[tuple[str, str], set[str]] = {
        (s, t): set()
        for s, t in con.execute("SELECT table_schema, table_name FROM information_schema.tables").fetchall()
    }
    for s, t, c in con.execute(
        "SELECT table_schema, table_name, column_name FROM information_schema.columns"
    ).fetchall():
        if (s, t) in existing:
            existing[(s, t)].add(c)
    for table, model in TABLES.items():
        schema, name = table.split(".")
        if (schema, name) not in existing:
            con.execute(create_table_sql(table, model))
            continue
        cols = model.to_schema().columns
        if schema in DERIVED_SCHEMAS:  # rebuilt by every run: a column the model dropped goes too
            for col in sorted(existing[(schema, name)] - set(column_order(model))):
                con.execute(f'ALTER TABLE {table} DROP COLUMN "{col}"')
        for col in column_order(model):
            if col in existing[(schema, name)]:
                continue
            if not cols[col].nullable and schema not in DERIVED_SCHEMAS:
                raise AlvhError(
                    f"table {table} lacks the NOT NULL column {col!r} of the current model; "
                    "rebuild the warehouse (delete the file and run `alvh ingest`)"
                )
            con.execute(f"ALTER TABLE {table} ADD COLUMN {col} {duckdb_type(cols[col])}")
    version = con.execute("SELECT max(version) FROM meta.schema_version").fetchall()[0][0]
    if version != SCHEMA_VERSION:
        con.execute("INSERT INTO meta.schema_version(version) VALUES (?)", [SCHEMA_VERSION])
