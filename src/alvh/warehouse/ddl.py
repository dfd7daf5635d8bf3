"""DDL derived from the pandera models: the models are the single source of truth for columns,
types, nullability and natural keys (``Config.unique`` becomes the PRIMARY KEY)."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from alvh.schemas.columns import column_order, polars_dtype

_DUCKDB_TYPES: dict[type[pl.DataType], str] = {
    pl.Date: "DATE",
    pl.Datetime: "TIMESTAMP",
    pl.Float64: "DOUBLE",
    pl.Float32: "FLOAT",
    pl.Int64: "BIGINT",
    pl.Int32: "INTEGER",
    pl.Int16: "SMALLINT",
    pl.Int8: "TINYINT",
    pl.UInt32: "UINTEGER",
    pl.String: "VARCHAR",
    pl.Boolean: "BOOLEAN",
}


def duckdb_type(column: pa.Column) -> str:
    dtype = polars_dtype(column)
    base = dtype.base_type()
    if base not in _DUCKDB_TYPES:
        raise TypeError(f"no DuckDB type for Polars dtype {dtype} of column {column.name!r}")
    return _DUCKDB_TYPES[base]


def primary_key(model: type[pa.DataFrameModel]) -> list[str]:
    unique = model.to_schema().unique
    if not unique:
        return []
    return [unique] if isinstance(unique, str) else list(unique)


def create_table_sql(table: str, model: type[pa.DataFrameModel]) -> str:
    """``CREATE TABLE IF NOT EXISTS`` statement for ``table`` (``schema.name``)."""
    cols = model.to_schema().columns
    lines = []
    for name in column_order(model):
        col = cols[name]
        null = "" if col.nullable else " NOT NULL"
        lines.append(f"    {name} {duckdb_type(col)}{null}")
    pk = primary_key(model)
    if pk:
        lines.append(f"    PRIMARY KEY ({', '.join(pk)})")
    body = ",\n".join(lines)
    return f"CREATE TABLE IF NOT EXISTS {table} (\n{body}\n)"
