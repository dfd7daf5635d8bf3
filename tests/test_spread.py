"""The VIX half-spread model (issue 20): the defaults are the fit to Cboe's real 2016-06-01 chain,
the formula on hand-worked values, and the constant model of ALVH-2026.2 kept."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from alvh.core.settings import Settings
from alvh.transforms.backtest.readable import Costs
from alvh.transforms.spread import SpreadModel, fit_half_spread, vix_half_spread

MONTHLIES = ["2016-06-15", "2016-07-20", "2016-08-17", "2016-09-21", "2016-10-19", "2016-11-16"]


def test_the_defaults_are_the_fit_to_the_real_chain(data_dir: Path) -> None:
    q = pl.read_csv(data_dir / "options" / "UnderlyingOptionsEODCalcs_2016-06-01.csv", try_parse_dates=True)
    calls = q.filter((pl.col("option_type") == "C") & pl.col("expiration").cast(pl.Utf8).is_in(MONTHLIES))
    s = Settings()
    base, slope = fit_half_spread(calls, s.vix_spread_floor)
    assert (round(base, 4), round(slope, 4)) == (s.vix_spread_base, s.vix_spread_slope)
    # the evidence: monthly calls worth at most 5 points quote 0.025–0.15 wide each side
    used = calls.filter((pl.col("bid_eod") > 0) & ((pl.col("bid_eod") + pl.col("ask_eod")) / 2 <= 5))
    assert used.height == 156
    half = (used["ask_eod"] - used["bid_eod"]) / 2
    assert (round(float(half.min()), 3), round(float(half.max()), 3)) == (0.025, 0.15)


FITTED = SpreadModel(1.0, 0.05, 0.0285, 0.0163, 0.025, 79.0, 1.0, 1.0)


@pytest.mark.parametrize(
    ("price", "vvix", "expected"),
    [
        (1.00, 79.0, 0.0285 + 0.0163),  # calm: base + slope · P
        (0.00, 60.0, 0.0285),  # below the reference VVIX nothing narrows
        (2.00, 158.0, (0.0285 + 0.0326) * 2.0),  # twice the reference VVIX: twice as wide
        (0.00, float("nan"), 0.0285),  # no VVIX: not widened
    ],
)
def test_the_fitted_formula_by_hand(price: float, vvix: float, expected: float) -> None:
    assert vix_half_spread(price, vvix, FITTED) == pytest.approx(expected)


def test_the_floor_is_half_a_tick() -> None:
    m = FITTED._replace(base=0.0, slope=0.001)
    assert vix_half_spread(0.5, 79.0, m) == 0.025


def test_constant_model_and_scale() -> None:
    c = Costs(vix_spread_model="constant", vix_half_spread=0.05, vix_spread_scale=2.0)
    assert vix_half_spread(3.0, 200.0, c.spread) == pytest.approx(0.10)
    assert Costs(vix_spread_scale=4.0).spread.scale == 4.0
