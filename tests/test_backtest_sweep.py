"""Sweeps and walk-forward on the compiled engine: the sweep file's expansion and checks, a sweep
row equal to the readable backtest's summary, identical tables serially, on a Dask LocalCluster
and on a real external Dask cluster (scheduler and two workers started here), and a small
walk-forward study whose folds, choice and out-of-sample figures are checked against the
readable engine."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest

from alvh.core.errors import ConfigError
from alvh.core.settings import load_settings
from alvh.flows.walk_forward import baselines, walk_forward
from alvh.pipeline.backtest_data import load_market
from alvh.pipeline.backtest_sweep import backtest_sessions, config_from, expand_spec, sweep
from alvh.transforms.backtest.readable import Costs, Market, Strategy
from alvh.transforms.backtest.run import run_backtest
from alvh.transforms.backtest.walk_forward import choose, folds, verdict
from tests.support.waits import stop_processes


@pytest.fixture(scope="module")
def market(signal_warehouse: Path) -> Market:
    with duckdb.connect(str(signal_warehouse), read_only=True) as con:
        return load_market(con)


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return load_settings(warehouse=tmp_path_factory.mktemp("s") / "unused.duckdb")


SPEC = {
    "configs": [{"name": "fixed", "kind": "alvh", "mode": "fixed"}, {"name": "m1", "kind": "calls", "tenor": 1}],
    "grid": {"carry_budget": [0.2, 0.5], "rebalance_band": [0.10, 0.25]},
    "random": {"n": 3, "seed": 7, "uniform": {"harvest_multiple": [2.0, 5.0], "min_trade_contracts": [0, 5]}},
}


def test_sweep_file_expands_configs_grid_and_random(settings) -> None:  # type: ignore[no-untyped-def]
    configs = expand_spec(SPEC, settings)
    names = [c.name for c in configs]
    assert names[:2] == ["fixed", "m1"]
    assert names[2:6] == [
        "grid carry_budget=0.2 rebalance_band=0.1",
        "grid carry_budget=0.2 rebalance_band=0.25",
        "grid carry_budget=0.5 rebalance_band=0.1",
        "grid carry_budget=0.5 rebalance_band=0.25",
    ]
    assert names[6:] == ["random 1", "random 2", "random 3"]
    grid3 = configs[4]
    assert grid3.strategy.hedge.carry_budget == 0.5 and grid3.strategy.hedge.band == 0.10
    assert configs[0].strategy.hedge.mode == "fixed" and configs[0].settings == {"hedge_mode": "fixed"}
    for c in configs[6:]:
        assert 2.0 <= c.strategy.hedge.harvest_multiple <= 5.0
        assert c.strategy.hedge.min_trade_contracts in range(6)
    assert [c.settings for c in expand_spec(SPEC, settings)[6:]] == [c.settings for c in configs[6:]]  # seeded
    cost = config_from({"name": "dear", "commission_usd": 2.5, "spx_half_spread": 0.5}, settings)
    assert cost.costs == Costs(2.5, 0.05, 0.5)


def test_sweep_file_errors_name_the_configuration_and_setting(settings) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="configuration 'bad': setting carry_budget = -1"):
        config_from({"name": "bad", "carry_budget": -1}, settings)
    with pytest.raises(ConfigError, match=r"unknown setting\(s\) \['carry'\]"):
        config_from({"name": "typo", "carry": 0.3}, settings)
    # settings a backtest does not read are refused, not swept to identical rows
    with pytest.raises(ConfigError, match=r"'tdte 3': \['roll_tdte'\] would change nothing.*ALVH_ROLL_TDTE"):
        config_from({"name": "tdte 3", "roll_tdte": 3}, settings)
    with pytest.raises(ConfigError, match=r"'macd': \['macd_fast'\] would change nothing in a backtest"):
        config_from({"name": "macd", "macd_fast": 10}, settings)
    spec = {"grid": {"rebalance_band": [0.1, 0.2], "lock_timeout_s": [5, 10]}}
    with pytest.raises(ConfigError, match=r"\['lock_timeout_s'\] would change nothing"):
        expand_spec(spec, settings)


def test_named_backtest_strategies_are_validated_like_sweep_configurations(tmp_path: Path) -> None:
    from alvh.pipeline.backtest import strategies_for

    own = [{"name": "steward_50", "kind": "alvh", "carry_budget": 0.5, "band": 0.2, "ic_contracts": 5}]
    s = load_settings(warehouse=tmp_path / "w.duckdb", backtest_strategies=own)
    mine = strategies_for(s, ["steward_50"])[-1]
    assert (mine.hedge.carry_budget, mine.hedge.band, mine.hedge.ic.contracts) == (0.5, 0.2, 5)
    for spec, message in (
        ({"name": "x", "kind": "alvh", "carry_budget": -1}, "setting carry_budget = -1"),
        ({"name": "x", "kind": "alvh", "roll_tdte": 3}, r"\['roll_tdte'\] would change nothing"),
        ({"name": "x", "kind": "alvh", "commission_usd": 2}, r"\['commission_usd'\] apply to the whole backtest"),
        ({"name": "x"}, "needs a name and a kind"),
    ):
        bad = load_settings(warehouse=tmp_path / "w.duckdb", backtest_strategies=[spec])
        with pytest.raises(ConfigError, match=message):
            strategies_for(bad, None)


def test_a_sweep_row_equals_the_readable_backtest_summary(market: Market, settings) -> None:  # type: ignore[no-untyped-def]
    configs = [config_from({"name": "budget 50", "carry_budget": 0.5}, settings)]
    table = sweep(market, configs, date(2018, 1, 2), date(2018, 12, 31), runner="serial")
    readable = run_backtest(
        market,
        [Strategy("unhedged", "unhedged", configs[0].strategy.hedge), configs[0].strategy],
        date(2018, 1, 2),
        date(2018, 12, 31),
        configs[0].costs,
        "ref",
        engine="readable",
    ).summary.filter(pl.col("strategy") == "budget 50")
    row, ref = table.row(0, named=True), readable.row(0, named=True)
    assert json.loads(row["settings"]) == {"carry_budget": 0.5}
    for col in (
        "total_pnl_gross_usd",
        "total_pnl_net_usd",
        "max_drawdown_gross_usd",
        "max_drawdown_net_usd",
        "hedge_pnl_usd",
        "costs_usd",
    ):
        assert abs(row[col] - ref[col]) < 0.005, col
    assert row["calmar_net"] == pytest.approx(ref["calmar_net"], rel=1e-9)
    assert row["contracts_traded"] == ref["contracts_traded"] > 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def external_cluster(tmp_path: Path) -> Iterator[str]:
    """A real Dask cluster: ``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1,
    always stopped (by their own process ids) when the test ends."""
    from distributed import Client

    dask = str(Path(sys.executable).parent / "dask")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    log = (tmp_path / "dask.log").open("w")
    procs = [
        subprocess.Popen(
            [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], stdout=log, stderr=log
        )
    ]
    try:
        for _ in range(2):
            procs.append(
                subprocess.Popen(
                    [dask, "worker", address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard"],
                    stdout=log,
                    stderr=log,
                )
            )
        deadline = time.monotonic() + 90
        while True:
            try:
                with Client(address, timeout=5) as client:
                    client.wait_for_workers(2, timeout=max(1, deadline - time.monotonic()))
                    assert len(client.scheduler_info()["workers"]) == 2
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        yield address
    finally:
        stop_processes(list(reversed(procs)))
        log.close()


@pytest.mark.flow
def test_serial_local_cluster_and_external_cluster_tables_are_identical(
    prefect_harness: None,
    market: Market,
    settings,  # type: ignore[no-untyped-def]
    external_cluster: str,
) -> None:
    spec = {
        "grid": {"carry_budget": [0.2, 0.5], "harvest_multiple": [2.0, 4.0]},
        "configs": [{"name": "fixed", "mode": "fixed"}],
    }
    configs = expand_spec(spec, settings)
    a, b = date(2019, 6, 3), date(2020, 6, 30)
    serial = sweep(market, configs, a, b, runner="serial", run_id="r")
    local = sweep(market, configs, a, b, runner="dask", workers=2, run_id="r")
    external = sweep(market, configs, a, b, runner="dask", workers=2, address=external_cluster, run_id="r")
    assert serial.height == 5 and serial["config"].to_list()[0] == "fixed"
    assert serial.equals(local)
    assert serial.equals(external)
    assert serial["total_pnl_net_usd"].n_unique() == 5  # the settings matter


def test_walk_forward_folds_choice_and_out_of_sample(market: Market, settings) -> None:  # type: ignore[no-untyped-def]
    days = [r["session_date"] for r in market.rows]
    fs = folds(days, date(2015, 1, 2), date(2019, 12, 31), 2, 1)
    assert [(f.train[0], f.test[0], f.test[-1]) for f in fs] == [
        (date(2015, 1, 16), date(2017, 1, 20), date(2017, 12, 29)),
        (date(2016, 1, 15), date(2018, 1, 19), date(2018, 12, 31)),
        (date(2017, 1, 20), date(2019, 1, 18), date(2019, 12, 31)),
    ]
    grid = expand_spec({"grid": {"carry_budget": [0.15, 0.6]}}, settings)
    wf = walk_forward(
        market,
        grid,
        baselines(settings),
        date(2015, 1, 2),
        date(2019, 12, 31),
        2,
        1,
        "net",
        run_id="wf",
        mode="restart",
    )
    assert wf.height == 9 and wf["strategy"].to_list()[:3] == ["chosen", "default", "unhedged"]
    # the choice: the grid point with the larger training-window net P&L (readable engine)
    f1 = fs[0]

    def readable_summary(c: Any, window: list[date]) -> pl.DataFrame:
        """The readable engine's summary of configuration ``c`` (and unhedged) over ``window``."""
        strategies = [Strategy("unhedged", "unhedged", c.strategy.hedge), c.strategy]
        return run_backtest(market, strategies, window[0], window[-1], c.costs, "r", engine="readable").summary

    train_net = [
        readable_summary(c, f1.train).filter(pl.col("strategy") == c.name)["total_pnl_net_usd"][0] for c in grid
    ]
    chosen = wf.filter((pl.col("fold") == 1) & (pl.col("strategy") == "chosen")).row(0, named=True)
    best = grid[0 if train_net[0] >= train_net[1] else 1]
    assert json.loads(chosen["settings"]) == best.settings
    assert abs(chosen["is_pnl_net_usd"] - max(train_net)) < 0.005
    # out of sample: the default steward's test window equals a readable backtest of that window
    d1 = wf.filter((pl.col("fold") == 1) & (pl.col("strategy") == "default")).row(0, named=True)
    ref = readable_summary(baselines(settings)[0], f1.test)
    assert abs(d1["oos_pnl_net_usd"] - ref.filter(pl.col("strategy") == "default")["total_pnl_net_usd"][0]) < 0.005
    u1 = wf.filter((pl.col("fold") == 1) & (pl.col("strategy") == "unhedged")).row(0, named=True)
    assert abs(u1["oos_pnl_net_usd"] - ref.filter(pl.col("strategy") == "unhedged")["total_pnl_net_usd"][0]) < 0.005
    assert backtest_sessions(market, f1.test[0], f1.test[-1]) == f1.test


def test_choice_and_verdict_on_literal_rows() -> None:
    rows = [
        {"total_pnl_net_usd": 10.0, "calmar_net": 0.5, "max_drawdown_net_usd": -40.0},
        {"total_pnl_net_usd": 30.0, "calmar_net": 0.2, "max_drawdown_net_usd": -90.0},
        {"total_pnl_net_usd": 30.0, "calmar_net": None, "max_drawdown_net_usd": -10.0},
    ]
    assert choose(rows, "net") == 1  # tie with row 2: the earlier wins
    assert choose(rows, "calmar") == 2  # no drawdown ranks first
    assert choose(rows, "max_drawdown") == 2
    wf = [
        {"fold": 1, "strategy": "chosen", "oos_pnl_net_usd": 100.0},
        {"fold": 1, "strategy": "default", "oos_pnl_net_usd": 150.0},
        {"fold": 1, "strategy": "unhedged", "oos_pnl_net_usd": 400.0},
        {"fold": 2, "strategy": "chosen", "oos_pnl_net_usd": 80.0},
        {"fold": 2, "strategy": "default", "oos_pnl_net_usd": -20.0},
        {"fold": 2, "strategy": "unhedged", "oos_pnl_net_usd": 10.0},
    ]
    assert verdict(wf) == (
        "Out of sample, summed over 2 folds, net of costs: the settings chosen in sample beat the default steward "
        "($180 vs $130; better in 1 of 2 folds); unhedged made $410. Best of the three out of sample: unhedged."
    )


def test_a_backtest_window_that_cannot_run_is_refused_in_words(market: Market) -> None:
    """Issue (QA): --start after --end gave "ValueError: no SPX monthly expiry session after …";
    a window before the data said "run `alvh ingest` first" on a full warehouse."""
    from alvh.pipeline.backtest import backtest_window

    assert backtest_window(market, date(2018, 1, 2), date(2018, 12, 31)) == date(2018, 12, 31)
    with pytest.raises(ConfigError, match="--end 2025-01-01 is before --start 2025-06-01"):
        backtest_window(market, date(2025, 6, 1), date(2025, 1, 1))
    with pytest.raises(ConfigError, match="no SPX monthly expiry between --start 2018-12-24 and 2018-12-31"):
        backtest_window(market, date(2018, 12, 24), date(2018, 12, 31))
    before = [r for r in market.rows if r["session_date"] < date(1991, 1, 1)]  # as read up to --end 1990-12-31
    with pytest.raises(ConfigError, match="no session with SPX, VIX, VVIX and a VX curve up to --end 1990-12-31"):
        backtest_window(
            Market(before, market.settles, market.vix_open, market.spx_open), date(1990, 1, 2), date(1990, 12, 31)
        )
