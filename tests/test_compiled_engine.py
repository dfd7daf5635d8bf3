"""The compiled day-step equals the readable engine: identical orders (session, contract, strike,
side, quantity, layer, action) and daily equity to the cent, over the whole history on the default settings
for every traded strategy, and on Hypothesis-drawn settings over a shorter window. A divergence
names the first differing session and shows both engines' rows for it."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alvh.pipeline.backtest import last_complete_session
from alvh.transforms.backtest import (
    Costs,
    Market,
    Strategy,
    Trades,
    default_strategies,
    ic_cycles,
    ic_daily,
    run_strategy,
)
from alvh.transforms.backtest_compiled import run_strategy_compiled
from alvh.transforms.signal import HedgeParams
from tests.support.hypothesis_profiles import examples
from tests.support.market import market_of, window

COSTS = Costs()
CENT = 0.005


@pytest.fixture(scope="module")
def market(signal_warehouse: Path) -> Market:
    return market_of(signal_warehouse)


def order_key(o: dict[str, Any]) -> tuple[Any, ...]:
    """What must be identical: session, contract, strike, side, quantity — and the layer and action."""
    return (o["session_date"], o["contract_expiry"], o["strike"], o["side"], o["qty"], o["layer"], o["action"])


def first_divergence(readable: tuple[pl.DataFrame, Trades], compiled: tuple[pl.DataFrame, Trades]) -> str | None:
    """None when both engines agree; else the first differing session with both engines' rows."""
    (eq_r, tr_r), (eq_c, tr_c) = readable, compiled
    by_day: dict[date, list[list[tuple[Any, ...]]]] = {}
    for side, trades in enumerate((tr_r, tr_c)):
        for o in trades.orders:
            by_day.setdefault(o["session_date"], [[], []])[side].append(order_key(o))
    cols = ["session_date", "equity_gross", "equity_net", "contracts_held", "stale"]
    for a, b in zip(eq_r.select(cols).iter_rows(named=True), eq_c.select(cols).iter_rows(named=True), strict=True):
        d = a["session_date"]
        orders_r, orders_c = by_day.get(d, [[], []])
        money = any(abs(a[c] - b[c]) >= CENT for c in ("equity_gross", "equity_net"))
        if orders_r != orders_c or money or a["contracts_held"] != b["contracts_held"] or a["stale"] != b["stale"]:
            return (
                f"first differing session {d}\n  readable: {a}\n            orders {orders_r}\n"
                f"  compiled: {b}\n            orders {orders_c}"
            )
    return None


def check_equal(market: Market, strategy: Strategy, sessions: list[date], ic: pl.DataFrame) -> None:
    readable = run_strategy(strategy, market, sessions, ic, COSTS)
    compiled = run_strategy_compiled(strategy, market, sessions, ic, COSTS)
    diff = first_divergence(readable, compiled)
    assert diff is None, f"{strategy.name}: {diff}"
    assert [order_key(o) for o in readable[1].orders] == [order_key(o) for o in compiled[1].orders]


def test_whole_history_default_settings_identical(market: Market) -> None:
    sessions = window(market, date(2007, 1, 3), last_complete_session(market))
    p = HedgeParams()
    ic = ic_daily(market, sessions, ic_cycles(market, sessions, p), p, COSTS)
    traded = [s for s in default_strategies(p) if s.kind != "unhedged"]
    assert [s.name for s in traded] == ["alvh_steward", "alvh_fixed", "calls_m1_10", "calls_m2_10"]
    for strategy in traded:
        check_equal(market, strategy, sessions, ic)
    # the comparison is not vacuous: the whole history, with well over a thousand tickets
    _, trades = run_strategy_compiled(traded[0], market, sessions, ic, COSTS)
    assert len(trades.orders) > 1000
    assert sessions[0] == date(2007, 1, 19) and sessions[-1].year >= 2026


def test_a_planted_difference_is_reported_with_its_session(market: Market) -> None:
    sessions = window(market, date(2018, 1, 2), date(2018, 3, 30))
    p = HedgeParams()
    ic = ic_daily(market, sessions, ic_cycles(market, sessions, p), p, COSTS)
    strategy = default_strategies(p)[1]
    eq, trades = run_strategy(strategy, market, sessions, ic, COSTS)
    first = trades.orders[3]
    bent = [dict(o, qty=o["qty"] + 1) if o is first else o for o in trades.orders]
    diff = first_divergence((eq, trades), (eq, Trades(bent, trades.positions, trades.stale_days)))
    assert diff is not None and diff.startswith(f"first differing session {first['session_date']}")


hedge_settings = st.fixed_dictionaries(
    {
        "band": st.sampled_from([0.05, 0.10, 0.15, 0.25, 0.40]),
        "carry_budget": st.sampled_from([0.10, 0.20, 0.35, 0.60, 1.00]),
        "min_trade_contracts": st.integers(min_value=0, max_value=10),
        "min_trade_fraction": st.sampled_from([0.0, 0.05, 0.10, 0.25]),
        "harvest_multiple": st.sampled_from([1.5, 2.0, 3.0, 5.0]),
        "target_delta": st.sampled_from([0.20, 0.30, 0.40]),
        "weights": st.tuples(*(st.integers(min_value=1, max_value=6) for _ in range(3))).map(
            lambda w: tuple(x / sum(w) for x in w)
        ),
        "roll_tdte": st.integers(min_value=0, max_value=10),
        "mode": st.sampled_from(["steward", "fixed"]),
    }
)


@settings(max_examples=examples(4), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(hedge_settings)
def test_drawn_settings_identical(market: Market, over: dict[str, Any]) -> None:
    sessions = window(market, date(2019, 9, 3), date(2020, 12, 31))  # calm, the 2020 spike, fading
    p = replace(HedgeParams(), **over)
    ic = ic_daily(market, sessions, ic_cycles(market, sessions, p), p, COSTS)
    check_equal(market, Strategy("drawn", "alvh", p), sessions, ic)
