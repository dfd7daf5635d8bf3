"""The VIX-call surface validated against Cboe's VXTH (S&P 500 total return + 1-month 30-delta
VIX calls bought at each monthly VIX expiry): the index's rules on literal inputs with
hand-worked numbers, then the replica on the real 2007–2025 history (``pytest -s`` prints the
table for the smile, the legacy formula and the sensitivity variants).

Inputs are read in place from the shared folder with the product's parsers (CFE files through
``alvh.sources.cfe`` and the staging precedence, SPX/VIX/VVIX through ``alvh.sources.cboe``,
DTB3 through ``alvh.sources.fred``); VXTH itself only exists in the merged Cboe file."""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from alvh.core.calendar import vix_monthly_expirations
from alvh.sources.cboe import parse_cboe_index
from alvh.sources.cboe_merged import parse_merged_closes
from alvh.sources.cfe import expiry_from_name, parse_cfe_files, split_cfe
from alvh.sources.fred import parse_fred
from alvh.transforms.staging import build_stg_vx_futures
from alvh.transforms.vix_surface import LEGACY
from alvh.transforms.vxth_replica import (
    FINAL_SETTLE,
    FINAL_VIX_OPEN,
    build_rolls,
    call_weight,
    call_weights,
    default_variants,
    period_excess,
    price_rolls,
    roll_gaps,
    sensitivity_table,
)

D = date
DIVIDEND_YIELD = 0.0185  # S&P 500, per year (PROVENANCE §15: VXTH's zero-weight months imply ≈ 1.85 %)


# ---------------------------------------------------------------- the index's rules, literal inputs


@pytest.mark.parametrize(
    ("front", "weight"),
    [
        (10.0, 0.0),
        (15.0, 0.0),  # ≤ 15 → none
        (15.01, 0.01),
        (22.5, 0.01),
        (30.0, 0.01),  # 15 < F ≤ 30 → 1 %
        (30.01, 0.005),
        (50.0, 0.005),  # 30 < F ≤ 50 → 0.5 %
        (50.01, 0.0),
        (82.0, 0.0),  # > 50 → none
        (math.nan, 0.0),  # no future, no calls
    ],
)
def test_weight_rule(front: float, weight: float) -> None:
    assert call_weight(front) == weight
    assert call_weights(np.array([front]))[0] == weight


def _one_roll(
    final_settle: float | None = 30.0, own_settle: bool = True
) -> tuple[list[date], pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """t0 = 2030-01-16, t1 = 2030-02-15 (30 calendar days). VX forward 20, VVIX 100, DTB3 2.0 %
    on t0 − 2 (a later 9 % must not be used), SPX 1000 → 980, VXTH 100 → 104, VIX open on t1 31."""
    t0, t1 = D(2030, 1, 16), D(2030, 2, 15)
    vx_rows = [(t0, D(2030, 2, 8), 19.3), (t0, D(2030, 2, 22), 20.7)]  # weeklies bracketing t1 (midpoint 20)
    if own_settle:
        vx_rows.append((t0, t1, 20.0))
    if final_settle is not None:
        vx_rows.append((t1, t1, final_settle))
    vx = pl.DataFrame(
        vx_rows, schema={"trade_date": pl.Date, "contract_expiry": pl.Date, "settle": pl.Float64}, orient="row"
    )
    daily = pl.DataFrame(
        {
            "date": [t0, t1],
            "spx": [1000.0, 980.0],
            "vvix": [100.0, 90.0],
            "vxth": [100.0, 104.0],
            "vix_open": [18.0, 31.0],
        }
    )
    rates = pl.DataFrame({"date": [t0 - timedelta(days=2), t0 + timedelta(days=1)], "rate": [2.0, 9.0]})
    return [t0, t1], vx, daily, rates


def test_one_roll_by_hand() -> None:
    """Legacy σ = VVIX/100 × (30/30)^0.3 = 1.00 at dte 30; T = 30/365, r = 0.02 (DTB3 2.0 % on
    t0 − 2). Black-76 deltas e^{−rT}N(d1), worked with erf: K 23 → 0.364765, K 24 → 0.310635,
    K 25 → 0.262284, so K = 24 (|0.3106 − 0.30| smallest); its price e^{−rT}[F N(d1) − K N(d2)]
    = 0.991622. F = 20 → weight 1 %. Final settlement 30 → payoff 6, multiple 6.050692.
    SPX total return (q = 0) = 980/1000 − 1 = −0.02; excess = 0.01 × (6.050692 − 1 + 0.02)
    = 0.05070692; VXTH 100 → 104: excess 0.04 + 0.02 = 0.06."""
    roll_dates, vx, daily, rates = _one_roll()
    rolls = build_rolls(roll_dates, vx, daily, rates, dividend_yield=0.0)
    assert rolls.height == 1
    r = rolls.row(0, named=True)
    assert (r["dte"], r["forward"], r["forward_source"], r["final_source"]) == (30, 20.0, "settle", FINAL_SETTLE)
    assert r["rate"] == pytest.approx(0.02)
    assert r["vvix"] == 100.0  # t0's VVIX, not t1's
    assert r["spx_tr_return"] == pytest.approx(-0.02)
    assert r["vxth_excess"] == pytest.approx(0.06)

    p = price_rolls(rolls, LEGACY, grid=np.array([22.0, 23.0, 24.0, 25.0, 26.0])).row(0, named=True)
    assert p["weight"] == 0.01
    assert p["strike"] == 24.0
    assert p["sigma"] == pytest.approx(1.0)
    assert p["delta"] == pytest.approx(0.310635, abs=1e-6)
    assert p["price"] == pytest.approx(0.991622, abs=1e-6)
    assert p["payoff"] == 6.0
    assert p["call_multiple"] == pytest.approx(6.050692, abs=1e-5)
    assert p["replica_excess"] == pytest.approx(0.05070692, abs=1e-7)
    assert p["replica_return"] == pytest.approx(0.03070692, abs=1e-7)
    assert period_excess(0.01, 6.0, 0.991622, -0.02) == pytest.approx(0.05070692, abs=1e-7)
    assert period_excess(0.0, 6.0, 0.991622, -0.02) == 0.0

    # σ × 1.2 raises every delta of an OTM call: the 30-delta strike moves up to 25
    up = price_rolls(rolls, LEGACY, sigma_multiplier=1.2, grid=np.array([22.0, 23.0, 24.0, 25.0, 26.0]))
    assert up["strike"][0] == 25.0
    assert up["sigma"][0] == pytest.approx(1.2)


def test_missing_contract_and_final_settlement_fall_back_and_are_flagged() -> None:
    roll_dates, vx, daily, rates = _one_roll(final_settle=None, own_settle=False)
    r = build_rolls(roll_dates, vx, daily, rates, dividend_yield=0.0).row(0, named=True)
    assert r["forward_source"] == "interpolated"
    assert r["forward"] == pytest.approx(20.0)  # 19.3 + 7/14 × (20.7 − 19.3)
    assert (r["final_settlement"], r["final_source"]) == (31.0, FINAL_VIX_OPEN)


def test_a_period_without_its_inputs_is_left_out_and_named() -> None:
    roll_dates, vx, daily, rates = _one_roll()
    no_spx = daily.with_columns(
        pl.when(pl.col("date") == roll_dates[1]).then(None).otherwise(pl.col("spx")).alias("spx")
    )
    rolls = build_rolls(roll_dates, vx, no_spx, rates, dividend_yield=0.0)
    assert rolls.height == 0
    assert roll_gaps(roll_dates, rolls) == [tuple(roll_dates)]


# ---------------------------------------------------------------- real history, 2007–2025


def _load_inputs(data: Path) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """VX settles (every provider, staged by the product's precedence), the daily closes the
    replica reads, and DTB3 — read in place."""
    vx_dir = data / "cboe" / "vx_futures"
    splits = [
        split_cfe(p.read_bytes(), p.name, expiry_from_name(p.name), provider)
        for folder, provider, pattern in (
            ("cfe_current", "cfe_current", "VX_*.csv"),
            ("cfe_legacy_2008_2015", "cfe_legacy", "CFE_*_VX.csv"),
            ("reconstructed", "reconstructed", "VX_*.csv"),
        )
        for p in sorted((vx_dir / folder).glob(pattern))
    ]
    vx = build_stg_vx_futures(parse_cfe_files(splits).rows).frame.select("trade_date", "contract_expiry", "settle")

    def index(path: Path, symbol: str) -> pl.DataFrame:
        return parse_cboe_index(path.read_bytes(), path.name, symbol).rows

    spx = index(data / "spx" / "SPX_History_yfinance_GSPC.csv", "SPX").select("date", pl.col("close").alias("spx"))
    vix = index(data / "cboe" / "indices" / "VIX_History.csv", "VIX").select("date", pl.col("open").alias("vix_open"))
    vvix = index(data / "cboe" / "indices" / "VVIX_History.csv", "VVIX").select("date", pl.col("close").alias("vvix"))
    merged = data / "cboe" / "merged" / "volatility.csv"
    vxth = parse_merged_closes(merged.read_bytes(), merged.name, ["VXTH"]).rename({"VXTH": "vxth"})
    daily = spx
    for other in (vix, vvix, vxth):
        daily = daily.join(other, on="date", how="full", coalesce=True)
    dtb3 = data / "rates" / "DTB3.csv"
    rates = parse_fred(dtb3.read_bytes(), dtb3.name, "DTB3").rows.select("date", pl.col("value").alias("rate"))
    return vx, daily.sort("date"), rates


@pytest.fixture(scope="module")
def real_rolls(data_dir: Path) -> pl.DataFrame:
    """Roll periods ending 2007-01-17 … 2025-12-17 (228 months; the first starts 2006-12-20)."""
    vx, daily, rates = _load_inputs(data_dir)
    roll_dates = vix_monthly_expirations(D(2006, 12, 1), D(2025, 12, 31))
    rolls = build_rolls(roll_dates, vx, daily, rates, dividend_yield=DIVIDEND_YIELD)
    assert roll_gaps(roll_dates, rolls) == [], "every period 2007–2025 has its inputs"
    return rolls


def test_real_history_is_complete_and_flags_its_fallbacks(real_rolls: pl.DataFrame) -> None:
    assert real_rolls.height == 228
    interp = real_rolls.filter(pl.col("forward_source") != "settle")
    from_open = real_rolls.filter(pl.col("final_source") != FINAL_SETTLE)
    print(f"\n{interp.height} entry forwards interpolated (contract missing): {interp['end'].to_list()}")
    print(
        f"{from_open.height} final settlements taken from VIX's open (no expiry-day settle): {from_open['end'].to_list()}"
    )
    # the three monthly contracts the shared data lacks entirely
    assert {D(2022, 3, 15), D(2024, 6, 18), D(2025, 3, 18)} <= set(interp["end"].to_list())
    assert set(interp["end"].to_list()) <= set(from_open["end"].to_list())


@pytest.fixture(scope="module")
def table(real_rolls: pl.DataFrame) -> pl.DataFrame:
    """:func:`replica_summary` of the smile, the legacy formula and the sensitivity variants."""
    return sensitivity_table(real_rolls, default_variants())


def test_default_surface_tracks_vxth(table: pl.DataFrame) -> None:
    s = table.row(0, named=True)
    assert s["variant"] == "smile"
    assert s["correlation"] >= 0.95, s
    assert 0.93 <= s["m"] <= 1.08, s


def test_table_smile_legacy_and_sensitivity(table: pl.DataFrame) -> None:
    assert table["variant"].to_list() == ["smile", "legacy", "smile skew x0.5", "smile skew x1.5", "smile no pivot"]
    with pl.Config(tbl_rows=10, tbl_cols=10, tbl_width_chars=160, float_precision=4, tbl_hide_dataframe_shape=True):
        print("\nVXTH replica, monthly excess returns over the S&P 500 TR, periods ending 2007-01 … 2025-12 (n = 228)")
        print("correlation: replica (m = 1) vs VXTH; m: σ multiplier minimising Σ(excess gap)²;")
        print(
            "tracking_error: RMS monthly gap at m = 1; mean_gap_bp: mean (replica − VXTH) bp/month; level_ratio: final levels"
        )
        print(table)
    assert min(table["correlation"].to_list()) > 0.9
    # VXTH sees one point of the smile (the 1-month 30-delta call): more skew must be offset by a lower m
    m: dict[str, float] = dict(zip(table["variant"].to_list(), table["m"].to_list(), strict=True))
    assert m["smile skew x1.5"] < m["smile"] < m["smile skew x0.5"]
