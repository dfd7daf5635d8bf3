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

from alvh.transforms.backtest.kernel import MAX_LINES, account_kernel, alvh_kernel, calls_kernel
from alvh.transforms.backtest.prep import EngineArrays, market_key, prepare_engine
from alvh.transforms.backtest.readable import Costs, Market, Strategy, Trades, equity_frame, run_strategy
from alvh.transforms.signal import compiled_rules as cr
from alvh.transforms.signal.params import HedgeParams

N, F, B = np.int64, np.float64, np.bool_
# the kernels' output arrays, in the order they write them
ORDER = {"day": N, "exp": N, "strike": F, "side": N, "qty": N, "price": F, "layer": N, "action": N}
FILL = {"fill_day": N, "fill_price": F, "half_spread": F}  # an order's fill
LINE = {"day": N, "exp": N, "strike": F, "qty": N}  # a position (a settlement is an order)
DAILY = {"hedge_cash": F, "hedge_costs": F, "hedge_mark": F, "contracts_held": N, "contracts_traded": N}
ROOM = 16  # output rows per session of a run's first attempt (a book holds ~6 lines a session)

# (id of the market, its sessions, market key) → (the market itself, its arrays): holding the
# market keeps its id from being reused by another object while the entry lives
_PREPARED: dict[tuple[Any, ...], tuple[Market, EngineArrays]] = {}


def prepared(market: Market, sessions: Sequence[date], p: HedgeParams) -> EngineArrays:
    """:func:`prepare_engine`, memoised per market object, sessions and market key (16 entries)."""
    key = (id(market), tuple(sessions), market_key(p))
    hit = _PREPARED.get(key)
    if hit is None or hit[0] is not market:
        if len(_PREPARED) >= 16:
            _PREPARED.clear()
        hit = _PREPARED[key] = (market, prepare_engine(market, sessions, p))
    return hit[1]


def _zeros(spec: dict[str, Any], n: int) -> dict[str, np.ndarray]:
    return {k: np.zeros(n, t) for k, t in spec.items()}


@dataclass
class KernelRun:
    """One strategy on the compiled engine: the engine's orders (``orders``, index arrays into
    ``arrays``) with each order's fill (``fill_day`` −1: not filled, ``fill_price``,
    ``half_spread``), the settlements and positions of the book as filled, and the daily hedge
    accounting. Settlements are order arrays too (side −1, layer 1, action SETTLE)."""

    arrays: EngineArrays
    daily: dict[str, np.ndarray]
    orders: dict[str, np.ndarray]
    settlements: dict[str, np.ndarray]
    positions: dict[str, np.ndarray]


def run_kernel(strategy: Strategy, arr: EngineArrays, costs: Costs, kp_rows: np.ndarray | None = None) -> KernelRun:
    """Run ``strategy`` (kind ``alvh`` or ``calls``) on prepared arrays, then fill its orders;
    ``kp_rows`` (n × ``compiled_rules.N_KP``) switches the hedge settings by session (a walk-forward
    path; default: the strategy's settings on every session). The output arrays start at
    :data:`ROOM` rows per session and grow ×4 while a kernel reports it ran out of room (−1)."""
    if strategy.kind not in ("alvh", "calls"):
        raise ValueError(f"the compiled engine runs alvh and calls strategies, not {strategy.kind!r}")
    n = len(arr.ordinal)
    if kp_rows is None:
        kp_rows = np.tile(cr.settings_record(strategy.hedge), (n, 1))
    lag, fee, spread = costs.fill_lag_sessions, costs.commission, costs.spread
    for cap in (n * ROOM * 4**t for t in range(4)):  # up to 1,024 rows a session
        o, stale = _zeros(ORDER, cap), np.zeros(n, B)
        if strategy.kind == "alvh":
            no = alvh_kernel(kp_rows, arr, tuple(o.values()), stale)
        else:
            no = calls_kernel(strategy.tenor, strategy.qty, arr, tuple(o.values()), stale)
        if no < 0:
            continue
        o = {k: v[:no] for k, v in o.items()}
        f, st, ps = _zeros(FILL, no), _zeros(ORDER, cap), _zeros(LINE, cap)
        d = _zeros(DAILY | {"hedge_mark_carried": B}, n)
        out = tuple(tuple(x.values()) for x in (f, st, ps, d))
        ns, npos = account_kernel(lag, fee, spread, arr, no, tuple(o.values()), out)
        if ns >= 0:
            trim = ({k: v[:ns] for k, v in st.items()}, {k: v[:npos] for k, v in ps.items()})
            return KernelRun(arr, d | {"stale": stale}, o | f, *trim)
    raise RuntimeError(f"compiled engine: {strategy.name} holds more than {MAX_LINES} book lines on a session")


def _rows(dates: dict[str, tuple[str, pl.Series]], cols: dict[str, Any]) -> list[dict[str, Any]]:
    """Index arrays as the readable path's row dicts: ``day`` and ``exp`` become the dates they
    index (``dates``: index column → date column and its dates); every other column is kept."""
    named: dict[str, Any] = {}
    for name, values in cols.items():
        label, index = dates.get(name, (name, None))
        named[label] = values if index is None else index.gather(values)
    return pl.DataFrame(named).to_dicts()


def _orders(dates: dict[str, tuple[str, pl.Series]], o: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """Order arrays as the readable engine's order rows (reasons left empty)."""
    side = np.where(o["side"] > 0, "BUY", "SELL")
    named = {"day": o["day"], "exp": o["exp"], "strike": o["strike"], "side": side, "qty": o["qty"]}
    action = np.array(cr.ACTIONS)[o["action"]]
    return _rows(dates, named | {"model_price": o["price"], "layer": o["layer"], "action": action, "reason": ""})


def kernel_trades(run: KernelRun) -> Trades:
    """The run as the readable path's :class:`Trades`: the fills and settlements (by session:
    settlements first, then fills in decision order), the positions, the stale sessions and the
    engine's decisions (reasons left empty)."""
    o, s = run.orders, run.arrays.sessions  # the session and expiry dates, built once
    dates = {"day": ("session_date", pl.Series(s)), "exp": ("contract_expiry", pl.Series(run.arrays.expiries))}
    decisions = _orders(dates, o)
    rows = [
        (r["session_date"], r | {"decision_date": r["session_date"], "half_spread": 0.0})
        for r in _orders(dates, run.settlements)
    ]
    for x, (day, px, hs) in enumerate(zip(*(o[k].tolist() for k in FILL), strict=True)):
        if day >= 0:
            fill = {"session_date": s[day], "decision_date": decisions[x]["session_date"], "model_price": px}
            rows.append((s[day], decisions[x] | fill | {"half_spread": hs}))
    fills = [row for _, row in sorted(rows, key=lambda t: t[0])]  # a stable sort: settlements first
    stale = {s[i] for i in np.flatnonzero(run.daily["stale"])}
    return Trades(fills, _rows(dates, run.positions), stale, decisions)


def kernel_hedge_daily(run: KernelRun) -> pl.DataFrame:
    """The same frame as :func:`alvh.transforms.backtest.hedge_daily`."""
    return pl.DataFrame({"session_date": run.arrays.sessions, **run.daily})


def run_strategy_compiled(
    strategy: Strategy, market: Market, sessions: Sequence[date], ic: pl.DataFrame, costs: Costs
) -> tuple[pl.DataFrame, Trades]:
    """:func:`alvh.transforms.backtest.run_strategy` on the compiled engine."""
    if strategy.kind == "unhedged":
        return run_strategy(strategy, market, sessions, ic, costs)
    run = run_kernel(strategy, prepared(market, sessions, strategy.hedge), costs)
    return equity_frame(ic, kernel_hedge_daily(run), strategy.name), kernel_trades(run)
