"""Many hedge configurations on the compiled engine (pure: arrays in, metric rows out).

A sweep groups its configurations by what the prepared arrays depend on (the market key and the
SPX costs, which move the IC's cost line); each group is prepared once (:class:`SweepGroup`) and
any chunk of its configurations evaluated anywhere — in this process, on a Dask worker — by
:func:`evaluate_chunk`, which returns the same numbers wherever it runs.

Metrics per configuration, gross and net of costs (dollars; returns on the IC's risk capital):
total P&L, max drawdown, Calmar (annualised return ÷ |max drawdown| as a fraction of capital,
252 sessions a year; null without a drawdown), hedge P&L, costs, contracts traded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np

from alvh.transforms.backtest.compiled import run_kernel
from alvh.transforms.backtest.metrics import risk_capital
from alvh.transforms.backtest.prep import EngineArrays, market_key, prepare_engine, slice_arrays
from alvh.transforms.backtest.readable import Costs, Market, Strategy, ic_cycles, ic_daily


@dataclass(frozen=True)
class SweepConfig:
    """One configuration: its name, the strategy it runs, its costs, and the settings it
    changes (setting name → value) for the result table."""

    name: str
    strategy: Strategy
    costs: Costs
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass
class SweepGroup:
    """Prepared inputs shared by configurations with the same market key and SPX costs."""

    arrays: EngineArrays
    ic_equity: np.ndarray  # IC cash cumulated + mark, dollars per session
    ic_costs_cum: np.ndarray  # IC costs cumulated, dollars
    capital: float  # risk capital of the IC program, dollars


def group_key(c: SweepConfig) -> tuple[Any, ...]:
    """Configurations with one key share their prepared arrays and IC program: the market key
    and the costs the IC pays."""
    return (*market_key(c.strategy.hedge), c.costs.spx_half_spread, c.costs.commission)


def prepare_group(
    market: Market, sessions: Sequence[date], c: SweepConfig, arrays: EngineArrays | None = None
) -> SweepGroup:
    """The group's inputs over ``sessions`` (which start at an IC opening, with an empty hedge
    book); ``arrays`` when already prepared over a longer range that contains ``sessions``."""
    p = c.strategy.hedge
    ics = ic_cycles(market, sessions, p)
    ic = ic_daily(market, sessions, ics, p, c.costs)
    cycles = list({x.opened: x for x in ics.values() if x.opened >= sessions[0]}.values())
    if arrays is None:
        arr = prepare_engine(market, sessions, p)
    else:
        a = arrays.sessions.index(sessions[0])
        arr = slice_arrays(arrays, a, a + len(sessions))
        assert arr.sessions == list(sessions), "the sessions are not a contiguous range of the prepared ones"
    return SweepGroup(
        arr,
        np.cumsum(ic["ic_cash"].to_numpy()) + ic["ic_mark"].to_numpy(),
        np.cumsum(ic["ic_costs"].to_numpy()),
        risk_capital(cycles),
    )


def _drawdown(eq: np.ndarray) -> float:
    return float((eq - np.maximum.accumulate(eq)).min())


def metrics(
    eq_gross: np.ndarray, eq_net: np.ndarray, capital: float, sessions: Sequence[date] | None = None
) -> dict[str, Any]:
    """Total P&L, max drawdown and Calmar, gross and net (as ``summary_metrics`` defines them),
    and — given the ``sessions`` — the tail measures of the net equity (:func:`tail_metrics`)."""
    years = max(len(eq_gross) / 252.0, 1e-9)
    out: dict[str, Any] = {}
    for kind, eq in (("gross", eq_gross), ("net", eq_net)):
        total = float(eq[-1])
        dd = _drawdown(eq)
        ann = total / capital / years
        out[f"total_pnl_{kind}_usd"] = total
        out[f"max_drawdown_{kind}_usd"] = dd
        out[f"calmar_{kind}"] = ann / (abs(dd) / capital) if dd < 0 else None
    if sessions is not None:
        out |= tail_metrics(eq_net, sessions)
    return out


CVAR_LEVEL = 0.05  # the worst 5 % of months
WORST_WINDOW = 20  # sessions


def monthly_pnl(eq: np.ndarray, sessions: Sequence[date]) -> np.ndarray:
    """P&L of each calendar month (dollars): the month's last equity minus the previous month's
    last (the first month from 0, where the run starts flat)."""
    ends = [i for i in range(len(sessions)) if i == len(sessions) - 1 or sessions[i + 1].month != sessions[i].month]
    last = np.asarray([eq[i] for i in ends])
    return np.diff(np.concatenate([[0.0], last]))


def cvar(values: np.ndarray, level: float = CVAR_LEVEL) -> float:
    """Mean of the worst ``level`` share of ``values`` (at least one value): CVaR, in dollars
    (negative is a loss)."""
    n = max(1, int(np.ceil(level * len(values))))
    return float(np.sort(values)[:n].mean())


def worst_window_loss(eq: np.ndarray, window: int = WORST_WINDOW) -> float:
    """The worst change of ``eq`` from one session's close to a close at most ``window`` sessions
    later (from a flat start), dollars."""
    e = np.concatenate([[0.0], eq])
    return float(min((e[k:] - e[:-k]).min() for k in range(1, min(window, len(e) - 1) + 1)))


def crisis_pnl(eq: np.ndarray, sessions: Sequence[date]) -> float:
    """Net P&L summed over the §9 named windows inside the run: each from its start's close (or
    the run's first session) to its end's close (or the run's last)."""
    from bisect import bisect_left, bisect_right

    from alvh.transforms.backtest.metrics import NAMED_WINDOWS

    total = 0.0
    for _, start, _, end in NAMED_WINDOWS:
        if end < sessions[0] or start > sessions[-1]:
            continue
        i = max(bisect_right(sessions, start) - 1, 0)
        j = max(min(bisect_left(sessions, end), len(sessions) - 1), i)
        if sessions[j] > end and j > i:
            j -= 1
        total += float(eq[j] - eq[i])
    return total


def tail_metrics(eq_net: np.ndarray, sessions: Sequence[date]) -> dict[str, float]:
    """Net-of-cost tail measures: CVaR 5 % of monthly P&L, the worst 20-session loss and the P&L
    over the named crisis windows (dollars; higher is better for each)."""
    return {
        "cvar5_monthly_net_usd": cvar(monthly_pnl(eq_net, sessions)),
        "worst_20d_net_usd": worst_window_loss(eq_net),
        "crisis_pnl_net_usd": crisis_pnl(eq_net, sessions),
    }


@dataclass(frozen=True)
class Equity:
    """One configuration's path over a group's sessions (dollars, cumulated)."""

    gross: np.ndarray
    net: np.ndarray
    hedge: np.ndarray  # the hedge's P&L before costs
    costs: np.ndarray  # IC and hedge costs
    traded: int  # VIX contracts traded


def equity(group: SweepGroup, c: SweepConfig, kp_rows: np.ndarray | None = None) -> Equity:
    """The configuration replayed on the compiled engine over the group's sessions;
    ``kp_rows`` switches the hedge settings by session (see ``run_kernel``)."""
    n = len(group.arrays.sessions)
    if c.strategy.kind == "unhedged":
        hedge_eq, hedge_costs, traded = np.zeros(n), np.zeros(n), 0
    else:
        d = run_kernel(c.strategy, group.arrays, c.costs, kp_rows).daily
        hedge_eq = np.cumsum(d["hedge_cash"]) + d["hedge_mark"]
        hedge_costs = np.cumsum(d["hedge_costs"])
        traded = int(d["contracts_traded"].sum())
    gross = group.ic_equity + hedge_eq
    costs = group.ic_costs_cum + hedge_costs
    return Equity(gross, gross - costs, hedge_eq, costs, traded)


def evaluate(group: SweepGroup, c: SweepConfig) -> dict[str, Any]:
    """One configuration's metric row (the hedge replayed on the compiled engine)."""
    e = equity(group, c)
    return {
        "config": c.name,
        **metrics(e.gross, e.net, group.capital, group.arrays.sessions),
        "hedge_pnl_usd": float(e.hedge[-1]),
        "costs_usd": float(e.costs[-1]),
        "contracts_traded": e.traded,
    }


def evaluate_chunk(group: SweepGroup, configs: Sequence[SweepConfig]) -> list[dict[str, Any]]:
    """Metric rows of ``configs`` (all of ``group``), in order."""
    return [evaluate(group, c) for c in configs]
