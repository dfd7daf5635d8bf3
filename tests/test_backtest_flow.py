"""The backtest and sweep flows end to end (Prefect), storing tables in DuckDB."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.flow


def test_backtest_flow_stores_tables_and_report(
    prefect_harness: None, fresh_signal_warehouse: Path, tmp_path: Path
) -> None:
    from alvh.pipeline.backtest import backtest_flow

    res = backtest_flow(
        date(2018, 1, 2), date(2018, 4, 30), ["alvh_steward"], str(tmp_path / "out"), str(fresh_signal_warehouse)
    )
    with duckdb.connect(str(fresh_signal_warehouse), read_only=True) as con:
        runs = con.sql("SELECT run_id, start_date, strategies FROM backtest.run").fetchall()
        assert runs == [(res.run_id, res.start, "unhedged,alvh_steward")]
        n = con.sql("SELECT count(*) FROM backtest.daily").fetchall()[0][0]
        assert n == 2 * len(res.daily["session_date"].unique())
        assert con.sql("SELECT count(*) FROM backtest.summary").fetchall() == [(2,)]
        assert con.sql("SELECT count(*) FROM backtest.event WHERE event = '2018-02'").fetchall() == [(2,)]
    for f in (
        "report.html",
        "backtest_daily.csv",
        "backtest_daily.parquet",
        "backtest_event.csv",
        "backtest_summary.csv",
    ):
        assert (tmp_path / "out" / f).exists(), f


def test_sweep_runs_a_grid(prefect_harness: None, fresh_signal_warehouse: Path, tmp_path: Path) -> None:
    from alvh.pipeline.backtest import sweep_flow

    grid = tmp_path / "sweep.toml"
    grid.write_text('[grid]\ncarry_budget = [0.2, 0.5]\n\n[[configs]]\nname = "fixed"\nkind = "alvh"\nmode = "fixed"\n')
    result = sweep_flow(str(grid), date(2018, 1, 2), date(2018, 3, 30), str(fresh_signal_warehouse))
    assert sorted(result["name"].to_list()) == ["fixed", "grid carry_budget=0.2", "grid carry_budget=0.5"]
    budgets = dict(zip(result["name"], result["contracts_traded"], strict=True))
    assert budgets["grid carry_budget=0.5"] >= budgets["grid carry_budget=0.2"]  # more budget, more hedge
