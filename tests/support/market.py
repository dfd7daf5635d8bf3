"""The backtest's market over the shared signal warehouse, and windows of it that start at an IC
cycle (shared by the readable and the compiled engine's tests)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

from alvh.pipeline.backtest_data import load_market
from alvh.transforms.backtest.readable import Market, first_cycle_start


def market_of(warehouse: Path) -> Market:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return load_market(con)


def window(market: Market, a: date, b: date) -> list[date]:
    """Sessions from the first IC cycle start on or after ``a`` through ``b``."""
    days = [r["session_date"] for r in market.rows]
    first = first_cycle_start(a, days)
    return [d for d in days if first <= d <= b]
