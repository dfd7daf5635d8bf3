"""The backtest and sweep flows end to end (Prefect), storing tables in DuckDB."""

from __future__ import annotations

import html
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


def test_sweep_flow_stores_the_sweep_table(prefect_harness: None, fresh_signal_warehouse: Path, tmp_path: Path) -> None:
    from alvh.pipeline.backtest import sweep_flow

    grid = tmp_path / "sweep.toml"
    grid.write_text('[grid]\ncarry_budget = [0.2, 0.5]\n\n[[configs]]\nname = "fixed"\nkind = "alvh"\nmode = "fixed"\n')
    result = sweep_flow(str(grid), date(2018, 1, 2), date(2018, 3, 30), str(fresh_signal_warehouse), runner="serial")
    assert result["config"].to_list() == ["fixed", "grid carry_budget=0.2", "grid carry_budget=0.5"]
    traded = dict(zip(result["config"], result["contracts_traded"], strict=True))
    assert traded["grid carry_budget=0.5"] >= traded["grid carry_budget=0.2"]  # more budget, more hedge
    with duckdb.connect(str(fresh_signal_warehouse), read_only=True) as con:
        stored = con.sql(
            "SELECT config, settings, start_date, total_pnl_net_usd FROM backtest.sweep ORDER BY config"
        ).pl()
    assert stored["config"].to_list() == ["fixed", "grid carry_budget=0.2", "grid carry_budget=0.5"]
    assert stored["settings"].to_list() == ['{"hedge_mode": "fixed"}', '{"carry_budget": 0.2}', '{"carry_budget": 0.5}']
    assert stored["start_date"].to_list() == [date(2018, 1, 19)] * 3
    assert stored.sort("config")["total_pnl_net_usd"].to_list() == result.sort("config")["total_pnl_net_usd"].to_list()


def test_walk_forward_flow_stores_the_table_and_a_report(
    prefect_harness: None, fresh_signal_warehouse: Path, tmp_path: Path
) -> None:
    from alvh.pipeline.backtest_walkforward import walk_forward_flow

    grid = tmp_path / "grid.toml"
    grid.write_text("[grid]\ncarry_budget = [0.2, 0.5]\n")
    table, text, path = walk_forward_flow(
        1, 1, "calmar", str(grid), date(2017, 1, 2), date(2019, 12, 31), str(tmp_path / "out"),
        str(fresh_signal_warehouse), runner="serial",
    )  # fmt: skip
    assert table["fold"].unique().sort().to_list() == [1, 2]
    assert text.startswith("Out of sample, summed over 2 folds, net of costs: the settings chosen in sample ")
    assert path == tmp_path / "out" / "walk_forward.html" and (tmp_path / "out" / "walk_forward.png").exists()
    page = path.read_text()
    assert "data:image/png;base64," in page
    assert html.escape(text) in page
    with duckdb.connect(str(fresh_signal_warehouse), read_only=True) as con:
        rows = con.sql("SELECT fold, strategy, objective FROM backtest.walk_forward ORDER BY fold, strategy").fetchall()
    assert rows == [(f, s, "calmar") for f in (1, 2) for s in ("chosen", "default", "unhedged")]
