"""The backtest on the compiled engine: a strategy's trades and daily hedge accounting from
:mod:`alvh.transforms.backtest_kernel`, in the same shapes as the readable path
(:func:`alvh.transforms.backtest.hedge_trades` + :func:`~alvh.transforms.backtest.hedge_daily`).

Orders carry the action but no reason (``reason = ""``): reasons in plain words are the readable
engine's job (the daily run publishes through it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import polars as pl

from alvh.transforms.backtest import Costs, Market, Strategy, Trades, equity_frame
from alvh.transforms.backtest_kernel import ACTIONS, MODES, N_KP, alvh_kernel, calls_kernel
from alvh.transforms.backtest_prep import EngineArrays, MarketKey, prepare_engine
from alvh.transforms.signal.params import HedgeParams

# (id of the market, first, last, count, market key) → (the market itself, its arrays): holding the
# market keeps its id from being reused by another object while the entry lives
_PREPARED: dict[tuple[int, date, date, int, MarketKey], tuple[Market, EngineArrays]] = {}


def prepared(market: Market, sessions: Sequence[date], p: HedgeParams) -> EngineArrays:
    """:func:`prepare_engine`, memoised per market object, session range and market key."""
    key = (id(market), sessions[0], sessions[-1], len(sessions), MarketKey.of(p))
    hit = _PREPARED.get(key)
    if hit is not None and hit[0] is market and hit[1].sessions == list(sessions):
        return hit[1]
    if len(_PREPARED) >= 16:
        _PREPARED.clear()
    arr = prepare_engine(market, sessions, p)
    _PREPARED[key] = (market, arr)
    return arr


def kernel_params(p: HedgeParams, costs: Costs) -> np.ndarray:
    """The hedge settings and VIX costs as the kernel's ``kp`` vector (order of the ``K_*`` indices)."""
    w = p.weights
    kp = np.array(
        [
            w[0],
            w[1],
            w[2],
            p.band,
            float(p.min_trade_contracts),
            p.min_trade_fraction,
            float(MODES.get(p.mode, 2)),
            p.fixed_ratio,
            p.carry_budget,
            p.ratio_base,
            p.ratio_span,
            p.ratio_min,
            p.ratio_max,
            p.rsi_center,
            p.rsi_scale,
            p.macd_tilt,
            p.harvest_multiple,
            p.harvest_b_multiple,
            p.harvest_b_vix,
            costs.commission,
            costs.vix_half_spread,
            float(p.hold_before_events),
        ],
        dtype=np.float64,
    )
    assert kp.size == N_KP
    return kp


@dataclass
class KernelRun:
    """One strategy on the compiled engine: daily hedge accounting, and (when recorded) the
    orders and positions as index arrays into ``arrays``."""

    arrays: EngineArrays
    daily: dict[str, np.ndarray]
    orders: dict[str, np.ndarray]
    positions: dict[str, np.ndarray]


def run_kernel(strategy: Strategy, arr: EngineArrays, costs: Costs, record: bool = True) -> KernelRun:
    """Run ``strategy`` (kind ``alvh`` or ``calls``) on prepared arrays."""
    n = len(arr.sessions)
    cap = n * 8 if record else 1
    kp = kernel_params(strategy.hedge, costs)
    while True:
        o = {
            "day": np.zeros(cap, np.int64),
            "exp": np.zeros(cap, np.int64),
            "strike": np.zeros(cap),
            "side": np.zeros(cap, np.int64),
            "qty": np.zeros(cap, np.int64),
            "price": np.zeros(cap),
            "layer": np.zeros(cap, np.int64),
            "action": np.zeros(cap, np.int64),
        }
        ps = {
            "day": np.zeros(cap, np.int64),
            "exp": np.zeros(cap, np.int64),
            "strike": np.zeros(cap),
            "qty": np.zeros(cap, np.int64),
        }
        d = {
            "hedge_cash": np.zeros(n),
            "hedge_costs": np.zeros(n),
            "hedge_mark": np.zeros(n),
            "contracts_held": np.zeros(n, np.int64),
            "contracts_traded": np.zeros(n, np.int64),
            "hedge_mark_carried": np.zeros(n, np.bool_),
            "stale": np.zeros(n, np.bool_),
        }
        outs = (*o.values(), *ps.values(), *d.values())
        if strategy.kind == "alvh":
            no, npos = alvh_kernel(
                kp,
                strategy.hedge.surface,
                arr.ordinal,
                arr.exp_ordinal,
                arr.vix,
                arr.vvix,
                arr.spx,
                arr.rate,
                arr.rsi,
                arr.hist,
                arr.cross,
                arr.regime,
                arr.eve,
                arr.m_idx,
                arr.fwd,
                arr.beta,
                arr.strike,
                arr.price,
                arr.delta,
                arr.theta,
                arr.has_ic,
                arr.credit,
                arr.vega_ic,
                arr.win_base,
                arr.win_fwd,
                arr.final,
                record,
                *outs,
            )
        elif strategy.kind == "calls":
            no, npos = calls_kernel(
                strategy.tenor,
                strategy.qty,
                kp,
                strategy.hedge.surface,
                arr.ordinal,
                arr.exp_ordinal,
                arr.vix,
                arr.vvix,
                arr.rate,
                arr.m_idx,
                arr.fwd,
                arr.strike,
                arr.price,
                arr.win_base,
                arr.win_fwd,
                arr.final,
                record,
                *outs,
            )
        else:
            raise ValueError(f"the compiled engine runs alvh and calls strategies, not {strategy.kind!r}")
        if no >= 0:
            break
        cap *= 4  # an output array was too small: run again with more room
        if cap > n * 4096:
            raise RuntimeError("compiled engine: the book exceeded its line capacity")
    return KernelRun(arr, d, {k: v[:no] for k, v in o.items()}, {k: v[:npos] for k, v in ps.items()})


def kernel_trades(run: KernelRun) -> Trades:
    """The run's orders and positions as the readable path's dict rows (reason left empty)."""
    s, e = run.arrays.sessions, run.arrays.expiries
    o, ps = run.orders, run.positions
    orders = [
        {
            "session_date": s[day],
            "contract_expiry": e[ex],
            "strike": float(k),
            "side": "BUY" if side > 0 else "SELL",
            "qty": int(q),
            "model_price": float(px),
            "layer": int(layer),
            "action": ACTIONS[act],
            "reason": "",
        }
        for day, ex, k, side, q, px, layer, act in zip(
            o["day"].tolist(),
            o["exp"].tolist(),
            o["strike"],
            o["side"].tolist(),
            o["qty"].tolist(),
            o["price"],
            o["layer"].tolist(),
            o["action"].tolist(),
            strict=True,
        )
    ]
    positions = [
        {"session_date": s[day], "contract_expiry": e[ex], "strike": float(k), "qty": int(q)}
        for day, ex, k, q in zip(ps["day"].tolist(), ps["exp"].tolist(), ps["strike"], ps["qty"].tolist(), strict=True)
    ]
    stale = {s[i] for i in np.flatnonzero(run.daily["stale"])}
    return Trades(orders, positions, stale)


def kernel_hedge_daily(run: KernelRun) -> pl.DataFrame:
    """The same frame as :func:`alvh.transforms.backtest.hedge_daily`."""
    return pl.DataFrame({"session_date": run.arrays.sessions, **run.daily})


def run_strategy_compiled(
    strategy: Strategy, market: Market, sessions: Sequence[date], ic: pl.DataFrame, costs: Costs
) -> tuple[pl.DataFrame, Trades]:
    """:func:`alvh.transforms.backtest.run_strategy` on the compiled engine."""
    if strategy.kind == "unhedged":
        from alvh.transforms.backtest import run_strategy

        return run_strategy(strategy, market, sessions, ic, costs)
    run = run_kernel(strategy, prepared(market, sessions, strategy.hedge), costs)
    return equity_frame(ic, kernel_hedge_daily(run), strategy.name), kernel_trades(run)


def final_metrics(run: KernelRun, ic_eq: np.ndarray, ic_costs_cum: np.ndarray) -> dict[str, Any]:
    """Totals of one run without building frames (dollars): equity gross/net at the end, max
    drawdowns, hedge P&L, costs, contracts traded. ``ic_eq`` is the IC equity (cash cumulated +
    mark) and ``ic_costs_cum`` its cumulated costs, per session."""
    d = run.daily
    hedge_eq = np.cumsum(d["hedge_cash"]) + d["hedge_mark"]
    costs = ic_costs_cum + np.cumsum(d["hedge_costs"])
    gross = ic_eq + hedge_eq
    net = gross - costs
    return {
        "equity_gross": gross,
        "equity_net": net,
        "hedge_equity": hedge_eq,
        "costs_cum": costs,
        "contracts_traded": int(d["contracts_traded"].sum()),
    }
