"""The deployment for real: a Prefect server on 127.0.0.1, `alvh serve` registering
`alvh-daily` (cron 30 17 * * 1-5, America/New_York, concurrency 1), runs triggered through the
API and picked up by the serving process: a holiday ends as "no session", a session completes
with its artifact."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.flow


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[dict[str, str]]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env |= {
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_LOGGING_LEVEL": "WARNING",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/api/health", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.5)
        else:
            pytest.fail("the Prefect server did not become healthy in 120 s")
        yield env
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def test_serve_and_trigger_runs(
    server: dict[str, str], data_dir: Path, fresh_signal_warehouse: Path, tmp_path: Path
) -> None:
    """The served deployment's runs start from a copy of the session's loaded warehouse (the
    shared folder already ingested, nothing published; the run's ingest finds every file
    unchanged): what is asserted is the serving and the runs' states, not the first ingest."""
    env = server | {
        "ALVH_WAREHOUSE": str(fresh_signal_warehouse),
        "ALVH_EXPORT_DIR": str(tmp_path / "exports"),
        "ALVH_SOURCE_DIR": str(data_dir),
    }
    serve = subprocess.Popen(
        [sys.executable, "-m", "alvh.cli", "serve"],
        cwd=ROOT,
        env=env,
        stdout=(tmp_path / "serve.out").open("w"),
        stderr=(tmp_path / "serve.log").open("w"),
        start_new_session=True,
    )
    code = """
import sys, json, anyio
from prefect.client.orchestration import get_client
from prefect.deployments import run_deployment

async def main():
    async with get_client() as client:
        for _ in range(120):
            try:
                dep = await client.read_deployment_by_name("alvh-daily/alvh-daily")
                break
            except Exception:
                await anyio.sleep(1)
        else:
            raise SystemExit("deployment never registered")
    sched = dep.schedules[0].schedule
    gcl = getattr(dep, "global_concurrency_limit", None)
    out = {"cron": sched.cron, "tz": sched.timezone, "limit": gcl.limit if gcl is not None else dep.concurrency_limit}
    for as_of in sys.argv[1:]:
        run = await run_deployment("alvh-daily/alvh-daily", parameters={"as_of": as_of}, timeout=600)
        async with get_client() as client:
            arts = await client.read_artifacts()
        out[as_of] = {"state": run.state.type.value, "artifacts": [a.key for a in arts if a.flow_run_id == run.id]}
    print(json.dumps(out))

anyio.run(main)
"""
    try:
        res = subprocess.run(
            [sys.executable, "-c", code, "2024-06-19", "2018-02-05"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert res.returncode == 0, res.stderr[-3000:]
        import json

        out = json.loads(res.stdout.strip().splitlines()[-1])
        assert (out["cron"], out["tz"], out["limit"]) == ("30 17 * * 1-5", "America/New_York", 1)
        log = (tmp_path / "serve.log").read_text()[-4000:]
        assert out["2024-06-19"]["state"] == "COMPLETED", log  # Juneteenth: "no session", quickly
        assert out["2018-02-05"]["state"] == "COMPLETED" and "alvh-daily" in out["2018-02-05"]["artifacts"]
        assert (tmp_path / "exports" / "current" / "layer_adjustment.csv").exists()
        # Ctrl-C in the terminal (SIGINT to the whole process group) stops it with one line
        os.killpg(serve.pid, signal.SIGINT)
        assert serve.wait(timeout=120) == 0
        said = (tmp_path / "serve.out").read_text() + (tmp_path / "serve.log").read_text()
        assert "Traceback" not in said and "websockets" not in said, said[-3000:]
        assert said.strip().splitlines()[-1] == "stopped: alvh-daily is no longer served", said[-3000:]
    finally:
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGTERM)
            serve.wait(timeout=30)
