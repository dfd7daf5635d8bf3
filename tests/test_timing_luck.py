"""Timing luck (issue 20): the IC calendar moved by whole trading sessions, every strategy replayed
per shift, and the distribution of results per strategy."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from alvh.core.calendar import session_offset
from alvh.pipeline.backtest_data import load_market
from alvh.report.backtest import write_timing_luck_report
from alvh.transforms.backtest.readable import Costs, Market, default_strategies, first_cycle_start
from alvh.transforms.backtest.sweep import SweepConfig, evaluate, prepare_group
from alvh.transforms.backtest.timing import shifted_start, timing_luck, timing_summary
from alvh.transforms.ic_book import ic_cycle
from alvh.transforms.signal import HedgeParams


def test_the_shifted_calendar_by_hand() -> None:
    """SPX monthly expiries 2023-12-15, 2024-01-19, 2024-02-16 (2024-02-19 is Presidents' Day)."""
    assert ic_cycle(date(2024, 1, 25)) == (date(2024, 1, 19), date(2024, 2, 16))
    # +3 sessions: Jan 19 → 22, 23, 24; Feb 16 → 20, 21, 22
    assert ic_cycle(date(2024, 1, 25), 3) == (date(2024, 1, 24), date(2024, 2, 22))
    assert ic_cycle(date(2024, 1, 23), 3) == (date(2023, 12, 20), date(2024, 1, 24))
    # −2 sessions: Jan 19 → 18, 17; Feb 16 → 15, 14
    assert ic_cycle(date(2024, 1, 17), -2) == (date(2024, 1, 17), date(2024, 2, 14))
    assert ic_cycle(date(2024, 1, 16), -2) == (date(2023, 12, 13), date(2024, 1, 17))
    assert session_offset(date(2024, 2, 17), 0) == date(2024, 2, 20)  # a Saturday: the next session


def test_summary_quantiles_by_hand() -> None:
    table = pl.DataFrame(
        {
            "shift": [-2, -1, 0, 1, 2],
            "strategy": ["s"] * 5,
            "pnl_net_usd": [10.0, 20.0, 30.0, 40.0, 50.0],
            "max_drawdown_net_usd": [-5.0, -4.0, -3.0, -2.0, -1.0],
            "hedge_pnl_usd": [0.0] * 5,
        }
    )
    row = timing_summary(table).filter(pl.col("measure") == "pnl_net_usd").row(0, named=True)
    # linear percentiles of 10…50: p10 = 10 + 0.4 × 10 = 14, p90 = 46
    assert (row["unshifted"], row["median"], row["p10"], row["p90"], row["min"], row["max"]) == (
        30.0,
        30.0,
        pytest.approx(14.0),
        pytest.approx(46.0),
        10.0,
        50.0,
    )


@pytest.fixture(scope="module")
def market(signal_warehouse: Path) -> Market:
    with duckdb.connect(str(signal_warehouse), read_only=True) as con:
        return load_market(con)


def test_shift_zero_is_the_ordinary_run_and_a_shift_moves_the_result(market: Market, tmp_path: Path) -> None:
    start, end = date(2018, 1, 2), date(2019, 12, 31)
    strategies = default_strategies(HedgeParams())
    table = timing_luck(market, strategies, Costs(), start, end, shifts=(-3, 0, 4))
    days = [r["session_date"] for r in market.rows]
    first = first_cycle_start(start, days)
    assert shifted_start(start, days, 0) == first == date(2018, 1, 19)
    assert shifted_start(start, days, 4) == date(2018, 1, 25)
    sessions = [d for d in days if first <= d <= end]
    group = prepare_group(market, sessions, SweepConfig("x", strategies[1], Costs()))
    for s in strategies:
        plain = evaluate(group, SweepConfig(s.name, s, Costs()))
        row = table.filter((pl.col("shift") == 0) & (pl.col("strategy") == s.name)).row(0, named=True)
        assert row["pnl_net_usd"] == pytest.approx(plain["total_pnl_net_usd"], abs=0.005)
    steward = table.filter(pl.col("strategy") == "alvh_steward").sort("shift")["pnl_net_usd"].to_list()
    assert len(set(round(x) for x in steward)) == 3  # each phase is another result
    path = write_timing_luck_report(table, timing_summary(table), tmp_path / "timing_luck.html")
    text = path.read_text()
    assert "Distribution per strategy" in text and "alvh_steward" in text and "http" not in text
    assert (tmp_path / "timing_luck.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_cli_runs_the_study_and_writes_its_page(
    prefect_harness: None, signal_warehouse: Path, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from alvh.cli import app

    args = ["backtest", "--timing-luck", "--max-shift", "1", "--start", "2018-01-02", "--end", "2018-12-31"]
    res = CliRunner().invoke(app, [*args, "--out", str(tmp_path), "--warehouse", str(signal_warehouse)])
    assert res.exit_code == 0, res.output
    runs = pl.read_csv(tmp_path / "timing_luck.csv")
    assert sorted(set(runs["shift"].to_list())) == [-1, 0, 1] and runs.height == 3 * 5
    assert "alvh_steward" in (tmp_path / "timing_luck.html").read_text() and "report:" in res.output
