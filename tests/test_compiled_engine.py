"""The compiled day-step equals the readable engine: identical orders (session, contract, strike,
side, quantity, layer, action) and daily equity to the cent, over the whole history on the default settings
for every traded strategy, and on Hypothesis-drawn settings over a shorter window. A divergence
names the first differing session and shows both engines' rows for it."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alvh.pipeline.backtest import last_complete_session
from alvh.transforms.backtest import compiled
from alvh.transforms.backtest.compiled import prepared, run_strategy_compiled
from alvh.transforms.backtest.prep import WINDOW, WINDOW_BEFORE
from alvh.transforms.backtest.readable import (
    Costs,
    Market,
    Strategy,
    Trades,
    default_strategies,
    ic_cycles,
    ic_daily,
    run_strategy,
)
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


def check_equal(
    market: Market, strategy: Strategy, sessions: list[date], ic: pl.DataFrame, costs: Costs = COSTS
) -> list[tuple[Any, ...]]:
    """Assert both engines equal; return the tickets they agree on (as ``order_key`` s)."""
    readable = run_strategy(strategy, market, sessions, ic, costs)
    compiled = run_strategy_compiled(strategy, market, sessions, ic, costs)
    diff = first_divergence(readable, compiled)
    assert diff is None, f"{strategy.name}: {diff}"
    keys = [order_key(o) for o in readable[1].orders]
    assert keys == [order_key(o) for o in compiled[1].orders]
    assert_same_fills_and_positions(readable[1], compiled[1])
    return keys


def assert_same_fills_and_positions(readable: Trades, compiled: Trades) -> None:
    """Every fill and settlement row alike — its decision session, and its price and half-spread
    to 1e-9 VIX points — and the same positions (session, contract, strike, quantity) after each
    session."""
    assert [o["decision_date"] for o in readable.orders] == [o["decision_date"] for o in compiled.orders]
    for r, c in zip(readable.orders, compiled.orders, strict=True):
        assert (r["model_price"], r["half_spread"]) == pytest.approx((c["model_price"], c["half_spread"]), abs=1e-9)
    held = ("session_date", "contract_expiry", "strike", "qty")
    assert [tuple(x[k] for k in held) for x in readable.positions] == [
        tuple(x[k] for k in held) for x in compiled.positions
    ]


@pytest.mark.parametrize(
    ("name", "value"), [("band", 0.05), ("harvest_b_vix", 18.0), ("min_trade_contracts", 8), ("carry_budget", 0.15)]
)
def test_one_threshold_changed_in_the_settings_moves_both_engines(market: Market, name: str, value: Any) -> None:
    """A rule lives in one place (``alvh.transforms.signal.compiled_rules``) and reads its
    threshold from the settings: moving the threshold changes the plan, and both engines follow,
    ticket for ticket."""
    sessions = window(market, date(2018, 1, 2), date(2020, 12, 31))
    plans = []
    for p in (HedgeParams(), replace(HedgeParams(), **{name: value})):
        ic = ic_daily(market, sessions, ic_cycles(market, sessions, p), p, COSTS)
        plans.append(check_equal(market, Strategy(f"{name}={getattr(p, name)}", "alvh", p), sessions, ic))
    assert plans[0] != plans[1], f"{name} = {value} changed nothing over 2018–2020: pick a threshold that binds"


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


def test_a_run_that_outgrows_its_first_arrays_grows_them(market: Market, monkeypatch: pytest.MonkeyPatch) -> None:
    """The book holds ~6 lines a session: with room for one row a session the positions overflow,
    the kernels report it and the run is repeated on larger arrays, to the same result."""
    sessions = window(market, date(2018, 1, 2), date(2018, 12, 31))
    p = HedgeParams()
    ic = ic_daily(market, sessions, ic_cycles(market, sessions, p), p, COSTS)
    steward = default_strategies(p)[1]
    roomy = run_strategy_compiled(steward, market, sessions, ic, COSTS)
    monkeypatch.setattr(compiled, "ROOM", 1)
    cramped = run_strategy_compiled(steward, market, sessions, ic, COSTS)
    assert len(cramped[1].positions) > len(sessions), "the first arrays must overflow for this to test growth"
    assert cramped[0].equals(roomy[0])
    assert (cramped[1].orders, cramped[1].positions) == (roomy[1].orders, roomy[1].positions)
    assert cramped[1].decisions == roomy[1].decisions


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


# --- every hedge and cost setting, on real and synthetic markets (issue 19) ---------------------

HEDGE_DRAWS: dict[str, st.SearchStrategy[Any]] = {
    "weights": st.tuples(*(st.integers(min_value=1, max_value=6) for _ in range(3))).map(
        lambda w: tuple(x / sum(w) for x in w)
    ),
    "band": st.sampled_from([0.05, 0.15, 0.40]),
    "min_trade_contracts": st.integers(min_value=0, max_value=10),
    "min_trade_fraction": st.sampled_from([0.0, 0.10, 0.25]),
    "mode": st.sampled_from(["steward", "fixed"]),
    "fixed_ratio": st.sampled_from([0.2, 0.9, 1.5]),
    "carry_budget": st.sampled_from([0.10, 0.35, 1.00]),
    "ratio_base": st.sampled_from([0.7, 0.9, 1.1]),
    "ratio_span": st.sampled_from([0.0, 0.3, 0.5]),
    "ratio_min": st.sampled_from([0.3, 0.6]),
    "ratio_max": st.sampled_from([1.2, 2.0]),
    "rsi_center": st.sampled_from([45.0, 50.0, 55.0]),
    "rsi_scale": st.sampled_from([10.0, 20.0]),
    "macd_tilt": st.sampled_from([0.0, 0.1, 0.3]),
    "harvest_multiple": st.sampled_from([1.5, 3.0, 5.0]),
    "harvest_b_multiple": st.sampled_from([1.5, 2.0, 4.0]),
    "harvest_b_vix": st.sampled_from([15.0, 25.0, 35.0]),
    "hold_before_events": st.booleans(),
    "target_delta": st.sampled_from([0.20, 0.30, 0.40]),
}
COST_DRAWS: dict[str, st.SearchStrategy[Any]] = {
    "commission": st.sampled_from([0.0, 0.65, 2.5]),
    "vix_half_spread": st.sampled_from([0.0, 0.05, 0.20]),
    "spx_half_spread": st.sampled_from([0.0, 0.30]),
    "vix_spread_model": st.sampled_from(["fitted", "constant"]),
    "vix_spread_scale": st.sampled_from([0.5, 1.0, 4.0]),
    "fill_lag_sessions": st.integers(min_value=0, max_value=3),
}


def synthetic(market: Market, kind: str) -> Market:
    """The real market, or a copy with a contract missing for 8 sessions (forwards interpolated),
    a 5-session spike to VIX 80 / VVIX 180, or a 5-session stale stretch (no VVIX)."""
    if kind == "real":
        return market
    rows = [dict(r) for r in market.rows]
    settles = dict(market.settles)
    days = [r["session_date"] for r in rows]
    at = {d: i for i, d in enumerate(days)}
    if kind == "gap":
        hit = [d for d in days if date(2020, 2, 3) <= d <= date(2020, 2, 12)]
        expiry = market.by_date[hit[0]]["m2_expiry"]
        for d in hit:
            settles.pop((d, expiry), None)
    elif kind == "spike":
        for d in [d for d in days if date(2019, 11, 4) <= d <= date(2019, 11, 8)]:
            rows[at[d]] |= {"vix_close": 80.0, "vvix_close": 180.0}
    elif kind == "stale":
        for d in [d for d in days if date(2020, 6, 1) <= d <= date(2020, 6, 5)]:
            rows[at[d]] |= {"vvix_close": None}
    return Market(rows, settles, market.vix_open, market.spx_open)


@settings(max_examples=examples(10), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.fixed_dictionaries(HEDGE_DRAWS),
    st.fixed_dictionaries(COST_DRAWS),
    st.sampled_from(["real", "gap", "spike", "stale"]),
)
def test_every_setting_and_synthetic_markets_identical(
    market: Market, hedge: dict[str, Any], cost: dict[str, Any], kind: str
) -> None:
    m = synthetic(market, kind)
    sessions = window(m, date(2019, 9, 3), date(2020, 12, 31))
    p = replace(HedgeParams(), **hedge)
    costs = replace(COSTS, **cost)
    ic = ic_daily(m, sessions, ic_cycles(m, sessions, p), p, costs)
    check_equal(m, Strategy("drawn", "alvh", p), sessions, ic, costs)


def test_the_drawn_settings_cover_every_kernel_setting() -> None:
    """A new kernel setting must be drawn here too (or the equality test does not reach it)."""
    from dataclasses import fields

    from alvh.transforms.signal.compiled_rules import KERNEL_FIELDS

    assert set(KERNEL_FIELDS) <= set(HEDGE_DRAWS)
    assert {f.name for f in fields(Costs)} == set(COST_DRAWS) | {
        "vix_spread_base",
        "vix_spread_slope",
        "vix_spread_floor",
        "vix_spread_vvix_ref",
        "vix_spread_vvix_power",
    }  # the fitted model's constants: drawn through vix_spread_scale and the model switch


def test_the_forward_window_holds_every_layers_forward(market: Market) -> None:
    """The kernel prices a held line on ``win_fwd`` alone: M1–M3 sit inside the window on every
    session and their window forward is the layer's forward (the same ``quotes.forward``)."""
    sessions = window(market, date(2007, 1, 3), last_complete_session(market))
    a = prepared(market, sessions, HedgeParams())
    offset = a.m_idx - a.m_idx[:, :1] + WINDOW_BEFORE
    assert ((offset >= 0) & (offset < WINDOW)).all()
    np.testing.assert_array_equal(np.take_along_axis(a.win_fwd, offset, axis=1), a.fwd)  # NaN where both miss
    assert np.isfinite(a.fwd).mean() > 0.99
