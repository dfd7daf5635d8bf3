"""One writing job per warehouse: a second waits up to a timeout, then fails naming the holder;
readers keep working (from the exports while a job holds the file)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from alvh.core.errors import WarehouseLocked
from alvh.warehouse.connection import run_lock

ROOT = Path(__file__).resolve().parents[1]


def hold(path: Path, seconds: float) -> subprocess.Popen[str]:
    code = (
        "import sys, time\n"
        "from alvh.warehouse.connection import run_lock\n"
        f"with run_lock({str(path)!r}, 0):\n"
        "    print('held', flush=True)\n"
        f"    time.sleep({seconds})\n"
    )
    p = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None and p.stdout.readline().strip() == "held"
    return p


def test_second_writer_fails_after_timeout_naming_the_holder(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    holder = hold(db, 30)
    try:
        t = time.monotonic()
        with pytest.raises(WarehouseLocked) as err, run_lock(db, timeout_s=0.6):
            pass
        assert time.monotonic() - t >= 0.6
        assert f"PID {holder.pid}" in str(err.value) and str(db) in str(err.value)
    finally:
        holder.kill()
        holder.wait()
    with run_lock(db, timeout_s=0):  # released when the holder died (even by SIGKILL)
        pass


def test_second_writer_waits_for_the_first(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    holder = hold(db, 1.0)
    t = time.monotonic()
    with run_lock(db, timeout_s=20):
        waited = time.monotonic() - t
    holder.wait()
    assert 0.3 < waited < 20


def test_lock_is_reentrant_in_one_process(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    with run_lock(db, 0), run_lock(db, 0):
        pass


def test_alvh_run_refuses_while_another_job_holds_the_warehouse(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    holder = hold(db, 60)
    try:
        env_cmd = [
            sys.executable,
            "-m",
            "alvh.cli",
            "run",
            "--as-of",
            "2018-02-05",
            "--warehouse",
            str(db),
            "--source-dir",
            str(tmp_path),
        ]
        res = subprocess.run(
            env_cmd,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            env={**__import__("os").environ, "ALVH_LOCK_TIMEOUT_S": "0.5"},
        )
        assert res.returncode == 1
        assert "another job holds the warehouse" in res.stderr and f"PID {holder.pid}" in res.stderr
    finally:
        holder.kill()
        holder.wait()
