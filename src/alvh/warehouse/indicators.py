"""The staging frames ``marts.indicators_daily`` is built from (``alvh.pipeline.indicators``
builds it), the sessions it covers, and whether it is built yet. Its columns with no row stand in
for it while staging has no VIX history."""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl

from alvh.core.calendar import sessions_between


def load_indicator_inputs(con: duckdb.DuckDBPyConnection) -> dict[str, pl.DataFrame]:
    """The staging frames the indicators mart is built from."""
    return {
        "index_daily": con.sql("SELECT session_date, symbol, close FROM staging.stg_index_daily").pl(),
        "vx": con.sql("SELECT trade_date, contract_expiry, is_monthly, settle FROM staging.stg_vx_futures").pl(),
        "breadth": con.sql("SELECT session_date, advances, declines FROM staging.stg_breadth").pl(),
        "rates": con.sql("SELECT date, series, value FROM staging.stg_rates").pl(),
        "events": con.sql("SELECT event, release_date, time_et, session_date, scheduled FROM staging.macro_event").pl(),
    }


def indicators_built(con: duckdb.DuckDBPyConnection) -> bool:
    """True once ``marts.indicators_daily`` holds a row."""
    return bool(con.execute("SELECT count(*) FROM marts.indicators_daily").fetchall()[0][0])


def empty_indicators(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """``marts.indicators_daily``'s columns as the warehouse types them, with no row."""
    return con.sql("SELECT * FROM marts.indicators_daily LIMIT 0").pl()


def mart_sessions(index_daily: pl.DataFrame) -> pl.Series:
    """XNYS sessions from the first to the last VIX close in staging."""
    vix = index_daily.filter(pl.col("symbol") == "VIX")["session_date"]
    if vix.is_empty():
        return pl.Series("session_date", [], dtype=pl.Date)
    first, last = vix.min(), vix.max()
    assert isinstance(first, date) and isinstance(last, date)
    return pl.Series("session_date", sessions_between(first, last), dtype=pl.Date)
