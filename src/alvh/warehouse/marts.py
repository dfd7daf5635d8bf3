"""Writing published marts: validate with the model, then replace the table in one transaction."""

from __future__ import annotations

import duckdb
import pandera.polars as pa
import polars as pl

from alvh.core.errors import ValidationFailed
from alvh.warehouse.connection import transaction
from alvh.warehouse.upsert import replace_table


def validate_mart(model: type[pa.DataFrameModel], frame: pl.DataFrame, table: str) -> pl.DataFrame:
    """Validate every rule lazily; failures raise ``ValidationFailed`` naming rules and rows."""
    try:
        return model.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        summary = (
            cases.group_by("check", "column", maintain_order=True)
            .agg(pl.len().alias("rows"), pl.col("index").head(5).alias("first_rows"))
            .to_dicts()
        )
        raise ValidationFailed(f"{table} failed validation: {summary}", expected=model.__name__) from exc


def publish_table(
    con: duckdb.DuckDBPyConnection, table: str, model: type[pa.DataFrameModel], frame: pl.DataFrame
) -> int:
    """Validate ``frame`` and replace ``table`` with it atomically; returns rows written."""
    valid = validate_mart(model, frame, table)
    with transaction(con):
        return replace_table(con, table, model, valid)
