"""Backtest inputs from the warehouse, and its result tables (``backtest`` schema)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from schemas.backtest import BacktestDaily, BacktestEvent, BacktestRun, BacktestSummary
from transforms.backtest import (
    Costs,
    Market,
    Strategy,
    Trades,
    first_cycle_start,
    ic_cycles,
    ic_daily,
    run_strategy,
)
from transforms.backtest_metrics import (
    EventInputs,
    detect_spikes,
    event_study,
    named_windows,
    risk_capital,
    summary_metrics,
)
from warehouse.connection import transaction
from warehouse.ddl import column_order
from warehouse.load import utcnow
from warehouse.marts import validate_mart


def load_market(con: duckdb.DuckDBPyConnection, end: date | None = None) -> Market:
    """Indicator rows, every VX settle (weeklies too: they bracket a monthly missing from the data,
    §3; final settlements included), and VIX/SPX opens."""
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
    return Market(rows, settles, vix_open, spx_open)


# --- a whole backtest run ---------------------------------------------------------------------


@dataclass
class BacktestResult:
    run_id: str
    start: date
    end: date
    daily: pl.DataFrame
    events: pl.DataFrame
    summary: pl.DataFrame
    market_frame: pl.DataFrame
    trades: dict[str, Trades] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)


def run_backtest(
    market: Market,
    strategies: Sequence[Strategy],
    start: date,
    end: date,
    costs: Costs,
    run_id: str,
    progress: Callable[[str, int, int], None] | None = None,
) -> BacktestResult:
    """Replay every strategy over [start, end] (from the first SPX expiry on or after start)."""
    all_sessions = [r["session_date"] for r in market.rows]
    priced = [
        r["session_date"] for r in market.rows if r.get("spx_close") is not None and r.get("vix_close") is not None
    ]
    if priced and end > priced[-1]:
        end = priced[-1]  # the IC cannot be marked past the last SPX/VIX close
    first = first_cycle_start(start, all_sessions)
    sessions = [d for d in all_sessions if first <= d <= end]
    base = strategies[0].hedge
    ics = ic_cycles(market, sessions, base)
    ic = ic_daily(market, sessions, ics, base, costs)
    frames, trades = [], {}
    for st in strategies:
        cb = (lambda n, t, name=st.name: progress(name, n, t)) if progress else None
        eq, tr = run_strategy(st, market, sessions, ic, costs, cb)
        if progress:
            progress(st.name, len(sessions), len(sessions))
        frames.append(eq)
        trades[st.name] = tr
    daily = pl.concat(frames).with_columns(pl.lit(run_id).alias("run_id"))
    mart = pl.DataFrame(market.rows, infer_schema_length=None)
    in_range = mart.filter(pl.col("session_date").is_between(sessions[0], sessions[-1]))
    vix = mart.select("session_date", "vix_close").filter(pl.col("session_date") <= sessions[-1])
    detected = detect_spikes(vix).filter(pl.col("end") >= sessions[0])
    events = pl.concat([detected, named_windows(vix)], how="diagonal_relaxed").filter(
        (pl.col("end") >= sessions[0]) & (pl.col("start") <= sessions[-1])
    )
    flags = in_range.select("session_date", "breadth_missing", "term_structure_complete")
    ladder = next((st.hedge for st in strategies if st.kind == "alvh"), base)  # §9 static ladder settings
    study = event_study(events, EventInputs(daily, flags, market.by_date, market.settles, ladder))
    cycles = list({x.opened: x for x in ics.values() if x.opened >= sessions[0]}.values())
    summary = summary_metrics(daily, risk_capital(cycles), in_range.select("session_date", "regime"))
    params = {"costs": asdict(costs), "strategies": [asdict(s) for s in strategies]}
    return BacktestResult(
        run_id,
        sessions[0],
        sessions[-1],
        daily,
        study.with_columns(pl.lit(run_id).alias("run_id")),
        summary.with_columns(pl.lit(run_id).alias("run_id")),
        in_range,
        trades,
        params,
    )


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
            cols = ", ".join(frame.columns)
            con.execute(f"DELETE FROM {t} WHERE run_id = ?", [res.run_id])
            con.register("_bt", frame)
            try:
                con.execute(f"INSERT INTO {t} ({cols}) SELECT {cols} FROM _bt")
            finally:
                con.unregister("_bt")


def export_backtest(res: BacktestResult, out: Path) -> None:
    """CSV and Parquet of the run's tables under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    for name, frame in (("daily", res.daily), ("event", res.events), ("summary", res.summary)):
        frame.write_csv(out / f"backtest_{name}.csv")
        frame.write_parquet(out / f"backtest_{name}.parquet")
