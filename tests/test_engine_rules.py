"""The engine's rules on literal inputs with hand-worked numbers (ALVH_METHOD.md §4–§6, §10).

Each rule is called directly on a :class:`Situation` built from literals; ``step`` is run on a
literal mart row with a literal VX curve. No warehouse, no Prefect."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alvh.transforms.forwards import ForwardCurves
from alvh.transforms.ic_book import IcBook, IcLeg, IcParams, open_model_ic
from alvh.transforms.signal import METHOD_VERSION, HedgeParams, Lot, step
from alvh.transforms.signal.book import Order, apply_orders
from alvh.transforms.signal.execution import layer_orders, settle_expired
from alvh.transforms.signal.inputs import DayInputs, LayerInputs
from alvh.transforms.signal.quotes import CurveQuotes
from alvh.transforms.signal.rules import (
    Decision,
    Situation,
    decide,
    downcross_harvest_rule,
    rebalance_rule,
    roll_rule,
    take_profit_rule,
    upcross_add_rule,
)
from alvh.transforms.signal.sizing import (
    LayerModel,
    Sizing,
    largest_remainder,
    layer_models,
    monthly_carry,
    size_ladder,
    steward_sizing,
    target_ratio,
)
from alvh.transforms.signal.vega import program_vega
from alvh.transforms.vix_surface import LEGACY
from tests.support.hypothesis_profiles import examples
from tests.support.surface_by_hand import surface_sigma

P = HedgeParams(vix_vol_model="legacy")  # §10's worked example was measured on ALVH-2026.2's formula
SMILE = HedgeParams()
D = date(2024, 1, 2)
E1, E2, E3 = D + timedelta(days=30), D + timedelta(days=58), D + timedelta(days=86)


def example_day(regime: str = "calm", cross: int = 0, vix: float = 15.0) -> DayInputs:
    """§10: SPX 5000, VIX 15, r 4 %, M1/M2/M3 = 16.2/17.3/18.0 at 30/58/86 days, VVIX 90, betas
    0.7/0.5/0.4."""
    layers = tuple(
        LayerInputs(e, n, n * 5 // 7, f, "settle", None, b)
        for e, n, f, b in ((E1, 30, 16.2, 0.7), (E2, 58, 17.3, 0.5), (E3, 86, 18.0, 0.4))
    )
    return DayInputs(D, vix, 90.0, 5000.0, 0.04, 50.0, False, 0.0, cross, regime, layers)  # type: ignore[arg-type]


# --- sizing: the §10 worked example carried to N*, q_i and the steward cap -------------------


def test_worked_example_strikes_h_and_program_vega() -> None:
    models = layer_models(example_day(), P)
    assert [m.strike for m in models] == [19.0, 21.0, 22.0]
    assert [round(m.price, 2) for m in models] == [0.74, 0.85, 1.00]
    assert [round(m.delta, 2) for m in models] == [0.31, 0.30, 0.32]
    assert [round(m.h, 1) for m in models] == [21.8, 15.1, 12.6]
    ic = open_model_ic(D, E1, 5000.0, 15.0, 0.04, IcParams())
    assert [leg.strike for leg in ic.legs] == [4840.0, 5155.0, 4590.0, 5285.0]
    assert ic.credit_usd == pytest.approx(32_718, abs=1)  # ≈ $3,270 per IC
    vega_ic, _ = program_vega(ic, example_day(), P)
    assert vega_ic == pytest.approx(5_063, abs=1)  # ≈ $506/pt per IC


def test_worked_example_n_star_and_largest_remainder() -> None:
    models = layer_models(example_day(), P)
    # Σ w h = 0.4 × 21.80 + 0.4 × 15.13 + 0.2 × 12.64 = 17.30; N* = 0.9 × 5,063 / 17.30 = 263.4
    n_star, q = size_ladder(0.9, 5062.74, [m.h for m in models], P)
    assert n_star == pytest.approx(263.36, abs=0.01)
    # round(N*) = 263 → 105.2 / 105.2 / 52.6 → floors 105/105/52, the one left goes to the largest
    # remainder (0.6, layer 3)
    assert q == [105, 105, 53]
    cost = sum(qi * m.price * 100 for qi, m in zip(q, models, strict=True))
    assert cost == pytest.approx(21_950, abs=5)  # ≈ $21.9k


def test_worked_example_steward_cap() -> None:
    """Carry of 105/105/53 = Σ q |θ| × 30 × $100 = $14,357 > 35 % × $32,718 = $11,451: r* is
    lowered until the ladder fits — the largest total that fits (§5). N = 210 → 84/84/42 costs
    $11,471, still above; N = 209 → largest remainder of 83.6/83.6/41.8 → 84/83/42 fits; r* is
    the ratio that sizes exactly 209 contracts, 209 × Σ w h / |V_ic|."""
    models = layer_models(example_day(), P)
    assert monthly_carry([105, 105, 53], models) == pytest.approx(14_357, abs=1)
    assert monthly_carry([84, 84, 42], models) == pytest.approx(11_471, abs=1)
    s = steward_sizing(0.9, 5062.74, models, 32_718.10, P)
    assert s.capped and s.q == [84, 83, 42] and s.n_star == pytest.approx(209.0)
    denom = sum(w * m.h for w, m in zip(P.weights, models, strict=True))
    assert s.r_star == pytest.approx(209 * denom / 5062.74, abs=1e-12)
    assert "steward cap lowered r* to 0.71" in s.note
    assert monthly_carry(s.q, models) <= 0.35 * 32_718.10 < monthly_carry([84, 84, 42], models)


def test_steward_floor_wins_and_says_so_with_both_figures() -> None:
    models = layer_models(example_day(), P)
    s = steward_sizing(0.6, 5062.74, models, 10_000.0, P)  # a small credit: even 0.6 costs too much
    assert s.r_star == 0.6 and not s.capped
    assert "above the 35% budget even at the 0.60 floor" in s.note and "of the IC credit" in s.note


def test_fixed_mode_is_never_capped() -> None:
    fixed = replace(P, mode="fixed")
    assert target_ratio(30.0, 1.0, fixed) == (0.9, 0.9)
    s = steward_sizing(0.9, 5062.74, layer_models(example_day(), fixed), 1.0, fixed)
    assert s.q == [105, 105, 53] and s.note == ""


@pytest.mark.parametrize(
    ("rsi", "hist", "r_b", "r_star"),
    [(30.0, 1.0, 1.2, 1.2), (70.0, -1.0, 0.6, 0.6), (50.0, 2.0, 0.9, 1.0), (60.0, None, 0.75, 0.75)],
)
def test_target_ratio(rsi: float, hist: float | None, r_b: float, r_star: float) -> None:
    assert target_ratio(rsi, hist, P) == pytest.approx((r_b, r_star))


def test_target_ratio_bounds_are_settings() -> None:
    assert target_ratio(30.0, 1.0, replace(P, ratio_max=1.5)) == pytest.approx((1.2, 1.3))


def test_largest_remainder() -> None:
    assert largest_remainder(10, P.weights) == [4, 4, 2]
    assert largest_remainder(11, P.weights) == [5, 4, 2]  # 4.4/4.4/2.2: tie → the earlier layer
    assert largest_remainder(3, P.weights) == [1, 1, 1]  # 1.2/1.2/0.6
    assert largest_remainder(0, P.weights) == [0, 0, 0]


# --- rules on a literal situation --------------------------------------------------------------

MODELS = [
    LayerModel(16.2, 30, 0.9, 19.0, 0.74, 0.31, -0.0245, 0.7, 21.8, 90.0, LEGACY),
    LayerModel(17.3, 58, 0.75, 21.0, 0.85, 0.30, -0.0152, 0.5, 15.1, 90.0, LEGACY),
    LayerModel(18.0, 86, 0.68, 22.0, 1.00, 0.32, -0.0117, 0.4, 12.6, 90.0, LEGACY),
]


def situation(
    current: list[int],
    q: list[int],
    ratio: float | None,
    regime: str = "calm",
    cross: int = 0,
    vix: float = 15.0,
    r_star: float = 0.9,
    rich: list[tuple[tuple[date, float], float]] | None = None,
    l1: tuple[float, float] = (0.0, 0.0),
) -> Situation:
    return Situation(
        day=example_day(regime, cross, vix),
        p=P,
        models=MODELS,
        sizing=Sizing(r_star, float(sum(q)), q, False, ""),
        current=current,
        ratio=ratio,
        vega_ic=0.0 if ratio is None else 5000.0,
        rich=rich or [],
        l1_value=l1[0],
        l1_cost=l1[1],
    )


def targets(ds: list[Decision]) -> list[int]:
    return [d.target for d in ds]


def test_roll_in_a_spike_only_adds() -> None:
    """2020-03-11: after the shift the old L2 (57) is above its new target 56 — held in a spike;
    L2 (29 → 55) and L3 (0 → 28) are brought up."""
    ds = roll_rule(situation([57, 29, 0], [56, 55, 28], 1.34, regime="spike"), E1 - timedelta(days=40), 5)
    assert ds is not None and targets(ds) == [57, 55, 28]
    assert all(d.action == "ROLL" for d in ds)
    assert "does not sell convexity in a spike market" in ds[0].reason


@pytest.mark.parametrize("regime", ["elevated", "spike"])
def test_roll_never_trims_in_convex_regimes(regime: str) -> None:
    ds = roll_rule(situation([90, 80, 10], [40, 40, 20], 2.0, regime=regime), E1, 5)
    assert ds is not None and targets(ds) == [90, 80, 20]


@pytest.mark.parametrize("regime", ["calm", "fading"])
def test_roll_trims_in_calm_or_fading(regime: str) -> None:
    ds = roll_rule(situation([90, 80, 10], [40, 40, 20], 2.0, regime=regime), E1, 5)
    assert ds is not None and targets(ds) == [40, 40, 20]


def test_roll_rule_does_not_apply_without_a_roll() -> None:
    assert roll_rule(situation([4, 4, 2], [4, 4, 2], 0.9), None, 0) is None


def test_take_profit_trims_every_layer_above_target_in_any_regime() -> None:
    s = situation([60, 50, 10], [40, 40, 20], 1.5, regime="spike", rich=[((E1, 19.0), 3.4)])
    ds = [take_profit_rule(s, j) for j in range(3)]
    assert ds[0] is not None and ds[1] is not None and [ds[0].target, ds[1].target] == [40, 40]
    assert ds[0].action == ds[1].action == "HARVEST"
    assert "worth 3.4× its cost" in ds[0].reason and "trim 20 to target 40" in ds[0].reason
    assert ds[2] is None  # 10 ≤ its target 20: nothing to trim, the layer is not claimed (§6)
    # the next rule decides it: above the band in a spike, REBALANCE holds the surplus-free layer
    assert [d.action for d in decide(s, None, 0, book_empty=False)] == ["HARVEST", "HARVEST", "HOLD"]


def test_take_profit_with_nothing_to_trim_leaves_the_downcross_harvest_its_layer() -> None:
    """ALVH-2026.3 §6: on 2008-10-21-like days a line is worth ≥ 3× its cost and R > r* + band, but no
    layer is above its target: the take-profit trades nothing, so HARVEST (b) decides layer 1."""
    s = situation(
        [36, 36, 18], [40, 40, 20], 1.5, regime="spike", cross=-1, vix=60.0, rich=[((E1, 19.0), 4.0)], l1=(900.0, 100.0)
    )
    assert [take_profit_rule(s, j) for j in range(3)] == [None, None, None]
    ds = decide(s, None, 0, book_empty=False)
    assert ds[0].action == "HARVEST" and ds[0].replace and ds[0].target == 40
    assert "−1 cross" in ds[0].reason


def test_take_profit_needs_the_ratio_above_the_band() -> None:
    s = situation([60, 50, 10], [40, 40, 20], 1.0, rich=[((E1, 19.0), 3.4)])  # R 1.0 ≤ 0.9 + 0.15
    assert all(take_profit_rule(s, j) is None for j in range(3))


def test_downcross_harvest() -> None:
    s = situation([40, 40, 20], [36, 36, 18], 1.0, cross=-1, vix=30.0, l1=(250.0, 100.0))
    d = downcross_harvest_rule(s)
    assert d is not None and d.replace and d.target == 36 and "2.5× its cost" in d.reason
    assert downcross_harvest_rule(replace(s, l1_value=190.0)) is None  # 1.9× < 2×
    assert downcross_harvest_rule(situation([40, 40, 20], [36, 36, 18], 1.0, cross=-1, vix=24.0, l1=(250, 100))) is None


def test_upcross_add_and_minimum_trade() -> None:
    s = situation([30, 39, 20], [40, 40, 20], 0.8, cross=1)
    d0 = upcross_add_rule(s, 0)
    assert d0 is not None and d0.action == "ADD" and d0.target == 40  # gap 10 ≥ max(2, 4)
    d1 = upcross_add_rule(s, 1)
    assert d1 is not None and d1.action == "HOLD" and d1.target == 39 and "minimum trade" in d1.reason  # gap 1
    assert upcross_add_rule(s, 2) is None  # at target: falls through to REBALANCE


def test_rebalance_adds_below_the_band() -> None:
    d = rebalance_rule(situation([20, 20, 10], [40, 40, 20], 0.5), 0)  # 0.5 < 0.75
    assert d.action == "ADD" and d.target == 40


def test_rebalance_trims_above_the_band_only_in_calm_or_fading() -> None:
    assert rebalance_rule(situation([60, 60, 30], [40, 40, 20], 1.4, regime="calm"), 0).target == 40
    held = rebalance_rule(situation([60, 60, 30], [40, 40, 20], 1.4, regime="elevated"), 0)
    assert held.action == "HOLD" and held.target == 60 and "convexity" in held.reason


def test_hold_reason_never_claims_within_the_band_when_outside() -> None:
    """2025-12: "hedge ratio 0.28 within r* 0.60 ± 0.15" was published; 0.28 is below 0.45."""
    d = rebalance_rule(situation([10, 40, 20], [10, 40, 20], 0.28, r_star=0.6), 1)
    assert d.action == "HOLD" and "within" not in d.reason and "0.28 < 0.45" in d.reason
    inside = rebalance_rule(situation([40, 40, 20], [40, 40, 20], 0.6, r_star=0.6), 0)
    assert "hedge ratio 0.60 within r* 0.60 ± 0.15" in inside.reason


def test_no_ic_vega_means_undefined_ratio_and_says_so() -> None:
    d = rebalance_rule(situation([4, 4, 2], [0, 0, 0], None), 0)
    assert d.action == "HOLD" and d.target == 4 and "|V_ic| = 0" in d.reason and "undefined" in d.reason


def test_precedence_roll_over_take_profit_over_add() -> None:
    s = situation([60, 50, 10], [40, 40, 20], 1.5, regime="spike", cross=1, rich=[((E1, 19.0), 4.0)])
    assert [d.action for d in decide(s, E1 - timedelta(days=28), 3, book_empty=False)] == ["ROLL"] * 3
    # take-profit claims the two layers above target; layer 3 (10 < 20) goes to the +1-cross ADD (§6)
    assert [d.action for d in decide(s, None, 0, book_empty=False)] == ["HARVEST", "HARVEST", "ADD"]
    s2 = situation([30, 30, 10], [40, 40, 20], 0.8, cross=1)
    assert [d.action for d in decide(s2, None, 0, book_empty=False)] == ["ADD", "ADD", "ADD"]
    assert [d.action for d in decide(s2, None, 0, book_empty=True)] == ["OPEN"] * 3


def test_downcross_harvest_yields_to_take_profit() -> None:
    s = situation([60, 50, 10], [40, 40, 20], 1.5, cross=-1, vix=30.0, rich=[((E1, 19.0), 4.0)], l1=(300, 100))
    assert [d.replace for d in decide(s, None, 0, book_empty=False)] == [False] * 3


# --- execution ----------------------------------------------------------------------------------


def test_sales_take_the_lowest_strikes_first_and_buys_the_target_strike() -> None:
    book = {(E1, 17.0): Lot(5, 1.0), (E1, 19.0): Lot(10, 0.5), (E2, 21.0): Lot(3, 0.9)}
    px = {(E1, 17.0): 2.0, (E1, 19.0): 1.0}
    sells = layer_orders(0, Decision("TRIM", 8, "t"), book, E1, MODELS[0], lambda e, k: px[(e, k)])
    assert [(o.strike, o.qty, o.side) for o in sells] == [(17.0, 5, "SELL"), (19.0, 2, "SELL")]
    buys = layer_orders(0, Decision("ADD", 20, "a"), book, E1, MODELS[0], lambda e, k: px[(e, k)])
    assert [(o.strike, o.qty, o.side, o.price) for o in buys] == [(19.0, 5, "BUY", 0.74)]
    swap = layer_orders(0, Decision("HARVEST", 12, "h", replace=True), book, E1, MODELS[0], lambda e, k: px[(e, k)])
    assert [(o.strike, o.qty, o.side) for o in swap] == [(17.0, 5, "SELL"), (19.0, 10, "SELL"), (19.0, 12, "BUY")]
    after = apply_orders(book, swap)
    assert after[(E1, 19.0)].qty == 12 and after[(E1, 19.0)].cost == pytest.approx(0.74) and (E1, 17.0) not in after


def test_buys_average_the_cost() -> None:
    book = apply_orders(
        {}, [Order(E1, 19.0, "BUY", 10, 1.0, 1, "OPEN", ""), Order(E1, 19.0, "BUY", 90, 3.0, 1, "ADD", "")]
    )
    assert book[(E1, 19.0)] == Lot(100, pytest.approx(2.8))  # (10 × 1 + 90 × 3) / 100


def FakeQuotes(settles: dict[tuple[date, date], float], vix_open: dict[date, float] | None = None) -> CurveQuotes:
    """The engine's real quotes over a literal curve."""
    return CurveQuotes(ForwardCurves(settles), vix_open or {})


def test_settlement_at_intrinsic_value_of_the_final_settlement() -> None:
    quotes = FakeQuotes({(D, D): 21.5})
    orders, unknown = settle_expired(
        {(D, 19.0): Lot(10, 0.6), (D, 25.0): Lot(4, 0.2), (E1, 19.0): Lot(1, 1)}, D, quotes
    )
    assert unknown == [] and [(o.strike, o.qty, o.price, o.action) for o in orders] == [
        (19.0, 10, 2.5, "SETTLE"),
        (25.0, 4, 0.0, "SETTLE"),
    ]
    proxy, _ = settle_expired({(D, 19.0): Lot(10, 0.6)}, D, FakeQuotes({}, {D: 20.0}))
    assert proxy[0].price == 1.0 and "VIX open" in proxy[0].reason


# --- step on a literal row ----------------------------------------------------------------------


def mart_row(d: date = D, **over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "session_date": d,
        "vix_close": 15.0,
        "vvix_close": 90.0,
        "spx_close": 5000.0,
        "tbill_3m_pct": 4.0,
        "ad_rsi": 50.0,
        "breadth_missing": False,
        "macd_hist": 0.0,
        "macd_cross": 0,
        "regime": "calm",
    }
    for i, (e, n, b) in enumerate(((E1, 30, 0.7), (E2, 58, 0.5), (E3, 86, 0.4)), start=1):
        row |= {f"m{i}_expiry": e, f"m{i}_dte": n, f"m{i}_tdte": n * 5 // 7, f"beta_{i}": b}
    return row | over


CURVE = {(D, E1): 16.2, (D, E2): 17.3, (D, E3): 18.0}
IC = open_model_ic(D, E1, 5000.0, 15.0, 0.04, IcParams())  # the worked example's IC


def test_step_opens_the_worked_example_ladder() -> None:
    res, spend = step(mart_row(), {}, IC, FakeQuotes(CURVE), P, 0.0)
    assert (
        not res.signal["stale"]
        and res.signal["method_version"] == "ALVH-2026.3-legacy-vol"
        and METHOD_VERSION == "ALVH-2026.3"
    )
    assert [x["action"] for x in res.layers] == ["OPEN"] * 3
    assert [x["target_qty"] for x in res.layers] == [84, 83, 42]  # capped as in the worked example
    assert res.signal["ratio_current"] == 0.0 and res.signal["steward_capped"]
    assert spend == pytest.approx(sum(o["qty"] * o["model_price"] * 100 for o in res.orders))


def test_step_on_a_stale_day_still_settles_what_expires() -> None:
    book = {(D, 19.0): Lot(10, 0.6), (E1, 19.0): Lot(5, 0.7)}
    res, _ = step(mart_row(vvix_close=None), book, IC, FakeQuotes(CURVE | {(D, D): 20.0}), P, 0.0)
    assert res.signal["stale"] and "VVIX has no close" in res.signal["stale_reason"]
    assert [(o["action"], o["qty"], o["model_price"]) for o in res.orders] == [("SETTLE", 10, 1.0)]
    assert set(res.book) == {(E1, 19.0)} and all(p["contract_expiry"] > D for p in res.positions)
    assert all(x["action"] == "HOLD" and x["trade_qty"] == 0 for x in res.layers)


def test_step_interpolates_a_missing_forward_and_names_the_brackets() -> None:
    """M1 (E1 = D + 30) has no settle; weeklies at D + 23 (15.8) and D + 37 (16.6) bracket it:
    16.2 = 15.8 + (16.6 − 15.8) × 7/14."""
    curve = {(D, E2): 17.3, (D, E3): 18.0, (D, D + timedelta(days=23)): 15.8, (D, D + timedelta(days=37)): 16.6}
    res, _ = step(mart_row(), {}, IC, FakeQuotes(curve), P, 0.0)
    l1 = res.layers[0]
    assert not res.signal["stale"] and l1["forward_source"] == "interpolated"
    assert l1["future_settle"] == pytest.approx(16.2)
    assert str(D + timedelta(days=23)) in l1["reason"] and str(D + timedelta(days=37)) in l1["reason"]


def test_step_with_a_users_net_long_book_publishes_null_ratio() -> None:
    long_vega = IcBook(D, E1, (IcLeg(E1, 5000.0, True, 10, 60.0), IcLeg(E1, 5000.0, False, 10, 55.0)), "positions file")
    res, _ = step(mart_row(), {(E1, 19.0): Lot(8, 0.7)}, long_vega, FakeQuotes(CURVE), P, 0.0)
    assert res.signal["ic_short_vega_usd"] == 0.0 and res.signal["ratio_current"] is None
    assert all("|V_ic| = 0" in x["reason"] for x in res.layers)


def test_step_roll_day_in_a_spike_sells_only_the_expiring_contract() -> None:
    old = D + timedelta(days=6)  # the old layer 1, ≤ 5 trading days left
    book = {(old, 18.0): Lot(50, 0.5), (E1, 19.0): Lot(60, 0.6), (E2, 21.0): Lot(10, 0.8)}
    row = mart_row(regime="spike", vix_close=35.0)
    res, _ = step(row, book, IC, FakeQuotes(CURVE | {(D, old): 16.0}), P, 0.0)
    sells = [o for o in res.orders if o["side"] == "SELL"]
    assert [(o["contract_expiry"], o["qty"], o["action"]) for o in sells] == [(old, 50, "ROLL")]
    assert all(x["action"] == "ROLL" for x in res.layers)
    assert [x["current_qty"] for x in res.layers] == [60, 10, 0]
    assert all(x["target_qty"] == max(x["current_qty"], x["model_target_qty"]) for x in res.layers)


# --- properties -----------------------------------------------------------------------------------

lots = st.integers(min_value=0, max_value=300)


@settings(max_examples=examples(60), deadline=None)
@given(
    q1=lots,
    q2=lots,
    q3=lots,
    old=lots,
    regime=st.sampled_from(["calm", "elevated", "spike", "fading"]),
    cross=st.sampled_from([-1, 0, 1]),
    vix=st.floats(min_value=10.0, max_value=80.0),
    vvix=st.one_of(st.none(), st.floats(min_value=60.0, max_value=200.0)),
    expired=st.booleans(),
    ratio_max=st.sampled_from([1.2, 1.5]),
)
def test_step_properties(
    q1: int,
    q2: int,
    q3: int,
    old: int,
    regime: str,
    cross: int,
    vix: float,
    vvix: float | None,
    expired: bool,
    ratio_max: float,
) -> None:
    """Integer quantities ≥ 0; no contract held past expiry; a roll in spike/elevated never lowers
    any layer; R is null exactly when |V_ic| = 0; r* within the bounds in force."""
    old_exp = D if expired else D + timedelta(days=6)
    book = {
        k: v
        for k, v in {
            (old_exp, 18.0): Lot(old, 0.5),
            (E1, 19.0): Lot(q1, 0.6),
            (E2, 21.0): Lot(q2, 0.8),
            (E3, 22.0): Lot(q3, 1.0),
        }.items()
        if v.qty > 0
    }
    p = replace(P, ratio_max=ratio_max)
    row = mart_row(regime=regime, macd_cross=cross, vix_close=vix, vvix_close=vvix)
    res, _ = step(row, book, IC, FakeQuotes(CURVE | {(D, old_exp): 16.0}), p, 0.0)
    for x in res.layers:
        assert isinstance(x["target_qty"], int) and x["target_qty"] >= 0 and x["current_qty"] >= 0
    assert all(isinstance(o["qty"], int) and o["qty"] > 0 for o in res.orders)
    assert all(e > D and lot.qty > 0 for (e, _), lot in res.book.items())
    s = res.signal
    if s["stale"]:
        assert all(o["action"] == "SETTLE" for o in res.orders)
        return
    assert (s["ratio_current"] is None) == (s["ic_short_vega_usd"] == 0)
    assert p.ratio_min - 1e-9 <= s["ratio_target"] <= ratio_max + 1e-9
    if old and regime in ("spike", "elevated"):
        assert [x["target_qty"] >= x["current_qty"] for x in res.layers] == [True] * 3


def _call_by_hand(f: float, k: float, dte: float, r: float, sigma: float) -> tuple[float, float]:
    t = dte / 365.0
    sd = sigma * math.sqrt(t)
    d1 = math.log(f / k) / sd + sd / 2
    n = lambda x: 0.5 * math.erfc(-x / math.sqrt(2.0))  # noqa: E731
    disc = math.exp(-r * t)
    return disc * (f * n(d1) - k * n(d1 - sd)), disc * n(d1)


def test_worked_example_on_the_smile() -> None:
    """§10's market on the ALVH-2026.3 surface: the 30Δ calls move out to 20C / 24C / 26C and cost
    0.86 / 1.15 / 1.37 (legacy: 19C / 21C / 22C at 0.74 / 0.85 / 1.00) — each strike the grid's
    nearest to 30Δ, each price Black-76 at its own σ(K), worked here from the formula."""
    models = layer_models(example_day(), SMILE)
    assert [m.strike for m in models] == [20.0, 24.0, 26.0]
    for m, (f, dte) in zip(models, ((16.2, 30), (17.3, 58), (18.0, 86)), strict=True):
        price, delta = _call_by_hand(f, m.strike, dte, 0.04, surface_sigma(90.0, f, m.strike, dte))
        assert m.price == pytest.approx(price, rel=1e-9) and m.delta == pytest.approx(delta, rel=1e-9)
        neighbours = [
            _call_by_hand(f, k, dte, 0.04, surface_sigma(90.0, f, k, dte))[1] for k in (m.strike - 1, m.strike + 1)
        ]
        assert all(abs(d - 0.30) > abs(delta - 0.30) for d in neighbours)
    assert [round(m.price, 2) for m in models] == [0.86, 1.15, 1.37]
    res, _ = step(mart_row(), {}, IC, FakeQuotes(CURVE), SMILE, 0.0)
    assert res.signal["method_version"] == "ALVH-2026.3"
    assert [x["target_qty"] for x in res.layers] == [72, 71, 36]  # dearer calls: the cap buys fewer


def test_an_open_that_buys_nothing_in_a_layer_is_a_hold() -> None:
    """The no-op rewrite lives in the rules (issue 19): an empty book with a zero target in L2
    OPENs L1 and L3 and HOLDs L2 — the published action is the rule's, not the publisher's."""
    ds = decide(situation([0, 0, 0], [4, 0, 2], None), None, 5, True)
    assert [d.action for d in ds] == ["OPEN", "HOLD", "OPEN"] and targets(ds) == [4, 0, 2]
