"""Benchmark: one `alvh run` for the latest session as a whole process, on a warehouse that
already holds the full history, next to a bare Prefect flow process (the orchestration floor);
and `alvh backfill` over every session since 2007, in sessions per second.

Run: ``uv run python benchmarks/bench_daily.py``. Uses a temporary warehouse built from
``../shared/data``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = (ROOT / ".." / "shared" / "data").resolve()
LATEST = "2026-01-07"  # the last session whose VX term structure is complete in the shared data
BARE = "from prefect import flow\n@flow\ndef bare():\n    return 1\nbare()\n"


def timed(cmd: list[str], env: dict[str, str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = os.environ | {
            "ALVH_WAREHOUSE": f"{tmp}/w.duckdb",
            "ALVH_EXPORT_DIR": f"{tmp}/exports",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_HOME": f"{tmp}/prefect",
        }
        alvh = [sys.executable, "-m", "alvh.cli"]
        print("preparing: full ingest of the shared data into a fresh warehouse ...", flush=True)
        subprocess.run(
            [*alvh, "ingest", "--source-dir", str(DATA)],
            check=True,
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        timed([sys.executable, "-c", BARE], env)  # warm the Prefect home DB once
        bare = [timed([sys.executable, "-c", BARE], env) for _ in range(2)]
        runs = [timed([*alvh, "run", "--as-of", LATEST, "--source-dir", str(DATA)], env) for _ in range(2)]
        b, r = min(bare), min(runs)
        print(f"bare Prefect flow process (floor)       : {b:6.1f} s")
        print(f"alvh run --as-of {LATEST} (process)   : {r:6.1f} s  = {r / b:4.2f} x floor (target <= 2)")

        # backfill: whole process, and the signal batch alone in-process
        t = timed([*alvh, "backfill", "--start", "2007-01-03", "--end", LATEST], env)
        sys.path.insert(0, str(ROOT))
        from alvh.core.calendar import sessions_between
        from alvh.core.settings import load_settings
        from alvh.pipeline.params import hedge_params, method_hash
        from alvh.pipeline.signals import compute_batch, run_batch
        from alvh.warehouse.connection import open_warehouse

        settings = load_settings(warehouse=Path(f"{tmp}/w.duckdb"))
        sessions = sessions_between(date(2007, 1, 3), date.fromisoformat(LATEST))
        with open_warehouse(settings.warehouse) as con:
            con.execute("DELETE FROM marts.hedge_signal_daily")
            t0 = time.perf_counter()
            compute_batch(con, sessions, hedge_params(settings), "bench", method_hash(settings))
            t_engine = time.perf_counter() - t0
            for tbl in ("hedge_signal_daily", "layer_adjustment", "hedge_order", "hedge_position", "stress_scenario"):
                con.execute(f"DELETE FROM marts.{tbl}")
            t0 = time.perf_counter()
            run_batch(
                con,
                sessions,
                hedge_params(settings),
                str(uuid.uuid4()),
                method_hash(settings),
                docs_dir=Path(tmp) / "docs",
            )
            t_full = time.perf_counter() - t0
        n = len(sessions)
        print(f"backfill {n} sessions 2007-01-03 → {LATEST}")
        print(f"  alvh backfill, whole process          : {t:6.1f} s  = {n / t:6.0f} sessions/s")
        print(
            f"  engine replay (in process)             : {t_engine:6.1f} s  = {n / t_engine:6.0f} sessions/s (target >= 500)"
        )
        print(f"  replay + pandera + GX + publish        : {t_full:6.1f} s  = {n / t_full:6.0f} sessions/s")


if __name__ == "__main__":
    main()
