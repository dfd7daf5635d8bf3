"""Fills after the signal (ALVH_METHOD.md §9, ALVH-2026.3): the engine decides at a session's
close — it needs that close's VIX, VVIX and VX settles — so the earliest a trader can fill its
orders is the next session. This is the backtest's book as filled, the plain reference the
compiled :func:`alvh.transforms.backtest.kernel.account_kernel` is checked against.

Rules, per session in order:

1. **Settle** every held line whose contract expired on or before the session and has a final
   value: it pays ``max(final − K, 0)`` × 100 per contract, no cost (the engine's own settlement
   orders are not fills: the book settles what it actually holds).
2. **Fill** the orders decided ``lag`` sessions earlier (``Costs.fill_lag_sessions``). The price
   is the contract's model price at this session's close (the smile surface, §4) — or the
   decision's own price when ``lag`` is 0 (the method's comparison setting) or the contract has
   no price today. An order whose contract has expired by its fill session is not filled: the
   settlement pays what the book held. Each fill pays the commission plus the half-spread
   (:func:`alvh.transforms.spread.vix_half_spread`, at the fill price and the fill session's
   VVIX), × $100 per contract.
3. What is held after the fills is the session's position (marked by ``hedge_daily``).

An order decided in the last ``lag`` sessions of a run is never filled. Units: prices in VIX
points, money in dollars, ``lag`` in trading sessions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from alvh.transforms.signal.params import rate_of
from alvh.transforms.spread import vix_half_spread
from alvh.transforms.vix_surface import call_on_surface

if TYPE_CHECKING:
    from alvh.transforms.backtest.readable import Costs, Market
    from alvh.transforms.signal import HedgeParams


@dataclass
class Execution:
    """The book as filled: ``fills`` (each filled order and each settlement, in session order:
    the order's keys with ``session_date`` the fill session, ``decision_date``, ``model_price``
    the fill price, ``half_spread``; settlements have ``action`` SETTLE and no spread) and the
    ``positions`` held after each session's fills (sorted by contract and strike)."""

    fills: list[dict[str, Any]]
    positions: list[dict[str, Any]]


def fill_price(market: Market, d: date, expiry: date, strike: float, p: HedgeParams) -> float | None:
    """The contract's model price at ``d``'s close on the surface, or None without a forward or
    VVIX (VIX points)."""
    row = market.by_date[d]
    f = market.settle_of(d, expiry)
    if f is None or row.get("vvix_close") is None:
        return None
    r = rate_of(row, p.default_rate)
    return call_on_surface(float(row["vvix_close"]), f, strike, float((expiry - d).days), r, p.surface)[0]


def execute(
    orders: Sequence[dict[str, Any]], market: Market, sessions: Sequence[date], p: HedgeParams, costs: Costs
) -> Execution:
    """The engine's ``orders`` (decisions, at their session's model price) as filled over
    ``sessions`` (ascending, the run's)."""
    lag = costs.fill_lag_sessions
    index = {d: i for i, d in enumerate(sessions)}
    due: dict[int, list[dict[str, Any]]] = {}
    for o in orders:
        if o.get("action") == "SETTLE" or o["contract_expiry"] <= o["session_date"]:
            continue  # the engine's settlement: the book below settles what it holds
        due.setdefault(index[o["session_date"]] + lag, []).append(o)
    book: dict[tuple[date, float], int] = {}
    fills: list[dict[str, Any]] = []
    positions: list[dict[str, Any]] = []
    for i, d in enumerate(sessions):
        for (expiry, strike), qty in sorted(book.items()):
            final = market.final_settlement(expiry)[0] if expiry <= d else None
            if qty != 0 and final is not None:
                value = max(final - strike, 0.0)
                fills.append(settlement_row(d, expiry, strike, qty, value))
                book[(expiry, strike)] = 0
        for o in due.get(i, []):
            expiry, strike = o["contract_expiry"], o["strike"]
            if expiry <= d:
                continue  # expired before it could fill: the settlement pays what is held
            price = o["model_price"]
            later = fill_price(market, d, expiry, strike, p) if lag > 0 else None
            price = price if later is None else later
            vvix = market.by_date[d].get("vvix_close") or market.by_date[o["session_date"]].get("vvix_close")
            hs = vix_half_spread(price, math.nan if vvix is None else float(vvix), costs.spread)
            fills.append(
                o | {"session_date": d, "decision_date": o["session_date"], "model_price": price, "half_spread": hs}
            )
            signed = o["qty"] if o["side"] == "BUY" else -o["qty"]
            book[(expiry, strike)] = book.get((expiry, strike), 0) + signed
        book = {key: qty for key, qty in book.items() if qty != 0}
        positions.extend(
            {"session_date": d, "contract_expiry": e, "strike": k, "qty": q} for (e, k), q in sorted(book.items())
        )
    return Execution(fills, positions)


def settlement_row(d: date, expiry: date, strike: float, qty: int, value: float) -> dict[str, Any]:
    return {
        "session_date": d,
        "decision_date": d,
        "contract_expiry": expiry,
        "strike": strike,
        "side": "SELL",
        "qty": qty,
        "model_price": value,
        "half_spread": 0.0,
        "layer": 1,
        "action": "SETTLE",
        "reason": "",
    }
