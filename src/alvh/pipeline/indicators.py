"""Build ``marts.indicators_daily``: staging frames from storage, the indicators from
``alvh.transforms``, validated and published by storage."""

from __future__ import annotations

import duckdb
import polars as pl

from alvh.schemas.marts import IndicatorsDaily
from alvh.transforms.indicators_daily import IndicatorParams, build_indicators_daily
from alvh.warehouse.indicators import load_indicator_inputs, mart_sessions
from alvh.warehouse.marts import publish_table


def build_indicators_mart(con: duckdb.DuckDBPyConnection, params: IndicatorParams | None = None) -> pl.DataFrame:
    """Compute, validate and replace ``marts.indicators_daily``; returns the published frame."""
    inputs = load_indicator_inputs(con)
    frame = build_indicators_daily(
        mart_sessions(inputs["index_daily"]),
        inputs["index_daily"],
        inputs["vx"],
        inputs["breadth"],
        inputs["rates"],
        params,
    )
    publish_table(con, "marts.indicators_daily", IndicatorsDaily, frame)
    return frame
