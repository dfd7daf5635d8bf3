"""Benchmark: 2024 replayed session by session as the daily job would run it — each evening the
source folder holds only what was known then — reporting sessions per minute and whether the
result equals one backfill over the same range; and the time from `alvh serve` start to the first
completed triggered run against a local Prefect server.

Run: ``uv run python benchmarks/bench_replay.py [--year 2024] [--no-serve]``.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = (ROOT / ".." / "shared" / "data").resolve()


def replay_year(year: int, tmp: Path) -> None:
    from datetime import date

    from alvh.core.calendar import sessions_between
    from alvh.pipeline.signals import run_batch
    from alvh.transforms.signal import HedgeParams
    from alvh.warehouse.connection import open_warehouse
    from tests.support.truncate import truncate_tree
    from tests.test_incremental import evening, marts

    days = sessions_between(date(year, 1, 1), date(year, 12, 31))
    inc = tmp / "inc.duckdb"
    t0 = time.perf_counter()
    for n, d in enumerate(days, start=1):
        folder = tmp / "evening"
        if folder.exists():
            import shutil

            shutil.rmtree(folder)
        truncate_tree(DATA, folder, d)
        evening(folder, inc, d)
        if n % 25 == 0:
            el = time.perf_counter() - t0
            print(f"  {n}/{len(days)} sessions, {n / el * 60:.1f} sessions/min", flush=True)
    inc_time = time.perf_counter() - t0
    import shutil

    batch = tmp / "batch.duckdb"
    shutil.copy(inc, batch)
    with open_warehouse(batch) as con:
        for t in ("hedge_signal_daily", "layer_adjustment", "hedge_order", "hedge_position", "stress_scenario"):
            con.execute(f"DELETE FROM marts.{t}")
        t0 = time.perf_counter()
        run_batch(con, days, HedgeParams(), "batch", "h", use_gx=False)
        batch_time = time.perf_counter() - t0
    equal = marts(inc) == marts(batch)
    print(
        f"replay {year}: {len(days)} sessions one by one in {inc_time:.0f} s = {len(days) / inc_time * 60:.1f} sessions/min; "
        f"backfill of the same range {batch_time:.1f} s; identical marts: {equal}"
    )


def serve_to_first_run(tmp: Path) -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env |= {
        "PREFECT_HOME": str(tmp / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "ALVH_WAREHOUSE": str(tmp / "s.duckdb"),
        "ALVH_EXPORT_DIR": str(tmp / "exports"),
        "ALVH_SOURCE_DIR": str(DATA),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    import requests

    while True:
        try:
            if requests.get(f"http://127.0.0.1:{port}/api/health", timeout=2).ok:
                break
        except requests.RequestException:
            time.sleep(0.5)
    t0 = time.perf_counter()
    serve = subprocess.Popen(
        [sys.executable, "-m", "alvh.cli", "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    code = (
        "import anyio\nfrom prefect.deployments import run_deployment\nfrom prefect.client.orchestration import get_client\n"
        "async def main():\n    async with get_client() as c:\n        while True:\n            try:\n"
        "                await c.read_deployment_by_name('alvh-daily/alvh-daily'); break\n"
        "            except Exception: await anyio.sleep(0.2)\n"
        "    r = await run_deployment('alvh-daily/alvh-daily', parameters={'as_of': '2024-06-19'}, timeout=600)\n"
        "    print(r.state.type.value)\nanyio.run(main)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    print(f"alvh serve start → first triggered run {res.stdout.strip()}: {dt:.1f} s")
    for p in (serve, server):
        os.killpg(p.pid, signal.SIGTERM)
        p.wait()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--year", type=int, default=2024)
    ap.add_argument("--no-serve", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        replay_year(args.year, Path(tmp))
        if not args.no_serve:
            serve_to_first_run(Path(tmp))


if __name__ == "__main__":
    main()
