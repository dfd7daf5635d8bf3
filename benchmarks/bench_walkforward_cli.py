"""Benchmark: the walk-forward CLI on Dask vs the serial runner on the same study (issue 21).

Each round runs, each in a fresh process on a copy of the warehouse, in turn:

(a) the CLI: ``alvh backtest --walk-forward --train-years 3 --test-years 1 --objective net
    --start 2008-01-02`` (the 27-point grid, path mode, a LocalCluster of ``sweep_workers``);
(b) the same flow with ``runner="serial"`` (Prefect flow, store and report included: the same
    work as (a) but the training grid evaluated in-process);
(c) the study alone on the serial runner (``walk_forward_study``: no Prefect, no store, no page).

and prints the wall clock of each, the ratios (a)/(b) and (a)/(c) of that round, and the load
average before and after. Target: (a) ≤ 1.5 × (b) on an idle machine. Before round 1, untimed:
(c) once (numba and file caches) and (b) once (Prefect's database in the fresh ``PREFECT_HOME``).

Run: ``.venv/bin/python benchmarks/bench_walkforward_cli.py [--rounds 3] [--warehouse PATH]``;
needs a warehouse with the indicators mart (default: ``warehouse/alvh.duckdb``, copied to a
temporary folder so nothing is written there).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ALVH = Path(sys.executable).parent / "alvh"

SERIAL_FLOW = """
import os, sys
from alvh.cli.prefect_output import quiet_prefect
quiet_prefect()
from datetime import date
from alvh.core.settings import load_settings
from alvh.flows.walk_forward import walk_forward_flow
walk_forward_flow(3, 1, "net", None, date(2008, 1, 2), None, sys.argv[1], settings=load_settings(), runner="serial")
"""

STUDY_ONLY = """
from datetime import date
import duckdb
from alvh.core.settings import load_settings
from alvh.pipeline.backtest import backtest_window
from alvh.pipeline.backtest_data import load_market
from alvh.pipeline.backtest_sweep import expand_spec
from alvh.flows.walk_forward import DEFAULT_GRID, baselines, walk_forward_study
s = load_settings()
with duckdb.connect(str(s.warehouse), read_only=True) as con:
    market = load_market(con)
last = backtest_window(market, date(2008, 1, 2), None)
walk_forward_study(market, expand_spec(DEFAULT_GRID, s), baselines(s), date(2008, 1, 2), last, 3, 1, "net",
                   runner="serial")
"""


def timed(cmd: list[str], env: dict[str, str]) -> float:
    t = time.perf_counter()
    res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    dt = time.perf_counter() - t
    if res.returncode != 0:
        raise SystemExit(f"{cmd[:3]} failed ({res.returncode}): {res.stderr.strip()[-800:]}")
    return dt


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--warehouse", type=Path, default=ROOT / "warehouse" / "alvh.duckdb")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="alvh-bench-wf-") as tmp:
        wh = Path(tmp) / "alvh.duckdb"
        shutil.copy(args.warehouse, wh)
        env = os.environ | {
            "ALVH_WAREHOUSE": str(wh),
            "PREFECT_HOME": str(Path(tmp) / "prefect"),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_LOGGING_LEVEL": "WARNING",
        }
        cli = [str(ALVH), "backtest", "--walk-forward", "--train-years", "3", "--test-years", "1"]
        cli += ["--objective", "net", "--start", "2008-01-02", "--out", str(Path(tmp) / "cli")]
        timed([sys.executable, "-c", STUDY_ONLY], env)  # warm the numba cache and the file cache
        # and Prefect's database in the fresh PREFECT_HOME: its one-time creation (≈12 s, more under
        # load) was charged to round 1's CLI run, the first Prefect process (1.87× / 1.57× / 2.31×
        # in round 1 against 1.08–1.49× in rounds 2–3 of the same runs)
        timed([sys.executable, "-c", SERIAL_FLOW, str(Path(tmp) / "warm")], env)
        print(f"load average before: {load()}; CPUs: {os.cpu_count()}", flush=True)
        ratios = []
        for r in range(1, args.rounds + 1):
            a = timed(cli, env)
            b = timed([sys.executable, "-c", SERIAL_FLOW, str(Path(tmp) / "serial")], env)
            c = timed([sys.executable, "-c", STUDY_ONLY], env)
            ratios.append(a / b)
            print(
                f"round {r}: CLI on Dask {a:.1f} s; serial runner, same flow {b:.1f} s; study alone (serial) "
                f"{c:.1f} s; CLI / serial flow = {a / b:.2f}× (target ≤ 1.5×), CLI / study alone = {a / c:.2f}×; "
                f"load average {load()}",
                flush=True,
            )
        print(f"CLI / serial flow per round: {', '.join(f'{x:.2f}×' for x in ratios)}; worst {max(ratios):.2f}×")


if __name__ == "__main__":
    main()
