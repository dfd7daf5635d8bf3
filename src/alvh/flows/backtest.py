"""Prefect flow: the backtest — load the history, replay every strategy, store the tables,
export them, write the HTML report."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

import polars as pl
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from alvh.core.settings import Settings, load_settings
from alvh.pipeline.backtest import backtest_window, strategies_for
from alvh.pipeline.backtest_data import load_market
from alvh.pipeline.params import costs_params, method_hash
from alvh.pipeline.progress import report
from alvh.report.backtest import write_report
from alvh.schemas.backtest import BacktestResult
from alvh.transforms.backtest.readable import Costs, Market, Strategy
from alvh.transforms.backtest.run import run_backtest
from alvh.transforms.macro_event_study import macro_event_study
from alvh.warehouse.backtest import export_backtest, read_macro_calendar, save_backtest
from alvh.warehouse.connection import open_warehouse


@task(name="load-history", cache_policy=NO_CACHE)
def load_task(warehouse: Path, end: date | None) -> Market:
    """Read the indicators mart and the settles the backtest marks with."""
    with open_warehouse(warehouse, read_only=True) as con:
        return load_market(con, end)


@task(name="replay-strategies", cache_policy=NO_CACHE)
def replay_task(
    market: Market,
    strategies: list[Strategy],
    start: date,
    end: date,
    costs: Costs,
    run_id: str,
    engine: str = "compiled",
) -> BacktestResult:
    """Replay every strategy day by day and compute metrics and the event study."""
    return run_backtest(
        market, strategies, start, end, costs, run_id, lambda name, n, t: report(f"backtest {name}", n, t), engine
    )


@task(name="macro-event-study", cache_policy=NO_CACHE)
def macro_study_task(warehouse: Path, market: Market, res: BacktestResult) -> None:
    """Issue 22's event study on the run's data (VIX and M1 changes after FOMC, CPI and PPI
    releases against all other sessions), kept on ``res`` for the report; nothing without a
    calendar in the warehouse."""
    with open_warehouse(warehouse, read_only=True) as con:
        calendar = read_macro_calendar(con)
    if calendar.is_empty():
        return
    mart = pl.DataFrame(market.rows, infer_schema_length=None).select("session_date", "vix_close", "m1_expiry")
    settles = [(t, e, s) for (t, e), s in market.settles.items()]
    vx = pl.DataFrame(settles, schema=["trade_date", "contract_expiry", "settle"], orient="row")
    study = macro_event_study(mart, vx, calendar)  # every session the run loaded (to --end, else the data end)
    res.macro_events = study.table
    gaps = ", ".join(study.gap_months) or "none"
    res.macro_events_note = (
        f"sessions {study.first} → {study.last}; months without a calendar left out of the other group: {gaps}"
    )


@task(name="store-and-report", cache_policy=NO_CACHE)
def store_task(res: BacktestResult, settings: Settings, out: Path) -> Path:
    """Store the backtest tables, export them, and write the HTML report."""
    with open_warehouse(settings.warehouse) as con:
        save_backtest(con, res, method_hash(settings))
    export_backtest(res, out)
    return write_report(res, out / "report.html")


@flow(name="alvh-backtest")
def backtest_flow(
    start: date | None = None,
    end: date | None = None,
    strategies: list[str] | None = None,
    out: str | None = None,
    warehouse: str | None = None,
    settings: Settings | None = None,
    engine: str = "compiled",
) -> BacktestResult:
    """Replay the hedge over history for every strategy; tables, exports and a report.
    ``settings``: the entry point's resolved settings (resolved here only when not given);
    ``engine``: ``compiled`` (default) or ``readable`` (the reference engine, slower)."""
    log = get_run_logger()
    if settings is None:
        settings = load_settings(**({"warehouse": Path(warehouse)} if warehouse else {}))
    target = Path(out) if out else settings.backtest_out
    chosen = strategies_for(settings, strategies)
    market = load_task(settings.warehouse, end)
    last = backtest_window(market, start or settings.backtest_start, end)
    res = replay_task(
        market, chosen, start or settings.backtest_start, last, costs_params(settings), str(uuid.uuid4()), engine
    )
    macro_study_task(settings.warehouse, market, res)
    path = store_task(res, settings, target)
    log.info("backtest %s → %s: report %s", res.start, res.end, path)
    create_table_artifact(
        key="backtest-summary",
        table=res.summary.select(
            "strategy", "total_pnl_net_usd", "max_drawdown_net_usd", "hedge_pnl_usd", "costs_usd", "contracts_traded"
        ).to_dicts(),
    )
    create_markdown_artifact(key="backtest-report", markdown=f"Report: `{path}`")
    return res
