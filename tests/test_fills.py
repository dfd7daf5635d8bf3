"""Fills after the signal (issue 20, ALVH-2026.3 §9) on literal inputs: an order decided at one
close fills at the next session's close price plus the spread; ``fill_lag_sessions = 0`` keeps
the decision's own price; a contract that expires before its fill is paid by the settlement; the
compiled ledger books the same money as the readable one."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from alvh.transforms.backtest.fills import execute
from alvh.transforms.backtest.readable import Costs, Market, Trades, hedge_daily
from alvh.transforms.signal import HedgeParams
from alvh.transforms.vix_surface import call_on_surface

P = HedgeParams()
D1, D2, D3, D4 = date(2024, 1, 12), date(2024, 1, 16), date(2024, 1, 17), date(2024, 1, 18)
EXPIRY = date(2024, 1, 17)  # VX January 2024: settles on D3
LATER = date(2024, 2, 14)
VVIX = {D1: 90.0, D2: 100.0, D3: 110.0, D4: 95.0}
RATE = 0.05  # tbill_3m_pct 5.00


def market() -> Market:
    rows = [{"session_date": d, "vvix_close": v, "tbill_3m_pct": 5.0} for d, v in VVIX.items()]
    settles = {
        (D1, EXPIRY): 13.0,
        (D2, EXPIRY): 14.0,
        (D3, EXPIRY): 16.5,  # the final settlement
        (D1, LATER): 15.0,
        (D2, LATER): 16.0,
        (D3, LATER): 17.0,
        (D4, LATER): 18.0,
    }
    return Market(rows, settles, {}, {})


def order(d: date, expiry: date, side: str, qty: int, price: float) -> dict[str, Any]:
    return {
        "session_date": d,
        "contract_expiry": expiry,
        "strike": 15.0,
        "side": side,
        "qty": qty,
        "model_price": price,
        "layer": 2,
        "action": "ADD",
        "reason": "",
    }


SESSIONS = [D1, D2, D3, D4]


def test_a_lag_one_order_fills_at_the_next_close_plus_the_spread() -> None:
    costs = Costs(fill_lag_sessions=1, vix_spread_model="fitted", commission=0.65)
    ex = execute([order(D1, LATER, "BUY", 4, 9.99)], market(), SESSIONS, P, costs)
    (fill,) = ex.fills
    # D2's close: F = 16.0, 29 calendar days, VVIX 100 → the surface's price
    price = call_on_surface(100.0, 16.0, 15.0, 29.0, RATE, P.surface)[0]
    assert fill["session_date"] == D2 and fill["decision_date"] == D1
    assert fill["model_price"] == pytest.approx(price) and price != pytest.approx(9.99)
    # half-spread: max(0.025, 0.0285 + 0.0163 · P), widened by VVIX 100 / 79
    half = (0.0285 + 0.0163 * price) * (100.0 / 79.0)
    assert fill["half_spread"] == pytest.approx(half)
    daily = hedge_daily(market(), SESSIONS, Trades(ex.fills, ex.positions, set()), P, costs)
    cash = dict(zip(daily["session_date"], daily["hedge_cash"], strict=True))
    cost = dict(zip(daily["session_date"], daily["hedge_costs"], strict=True))
    assert cash[D1] == 0.0 and cost[D1] == 0.0  # nothing is held or paid on the decision day
    assert cash[D2] == pytest.approx(-4 * price * 100.0)
    assert cost[D2] == pytest.approx(4 * (0.65 + 100.0 * half))
    held = {(x["session_date"], x["qty"]) for x in ex.positions}
    assert held == {(D2, 4), (D3, 4), (D4, 4)}


def test_lag_zero_fills_at_the_decision_close_and_price() -> None:
    costs = Costs(fill_lag_sessions=0, vix_spread_model="constant", vix_half_spread=0.05)
    ex = execute([order(D1, LATER, "BUY", 4, 1.23)], market(), SESSIONS, P, costs)
    (fill,) = ex.fills
    assert (fill["session_date"], fill["model_price"], fill["half_spread"]) == (D1, 1.23, 0.05)


def test_a_sale_that_would_fill_on_expiry_day_is_paid_by_the_settlement() -> None:
    """Bought on D1 (filled D2 at lag 1), sold on D2 (a roll: would fill on D3 = expiry): the
    book holds the contract into expiry and the final settlement pays it, at no cost."""
    costs = Costs(fill_lag_sessions=1)
    orders = [order(D1, EXPIRY, "BUY", 2, 0.5), order(D2, EXPIRY, "SELL", 2, 0.7)]
    ex = execute(orders, market(), SESSIONS, P, costs)
    assert [(f["session_date"], f["action"], f["side"]) for f in ex.fills] == [
        (D2, "ADD", "BUY"),
        (D3, "SETTLE", "SELL"),
    ]
    settle = ex.fills[1]
    assert settle["model_price"] == pytest.approx(16.5 - 15.0) and settle["half_spread"] == 0.0
    assert [x["session_date"] for x in ex.positions] == [D2]  # held at D2's close only


def test_an_order_of_the_last_session_is_never_filled() -> None:
    ex = execute([order(D4, LATER, "BUY", 1, 1.0)], market(), SESSIONS, P, Costs(fill_lag_sessions=1))
    assert ex.fills == [] and ex.positions == []
