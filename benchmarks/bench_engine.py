"""Benchmark: the signal engine, current code vs a named baseline commit, in one run.

Measures, on the same warehouse and in fresh processes for each side:
- **backfill**: ``compute_batch`` (the engine over the warehouse) over one year of sessions (sessions/s);
- **backtest per strategy**: ``alvh.transforms.backtest.readable.hedge_trades`` for the steward and
  fixed strategies over 2008 → 2025 (seconds each);
- **compiled backtest**: ``run_kernel`` for the steward over 2008 → 2025 on prepared arrays (ms per
  run, mean of 20), and a **sweep**'s inner work: 100 runs over 20 band × carry-budget settings on
  one prepared market (seconds) — when the baseline has the compiled engine.

The baseline is checked out as a git worktree (default: ``c23d4a8``, the last ALVH-2026.1
engine) and run with this project's virtual environment. Prints each run, the median and the
spread, and the ratio current ÷ baseline (below 1 = faster now).

Run: ``uv run python benchmarks/bench_engine.py [--baseline REV] [--runs 3] [--year 2019]``; needs
a warehouse with the indicators mart (``alvh ingest --source-dir ../shared/data``; ALVH_WAREHOUSE
picks it).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SNIPPET = r"""
import json, sys, time
from datetime import date
from dataclasses import replace
import duckdb
try:  # the one package
    from alvh.core.calendar import sessions_between
    from alvh.transforms.signal import HedgeParams
    from alvh.pipeline.signals import compute_batch
    from alvh.pipeline.backtest_data import load_market
    try:  # the backtest package
        from alvh.transforms.backtest.readable import Strategy, first_cycle_start, hedge_trades
    except ImportError:  # the flat backtest modules before it
        from alvh.transforms.backtest import Strategy, first_cycle_start, hedge_trades
except ImportError:  # before the one-package move (ALVH-2026.1 engine)
    from transforms.calendar import sessions_between
    from transforms.hedge import HedgeParams
    from transforms.backtest import Strategy, first_cycle_start, hedge_trades
    from warehouse.signals import compute_batch
    from warehouse.backtest import load_market

db, year = sys.argv[1], int(sys.argv[2])
out = {}
con = duckdb.connect(db, read_only=True)
days = sessions_between(date(year, 1, 1), date(year, 12, 31))
compute_batch(con, days[:5], HedgeParams(), "warm", "h")  # imports, numba compilation
t0 = time.perf_counter()
compute_batch(con, days, HedgeParams(), "bench", "h")
out["backfill_sessions_per_s"] = len(days) / (time.perf_counter() - t0)
market = load_market(con)
con.close()
all_days = [r["session_date"] for r in market.rows]
start = first_cycle_start(date(2008, 1, 2), all_days)
sessions = [d for d in all_days if start <= d <= date(2025, 12, 31)]
base = HedgeParams()
for name, hp in (("steward", replace(base, mode="steward")), ("fixed", replace(base, mode="fixed"))):
    t0 = time.perf_counter()
    hedge_trades(Strategy(name, "alvh", hp), market, sessions)
    out[f"backtest_{name}_s"] = time.perf_counter() - t0
try:  # the compiled engine: its package layout, then the flat one before it
    from alvh.transforms.backtest.compiled import prepared, run_kernel
    from alvh.transforms.backtest.readable import Costs
except ImportError:
    try:
        from alvh.transforms.backtest_compiled import prepared, run_kernel
        from alvh.transforms.backtest import Costs
    except ImportError:
        prepared = None
if prepared is not None:
    steward = Strategy("steward", "alvh", base)
    arr = prepared(market, sessions, base)
    run_kernel(steward, arr, Costs())  # numba compilation
    t0 = time.perf_counter()
    for _ in range(20):
        run_kernel(steward, arr, Costs())
    out["compiled_backtest_ms"] = (time.perf_counter() - t0) / 20 * 1000
    configs = [replace(base, band=b, carry_budget=c) for b in (0.05, 0.1, 0.15, 0.2, 0.3) for c in (0.1, 0.2, 0.35, 0.6)]
    t0 = time.perf_counter()
    for _ in range(5):
        for hp in configs:  # what a sweep chunk does: one prepared market, many settings
            run_kernel(Strategy("sweep", "alvh", hp), arr, Costs())
    out["sweep_100_configs_s"] = time.perf_counter() - t0
print("RESULT " + json.dumps(out))
"""


def run_side(code_dir: Path, db: Path, year: int) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALVH_")}
    # the baseline's top-level packages shadow nothing of the current `alvh` package
    env["PYTHONPATH"] = str(code_dir) if code_dir != ROOT else str(ROOT / "src")
    res = subprocess.run(
        [sys.executable, "-c", SNIPPET, str(db), str(year)],
        cwd=code_dir,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    line = next((x for x in res.stdout.splitlines() if x.startswith("RESULT ")), None)
    if line is None:
        raise SystemExit(f"benchmark run in {code_dir} failed:\n{res.stderr[-3000:]}")
    return json.loads(line.removeprefix("RESULT "))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--baseline", default="c23d4a8", help="git revision of the baseline engine")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--year", type=int, default=2019)
    args = ap.parse_args()
    from alvh.core.settings import load_settings

    src = load_settings().warehouse
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "alvh.duckdb"
        shutil.copy(src, db)
        base_dir = Path(tmp) / "baseline"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(base_dir), args.baseline], check=True
        )
        try:
            sides: dict[str, list[dict[str, float]]] = {"baseline": [], "current": []}
            for n in range(args.runs):
                for side, code in (("baseline", base_dir), ("current", ROOT)):
                    r = run_side(code, db, args.year)
                    sides[side].append(r)
                    print(f"run {n + 1} {side:8s} " + "  ".join(f"{k} {v:.2f}" for k, v in r.items()), flush=True)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base_dir)], check=False)
    print(f"\nmedian over {args.runs} runs (min–max); ratio = current ÷ baseline {args.baseline}")
    for key in sides["current"][0]:
        b = [r[key] for r in sides["baseline"]]
        c = [r[key] for r in sides["current"]]
        mb, mc = statistics.median(b), statistics.median(c)
        print(
            f"  {key:26s} baseline {mb:8.2f} ({min(b):.2f}–{max(b):.2f})   current {mc:8.2f} "
            f"({min(c):.2f}–{max(c):.2f})   ratio {mc / mb:.2f}"
        )


if __name__ == "__main__":
    main()
