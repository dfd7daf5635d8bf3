"""A table's column order and Polars dtypes, derived from its pandera model.

Business columns first, load metadata last: the order of the DDL, of ``SELECT *`` and of the
exports. The dtypes type the empty frames and casts of every layer that builds a table's rows —
storage (``alvh.warehouse``) and the pure transforms alike."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from alvh.schemas.raw import _LoadMeta

LOAD_META_COLUMNS = list(_LoadMeta.to_schema().columns)


def polars_dtype(column: pa.Column) -> pl.DataType:
    """The Polars dtype of a pandera column."""
    dtype = column.dtype.type
    return dtype() if isinstance(dtype, type) else dtype


def column_order(model: type[pa.DataFrameModel]) -> list[str]:
    """Business columns first, load metadata last (the export and SELECT * order)."""
    cols = list(model.to_schema().columns)
    if not issubclass(model, _LoadMeta):
        return cols
    return [c for c in cols if c not in LOAD_META_COLUMNS] + LOAD_META_COLUMNS


def polars_schema(model: type[pa.DataFrameModel]) -> dict[str, pl.DataType]:
    """Column → Polars dtype, in table order (used to build empty frames and casts)."""
    cols = model.to_schema().columns
    return {name: polars_dtype(cols[name]) for name in column_order(model)}
