"""Pricing against textbook values, parity, finite differences, IV round trips and monotonicity.

Golden values:
- Hull, *Options, Futures, and Other Derivatives* (10th ed.), Example 18.8 (Black's model): a
  European put on a futures contract, F = K = 20, r = 9 %, T = 4/12, σ = 25 % → 1.12.
- Hull, Example 15.6 (Black-Scholes): S = 42, K = 40, r = 10 %, σ = 20 %, T = 0.5 → c = 4.76,
  p = 0.81.
- ALVH_METHOD.md §10 (an independent implementation): SPX 5000, VIX 15, r 4 %, q 1.8 %, 30 days:
  4840 put 23.83 (Δ −0.20), 5155 call 17.84 (Δ +0.20), 4590 put 5.76, 5285 call 3.19, short vega
  ≈ $506 per vol point per IC.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from alvh.transforms.pricing import (
    black76,
    black76_greeks,
    black76_price_delta,
    black_scholes,
    black_scholes_greeks,
    implied_vol_black76,
    implied_vol_black_scholes,
    spx_smile_vol,
    vix_strike_grid,
)
from alvh.transforms.vix_surface import LEGACY, STRIKES, target_delta_strike, vix_sigma, vix_sigma_array
from tests.support.hypothesis_profiles import examples


def test_hull_black76_futures_put() -> None:
    assert black76(20, 20, 4 / 12, 0.09, 0.25, False) == pytest.approx(1.12, abs=0.005)


def test_hull_black_scholes() -> None:
    assert black_scholes(42, 40, 0.5, 0.10, 0.20, True) == pytest.approx(4.76, abs=0.005)
    assert black_scholes(42, 40, 0.5, 0.10, 0.20, False) == pytest.approx(0.81, abs=0.005)


def test_method_worked_example_spx_legs() -> None:
    s, t, r, q = 5000.0, 30 / 365, 0.04, 0.018
    legs = [
        (4840, False, 23.83, -0.20),
        (5155, True, 17.84, 0.20),
        (4590, False, 5.76, -0.05),
        (5285, True, 3.19, 0.05),
    ]
    vegas = []
    for k, call, price, delta in legs:
        g = black_scholes_greeks(s, k, t, r, spx_smile_vol(s, k, t, 15.0), call, q)
        assert g["price"] == pytest.approx(price, abs=0.01)
        assert g["delta"] == pytest.approx(delta, abs=0.005)
        vegas.append(g["vega"])  # per 1.00 of σ, per unit: × 100 multiplier / 100 = $ per vol point
    short_vega = vegas[0] + vegas[1] - vegas[2] - vegas[3]
    assert short_vega == pytest.approx(506, abs=2)


def test_method_worked_example_vix_calls() -> None:
    # M1/M2/M3 16.2/17.3/18.0 at 30/58/86 days, VVIX 90, ALVH-2026.2's σ: 30-delta calls are the 19 and 21 strikes
    strikes = [target_delta_strike(90.0, f, float(d), 0.04, 0.30, STRIKES, LEGACY) for f, d in ((16.2, 30), (17.3, 58))]
    assert strikes == [19.0, 21.0]
    assert black76(16.2, 19, 30 / 365, 0.04, vix_sigma(90.0, 16.2, 19.0, 30.0, LEGACY), True) == pytest.approx(
        0.74, abs=0.01
    )


def test_smile_formula() -> None:
    # m = ln(4840/5000) < 0: σ = 0.8·0.15 − 0.8·m·√(30/30)
    m = math.log(4840 / 5000)
    assert spx_smile_vol(5000, 4840, 30 / 365, 15) == pytest.approx(0.12 - 0.8 * m)
    assert spx_smile_vol(5000, 5000 * math.exp(2), 30 / 365, 15) == 0.05  # floor


def test_vvix_term_scaling() -> None:
    """ALVH-2026.2's σ = VVIX/100 × (30/dte)^0.30 (the legacy surface: no strike dependence)."""
    assert vix_sigma(90.0, 20.0, 25.0, 30.0, LEGACY) == pytest.approx(0.90)
    assert vix_sigma(90.0, 20.0, 15.0, 60.0, LEGACY) == pytest.approx(0.90 * 0.5**0.30)


def test_strike_grid() -> None:
    g = vix_strike_grid(10, 210)
    assert list(g[:3]) == [10.0, 10.5, 11.0]
    assert 14.5 in g and 15.5 not in g and 16.0 in g
    assert 200.0 in g and 201.0 not in g and 205.0 in g and 210.0 in g


prices = st.floats(5, 100)
strikes = st.floats(5, 150)
years = st.floats(1 / 365, 1.0)
rates = st.floats(0.0, 0.08)
vols = st.floats(0.05, 2.0)


@settings(max_examples=examples(200), deadline=None)
@given(prices, strikes, years, rates, vols)
def test_black76_put_call_parity(f: float, k: float, t: float, r: float, s: float) -> None:
    c = black76(f, k, t, r, s, True)
    p = black76(f, k, t, r, s, False)
    assert c - p == pytest.approx(math.exp(-r * t) * (f - k), abs=1e-9 * max(1, f, k))


@settings(max_examples=examples(200), deadline=None)
@given(st.floats(1000, 8000), st.floats(0.6, 1.4), years, rates, st.floats(0.05, 0.8), st.floats(0, 0.04))
def test_black_scholes_parity(s: float, mny: float, t: float, r: float, v: float, q: float) -> None:
    k = s * mny
    c = black_scholes(s, k, t, r, v, True, q)
    p = black_scholes(s, k, t, r, v, False, q)
    assert c - p == pytest.approx(s * math.exp(-q * t) - k * math.exp(-r * t), abs=1e-8 * s)


@settings(max_examples=examples(200), deadline=None)
@given(prices, st.floats(0.5, 2.0), st.floats(7 / 365, 1.0), rates, st.floats(0.1, 1.5), st.booleans())
@example(5.0, 0.984375, 0.0234375, 0.0, 0.125, False)  # failed with the coarser step
def test_greeks_match_finite_differences(f: float, mny: float, t: float, r: float, s: float, call: bool) -> None:
    k = f * mny
    g = black76_greeks(f, k, t, r, s, call)
    # central difference: truncation error ~ P''' h^2/6, which near the money at 7 days and low vol
    # reached 1.1e-6 with h = 1e-4 F (Hypothesis: F 5, K 4.92, 8.6 days, sigma 0.125); 1e-5 F is 100x less
    h = 1e-5 * f
    fd_delta = (black76(f + h, k, t, r, s, call) - black76(f - h, k, t, r, s, call)) / (2 * h)
    fd_vega = (black76(f, k, t, r, s + 1e-5, call) - black76(f, k, t, r, s - 1e-5, call)) / 2e-5
    dt = 1e-6  # theta per calendar day = −∂P/∂T / 365 (central difference in T)
    fd_theta = -(black76(f, k, t + dt, r, s, call) - black76(f, k, t - dt, r, s, call)) / (2 * dt) / 365
    assert g["delta"] == pytest.approx(fd_delta, abs=1e-6)
    assert g["vega"] == pytest.approx(fd_vega, rel=1e-4, abs=1e-6)
    assert g["theta"] == pytest.approx(fd_theta, rel=1e-4, abs=1e-7)


@settings(max_examples=examples(100), deadline=None)
@given(
    st.floats(2000, 6000),
    st.floats(0.7, 1.3),
    st.floats(7 / 365, 1.0),
    rates,
    st.floats(0.05, 0.6),
    st.floats(0, 0.03),
    st.booleans(),
)
def test_black_scholes_delta_fd(s: float, mny: float, t: float, r: float, v: float, q: float, call: bool) -> None:
    k = s * mny
    g = black_scholes_greeks(s, k, t, r, v, call, q)
    h = 0.01
    fd = (black_scholes(s + h, k, t, r, v, call, q) - black_scholes(s - h, k, t, r, v, call, q)) / (2 * h)
    assert g["delta"] == pytest.approx(fd, abs=1e-5)
    dt = 1e-6
    fd_theta = (
        -(black_scholes(s, k, t + dt, r, v, call, q) - black_scholes(s, k, t - dt, r, v, call, q)) / (2 * dt) / 365
    )
    assert g["theta"] == pytest.approx(fd_theta, rel=1e-4, abs=1e-5)


@settings(max_examples=examples(300), deadline=None)
@given(prices, st.floats(0.5, 2.5), years, rates, st.floats(0.05, 3.0), st.booleans())
def test_implied_vol_round_trip(f: float, mny: float, t: float, r: float, s: float, call: bool) -> None:
    k = f * mny
    p = black76(f, k, t, r, s, call)
    intrinsic = math.exp(-r * t) * max(f - k if call else k - f, 0.0)
    assume(p - intrinsic > 1e-6 * f)  # otherwise σ is not identifiable from the price
    iv = implied_vol_black76(p, f, k, t, r, call)
    assert black76(f, k, t, r, iv, call) == pytest.approx(p, abs=1e-9 * max(1, f))


def test_implied_vol_returns_null_where_no_vol_fits() -> None:
    f, k, t, r = 20.0, 22.0, 0.1, 0.04
    prices = pl.Series("p", [0.5, -1.0, 25.0, 0.0, float("nan")])  # ok, negative, above F, zero, NaN
    iv = implied_vol_black76(prices, f, k, t, r, True)
    assert iv.null_count() == 4 and iv[0] is not None and iv[0] > 0
    assert math.isnan(implied_vol_black76(-1.0, f, k, t, r, True))
    bs = implied_vol_black_scholes(
        black_scholes(5000, 4800, 0.1, 0.04, 0.2, False, 0.018), 5000, 4800, 0.1, 0.04, False, 0.018
    )
    assert bs == pytest.approx(0.2, abs=1e-9)


@settings(max_examples=examples(200), deadline=None)
@given(prices, strikes, strikes, years, rates, vols)
def test_call_price_decreases_with_strike_increases_with_vol(
    f: float, k1: float, k2: float, t: float, r: float, s: float
) -> None:
    lo, hi = sorted((k1, k2))
    assert black76(f, lo, t, r, s, True) >= black76(f, hi, t, r, s, True) - 1e-12
    assert black76(f, lo, t, r, s * 1.1, True) >= black76(f, lo, t, r, s, True) - 1e-12
    d = black76_price_delta(f, lo, t, r, s, True)[1]
    assert 0.0 <= d <= 1.0


def test_vectorised_equals_scalar() -> None:
    rng = np.random.default_rng(3)
    f = rng.uniform(10, 40, 50)
    k = rng.uniform(10, 60, 50)
    t = rng.uniform(0.01, 1, 50)
    call = rng.random(50) > 0.5
    p, d = black76_price_delta(f, k, t, 0.04, 0.9, call)
    for i in range(50):
        assert p[i] == pytest.approx(black76(f[i], k[i], t[i], 0.04, 0.9, bool(call[i])), rel=1e-12)
        assert d[i] == pytest.approx(black76_greeks(f[i], k[i], t[i], 0.04, 0.9, bool(call[i]))["delta"], rel=1e-12)


def test_expiry_and_zero_vol_are_intrinsic_not_nan() -> None:
    assert black76(20, 18, 0.0, 0.04, 0.8, True) == 2.0
    assert black76(20, 18, 0.0, 0.04, 0.8, False) == 0.0
    assert black76(20, 22, 0.5, 0.04, 0.0, False) == pytest.approx(2 * math.exp(-0.02))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0.0, 20, 0.1, 0.04, 0.8, True), "F must be finite and > 0"),
        ((20, -5, 0.1, 0.04, 0.8, True), "K must be finite and > 0"),
        ((20, 20, -0.1, 0.04, 0.8, True), "T must be finite and >= 0"),
        ((20, 20, 0.1, 0.04, -0.2, True), "sigma must be finite and >= 0"),
        ((20, 20, 0.1, float("nan"), 0.8, True), "r must be finite"),
        ((np.array([20.0, float("nan")]), 20, 0.1, 0.04, 0.8, True), "first at index 1"),
    ],
)
def test_out_of_domain_inputs_raise(args: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        black76(*args)


def test_black_scholes_domain() -> None:
    with pytest.raises(ValueError, match="S must be finite and > 0"):
        black_scholes(-1, 4000, 0.1, 0.04, 0.2, True)
    with pytest.raises(ValueError, match="dte"):
        vix_sigma_array(90.0, 20.0, 22.0, 0.0, LEGACY)
