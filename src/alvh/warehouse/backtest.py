"""Backtest inputs read from the warehouse, and its result tables (``backtest`` schema) written
and exported. The backtest itself is ``alvh.transforms.backtest.run``."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from alvh.schemas.backtest import BacktestDaily, BacktestEvent, BacktestResult, BacktestRun, BacktestSummary
from alvh.schemas.columns import column_order
from alvh.warehouse.connection import transaction
from alvh.warehouse.load import utcnow
from alvh.warehouse.marts import validate_mart
from alvh.warehouse.upsert import write_frame


def read_market_inputs(
    con: duckdb.DuckDBPyConnection, end: date | None = None
) -> tuple[list[dict[str, Any]], dict[tuple[date, date], float], dict[date, float], dict[date, float]]:
    """(indicator rows up to ``end``, every VX settle by (trade date, expiry) — weeklies and final
    settlements included —, VIX opens, SPX opens by session)."""
    where = f"WHERE session_date <= DATE '{end.isoformat()}'" if end else ""
    rows = con.sql(f"SELECT * FROM marts.indicators_daily {where} ORDER BY session_date").pl().to_dicts()
    settles = {
        (t, e): s
        for t, e, s in con.execute(
            "SELECT trade_date, contract_expiry, settle FROM staging.stg_vx_futures WHERE settle IS NOT NULL"
        ).fetchall()
    }
    opens = con.execute(
        "SELECT symbol, session_date, open FROM staging.stg_index_daily "
        "WHERE symbol IN ('VIX', 'SPX') AND open IS NOT NULL"
    ).fetchall()
    vix_open = {d: o for s, d, o in opens if s == "VIX"}
    spx_open = {d: o for s, d, o in opens if s == "SPX"}
    return rows, settles, vix_open, spx_open


def read_macro_calendar(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """``staging.macro_event``'s ``event, session_date, scheduled`` (empty, with those columns,
    where no calendar was ever loaded)."""
    schema = {"event": pl.String, "session_date": pl.Date, "scheduled": pl.Boolean}
    has = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'staging' AND table_name = 'macro_event'"
    ).fetchall()[0][0]
    if not has:
        return pl.DataFrame(schema=schema)
    return con.sql("SELECT event, session_date, scheduled FROM staging.macro_event").pl().cast(schema)


# --- a whole backtest run ---------------------------------------------------------------------


def save_backtest(con: duckdb.DuckDBPyConnection, res: BacktestResult, settings_hash: str) -> None:
    """Validate and store the run's tables in one transaction."""
    run = pl.DataFrame(
        [
            {
                "run_id": res.run_id,
                "started_at": utcnow(),
                "start_date": res.start,
                "end_date": res.end,
                "strategies": ",".join(res.daily["strategy"].unique(maintain_order=True).to_list()),
                "settings_hash": settings_hash,
                "params": json.dumps(res.params, default=str, sort_keys=True),
            }
        ]
    )
    tables = {
        "backtest.run": (BacktestRun, run),
        "backtest.daily": (BacktestDaily, res.daily),
        "backtest.event": (BacktestEvent, res.events),
        "backtest.summary": (BacktestSummary, res.summary),
    }
    valid = {t: validate_mart(m, f.select(column_order(m)), t) for t, (m, f) in tables.items()}
    with transaction(con):
        for t, frame in valid.items():
            con.execute(f"DELETE FROM {t} WHERE run_id = ?", [res.run_id])
            write_frame(con, t, frame)


def save_run_rows(con: duckdb.DuckDBPyConnection, table: str, model: Any, frame: pl.DataFrame) -> None:
    """Validate one run's rows of a ``backtest`` table (``backtest.sweep``, ``backtest.walk_forward``)
    and store them in one transaction, replacing rows of the same run id."""
    valid = validate_mart(model, frame.select(column_order(model)), table)
    with transaction(con):
        for run_id in valid["run_id"].unique().to_list():
            con.execute(f"DELETE FROM {table} WHERE run_id = ?", [run_id])
        write_frame(con, table, valid)


def export_backtest(res: BacktestResult, out: Path) -> None:
    """CSV and Parquet of the run's tables under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    for name, frame in (("daily", res.daily), ("event", res.events), ("summary", res.summary)):
        frame.write_csv(out / f"backtest_{name}.csv")
        frame.write_parquet(out / f"backtest_{name}.parquet")
