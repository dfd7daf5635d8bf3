"""The backtest's market, read from storage and assembled for ``alvh.transforms.backtest.readable``."""

from __future__ import annotations

from datetime import date

import duckdb

from alvh.transforms.backtest.readable import Market
from alvh.warehouse.backtest import read_market_inputs


def load_market(con: duckdb.DuckDBPyConnection, end: date | None = None) -> Market:
    """Indicator rows, every VX settle (weeklies too: they bracket a monthly missing from the data,
    §3; final settlements included), and VIX/SPX opens, up to ``end``."""
    return Market(*read_market_inputs(con, end))
