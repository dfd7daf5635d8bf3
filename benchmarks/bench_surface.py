"""Benchmark of the VIX-call surface (ALVH-2026.3 §4) against ALVH-2026.2's legacy formula, both
measured in one run on the same inputs:

(a) pricing a whole backtest's inputs — ``prepare_engine`` over 2007 → the last complete session:
    every (session, layer) target-delta strike searched on the listed grid, priced, with greeks —
    target: smile ≤ 1.5 × legacy;
(b) the compiled steward replay on those inputs (marks of held calls on the surface each day).

Each figure is the best and the spread of ``--runs`` alternating runs (after one warm-up each, so
compilation is not counted). Run: ``uv run python benchmarks/bench_surface.py [--runs 5]``; needs
a warehouse with the indicators mart (the README's main job builds one; ALVH_WAREHOUSE picks it).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import date

import duckdb

from alvh.core.settings import load_settings
from alvh.pipeline.backtest import last_complete_session
from alvh.pipeline.backtest_data import load_market
from alvh.pipeline.backtest_sweep import backtest_sessions
from alvh.transforms.backtest.compiled import run_kernel
from alvh.transforms.backtest.prep import prepare_engine
from alvh.transforms.backtest.readable import Costs, default_strategies
from alvh.transforms.signal import HedgeParams


def timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def spread(xs: list[float]) -> str:
    return f"best {min(xs):.3f} s, median {statistics.median(xs):.3f} s, worst {max(xs):.3f} s"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    settings = load_settings()
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        market = load_market(con)
    sessions = backtest_sessions(market, date(2007, 1, 3), last_complete_session(market))
    params = {"smile": HedgeParams(), "legacy": HedgeParams(vix_vol_model="legacy")}
    steward = next(s for s in default_strategies(HedgeParams()) if s.name == "alvh_steward")
    costs = Costs()
    prep: dict[str, list[float]] = {k: [] for k in params}
    replay: dict[str, list[float]] = {k: [] for k in params}
    arrays = {k: prepare_engine(market, sessions, p) for k, p in params.items()}  # warm-up: compile
    for k, p in params.items():
        run_kernel(replace(steward, hedge=p), arrays[k], costs)
    for _ in range(args.runs):
        for k, p in params.items():
            prep[k].append(timed(lambda p=p: prepare_engine(market, sessions, p)))
            strategy = replace(steward, hedge=p)
            replay[k].append(timed(lambda s=strategy, k=k: run_kernel(s, arrays[k], costs)))
    print(f"{len(sessions)} sessions, {args.runs} alternating runs each")
    for k in params:
        print(f"(a) prepare_engine {k:6s}: {spread(prep[k])}")
    ratios = [s / lg for s, lg in zip(prep["smile"], prep["legacy"], strict=True)]
    print(
        f"(a) smile / legacy, per run: {', '.join(f'{r:.2f}' for r in ratios)}; "
        f"median {statistics.median(ratios):.2f} (target ≤ 1.5)"
    )
    for k in params:
        print(f"(b) compiled steward replay {k:6s}: {spread(replay[k])}")
    r = [s / lg for s, lg in zip(replay["smile"], replay["legacy"], strict=True)]
    print(f"(b) smile / legacy, median {statistics.median(r):.2f}")


if __name__ == "__main__":
    main()
