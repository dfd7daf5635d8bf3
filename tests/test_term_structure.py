"""Term structure on small literal frames: the roll rule, missing contracts flagged, betas."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from alvh.core.calendar import sessions_between
from alvh.transforms.term_structure import TermStructureParams, build_term_structure, expected_contracts


def test_roll_rule_picks_m1_by_trading_days_left() -> None:
    days = pl.Series([date(2018, 2, 5), date(2018, 2, 6), date(2018, 2, 7)])
    exp = expected_contracts(days, roll_tdte=5).to_dicts()
    # Feb-2018 expires 2018-02-14: 7, 6 and 5 sessions left → M1 until tdte reaches 5
    assert [r["m1_expiry"] for r in exp] == [date(2018, 2, 14), date(2018, 2, 14), date(2018, 3, 21)]
    assert [r["m1_tdte"] for r in exp] == [
        7,
        6,
        29,
    ]  # 14 Feb sessions after 02-07 (02-19 holiday) + 15 in March
    assert exp[2]["m2_expiry"] == date(2018, 4, 18) and exp[2]["m3_expiry"] == date(2018, 5, 16)
    assert exp[0]["m1_dte"] == 9


def frames(days: list[date], vix: np.ndarray, settles: dict[date, np.ndarray]) -> tuple[pl.DataFrame, pl.DataFrame]:
    vx_rows = []
    for expiry, values in settles.items():
        for d, v in zip(days, values, strict=True):
            if not np.isnan(v):
                vx_rows.append({"trade_date": d, "contract_expiry": expiry, "is_monthly": True, "settle": float(v)})
    return pl.DataFrame(vx_rows), pl.DataFrame({"session_date": days, "vix_close": vix})


def test_missing_contract_is_flagged_not_filled() -> None:
    days = sessions_between(date(2022, 2, 14), date(2022, 2, 25))
    n = len(days)
    vx, vix = frames(
        days,
        np.full(n, 25.0),
        {
            date(2022, 4, 20): np.full(n, 27.0),
            date(2022, 5, 18): np.full(n, 26.5),
            date(2022, 6, 15): np.full(n, 26.0),
        },
    )
    ts = build_term_structure(pl.Series(days), vx, vix)
    row = ts.filter(pl.col("session_date") == date(2022, 2, 22)).to_dicts()[0]
    assert row["m1_expiry"] == date(2022, 3, 15) and row["m1_settle"] is None  # Mar-2022 absent
    assert row["m2_settle"] == 27.0 and row["term_structure_complete"] is False
    assert row["contango"] is None and row["basis"] is None


def test_betas_default_then_estimate_exact_slopes() -> None:
    days = sessions_between(date(2015, 1, 2), date(2017, 12, 29))
    n = len(days)
    rng = np.random.default_rng(0)
    vix = 15 + rng.normal(size=n).cumsum() * 0.3
    vix = vix - vix.min() + 11
    from alvh.core.calendar import vix_monthly_expirations

    # every contract moves by exactly 0.6 × ΔVIX, so each tenor's slope is 0.6 once estimated
    expiries = vix_monthly_expirations(date(2015, 1, 1), date(2018, 6, 30))
    settles = {e: 20 + 0.6 * (vix - vix[0]) for e in expiries}
    vx, vixf = frames(days, vix, settles)
    p = TermStructureParams(beta_window=100)
    ts = build_term_structure(pl.Series(days), vx, vixf, p)
    early = ts.row(50, named=True)
    assert (early["beta_1"], early["beta_2"], early["beta_3"]) == (0.70, 0.50, 0.40)
    late = ts.row(n - 1, named=True)
    for i in (1, 2, 3):
        assert abs(late[f"beta_{i}"] - 0.6) < 1e-9


def test_betas_are_clipped() -> None:
    days = sessions_between(date(2016, 1, 4), date(2016, 12, 30))
    n = len(days)
    vix = 15 + np.sin(np.arange(n)) * 2
    from alvh.core.calendar import vix_monthly_expirations

    settles = {e: 20 + 3.0 * (vix - vix[0]) for e in vix_monthly_expirations(date(2016, 1, 1), date(2017, 6, 30))}
    vx, vixf = frames(days, vix, settles)
    ts = build_term_structure(pl.Series(days), vx, vixf, TermStructureParams(beta_window=20))
    assert ts["beta_1"][-1] == 1.0
