"""Backtest inputs from the warehouse, and its result tables (``backtest`` schema)."""

from __future__ import annotations

from datetime import date

import duckdb

from transforms.backtest import Market


def load_market(con: duckdb.DuckDBPyConnection, end: date | None = None) -> Market:
    """Indicator rows, monthly VX settles (final settlements included), and VIX/SPX opens."""
    where = f"WHERE session_date <= DATE '{end.isoformat()}'" if end else ""
    rows = con.sql(f"SELECT * FROM marts.indicators_daily {where} ORDER BY session_date").pl().to_dicts()
    settles = {
        (t, e): s
        for t, e, s in con.execute(
            "SELECT trade_date, contract_expiry, settle FROM staging.stg_vx_futures WHERE is_monthly"
        ).fetchall()
    }
    opens = con.execute(
        "SELECT symbol, session_date, open FROM staging.stg_index_daily "
        "WHERE symbol IN ('VIX', 'SPX') AND open IS NOT NULL"
    ).fetchall()
    vix_open = {d: o for s, d, o in opens if s == "VIX"}
    spx_open = {d: o for s, d, o in opens if s == "SPX"}
    return Market(rows, settles, vix_open, spx_open)
