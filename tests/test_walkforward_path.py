"""Walk-forward as a path (issue 20): the out-of-sample equity is one series with no restart —
the IC and the hedge book carried from fold to fold, the chosen settings switching at each
fold's first test session — and the folds' out-of-sample P&Ls are its segments."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import polars as pl
import pytest

from alvh.core.settings import load_settings
from alvh.flows.walk_forward import baselines, path_frame, walk_forward_study
from alvh.pipeline.backtest_sweep import backtest_sessions, expand_spec
from alvh.transforms.backtest.readable import Market
from alvh.transforms.backtest.sweep import equity
from alvh.transforms.backtest.walk_forward import Groups, _stitched_equity, folds

START, END = date(2015, 1, 2), date(2019, 12, 31)


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return load_settings(warehouse=tmp_path_factory.mktemp("s") / "unused.duckdb")


def test_the_path_is_contiguous_and_its_segments_are_the_folds(market: Market, settings) -> None:  # type: ignore[no-untyped-def]
    grid = expand_spec({"grid": {"carry_budget": [0.15, 0.6]}}, settings)
    wf, oos = walk_forward_study(market, grid, baselines(settings), START, END, 2, 1, "net", run_id="p")
    assert oos is not None
    days = [r["session_date"] for r in market.rows]
    fs = folds(days, START, END, 2, 1)
    # one series: every session from the first test start to the last test end, no gap — the
    # 2018-01-02 … 2018-01-18 sessions a restarting study never tests are in it
    assert oos.sessions == [d for d in days if fs[0].test[0] <= d <= fs[-1].test[-1]]
    assert date(2018, 1, 2) in oos.sessions and date(2018, 1, 2) not in fs[0].test + fs[1].test
    assert [oos.sessions[a] for a in oos.starts] == [f.test[0] for f in fs]
    # the folds' out-of-sample net P&Ls add up to the path's end equity, per strategy
    for name in ("chosen", "default", "unhedged"):
        total = wf.filter(pl.col("strategy") == name)["oos_pnl_net_usd"].sum()
        assert total == pytest.approx(float(oos.net[name][-1]), abs=0.01)
    # the default steward's path is one backtest over the span (no restart at fold boundaries)
    groups = Groups(market, backtest_sessions(market, START, END))
    default = baselines(settings)[0]
    single = equity(groups.window(default, oos.sessions), default)
    np.testing.assert_allclose(oos.net["default"], single.net, atol=0.005)
    frame = path_frame(oos)
    assert frame.height == 3 * len(oos.sessions) and frame["fold"].max() == len(fs)


def test_one_setting_chosen_everywhere_is_one_run_and_a_switch_changes_the_path(market: Market, settings) -> None:  # type: ignore[no-untyped-def]
    groups = Groups(market, backtest_sessions(market, START, END))
    one = expand_spec({"grid": {"carry_budget": [0.15]}}, settings)
    _, oos = walk_forward_study(market, one, baselines(settings), START, END, 2, 1, "net")
    assert oos is not None
    single = equity(groups.window(one[0], oos.sessions), one[0])
    np.testing.assert_allclose(oos.net["chosen"], single.net, atol=0.005)
    # two settings: before the first switch the path is the first fold's choice alone; after it
    # the book carried in is traded toward the new targets (the path differs from both runs)
    two = expand_spec({"grid": {"carry_budget": [0.15, 0.6]}}, settings)
    wf, oos2 = walk_forward_study(market, two, baselines(settings), START, END, 2, 1, "net")
    assert oos2 is not None
    chosen = wf.filter(pl.col("strategy") == "chosen").sort("fold")["settings"].to_list()
    runs = {c.name: equity(groups.window(c, oos2.sessions), c).net for c in two}
    first = next(c for c in two if c.settings == json.loads(chosen[0]))
    a1 = oos2.starts[1]
    np.testing.assert_allclose(oos2.net["chosen"][:a1], runs[first.name][:a1], atol=0.005)
    if len(set(chosen)) > 1:
        assert all(np.abs(oos2.net["chosen"] - r).max() > 1.0 for r in runs.values())


def test_restart_mode_keeps_the_old_windows(market: Market, settings) -> None:  # type: ignore[no-untyped-def]
    grid = expand_spec({"grid": {"carry_budget": [0.15]}}, settings)
    wf, oos = walk_forward_study(market, grid, baselines(settings), START, END, 2, 1, "net", mode="restart")
    assert oos is None
    days = [r["session_date"] for r in market.rows]
    assert wf.filter(pl.col("strategy") == "default")["test_end"].to_list() == [
        f.test[-1] for f in folds(days, START, END, 2, 1)
    ]


@pytest.mark.parametrize("setting", [{"smile_skew": [0.0, 0.8]}, {"target_delta": [0.2, 0.4]}])
def test_a_session_runs_wholly_on_its_owners_market_settings(
    market: Market,
    settings,  # type: ignore[no-untyped-def]
    setting: dict[str, list[float]],
) -> None:
    """A market setting (the VIX-call surface, the target delta) chosen for a fold switches every
    price that depends on it — the strikes bought and the marks of what is held: a configuration
    that owns every session of the path gives exactly its own run, even when a configuration with
    another surface or target comes first."""
    span = backtest_sessions(market, date(2018, 1, 2), date(2018, 12, 31))
    groups = Groups(market, span)
    first, second = expand_spec({"grid": setting}, settings)
    owner = np.ones(len(span), dtype=np.int64)  # the second configuration owns every session
    path, _ = _stitched_equity([first, second], owner, span, first, groups)
    own = equity(groups.window(second, span), second)
    np.testing.assert_allclose(path.net, own.net, atol=0.005)
    assert np.abs(own.net - equity(groups.window(first, span), first).net).max() > 1.0, "the settings must matter"
