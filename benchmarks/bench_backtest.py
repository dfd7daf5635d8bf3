"""Benchmark: one full backtest (2007 → the last priced session, all five strategies), the P&L
accounting against the slow reference loop on the same period and trades, and a 200-configuration
sweep on both cores.

Run: ``uv run python benchmarks/bench_backtest.py [--sweep-years 2]``; needs a warehouse with the
indicators mart (``alvh ingest --source-dir ../shared/data`` first; ALVH_WAREHOUSE picks it).
"""

from __future__ import annotations

import argparse
import time
from datetime import date

import duckdb

from alvh.core.settings import load_settings
from alvh.pipeline.backtest import last_complete_session, run_sweep
from alvh.pipeline.backtest_data import load_market
from alvh.transforms.backtest import (
    Costs,
    Strategy,
    default_strategies,
    first_cycle_start,
    hedge_daily,
    ic_cycles,
    ic_daily,
)
from alvh.transforms.backtest_reference import reference_equity
from alvh.transforms.backtest_run import run_backtest
from alvh.transforms.signal import HedgeParams


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sweep-years", type=int, default=2)
    ap.add_argument("--configs", type=int, default=200)
    args = ap.parse_args()
    settings = load_settings()
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        market = load_market(con)
    end = last_complete_session(market)
    p, costs = HedgeParams(), Costs()
    t0 = time.perf_counter()
    res = run_backtest(market, default_strategies(p), date(2007, 1, 3), end, costs, "bench")
    full = time.perf_counter() - t0
    n = res.daily["session_date"].n_unique()
    print(
        f"full backtest {res.start} → {res.end}: {n} sessions x 5 strategies in {full:.1f} s "
        f"({full / 5:.1f} s per strategy; target <= 1 s)"
    )
    for row in res.summary.to_dicts():
        print(
            f"  {row['strategy']:<13} net {row['total_pnl_net_usd']:>12,.0f}  gross {row['total_pnl_gross_usd']:>12,.0f}  "
            f"maxDD {row['max_drawdown_net_usd']:>11,.0f}  hedge {row['hedge_pnl_usd']:>11,.0f}  costs {row['costs_usd']:>9,.0f}  "
            f"traded {row['contracts_traded']:>7,}"
        )

    # accounting: fast (vectorised) vs the slow reference loop, same trades, same period
    days = [r["session_date"] for r in market.rows]
    sessions = [d for d in days if first_cycle_start(date(2007, 1, 3), days) <= d <= end]
    ics = ic_cycles(market, sessions, p)
    trades = res_trades = None
    from alvh.transforms.backtest import hedge_trades

    res_trades = hedge_trades(default_strategies(p)[1], market, sessions)
    t0 = time.perf_counter()
    ic = ic_daily(market, sessions, ics, p, costs)
    hedge_daily(market, sessions, res_trades, p, costs)
    fast = time.perf_counter() - t0
    t0 = time.perf_counter()
    reference_equity(market, sessions, ics, res_trades, p, costs)
    slow = time.perf_counter() - t0
    print(
        f"P&L accounting, alvh_steward, {len(sessions)} sessions: fast {fast:.2f} s, reference loop {slow:.2f} s "
        f"= {slow / fast:.1f}x (target >= 20x)"
    )
    del trades, ic

    # sweep: configurations over the last N years, both cores
    a = date(end.year - args.sweep_years, 1, 2)
    configs = [
        Strategy(
            f"cfg{i}",
            "alvh",
            HedgeParams(
                carry_budget=0.15 + 0.005 * (i % 100),
                mode="steward" if i < 100 else "fixed",
                fixed_ratio=0.6 + 0.006 * (i % 100),
            ),
        )
        for i in range(args.configs)
    ]
    for workers in (1, 2):
        t0 = time.perf_counter()
        run_sweep(
            market, configs[: max(8, args.configs // 10)] if workers == 1 else configs, a, end, costs, workers=workers
        )
        dt = time.perf_counter() - t0
        k = max(8, args.configs // 10) if workers == 1 else args.configs
        print(
            f"sweep {k} configurations {a} → {end} with {workers} worker(s): {dt:.1f} s ({dt / k:.2f} s per configuration)"
        )


if __name__ == "__main__":
    main()
