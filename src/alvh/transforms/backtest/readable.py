"""Backtest: the signal engine replayed over history with a paper book of the IC and the hedge,
marked daily by the same pricing models (ALVH_METHOD.md §9).

Accounting, per strategy and session (dollars):

- **IC**: a model IC opens at the close of each SPX monthly expiry (credit in, costs out) and
  settles at the **open** of its expiry session (SPX open, intrinsic value; the close when the
  data has no open — flagged). Between, its legs are marked with Black-Scholes and the smile.
- **Hedge**: the engine decides at a session's close; each ticket fills ``fill_lag_sessions``
  sessions later (default 1) at that close's model price on the smile surface
  (:mod:`alvh.transforms.backtest.fills`); held contracts are marked on the surface with the same-expiry
  future; a contract that reaches expiry settles at the VX final settlement (the expiry-day
  settle in the CFE data; else the VIX open of that day — flagged).
- **Costs**: commission per contract plus half the bid-ask spread (VIX options: the fitted
  spread model of :mod:`alvh.transforms.spread`, or the constant ``vix_half_spread``; SPX
  options ``spx_half_spread`` points; × $100); cash settlements cost nothing. Results are kept
  gross and net of costs.
- ``equity = cash + IC mark + hedge mark``; the daily P&L is its change. A day whose inputs are
  missing carries the previous mark (flagged): prices are never invented.

The backtest starts at the first SPX monthly expiry on or after the requested start (so the IC
is opened, not inherited) and uses data up to each session only.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Any, ClassVar

import numpy as np
import polars as pl

from alvh.core.calendar import spx_monthly_expiration
from alvh.core.settings import setting_default
from alvh.transforms.backtest.fills import execute
from alvh.transforms.forwards import ForwardCurves
from alvh.transforms.ic_book import IcBook
from alvh.transforms.pricing import black76, black_scholes, spx_smile_vol
from alvh.transforms.signal import CurveQuotes, HedgeParams, model_ic_for, replay
from alvh.transforms.signal.params import rate_of
from alvh.transforms.signal.quotes import FINAL_SETTLEMENT
from alvh.transforms.spread import SpreadModel
from alvh.transforms.vix_surface import STRIKES, call_on_surface, target_delta_strike, vix_sigma_array


@dataclass(frozen=True)
class Costs:
    """Trading costs; defaults from the settings (``SETTING_NAMES``: renames)."""

    SETTING_NAMES: ClassVar[dict[str, str]] = {"commission": "commission_usd"}

    commission: float = setting_default("commission_usd")  # dollars per contract
    vix_half_spread: float = setting_default("vix_half_spread")  # VIX points
    spx_half_spread: float = setting_default("spx_half_spread")  # SPX points
    vix_spread_model: str = setting_default("vix_spread_model")  # "fitted" | "constant"
    vix_spread_base: float = setting_default("vix_spread_base")  # VIX points
    vix_spread_slope: float = setting_default("vix_spread_slope")  # VIX points per VIX point of price
    vix_spread_floor: float = setting_default("vix_spread_floor")  # VIX points
    vix_spread_vvix_ref: float = setting_default("vix_spread_vvix_ref")  # VVIX points
    vix_spread_vvix_power: float = setting_default("vix_spread_vvix_power")
    vix_spread_scale: float = setting_default("vix_spread_scale")
    fill_lag_sessions: int = setting_default("fill_lag_sessions")  # trading sessions

    @cached_property
    def spread(self) -> SpreadModel:
        """The VIX half-spread model these costs describe (:mod:`alvh.transforms.spread`)."""
        return SpreadModel(
            float(self.vix_spread_model == "fitted"),
            self.vix_half_spread,
            self.vix_spread_base,
            self.vix_spread_slope,
            self.vix_spread_floor,
            self.vix_spread_vvix_ref,
            self.vix_spread_vvix_power,
            self.vix_spread_scale,
        )

    def spx(self, qty: int) -> float:
        return qty * (self.commission + 100.0 * self.spx_half_spread)


@dataclass(frozen=True)
class Strategy:
    """A named configuration: ``unhedged``, ``alvh`` (the engine with ``hedge`` params) or
    ``calls`` (``qty`` calls of tenor ``tenor`` at the target delta, rolled by the roll rule)."""

    name: str
    kind: str
    hedge: HedgeParams = field(default_factory=HedgeParams)
    tenor: int = 1
    qty: int = 10


def default_strategies(base: HedgeParams) -> list[Strategy]:
    from dataclasses import replace

    return [
        Strategy("unhedged", "unhedged", base),
        Strategy("alvh_steward", "alvh", replace(base, mode="steward")),
        Strategy("alvh_fixed", "alvh", replace(base, mode="fixed", fixed_ratio=0.9)),
        Strategy("calls_m1_10", "calls", base, tenor=1, qty=10),
        Strategy("calls_m2_10", "calls", base, tenor=2, qty=10),
    ]


@dataclass
class Market:
    """Everything the backtest reads, keyed by session (built from the warehouse)."""

    rows: list[dict[str, Any]]
    settles: dict[tuple[date, date], float]  # (trade date, expiry) → settle (weeklies too), final on expiry
    vix_open: dict[date, float]
    spx_open: dict[date, float]

    def __post_init__(self) -> None:
        self.by_date = {r["session_date"]: r for r in self.rows}
        self._days = sorted(self.by_date)
        self.quotes = CurveQuotes(ForwardCurves(self.settles), self.vix_open)

    def settle_of(self, d: date, expiry: date) -> float | None:
        """The forward of ``expiry`` on ``d``: its settle, else interpolated between bracketing
        contracts (§3), else None."""
        f = self.quotes.forward(d, expiry)
        return None if f is None else f.value

    def final_settlement(self, expiry: date) -> tuple[float | None, bool]:
        """(value, proxy?) — the expiry-day settle, else the VIX open of that day (the engine's rule)."""
        final = self.quotes.final_settlement(expiry)
        return (None, True) if final is None else (final[0], final[1] != FINAL_SETTLEMENT)

    def rate(self, d: date, default: float) -> float:
        row = self.by_date.get(d)
        return rate_of(row, default) if row else default

    def spx_open_suspect(self, d: date) -> bool:
        """True when the session's SPX opening print equals the previous session's close exactly:
        a source that repeats the prior close as the open (Yahoo's, on some expiries) — the IC
        settles on it all the same, flagged (§9)."""
        o = self.spx_open.get(d)
        if o is None:
            return False
        i = bisect_left(self._days, d)
        prev = self.by_date[self._days[i - 1]].get("spx_close") if 0 < i <= len(self._days) else None
        return prev is not None and float(prev) == float(o)


@dataclass
class Trades:
    """A strategy's trades: ``orders`` (the engine's tickets at their decision session; after
    :func:`alvh.transforms.backtest.fills.execute`, the fills and settlements at their fill session with
    a ``half_spread``), the ``positions`` held after each session's orders, the stale sessions,
    and — once filled — the engine's ``decisions``."""

    orders: list[dict[str, Any]]
    positions: list[dict[str, Any]]
    stale_days: set[date]
    decisions: list[dict[str, Any]] = field(default_factory=list)


def first_cycle_start(start: date, sessions: Sequence[date]) -> date:
    """The first SPX monthly expiry session on or after ``start``."""
    y, m = start.year, start.month
    for _ in range(24):
        e = spx_monthly_expiration(y, m)
        if e >= start and e in set(sessions):
            return e
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    raise ValueError(f"no SPX monthly expiry session after {start} in the data")


def hedge_trades(
    strategy: Strategy, market: Market, sessions: Sequence[date], progress: Callable[[int, int], None] | None = None
) -> Trades:
    """The strategy's tickets and positions, day by day (the same engine as the daily run)."""
    if strategy.kind == "unhedged":
        return Trades([], [], set())
    if strategy.kind == "alvh":
        rp = replay(market.rows, sessions, {}, market.quotes, strategy.hedge, progress=progress, with_stress=False)
        stale = {s["session_date"] for s in rp.signals if s["stale"]}
        return Trades(rp.orders, rp.positions, stale)
    if strategy.kind == "calls":
        return _calls_trades(strategy, market, sessions)
    raise ValueError(f"unknown strategy kind {strategy.kind!r}")


def _calls_trades(strategy: Strategy, market: Market, sessions: Sequence[date]) -> Trades:
    """Hold ``qty`` calls of tenor M_k at the target-delta strike; when the contract is no longer
    M_k (the roll rule moved on), sell it and buy the new M_k. Stale days: no trades."""
    p = strategy.hedge
    held: tuple[date, float] | None = None
    orders: list[dict[str, Any]] = []
    positions: list[dict[str, Any]] = []
    stale: set[date] = set()
    k = strategy.tenor
    for d in sessions:
        row = market.by_date[d]
        need = ("vix_close", "vvix_close")
        fwd = market.settle_of(d, row[f"m{k}_expiry"])
        if any(row.get(c) is None for c in need) or fwd is None:
            stale.add(d)
        else:
            exp = row[f"m{k}_expiry"]
            r = market.rate(d, p.default_rate)
            if held is None or held[0] != exp:
                if held is not None:
                    price = _price_held(market, d, held, row, r, p)
                    if price is None:
                        stale.add(d)
                        positions.append(
                            {"session_date": d, "contract_expiry": held[0], "strike": held[1], "qty": strategy.qty}
                        )
                        continue
                    orders.append(_order(d, held, "SELL", strategy.qty, price, k, "ROLL"))
                f = float(fwd)
                dte = int(row[f"m{k}_dte"])
                vvix = float(row["vvix_close"])
                strike = target_delta_strike(vvix, f, float(dte), r, p.target_delta, STRIKES, p.surface)
                held = (exp, strike)
                price = call_on_surface(vvix, f, strike, float(dte), r, p.surface)[0]
                orders.append(_order(d, held, "BUY", strategy.qty, price, k, "OPEN"))
        if held is not None:
            positions.append({"session_date": d, "contract_expiry": held[0], "strike": held[1], "qty": strategy.qty})
    return Trades(orders, positions, stale)


def _order(
    d: date, key: tuple[date, float], side: str, qty: int, price: float, layer: int, action: str
) -> dict[str, Any]:
    return {
        "session_date": d,
        "contract_expiry": key[0],
        "strike": key[1],
        "side": side,
        "qty": qty,
        "model_price": price,
        "layer": layer,
        "action": action,
        "reason": "",
    }


def _price_held(
    market: Market, d: date, key: tuple[date, float], row: dict[str, Any], r: float, p: HedgeParams
) -> float | None:
    exp, k = key
    if exp <= d:
        final, _ = market.final_settlement(exp)
        return None if final is None else max(final - k, 0.0)
    f = market.settle_of(d, exp)
    if f is None or row.get("vvix_close") is None:
        return None
    dte = (exp - d).days
    return call_on_surface(float(row["vvix_close"]), f, k, float(dte), r, p.surface)[0]


# --- the IC program (common to every strategy) --------------------------------------------------


def ic_cycles(market: Market, sessions: Sequence[date], p: HedgeParams) -> dict[date, IcBook]:
    """The model IC in force on each session (opened at the close of its opening session)."""
    cache: dict[date, IcBook | None] = {}
    out = {}
    for d in sessions:
        ic = model_ic_for(d, market.by_date, p, cache)
        if ic is not None:
            out[d] = ic
    return out


def ic_daily(
    market: Market, sessions: Sequence[date], ics: dict[date, IcBook], p: HedgeParams, costs: Costs
) -> pl.DataFrame:
    """Per session: IC cash flow (credit at the opening close, intrinsic value at the expiry open),
    costs, and the mark of the legs open at the close. ``sessions`` ascending."""
    q = p.ic.dividend_yield
    day_set = set(sessions)
    cash = dict.fromkeys(sessions, 0.0)
    cost = dict.fromkeys(sessions, 0.0)
    put_cash = dict.fromkeys(sessions, 0.0)  # the put side's share of ``cash`` (the rest is the call side's)
    proxy = dict.fromkeys(sessions, False)
    suspect = dict.fromkeys(sessions, False)
    cycles = {ic.opened: ic for ic in ics.values() if ic.opened in day_set}  # opened inside the run
    legs_rows = []
    for opened, ic in sorted(cycles.items()):
        cash[opened] += ic.credit_usd
        put_cash[opened] -= sum(leg.qty * leg.entry_price for leg in ic.legs if not leg.is_call) * 100.0
        cost[opened] += costs.spx(sum(abs(leg.qty) for leg in ic.legs))
        e = ic.expiry
        if e in day_set:
            s_open = market.spx_open.get(e)
            if s_open is None:
                s_open, proxy[e] = float(market.by_date[e]["spx_close"]), True
            else:
                suspect[e] = market.spx_open_suspect(e)
            for leg in ic.legs:
                intrinsic = max(s_open - leg.strike, 0.0) if leg.is_call else max(leg.strike - s_open, 0.0)
                cash[e] += leg.qty * intrinsic * 100.0
                if not leg.is_call:
                    put_cash[e] += leg.qty * intrinsic * 100.0
        for d in sessions[bisect_left(sessions, opened) : bisect_left(sessions, e)]:  # opened <= d < e
            row = market.by_date[d]
            for leg in ic.legs:
                legs_rows.append(
                    (
                        d,
                        leg.strike,
                        leg.is_call,
                        leg.qty,
                        (e - d).days,
                        float(row["spx_close"]),
                        float(row["vix_close"]),
                        market.rate(d, p.default_rate),
                    )
                )
    mark = dict.fromkeys(sessions, 0.0)
    put_mark = dict.fromkeys(sessions, 0.0)
    if legs_rows:
        days = [x[0] for x in legs_rows]
        k, call, qty, dte, s, v, r = (np.array([x[i] for x in legs_rows]) for i in range(1, 8))
        t = dte.astype(float) / 365.0
        sig = spx_smile_vol(
            s, k, t, v, a=p.ic.smile_a, b_put=p.ic.smile_b_put, b_call=p.ic.smile_b_call, floor=p.ic.smile_floor
        )
        px = np.asarray(black_scholes(s, k, t, r, sig, call.astype(bool), q))
        for day, val, is_call in zip(days, qty.astype(float) * px * 100.0, call.astype(bool), strict=True):
            mark[day] += float(val)
            if not is_call:
                put_mark[day] += float(val)
    return pl.DataFrame(
        {
            "session_date": list(sessions),
            "ic_cash": [cash[d] for d in sessions],
            "ic_costs": [cost[d] for d in sessions],
            "ic_mark": [mark[d] for d in sessions],
            "ic_settle_proxy": [proxy[d] for d in sessions],
            "ic_settle_open_suspect": [suspect[d] for d in sessions],
            "ic_put_cash": [put_cash[d] for d in sessions],
            "ic_put_mark": [put_mark[d] for d in sessions],
        }
    )


def hedge_daily(market: Market, sessions: Sequence[date], trades: Trades, p: HedgeParams, costs: Costs) -> pl.DataFrame:
    """Per session: hedge cash flow, costs, mark of the contracts held after the orders, contracts
    held and traded (vectorised over all positions)."""
    cash = {d: 0.0 for d in sessions}
    cost = {d: 0.0 for d in sessions}
    traded = {d: 0 for d in sessions}
    for o in trades.orders:
        d = o["session_date"]
        signed = o["qty"] if o["side"] == "BUY" else -o["qty"]
        cash[d] -= signed * o["model_price"] * 100.0
        if o["contract_expiry"] > d:  # a cash settlement at expiry costs nothing
            half = o.get("half_spread", costs.vix_half_spread)  # a hand-made ticket: the constant
            cost[d] += o["qty"] * (costs.commission + 100.0 * half)
            traded[d] += o["qty"]
    mark = {d: 0.0 for d in sessions}
    held = {d: 0 for d in sessions}
    carried = {d: False for d in sessions}
    if trades.positions:
        pos = trades.positions
        f = np.array([market.settle_of(x["session_date"], x["contract_expiry"]) or np.nan for x in pos], dtype=float)
        dte = np.array([(x["contract_expiry"] - x["session_date"]).days for x in pos], dtype=float)
        vv = np.array([market.by_date[x["session_date"]].get("vvix_close") or np.nan for x in pos], dtype=float)
        r = np.array([market.rate(x["session_date"], p.default_rate) for x in pos])
        k = np.array([x["strike"] for x in pos], dtype=float)
        ok = np.isfinite(f) & np.isfinite(vv) & (dte > 0)
        px = np.full(len(pos), np.nan)
        if ok.any():
            sig = vix_sigma_array(vv[ok], f[ok], k[ok], dte[ok], p.surface)
            px[ok] = np.asarray(black76(f[ok], k[ok], dte[ok] / 365.0, r[ok], sig, True))
        # a line opened today with no price today is carried at its fill price
        opened_at = {(o["session_date"], o["contract_expiry"], o["strike"]): o["model_price"] for o in trades.orders}
        last_px: dict[tuple[date, float], float] = {}
        held_before: set[tuple[date, float]] = set()  # the lines held at the previous session's close
        held_now: set[tuple[date, float]] = set()
        day = None
        for x, price in zip(pos, px, strict=True):
            key = (x["contract_expiry"], x["strike"])
            d = x["session_date"]
            if d != day:
                held_before, held_now, day = held_now, set(), d
            held_now.add(key)
            if np.isnan(price):
                fresh = key not in held_before and (d, *key) in opened_at
                price = opened_at[(d, *key)] if fresh else last_px.get(key, 0.0)  # carried (flagged)
                carried[d] = True
            last_px[key] = float(price)
            mark[d] += x["qty"] * float(price) * 100.0
            held[d] += x["qty"]
    return pl.DataFrame(
        {
            "session_date": list(sessions),
            "hedge_cash": [cash[d] for d in sessions],
            "hedge_costs": [cost[d] for d in sessions],
            "hedge_mark": [mark[d] for d in sessions],
            "contracts_held": [held[d] for d in sessions],
            "contracts_traded": [traded[d] for d in sessions],
            "hedge_mark_carried": [carried[d] for d in sessions],
            "stale": [d in trades.stale_days for d in sessions],
        }
    )


def equity_frame(ic: pl.DataFrame, hedge: pl.DataFrame, strategy: str) -> pl.DataFrame:
    """Cumulative equity (gross and net of costs) and daily P&L split into IC and hedge."""
    f = ic.join(hedge, on="session_date").sort("session_date")
    ic_eq = pl.col("ic_cash").cum_sum() + pl.col("ic_mark")
    h_eq = pl.col("hedge_cash").cum_sum() + pl.col("hedge_mark")
    costs = (pl.col("ic_costs") + pl.col("hedge_costs")).cum_sum()
    put_eq = pl.col("ic_put_cash").cum_sum() + pl.col("ic_put_mark")
    f = f.with_columns(
        pl.lit(strategy).alias("strategy"),
        ic_eq.alias("ic_equity"),
        put_eq.alias("ic_put_equity"),
        (ic_eq - put_eq).alias("ic_call_equity"),
        h_eq.alias("hedge_equity"),
        costs.alias("costs_cum"),
    ).with_columns(
        (pl.col("ic_equity") + pl.col("hedge_equity")).alias("equity_gross"),
        (pl.col("ic_equity") + pl.col("hedge_equity") - pl.col("costs_cum")).alias("equity_net"),
    )
    return f.with_columns(
        pl.col("ic_equity").diff().fill_null(pl.col("ic_equity")).alias("ic_pnl"),
        pl.col("hedge_equity").diff().fill_null(pl.col("hedge_equity")).alias("hedge_pnl"),
        pl.col("equity_net").diff().fill_null(pl.col("equity_net")).alias("net_pnl"),
    )


def run_strategy(
    strategy: Strategy,
    market: Market,
    sessions: Sequence[date],
    ic: pl.DataFrame,
    costs: Costs,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[pl.DataFrame, Trades]:
    decided = hedge_trades(strategy, market, sessions, progress)
    ex = execute(decided.orders, market, sessions, strategy.hedge, costs)
    trades = Trades(ex.fills, ex.positions, decided.stale_days, decided.orders)
    hedge = hedge_daily(market, sessions, trades, strategy.hedge, costs)
    return equity_frame(ic, hedge, strategy.name), trades
