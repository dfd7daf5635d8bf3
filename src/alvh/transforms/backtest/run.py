"""A whole backtest run (ALVH_METHOD.md §9), pure: every strategy replayed over the same
sessions and IC program, then the event study and the summary metrics. No I/O: the market comes
in, a :class:`~alvh.schemas.backtest.BacktestResult` goes out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import date

import polars as pl

from alvh.schemas.backtest import BacktestResult
from alvh.transforms.backtest.compiled import run_strategy_compiled
from alvh.transforms.backtest.metrics import (
    EventInputs,
    detect_spikes,
    event_study,
    ic_side_cycles,
    named_windows,
    risk_capital,
    summary_metrics,
)
from alvh.transforms.backtest.readable import (
    Costs,
    Market,
    Strategy,
    first_cycle_start,
    ic_cycles,
    ic_daily,
    run_strategy,
)


def run_backtest(
    market: Market,
    strategies: Sequence[Strategy],
    start: date,
    end: date,
    costs: Costs,
    run_id: str,
    progress: Callable[[str, int, int], None] | None = None,
    engine: str = "compiled",
) -> BacktestResult:
    """Replay every strategy over [start, end] (from the first SPX expiry on or after start).
    ``engine``: ``compiled`` (the numba day-step, equal to the readable engine to the cent) or
    ``readable`` (the reference, day by day in Python)."""
    if engine not in ("compiled", "readable"):
        raise ValueError(f"engine must be 'compiled' or 'readable', got {engine!r}")
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
        if engine == "compiled":
            eq, tr = run_strategy_compiled(st, market, sessions, ic, costs)
        else:
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
    expiries = {x.expiry for x in ics.values()}  # the IC settles at these sessions' SPX open
    flags = in_range.select("session_date", "breadth_missing", "term_structure_complete").with_columns(
        spx_open_suspect=pl.Series(
            [d in expiries and market.spx_open_suspect(d) for d in in_range["session_date"]], dtype=pl.Boolean
        )
    )
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
        ic_side_cycles(daily.filter(pl.col("strategy") == daily["strategy"][0])),
    )
