"""Build ``marts.indicators_daily``: staging frames from storage, the indicators from
``alvh.transforms``, validated and published by storage."""

from __future__ import annotations

import duckdb
import polars as pl

from alvh.core.settings import Settings
from alvh.pipeline.params import indicator_params
from alvh.schemas.marts import IndicatorsDaily
from alvh.transforms.indicators_daily import IndicatorParams, build_indicators_daily
from alvh.warehouse.connection import open_warehouse
from alvh.warehouse.indicators import empty_indicators, load_indicator_inputs, mart_sessions
from alvh.warehouse.marts import publish_table


def build_indicators_mart(con: duckdb.DuckDBPyConnection, params: IndicatorParams | None = None) -> pl.DataFrame:
    """Compute, validate and replace ``marts.indicators_daily``; returns the published frame
    (empty, and the mart left as it is, when staging holds no VIX history: nothing to build on)."""
    inputs = load_indicator_inputs(con)
    sessions = mart_sessions(inputs["index_daily"])
    if sessions.is_empty():
        return empty_indicators(con)
    frame = build_indicators_daily(
        sessions,
        inputs["index_daily"],
        inputs["vx"],
        inputs["breadth"],
        inputs["rates"],
        params,
        inputs["events"],
    )
    publish_table(con, "marts.indicators_daily", IndicatorsDaily, frame)
    return frame


def rebuild_indicators(settings: Settings) -> pl.DataFrame:
    """`alvh indicators`: rebuild ``marts.indicators_daily`` in the settings' warehouse with the
    settings' indicator parameters; returns the published frame (empty when there is no VIX history)."""
    with open_warehouse(settings.warehouse) as con:
        return build_indicators_mart(con, indicator_params(settings))
