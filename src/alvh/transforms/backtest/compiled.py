"""The backtest on the compiled engine: a strategy's trades and daily hedge accounting from
:mod:`alvh.transforms.backtest.kernel`, in the same shapes as the readable path
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

from alvh.transforms.backtest.fills import settlement_row
from alvh.transforms.backtest.kernel import account_kernel, alvh_kernel, calls_kernel
from alvh.transforms.backtest.prep import EngineArrays, MarketKey, prepare_engine
from alvh.transforms.backtest.readable import Costs, Market, Strategy, Trades, equity_frame
from alvh.transforms.signal import compiled_rules as cr
from alvh.transforms.signal.compiled_rules import settings_record
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


@dataclass
class KernelRun:
    """One strategy on the compiled engine: the engine's orders (``orders``, index arrays into
    ``arrays``), each order's fill (``fill_day`` −1: not filled, ``fill_price``,
    ``half_spread``), the settlements and positions of the book as filled, and the daily hedge
    accounting."""

    arrays: EngineArrays
    daily: dict[str, np.ndarray]
    orders: dict[str, np.ndarray]
    fills: dict[str, np.ndarray]
    settlements: dict[str, np.ndarray]
    positions: dict[str, np.ndarray]


def _decide(
    strategy: Strategy, arr: EngineArrays, kp_rows: np.ndarray | None
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The engine's orders (trimmed) and stale flags; ``kp_rows`` one settings vector per
    session (default: the strategy's on every session)."""
    n = len(arr.sessions)
    if kp_rows is None:
        kp_rows = np.tile(settings_record(strategy.hedge), (n, 1))
    cap = n * 8
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
        stale = np.zeros(n, np.bool_)
        mk = arr.curve(strategy.hedge.surface)
        if strategy.kind == "alvh":
            no = alvh_kernel(kp_rows, mk, arr.decision_inputs(), tuple(o.values()), stale)
        elif strategy.kind == "calls":
            layer = (arr.vix, arr.strike, arr.price)
            no = calls_kernel(strategy.tenor, strategy.qty, mk, layer, tuple(o.values()), stale)
        else:
            raise ValueError(f"the compiled engine runs alvh and calls strategies, not {strategy.kind!r}")
        if no >= 0:
            return {k: v[:no] for k, v in o.items()}, stale
        cap *= 4  # an output array was too small: run again with more room
        if cap > n * 4096:
            raise RuntimeError("compiled engine: the book exceeded its line capacity")


def run_kernel(strategy: Strategy, arr: EngineArrays, costs: Costs, kp_rows: np.ndarray | None = None) -> KernelRun:
    """Run ``strategy`` (kind ``alvh`` or ``calls``) on prepared arrays, then fill its orders;
    ``kp_rows`` (n × ``compiled_rules.N_KP``) switches the hedge settings by session (a walk-forward path)."""
    o, stale = _decide(strategy, arr, kp_rows)
    n, no = len(arr.sessions), len(o["day"])
    cap = n * 8
    while True:
        f = {"day": np.zeros(no, np.int64), "price": np.zeros(no), "half_spread": np.zeros(no)}
        st = {
            "day": np.zeros(n, np.int64),
            "exp": np.zeros(n, np.int64),
            "strike": np.zeros(n),
            "qty": np.zeros(n, np.int64),
        }
        st["price"] = np.zeros(n)
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
        }
        out = tuple(tuple(x.values()) for x in (f, st, ps, d))
        mk = arr.curve(strategy.hedge.surface)
        ns, npos = account_kernel(
            costs.fill_lag_sessions, costs.commission, costs.spread, mk, no, tuple(o.values()), out
        )
        if ns >= 0:
            break
        cap *= 4
        if cap > n * 4096:
            raise RuntimeError("compiled engine: the book exceeded its line capacity")
    d["stale"] = stale
    return KernelRun(arr, d, o, f, {k: v[:ns] for k, v in st.items()}, {k: v[:npos] for k, v in ps.items()})


def kernel_trades(run: KernelRun) -> Trades:
    """The run as the readable path's :class:`Trades`: the fills and settlements (by session:
    settlements first, then fills in decision order), the positions, the stale sessions and the
    engine's decisions (reasons left empty)."""
    s, e = run.arrays.sessions, run.arrays.expiries
    o, f = run.orders, run.fills
    decisions = [
        {
            "session_date": s[day],
            "contract_expiry": e[ex],
            "strike": float(k),
            "side": "BUY" if side > 0 else "SELL",
            "qty": int(q),
            "model_price": float(px),
            "layer": int(layer),
            "action": cr.ACTIONS[act],
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
    by_day: dict[int, list[dict[str, Any]]] = {}
    st = run.settlements
    for day, ex, k, q, px in zip(
        st["day"].tolist(), st["exp"].tolist(), st["strike"], st["qty"].tolist(), st["price"], strict=True
    ):
        by_day.setdefault(day, []).append(settlement_row(s[day], e[ex], float(k), int(q), float(px)))
    for x, (day, px, hs) in enumerate(zip(f["day"].tolist(), f["price"], f["half_spread"], strict=True)):
        if day >= 0:
            fill = {"session_date": s[day], "decision_date": decisions[x]["session_date"], "model_price": float(px)}
            by_day.setdefault(day, []).append(decisions[x] | fill | {"half_spread": float(hs)})
    fills = [row for day in sorted(by_day) for row in by_day[day]]
    ps = run.positions
    positions = [
        {"session_date": s[day], "contract_expiry": e[ex], "strike": float(k), "qty": int(q)}
        for day, ex, k, q in zip(ps["day"].tolist(), ps["exp"].tolist(), ps["strike"], ps["qty"].tolist(), strict=True)
    ]
    stale = {s[i] for i in np.flatnonzero(run.daily["stale"])}
    return Trades(fills, positions, stale, decisions)


def kernel_hedge_daily(run: KernelRun) -> pl.DataFrame:
    """The same frame as :func:`alvh.transforms.backtest.hedge_daily`."""
    return pl.DataFrame({"session_date": run.arrays.sessions, **run.daily})


def run_strategy_compiled(
    strategy: Strategy, market: Market, sessions: Sequence[date], ic: pl.DataFrame, costs: Costs
) -> tuple[pl.DataFrame, Trades]:
    """:func:`alvh.transforms.backtest.run_strategy` on the compiled engine."""
    if strategy.kind == "unhedged":
        from alvh.transforms.backtest.readable import run_strategy

        return run_strategy(strategy, market, sessions, ic, costs)
    run = run_kernel(strategy, prepared(market, sessions, strategy.hedge), costs)
    return equity_frame(ic, kernel_hedge_daily(run), strategy.name), kernel_trades(run)
