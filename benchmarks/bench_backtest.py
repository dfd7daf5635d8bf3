"""Benchmark of the compiled engine and the sweeps, every figure measured in one run:

(a) one strategy (the default steward) 2007 → the last complete session on the compiled engine,
    after compilation: the day-step with its accounting (target ≤ 0.05 s), beside the readable
    engine's time (target ≥ 80×); the one-off preparation of the inputs is reported apart;
(b) compiled vs readable on the same work — the steward's tickets, positions and daily hedge
    accounting (target ≥ 50×);
(c) a 1,000-configuration sweep over the same period on 2 worker processes (target ≤ 90 s);
(d) the same sweep on a Dask LocalCluster through Prefect's DaskTaskRunner vs plain processes
    (target ≤ 1.3×);
(e) peak RSS of the 1,000-configuration sweep, this process and its children together
    (target ≤ 2 GiB).

Run: ``uv run python benchmarks/bench_backtest.py [--configs 1000] [--workers 2]``; needs a
warehouse with the indicators mart (``alvh ingest --source-dir ../shared/data``; ALVH_WAREHOUSE
picks it).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import threading
import time
from collections.abc import Callable
from datetime import date
from typing import Any

import duckdb
import psutil

from alvh.core.settings import load_settings
from alvh.pipeline.backtest import last_complete_session
from alvh.pipeline.backtest_data import load_market
from alvh.pipeline.backtest_sweep import backtest_sessions, expand_spec, sweep
from alvh.transforms.backtest.compiled import kernel_hedge_daily, kernel_trades, prepared, run_kernel
from alvh.transforms.backtest.readable import Costs, default_strategies, hedge_daily, hedge_trades
from alvh.transforms.signal import HedgeParams

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # the harness's server phones no one


class PeakRss:
    """Samples the summed RSS of this process and its descendants every 50 ms."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for p in [me, *me.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    total += p.memory_info().rss
            self.peak = max(self.peak, total)
            time.sleep(0.05)

    def __enter__(self) -> PeakRss:
        self._t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()


def best_of(n: int, fn: Callable[[], Any]) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--configs", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    settings = load_settings()
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        market = load_market(con)
    end = last_complete_session(market)
    sessions = backtest_sessions(market, date(2007, 1, 3), end)
    p, costs = HedgeParams(), Costs()
    steward = default_strategies(p)[1]
    print(f"{len(sessions)} sessions {sessions[0]} → {sessions[-1]}")

    t0 = time.perf_counter()
    arrays = prepared(market, sessions, p)
    prep = time.perf_counter() - t0
    run_kernel(steward, arrays, costs)  # compile (or load the cache)

    def compiled() -> None:
        run = run_kernel(steward, arrays, costs)
        kernel_trades(run)
        kernel_hedge_daily(run)

    t_kernel = best_of(5, lambda: run_kernel(steward, arrays, costs))
    t_compiled = best_of(5, compiled)
    t0 = time.perf_counter()
    trades = hedge_trades(steward, market, sessions)
    hedge_daily(market, sessions, trades, p, costs)
    t_readable = time.perf_counter() - t0
    print(f"(a) one strategy (steward), compiled day-step + accounting: {t_kernel:.4f} s (target <= 0.05 s); ")
    print(f"    with tickets/positions as rows and the daily frame: {t_compiled:.4f} s; readable: {t_readable:.2f} s")
    print(f"    = {t_readable / t_kernel:,.0f}x (target >= 80x); input preparation (once per market): {prep:.2f} s")
    print(
        f"(b) compiled vs readable, same work (tickets, positions, daily accounting): {t_readable / t_compiled:,.0f}x"
    )
    print("    (target >= 50x)")

    spec = {
        "random": {
            "n": args.configs,
            "seed": 13,
            "uniform": {
                "carry_budget": [0.1, 1.5],
                "rebalance_band": [0.05, 0.4],
                "harvest_multiple": [1.5, 6.0],
                "min_trade_contracts": [0, 10],
                "min_trade_fraction": [0.0, 0.3],
                "fixed_ratio": [0.6, 1.2],
            },
            "choice": {"hedge_mode": ["steward", "fixed"], "commission_usd": [0.65, 1.0]},
        }
    }
    configs = expand_spec(spec, settings)
    with PeakRss() as rss:
        t0 = time.perf_counter()
        procs = sweep(market, configs, date(2007, 1, 3), end, runner="processes", workers=args.workers, run_id="b")
        t_proc = time.perf_counter() - t0
    print(f"(c) {len(configs)} configurations on {args.workers} processes: {t_proc:.1f} s (target <= 90 s)")
    print(f"(e) peak RSS of that sweep (process tree): {rss.peak / 2**30:.2f} GiB (target <= 2 GiB)")

    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        t0 = time.perf_counter()
        dask = sweep(market, configs, date(2007, 1, 3), end, runner="dask", workers=args.workers, run_id="b")
        t_dask = time.perf_counter() - t0
    print(
        f"(d) the same sweep on a Dask LocalCluster (Prefect DaskTaskRunner, cluster start included): {t_dask:.1f} s "
        f"= {t_dask / t_proc:.2f}x plain processes (target <= 1.3x); tables identical: {dask.equals(procs)}"
    )


if __name__ == "__main__":
    main()
