"""Timing luck (pure): how much of a strategy's result is the calendar's phase rather than its
rules. The whole IC calendar — each cycle's open and expiry — moves by ``s`` trading sessions
(−15 … +15); the hedge keeps the VIX calendar (its contracts, rolls and M1–M3 come from the VX
expiries and ``roll_tdte``), so each shift is a different phase between the IC program and the
hedge ladder, and between both and the spikes. Every strategy is replayed on the compiled engine
over the same span for every shift; the result is a distribution per strategy (median, 10th and
90th percentile, the extremes, and the unshifted value).

Shifted cycles settle at the SPX open of their shifted expiry session (a model: real SPX options
off the monthly cycle are PM-settled weeklies). Money in dollars, net of costs unless named gross.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import polars as pl

from alvh.core.calendar import session_offset
from alvh.transforms.backtest.readable import Costs, Market, Strategy, first_cycle_start
from alvh.transforms.backtest.sweep import SweepConfig, evaluate, prepare_group

SHIFTS = tuple(range(-15, 16))


def shifted_start(start: date, sessions: Sequence[date], phase: int) -> date:
    """The first session on or after ``start`` at which an IC cycle of the calendar shifted by
    ``phase`` sessions opens."""
    expiry = first_cycle_start(start, sessions)
    opened = session_offset(expiry, phase)
    while opened < start:
        expiry = first_cycle_start(expiry + timedelta(days=1), sessions)
        opened = session_offset(expiry, phase)
    return opened


def with_phase(strategy: Strategy, phase: int) -> Strategy:
    """``strategy`` with its IC calendar moved by ``phase`` sessions."""
    hedge = strategy.hedge
    return replace(strategy, hedge=replace(hedge, ic=replace(hedge.ic, phase_sessions=phase)))


def timing_luck(
    market: Market,
    strategies: Sequence[Strategy],
    costs: Costs,
    start: date,
    end: date,
    shifts: Sequence[int] = SHIFTS,
    progress: Callable[[int, int], None] | None = None,
) -> pl.DataFrame:
    """One row per shift and strategy: the run's span and its net and gross P&L, max drawdown
    (net), hedge P&L and costs."""
    days = [r["session_date"] for r in market.rows]
    rows = []
    for n, phase in enumerate(shifts):
        first = shifted_start(start, days, phase)
        sessions = [d for d in days if first <= d <= end]
        configs = [SweepConfig(s.name, with_phase(s, phase), costs) for s in strategies]
        group = prepare_group(market, sessions, configs[0])
        for c in configs:
            r = evaluate(group, c)
            rows.append(
                {
                    "shift": phase,
                    "strategy": c.name,
                    "start_date": sessions[0],
                    "end_date": sessions[-1],
                    "pnl_net_usd": r["total_pnl_net_usd"],
                    "pnl_gross_usd": r["total_pnl_gross_usd"],
                    "max_drawdown_net_usd": r["max_drawdown_net_usd"],
                    "hedge_pnl_usd": r["hedge_pnl_usd"],
                    "costs_usd": r["costs_usd"],
                }
            )
        if progress:
            progress(n + 1, len(shifts))
    return pl.DataFrame(rows)


def timing_summary(table: pl.DataFrame) -> pl.DataFrame:
    """Per strategy and measure (net P&L, max drawdown, hedge P&L): the unshifted value, the
    median, the 10th and 90th percentiles and the extremes over the shifts."""
    out = []
    for name in table["strategy"].unique(maintain_order=True).to_list():
        g = table.filter(pl.col("strategy") == name)
        for col in ("pnl_net_usd", "max_drawdown_net_usd", "hedge_pnl_usd"):
            v = g[col].to_numpy()
            base = g.filter(pl.col("shift") == 0)[col]
            out.append(
                {
                    "strategy": name,
                    "measure": col,
                    "shifts": len(v),
                    "unshifted": float(base[0]) if base.len() else None,
                    "median": float(np.median(v)),
                    "p10": float(np.percentile(v, 10)),
                    "p90": float(np.percentile(v, 90)),
                    "min": float(v.min()),
                    "max": float(v.max()),
                }
            )
    return pl.DataFrame(out)
