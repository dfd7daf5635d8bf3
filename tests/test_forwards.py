"""Interpolated forwards for VX contracts missing from the data (ALVH_METHOD.md §3): the rule on
literal curves with hand-worked numbers, the mart's forward columns on the real history, betas
untouched by interpolation, and the leave-one-out error of the rule."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest

from alvh.core.calendar import sessions_between, vix_monthly_expirations
from alvh.schemas.marts import FORWARD_SOURCES as SCHEMA_SOURCES
from alvh.schemas.marts import IndicatorsDaily
from alvh.transforms.forwards import (
    FORWARD_SOURCES,
    Forward,
    ForwardCurves,
    interpolate_forward,
    leave_one_out,
    leave_one_out_errors,
    tenor_contracts,
)
from alvh.transforms.indicators_daily import build_indicators_daily
from alvh.transforms.term_structure import build_term_structure, expected_contracts
from alvh.warehouse.indicators import load_indicator_inputs, mart_sessions

D = date


# ---------------------------------------------------------------- the rule on literal curves


def test_midpoint_is_the_average_of_the_brackets() -> None:
    curve = {D(2022, 3, 9): 24.0, D(2022, 3, 23): 26.0}
    f = interpolate_forward(curve, D(2022, 2, 16), D(2022, 3, 16))  # 7 of 14 days
    assert f == Forward(25.0, "interpolated", D(2022, 3, 9), D(2022, 3, 23))
    assert f.basis() == "interpolated between the 2022-03-09 and 2022-03-23 contracts"


def test_asymmetric_brackets_weight_by_calendar_days() -> None:
    # The real 2022-02-16 curve around the missing Mar-2022 (2022-03-15): weeklies 03-09 and 03-23.
    # 6 of 14 days from the lower: 24.9 + 6/14 × (24.4723 − 24.9) = 24.9 − 0.1833 = 24.7167
    curve = {D(2022, 3, 9): 24.9, D(2022, 3, 23): 24.4723, D(2022, 4, 20): 24.8139}
    f = interpolate_forward(curve, D(2022, 2, 16), D(2022, 3, 15))
    assert f is not None and f.source == "interpolated"
    assert f.value == pytest.approx(24.7167, abs=1e-12)
    assert (f.lower, f.upper) == (D(2022, 3, 9), D(2022, 3, 23))
    # 1 day after the lower of a 28-day gap: 20 + 1/28 × 28 × 0.5 = 20.5
    g = interpolate_forward({D(2024, 1, 3): 20.0, D(2024, 1, 31): 34.0}, D(2024, 1, 2), D(2024, 1, 4))
    assert g is not None and g.value == pytest.approx(20.5)


def test_a_weekly_is_a_bracket_and_the_nearest_wins() -> None:
    session = D(2022, 2, 16)
    vx = pl.DataFrame(
        {
            "trade_date": [session] * 4,
            "contract_expiry": [D(2022, 2, 23), D(2022, 3, 9), D(2022, 3, 23), D(2022, 4, 20)],
            "is_monthly": [False, False, False, True],
            "settle": [25.0, 24.9, 24.4723, 24.8139],
        }
    )
    curves = ForwardCurves.from_frame(vx)
    f = curves.forward(session, D(2022, 3, 15))
    assert f is not None and (f.lower, f.upper) == (D(2022, 3, 9), D(2022, 3, 23))
    assert f.value == pytest.approx(24.7167, abs=1e-12)
    # without the weeklies above it, the upper bracket is the April monthly: 24.9 + 6/42 × (−0.0861)
    curves2 = ForwardCurves.from_frame(vx.filter(pl.col("contract_expiry") != D(2022, 3, 23)))
    f2 = curves2.forward(session, D(2022, 3, 15))
    assert f2 is not None and f2.upper == D(2022, 4, 20)
    assert f2.value == pytest.approx(24.9 + 6 / 42 * (24.8139 - 24.9), abs=1e-12)


def test_a_contract_expiring_that_session_is_never_a_bracket() -> None:
    session = D(2022, 2, 16)
    curve = {session: 26.37, D(2022, 4, 20): 24.8139}  # Feb-2022 expires that very session
    assert interpolate_forward(curve, session, D(2022, 3, 15)) is None
    curves = ForwardCurves({(session, e): v for e, v in curve.items()})
    assert curves.forward(session, D(2022, 3, 15)) is None
    # ... while its own final settlement is still its settle
    assert curves.forward(session, session) == Forward(26.37, "settle")
    # with a live lower bracket, that one is used, not the expiring contract
    curve[D(2022, 3, 9)] = 24.9
    f = interpolate_forward(curve, session, D(2022, 3, 15))
    assert f is not None and f.lower == D(2022, 3, 9)


def test_no_bracketing_pair_means_no_forward() -> None:
    session = D(2022, 2, 16)
    curve = {D(2022, 3, 9): 24.9, D(2022, 3, 23): 24.4723}
    assert interpolate_forward(curve, session, D(2022, 4, 20)) is None  # nothing above
    assert interpolate_forward(curve, session, D(2022, 3, 2)) is None  # nothing below
    assert interpolate_forward({}, session, D(2022, 3, 15)) is None
    curves = ForwardCurves({(session, e): v for e, v in curve.items()})
    assert curves.forward(session, D(2022, 4, 20)) is None
    assert curves.forward(D(2022, 2, 17), D(2022, 3, 15)) is None  # no data that session at all


def test_the_exact_settle_wins() -> None:
    session = D(2022, 2, 16)
    curve = {D(2022, 3, 9): 24.9, D(2022, 3, 15): 30.0, D(2022, 3, 23): 24.4723}
    assert interpolate_forward(curve, session, D(2022, 3, 15)) == Forward(30.0, "settle", None, None)
    curves = ForwardCurves({(session, e): v for e, v in curve.items()})
    f = curves.forward(session, D(2022, 3, 15))
    assert f == Forward(30.0, "settle") and f.basis() is None
    assert curves.settle(session, D(2022, 3, 15)) == 30.0
    assert curves.settle(session, D(2022, 3, 16)) is None  # settle() never interpolates
    assert curves.forward(session, D(2022, 3, 16)) is not None


def test_nulls_and_nans_are_ignored() -> None:
    session = D(2022, 2, 16)
    vx = pl.DataFrame(
        {
            "trade_date": [session] * 3,
            "contract_expiry": [D(2022, 3, 9), D(2022, 3, 15), D(2022, 3, 23)],
            "settle": [24.0, None, 26.0],
        }
    )
    f = ForwardCurves.from_frame(vx).forward(session, D(2022, 3, 16))
    assert f is not None and f.value == 25.0
    assert ForwardCurves.from_frame(vx).settle(session, D(2022, 3, 15)) is None
    assert interpolate_forward(
        {D(2022, 3, 9): 24.0, D(2022, 3, 16): float("nan"), D(2022, 3, 23): 26.0}, session, D(2022, 3, 16)
    ) == Forward(25.0, "interpolated", D(2022, 3, 9), D(2022, 3, 23))


def test_curves_agree_with_the_single_curve_function() -> None:
    rng = np.random.default_rng(3)
    settles: dict[tuple[date, date], float] = {}
    sessions = [D(2023, 1, 2) + timedelta(days=k) for k in range(20)]
    for s in sessions:
        for k in rng.choice(np.arange(-1, 120), size=12, replace=False):
            settles[(s, s + timedelta(days=int(k)))] = float(rng.uniform(12, 40))
    curves = ForwardCurves(settles)
    for s in sessions:
        curve = {e: v for (t, e), v in settles.items() if t == s}
        for k in range(-2, 125):
            e = s + timedelta(days=k)
            assert curves.forward(s, e) == interpolate_forward(curve, s, e)


def test_the_schema_knows_the_sources() -> None:
    assert tuple(SCHEMA_SOURCES) == FORWARD_SOURCES


# ---------------------------------------------------------------- the term structure, literal


def test_term_structure_interpolates_missing_m1_from_weeklies_and_keeps_betas_on_settles() -> None:
    days = sessions_between(D(2022, 2, 14), D(2022, 2, 25))
    vix = pl.DataFrame({"session_date": days, "vix_close": [25.0 + 0.1 * k for k in range(len(days))]})
    rows = []
    for k, d in enumerate(days):
        for e, base, monthly in (
            (D(2022, 3, 9), 24.0, False),
            (D(2022, 3, 23), 26.0, False),
            (D(2022, 4, 20), 27.0, True),
            (D(2022, 5, 18), 26.5, True),
            (D(2022, 6, 15), 26.0, True),
        ):
            rows.append({"trade_date": d, "contract_expiry": e, "is_monthly": monthly, "settle": base + 0.05 * k})
    vx = pl.DataFrame(rows)
    ts = build_term_structure(pl.Series(days), vx, vix)
    r = ts.filter(pl.col("session_date") == D(2022, 2, 22)).to_dicts()[0]
    k = days.index(D(2022, 2, 22))
    # Mar-2022 (03-15) is M1 and absent: 6/14 of the way from 03-09 to 03-23
    assert r["m1_expiry"] == D(2022, 3, 15) and r["m1_settle"] is None
    assert r["m1_forward"] == pytest.approx(24.0 + 0.05 * k + 6 / 14 * 2.0)
    assert r["m1_forward_source"] == "interpolated"
    assert r["m1_forward_basis"] == "interpolated between the 2022-03-09 and 2022-03-23 contracts"
    assert r["m2_forward"] == r["m2_settle"] == 27.0 + 0.05 * k and r["m2_forward_source"] == "settle"
    assert r["m2_forward_basis"] is None
    assert r["contango"] == pytest.approx(r["m2_forward"] / r["m1_forward"] - 1)
    assert r["basis"] == pytest.approx(r["m1_forward"] - (25.0 + 0.1 * k))
    assert r["term_structure_complete"] is False  # a data-quality flag: actual settles only
    # betas never see an interpolated value: scaling the weeklies moves the forward, not the betas
    shifted = vx.with_columns(
        pl.when(pl.col("is_monthly")).then(pl.col("settle")).otherwise(pl.col("settle") * 1.5).alias("settle")
    )
    ts2 = build_term_structure(pl.Series(days), shifted, vix)
    assert ts2["m1_forward"].to_list() != ts["m1_forward"].to_list()
    assert ts2.select("beta_1", "beta_2", "beta_3").equals(ts.select("beta_1", "beta_2", "beta_3"))


# ---------------------------------------------------------------- the real history


@pytest.fixture(scope="module")
def inputs(loaded_warehouse: Path) -> dict[str, pl.DataFrame]:
    with duckdb.connect(str(loaded_warehouse), read_only=True) as con:
        return load_indicator_inputs(con)


@pytest.fixture(scope="module")
def mart(inputs: dict[str, pl.DataFrame]) -> pl.DataFrame:
    return _mart(inputs)


def _mart(inputs: dict[str, pl.DataFrame]) -> pl.DataFrame:
    return build_indicators_daily(
        mart_sessions(inputs["index_daily"]), inputs["index_daily"], inputs["vx"], inputs["breadth"], inputs["rates"]
    )


@pytest.fixture(scope="module")
def curves(inputs: dict[str, pl.DataFrame]) -> ForwardCurves:
    return ForwardCurves.from_frame(inputs["vx"])


@pytest.mark.parametrize(
    ("first", "last", "missing"),
    [
        (D(2022, 2, 16), D(2022, 3, 14), D(2022, 3, 15)),  # Mar-2022
        (D(2024, 12, 11), D(2025, 3, 10), D(2025, 3, 18)),  # Mar-2025 as M3, M2, then M1
        (D(2024, 3, 1), D(2024, 6, 10), D(2024, 6, 18)),  # Jun-2024
    ],
)
def test_forwards_present_where_contracts_are_missing(
    mart: pl.DataFrame, first: date, last: date, missing: date
) -> None:
    rows = mart.filter(pl.col("session_date").is_between(first, last))
    assert rows.height > 10
    hits = 0
    for i in (1, 2, 3):
        m = f"m{i}"
        assert rows[f"{m}_forward"].null_count() == 0, (
            m,
            rows.filter(pl.col(f"{m}_forward").is_null())["session_date"],
        )
        gone = rows.filter(pl.col(f"{m}_settle").is_null())
        assert (gone[f"{m}_expiry"] == missing).all()
        assert (gone[f"{m}_forward_source"] == "interpolated").all()
        assert gone[f"{m}_forward_basis"].str.starts_with("interpolated between the ").all()
        have = rows.filter(pl.col(f"{m}_settle").is_not_null())
        assert (have[f"{m}_forward_source"] == "settle").all() and (have[f"{m}_forward"] == have[f"{m}_settle"]).all()
        hits += gone.height
    assert hits > 0


def test_mar_2022_front_month_on_2022_02_16(mart: pl.DataFrame) -> None:
    r = mart.filter(pl.col("session_date") == D(2022, 2, 16)).to_dicts()[0]
    assert r["m1_expiry"] == D(2022, 3, 15) and r["m1_settle"] is None and not r["term_structure_complete"]
    assert r["m1_forward"] == pytest.approx(24.7167, abs=1e-9)  # see the asymmetric-bracket test
    assert r["m1_forward_basis"] == "interpolated between the 2022-03-09 and 2022-03-23 contracts"
    assert r["contango"] == pytest.approx(24.8139 / 24.7167 - 1, abs=1e-12)
    assert r["basis"] is not None


def test_forward_missing_only_before_the_curve_is_rich_enough(mart: pl.DataFrame) -> None:
    """Where VX data exists (2007 → 2026-01-07), every M1–M3 forward exists."""
    span = mart.filter(pl.col("session_date").is_between(D(2007, 2, 1), D(2026, 1, 7)))
    for i in (1, 2, 3):
        assert span[f"m{i}_forward"].null_count() == 0, i
    IndicatorsDaily.validate(mart, lazy=True)


def _independent_beta(mart: pl.DataFrame, curves: ForwardCurves, i: int, until: date, window: int = 252) -> float:
    """No-intercept slope of the same contract's actual settle change on ΔVIX, last ``window`` pairs."""
    rows = mart.filter(pl.col("session_date") <= until).select("session_date", f"m{i}_expiry", "vix_close").rows()
    dfs, dvs = [], []
    for (d0, _, v0), (d1, e1, v1) in pairwise(rows):
        f0, f1 = curves.settle(d0, e1), curves.settle(d1, e1)
        if None not in (f0, f1, v0, v1):
            dfs.append(f1 - f0)  # type: ignore[operator]
            dvs.append(v1 - v0)
    x, y = np.array(dvs[-window:]), np.array(dfs[-window:])
    return float(np.clip((x * y).sum() / (x * x).sum(), 0.1, 1.0))


def test_betas_use_actual_settles_only(
    mart: pl.DataFrame, curves: ForwardCurves, inputs: dict[str, pl.DataFrame]
) -> None:
    for d in (D(2022, 3, 14), D(2022, 6, 30), D(2024, 6, 28), D(2025, 3, 10)):
        r = mart.filter(pl.col("session_date") == d).to_dicts()[0]
        for i in (1, 2, 3):
            assert r[f"beta_{i}"] == pytest.approx(_independent_beta(mart, curves, i, d), abs=1e-12), (d, i)
    # and the weeklies (the interpolation brackets) change no beta at all
    monthly_only = {**inputs, "vx": inputs["vx"].filter(pl.col("is_monthly"))}
    other = _mart(monthly_only)
    cols = ["beta_1", "beta_2", "beta_3", "m1_settle", "m2_settle", "m3_settle", "term_structure_complete"]
    assert other.select(cols).equals(mart.select(cols))


# ---------------------------------------------------------------- leave-one-out error of the rule


def test_leave_one_out_on_literal_curve() -> None:
    s = D(2022, 2, 16)
    settles = {(s, D(2022, 3, 9)): 24.0, (s, D(2022, 3, 16)): 25.5, (s, D(2022, 3, 23)): 26.0}
    curves = ForwardCurves(settles)
    errs = leave_one_out_errors(curves, {"M1": [(s, D(2022, 3, 16)), (s, D(2022, 3, 15))], "M2": [(s, D(2022, 3, 23))]})
    assert errs["M1"].tolist() == pytest.approx([0.5])  # hidden 25.5 vs 25.0; 03-15 has no settle: skipped
    assert errs["M2"].size == 0  # the last contract has no upper bracket
    detail = leave_one_out(curves, {"M2": [(s, D(2022, 3, 23))]})
    assert detail.height == 1 and detail["abs_error"][0] is None


def test_leave_one_out_error_on_the_real_history(inputs: dict[str, pl.DataFrame], curves: ForwardCurves) -> None:
    vx = inputs["vx"]
    sessions = pl.Series(sessions_between(vx["trade_date"].min(), vx["trade_date"].max()))  # type: ignore[arg-type]
    pairs = tenor_contracts(expected_contracts(sessions, 5))
    assert set(pairs[f"M{i}"][0][1] for i in (1, 2, 3)) <= set(vix_monthly_expirations(D(2005, 1, 1), D(2027, 1, 1)))
    errs = leave_one_out_errors(curves, pairs)
    allerr = np.concatenate(list(errs.values()))
    print(
        f"\nleave-one-out, all tenors: n={allerr.size} median={np.median(allerr):.3f} p95={np.quantile(allerr, 0.95):.3f} points"
    )
    for tenor, e in errs.items():
        med, p95 = float(np.median(e)), float(np.quantile(e, 0.95))
        print(f"leave-one-out {tenor}: n={e.size} median={med:.3f} p95={p95:.3f} points")
        assert e.size > 2000, tenor
        assert med < 0.5 and p95 < 2.0, (tenor, med, p95)


def test_an_older_warehouse_gains_the_forward_columns_in_model_order() -> None:
    from alvh.schemas.columns import column_order
    from alvh.warehouse.ddl import duckdb_type
    from alvh.warehouse.migrations import migrate

    cols = IndicatorsDaily.to_schema().columns
    old = [c for c in column_order(IndicatorsDaily) if "_forward" not in c and not c.startswith("next_event")]
    assert column_order(IndicatorsDaily)[: len(old)] == old  # the forward (then the next-event) columns come last
    with duckdb.connect() as con:
        con.execute("CREATE SCHEMA marts")
        con.execute(f"CREATE TABLE marts.indicators_daily ({', '.join(f'{c} {duckdb_type(cols[c])}' for c in old)})")
        migrate(con)
        got = con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'marts' "
            "AND table_name = 'indicators_daily' ORDER BY ordinal_position"
        ).fetchall()
    assert [c for (c,) in got] == column_order(IndicatorsDaily)
