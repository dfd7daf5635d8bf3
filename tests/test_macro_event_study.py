"""The macro event study (issue 22, item 3) on the real data, checked against a plain-Python
recomputation of its windows, and the permutation test on literal inputs."""

from __future__ import annotations

from datetime import date
from itertools import pairwise
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest

from alvh.transforms.macro_event_study import macro_event_study, permutation_p, window_changes


def test_permutation_p_on_literal_inputs() -> None:
    rng = np.random.default_rng(0)
    values = np.array([5.0, 6.0, 7.0] + [0.0, 1.0, -1.0, 0.5, -0.5, 0.2, -0.2, 0.1, -0.1] * 3)
    event = np.zeros(values.size, dtype=bool)
    event[:3] = True
    # the event holds the three largest of 30 values: only a relabelling drawing those three (1 in
    # C(30, 3) = 4,060) is as far from the rest
    assert permutation_p(values, event, 2000, rng) < 0.005
    # the event drawn from the middle of the same values: a difference relabellings reach often
    middle = np.zeros(values.size, dtype=bool)
    middle[[3, 4, 5]] = True  # 0, 1, −1: mean 0
    assert permutation_p(values, middle, 2000, rng) > 0.2
    flat, half = np.ones(20), np.arange(20) < 10
    assert permutation_p(flat, half, 500, rng) == 1.0  # no difference at all: every relabelling ties


def test_window_changes_on_literal_rows() -> None:
    mart = pl.DataFrame(
        {
            "session_date": [date(2026, 1, 5), date(2026, 1, 6), date(2026, 1, 7), date(2026, 1, 8)],
            "vix_close": [15.0, 16.0, 14.0, 17.5],
            "m1_expiry": [date(2026, 1, 21)] * 2 + [date(2026, 2, 18)] * 2,
        }
    )
    vx = pl.DataFrame(
        {
            "trade_date": [date(2026, 1, 5), date(2026, 1, 6), date(2026, 1, 7), date(2026, 1, 7), date(2026, 1, 8)],
            "contract_expiry": [date(2026, 1, 21)] * 3 + [date(2026, 2, 18)] * 2,
            "settle": [16.0, 16.5, 15.0, 18.0, 19.0],
        }
    )
    one = window_changes(mart, vx, 1)
    assert one.rows() == [
        (date(2026, 1, 6), 1.0, 0.5),
        (date(2026, 1, 7), -2.0, -1.5),  # the contract that was M1 the close before, even as M1 rolls
        (date(2026, 1, 8), 3.5, 1.0),
    ]
    two = window_changes(mart, vx, 2)
    assert two.rows() == [(date(2026, 1, 6), -1.0, -1.0), (date(2026, 1, 7), 1.5, None)]  # no Jan settle on the 8th


@pytest.fixture(scope="module")
def inputs(signal_warehouse: Path) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    with duckdb.connect(str(signal_warehouse), read_only=True) as con:
        mart = con.sql("SELECT session_date, vix_close, m1_expiry FROM marts.indicators_daily").pl()
        vx = con.sql("SELECT trade_date, contract_expiry, settle FROM staging.stg_vx_futures").pl()
        cal = con.sql("SELECT event, session_date, scheduled FROM staging.macro_event").pl()
    return mart, vx, cal


def test_the_study_on_real_data(inputs: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]) -> None:
    mart, vx, cal = inputs
    study = macro_event_study(mart, vx, cal, permutations=2000, seed=22)
    assert (study.first, study.last) == (date(2007, 1, 3), date(2026, 7, 22))
    # months the calendar lists no CPI or no PPI in: the two Januaries dated a year early, the shutdown
    assert study.gap_months == ["2007-01", "2008-01", "2025-10", "2025-11", "2025-12"]
    t = study.table
    assert t.height == 3 * 2 * 2
    # recompute the FOMC / VIX / 1-session row in plain Python from the same rows
    rows = sorted(mart.to_dicts(), key=lambda r: r["session_date"])
    fomc = {
        d
        for e, d, s in cal.select("event", "session_date", "scheduled").rows()
        if e == "fomc_decision" and s and date(2007, 1, 3) <= d
    }
    any_event = {d for e, d, s in cal.rows() if s and e in ("fomc_decision", "cpi", "ppi")}
    gaps = set(study.gap_months)
    ev, ot = [], []
    for prev, cur in pairwise(rows):
        d = cur["session_date"]
        if d < date(2007, 1, 3) or prev["vix_close"] is None or cur["vix_close"] is None:
            continue
        change = cur["vix_close"] - prev["vix_close"]
        if d in fomc:
            ev.append(change)
        elif d not in any_event and d.strftime("%Y-%m") not in gaps:
            ot.append(change)
    row = t.filter((pl.col("kind") == "fomc_decision") & (pl.col("series") == "VIX") & (pl.col("horizon") == 1)).row(
        0, named=True
    )
    assert (row["n_event"], row["n_other"]) == (len(ev), len(ot)) == (155, 4225)
    assert row["mean_event"] == pytest.approx(float(np.mean(ev)), abs=1e-12)
    assert row["mean_other"] == pytest.approx(float(np.mean(ot)), abs=1e-12)
    assert row["mean_abs_event"] == pytest.approx(float(np.mean(np.abs(ev))), abs=1e-12)
    # measured: VIX falls 0.42 points on an FOMC decision's session vs +0.01 on other sessions
    assert round(row["mean_event"], 2) == -0.42 and round(row["mean_other"], 2) == 0.01
    assert row["p_mean"] < 0.05
    assert t["p_mean"].is_between(0, 1).all() and t["p_abs"].is_between(0, 1).all()
    # the same seed gives the same p-values
    again = macro_event_study(mart, vx, cal, permutations=2000, seed=22)
    assert again.table.equals(t)
