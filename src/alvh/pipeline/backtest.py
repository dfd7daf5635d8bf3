"""Prefect flow: the backtest — load the history, replay every strategy, store the tables,
export them, write the HTML report. A sweep runs a grid of configurations on both cores."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from alvh.core.errors import ConfigError
from alvh.core.settings import Settings, load_settings, setting_names
from alvh.pipeline.backtest_data import load_market
from alvh.pipeline.backtest_sweep import config_from, read_sweep, sweep
from alvh.pipeline.params import costs_params, hedge_params, method_hash
from alvh.pipeline.progress import report
from alvh.report.backtest import write_report
from alvh.schemas.backtest import BacktestResult
from alvh.schemas.registry import TABLES
from alvh.transforms.backtest import Costs, Market, Strategy, default_strategies, first_cycle_start
from alvh.transforms.backtest_run import run_backtest
from alvh.transforms.macro_event_study import macro_event_study
from alvh.warehouse.backtest import export_backtest, read_macro_calendar, save_backtest, save_run_rows
from alvh.warehouse.connection import open_warehouse


def strategy_from(spec: dict[str, Any], settings: Settings, dump: dict[str, Any] | None = None) -> Strategy:
    """A named configuration of the ``backtest_strategies`` setting: ``kind`` (alvh | calls |
    unhedged) plus hedge or IC settings, e.g. ``{name = "steward_50", kind = "alvh",
    carry_budget = 0.5}``, validated like a sweep configuration. Costs are the backtest's own, one
    set for every strategy (``alvh backtest --sweep`` compares costs)."""
    if "name" not in spec or "kind" not in spec:
        raise ConfigError("a strategy needs a name and a kind (alvh, calls or unhedged)", value=str(spec))
    costly = sorted(setting_names(Costs) & set(spec))
    if costly:
        raise ConfigError(
            f"strategy {spec['name']!r}: {costly} apply to the whole backtest, not to one strategy",
            expected="the setting itself, or `alvh backtest --sweep` to compare costs",
        )
    return config_from(spec, settings, dump).strategy


def strategies_for(settings: Settings, names: list[str] | None) -> list[Strategy]:
    dump = settings.model_dump()
    own = [strategy_from(s, settings, dump) for s in settings.backtest_strategies]
    all_ = default_strategies(hedge_params(settings)) + own
    if not names:
        return all_
    by_name = {s.name: s for s in all_}
    missing = [n for n in names if n not in by_name]
    if missing:
        raise ConfigError(f"unknown strategy {missing}", expected=", ".join(by_name))
    chosen = [by_name[n] for n in names]
    if "unhedged" not in names:  # the event study compares against it
        chosen.insert(0, by_name["unhedged"])
    return chosen


def complete_sessions(market: Market) -> list[date]:
    """Sessions with a complete curve: SPX, VIX and VVIX closes and a forward for each of M1–M3
    (settle or interpolated, §3)."""
    return [
        r["session_date"]
        for r in market.rows
        if all(r.get(c) is not None for c in ("spx_close", "vix_close", "vvix_close"))
        and all(market.settle_of(r["session_date"], r[f"m{i}_expiry"]) is not None for i in (1, 2, 3))
    ]


def last_complete_session(market: Market) -> date:
    """The last session with a complete curve. Past it the hedge could be neither marked nor
    settled, so the backtest's default end is this session."""
    days = complete_sessions(market)
    if not days:
        raise ConfigError("the warehouse has no session with SPX, VIX, VVIX and a VX curve: run `alvh ingest` first")
    return days[-1]


def backtest_window(market: Market, start: date, end: date | None) -> date:
    """The last session of a replay from ``start`` (``market`` read up to ``end``): ``end``, or
    the last session with a complete curve if earlier. Refuses a reversed window, one with no
    complete session, and one with no SPX monthly expiry (where an IC cycle starts) before its end."""
    if end is not None and end < start:
        raise ConfigError(f"--end {end} is before --start {start}")
    days = complete_sessions(market)
    if not days:
        upto = f" up to --end {end}" if end is not None else ""
        raise ConfigError(
            f"no session with SPX, VIX, VVIX and a VX curve{upto} (VVIX starts in 2007): give a later --end, "
            "or run `alvh ingest`"
        )
    last = min(end or date.max, days[-1])
    try:
        first = first_cycle_start(start, [d for d in days if d <= last])
    except ValueError:
        first = None
    if first is None or first > last:
        raise ConfigError(
            f"no SPX monthly expiry between --start {start} and {last} (the last session with complete data in "
            "the window), where an IC cycle starts: give an earlier --start"
        )
    return last


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


# --- sweep ------------------------------------------------------------------------------------


@task(name="store-sweep", cache_policy=NO_CACHE)
def store_rows_task(table: str, frame: pl.DataFrame, settings: Settings) -> None:
    """Validate and store one run's rows of a ``backtest`` results table."""
    model = TABLES[table]
    with open_warehouse(settings.warehouse) as con:
        save_run_rows(con, table, model, frame)


@flow(name="alvh-sweep")
def sweep_flow(
    file: str,
    start: date | None = None,
    end: date | None = None,
    warehouse: str | None = None,
    settings: Settings | None = None,
    dask_address: str | None = None,
    runner: str = "dask",
) -> pl.DataFrame:
    """Run every configuration of a sweep file on the compiled engine (Dask: the cluster at
    ``dask_address`` or the ``dask_address`` setting, else a LocalCluster) and store
    ``backtest.sweep``."""
    if settings is None:
        settings = load_settings(**({"warehouse": Path(warehouse)} if warehouse else {}))
    configs = read_sweep(Path(file), settings)
    market = load_task(settings.warehouse, end)
    last = backtest_window(market, start or settings.backtest_start, end)
    table = sweep(
        market,
        configs,
        start or settings.backtest_start,
        last,
        runner=runner,
        workers=settings.sweep_workers,
        address=dask_address or settings.dask_address,
    )
    store_rows_task("backtest.sweep", table, settings)
    create_table_artifact(
        key="sweep",
        table=table.select("config", "total_pnl_net_usd", "max_drawdown_net_usd", "calmar_net").to_dicts(),
    )
    return table
