"""Risk objectives a hedge is bought for (issue: the backtest a professional would sign, item 5):
CVaR 5 % of monthly P&L, the worst 20-session loss and the P&L over the named crisis windows —
on literal equity series worked by hand, then as walk-forward objectives on the real history."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from alvh.core.settings import load_settings
from alvh.flows.walk_forward import baselines, walk_forward
from alvh.pipeline.backtest_sweep import backtest_sessions, expand_spec
from alvh.transforms.backtest.readable import Market
from alvh.transforms.backtest.sweep import crisis_pnl, cvar, evaluate, monthly_pnl, tail_metrics, worst_window_loss
from alvh.transforms.backtest.walk_forward import Groups, choose, folds, score


def test_monthly_pnl_and_cvar_by_hand() -> None:
    sessions = [date(2024, 1, 30), date(2024, 1, 31), date(2024, 2, 1), date(2024, 2, 29), date(2024, 3, 1)]
    eq = np.array([10.0, 20.0, 5.0, -30.0, -10.0])
    # month ends: Jan 31 (20), Feb 29 (−30), Mar 1 (−10) → +20, −50, +20
    assert monthly_pnl(eq, sessions).tolist() == [20.0, -50.0, 20.0]
    assert cvar(np.array([20.0, -50.0, 20.0])) == -50.0  # 5 % of 3 months → the one worst
    assert cvar(np.arange(-20.0, 20.0), level=0.10) == pytest.approx(-18.5)  # worst 4 of 40: −20…−17


def test_worst_window_loss_by_hand() -> None:
    eq = np.array([0.0, 5.0, -10.0, -12.0, 3.0])
    assert worst_window_loss(eq, window=1) == -15.0  # 5 → −10
    assert worst_window_loss(eq, window=2) == -17.0  # 5 → −12
    assert worst_window_loss(eq, window=20) == -17.0  # a shorter run: any span of it
    slow = -np.arange(1.0, 41.0)  # −1 a session for 40 sessions
    assert worst_window_loss(slow, window=20) == -20.0


def test_crisis_pnl_sums_the_named_windows_inside_the_run() -> None:
    start = date(2018, 1, 2)
    sessions = [start + timedelta(days=i) for i in range(90)]
    eq = np.arange(90, dtype=float)  # +1 a day
    # 2018-02: start 2018-02-01 → end 2018-02-28: 27 days of +1
    assert crisis_pnl(eq, sessions) == 27.0
    assert set(tail_metrics(eq, sessions)) == {"cvar5_monthly_net_usd", "worst_20d_net_usd", "crisis_pnl_net_usd"}


def test_choice_by_tail_objectives() -> None:
    rows: list[dict[str, Any]] = [
        {"cvar5_monthly_net_usd": -900.0, "worst_20d_net_usd": -500.0, "crisis_pnl_net_usd": 10.0},
        {"cvar5_monthly_net_usd": -100.0, "worst_20d_net_usd": -800.0, "crisis_pnl_net_usd": 50.0},
    ]
    assert [choose(rows, o) for o in ("cvar", "worst20", "crisis")] == [1, 0, 1]


@pytest.mark.parametrize("objective", ["cvar", "crisis"])
def test_walk_forward_with_a_tail_objective(market: Market, objective: str) -> None:
    """Each fold's chosen settings are the grid point with the best in-sample score on that
    objective (recomputed here per configuration), and every row carries the tail measures."""
    settings = load_settings(warehouse=Path("/nonexistent/unused.duckdb"))
    grid = expand_spec({"grid": {"carry_budget": [0.15, 0.6]}}, settings)
    start, end = date(2015, 1, 2), date(2019, 12, 31)
    wf = walk_forward(market, grid, baselines(settings), start, end, 2, 1, objective, run_id="t")
    assert wf.height == 9 and set(wf["objective"]) == {objective}
    days = [r["session_date"] for r in market.rows]
    groups = Groups(market, backtest_sessions(market, start, end))
    for f in folds(days, start, end, 2, 1):
        scores = [score(evaluate(groups.window(c, f.train), c), objective) for c in grid]
        row = wf.filter((pl.col("fold") == f.number) & (pl.col("strategy") == "chosen")).row(0, named=True)
        assert row["is_score"] == pytest.approx(max(scores))
        assert json.loads(row["settings"]) == grid[scores.index(max(scores))].settings
    assert (wf["oos_worst_20d_net_usd"] <= 0).all()
    assert wf["oos_cvar5_monthly_net_usd"].is_not_null().all() and wf["oos_crisis_pnl_net_usd"].is_not_null().all()
