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


def holding(code: str, ready: str) -> subprocess.Popen[str]:
    """A child process running ``code``; returned once it has printed ``ready``."""
    p = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None and p.stdout.readline().strip() == ready
    return p


def hold(path: Path, seconds: float) -> subprocess.Popen[str]:
    """Another writing job: the run lock held ``seconds``."""
    code = (
        "import sys, time\n"
        "from alvh.warehouse.connection import run_lock\n"
        f"with run_lock({str(path)!r}, 0):\n"
        "    print('held', flush=True)\n"
        f"    time.sleep({seconds})\n"
    )
    return holding(code, "held")


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


def read_holding(path: Path, seconds: float) -> subprocess.Popen[str]:
    """A reader (a notebook, a BI tool): a read-only DuckDB connection kept open ``seconds``."""
    code = (
        "import duckdb, time\n"
        f"con = duckdb.connect({str(path)!r}, read_only=True)\n"
        "print('reading', flush=True)\n"
        f"time.sleep({seconds})\n"
    )
    return holding(code, "reading")


def test_a_reader_delays_a_write_window_but_does_not_fail_the_job(tmp_path: Path) -> None:
    """Issue: any open read-only reader made the scheduled run fail at once, even with
    ALVH_LOCK_TIMEOUT_S=60. A write window now waits (up to the job's lock_timeout_s) for it."""
    import duckdb

    from alvh.warehouse.connection import connect

    db = tmp_path / "w.duckdb"
    duckdb.connect(str(db)).close()
    reader = read_holding(db, 3.0)
    t = time.monotonic()
    with run_lock(db, timeout_s=30):
        con = connect(db)
        waited = time.monotonic() - t
        con.execute("CREATE TABLE t AS SELECT 1 AS x")
        con.close()
    reader.wait()
    assert 1.0 < waited < 30


def test_the_pre_flight_check_waits_for_a_reader_like_the_job(tmp_path: Path) -> None:
    """Issue (QA): a reader open when `alvh run` started failed it after 2 s, even with
    lock_timeout_s = 60: the pre-flight write check did not use the job's wait."""
    import duckdb

    from alvh.cli import _preflight
    from alvh.core.settings import load_settings

    db = tmp_path / "w.duckdb"
    duckdb.connect(str(db)).close()
    reader = read_holding(db, 4.0)
    t = time.monotonic()
    _preflight(load_settings(warehouse=db, export_dir=tmp_path / "exports", lock_timeout_s=30))
    waited = time.monotonic() - t
    reader.wait()
    assert 2.5 < waited < 30


def test_a_reader_that_stays_is_named_after_the_wait(tmp_path: Path) -> None:
    import duckdb

    from alvh.warehouse.connection import connect

    db = tmp_path / "w.duckdb"
    duckdb.connect(str(db)).close()
    reader = read_holding(db, 60)
    try:
        t = time.monotonic()
        with pytest.raises(WarehouseLocked) as err, run_lock(db, timeout_s=3):
            connect(db)
        assert time.monotonic() - t >= 3
        msg = str(err.value)
        assert (
            f"PID {reader.pid}" in msg and "waited 3 s" in msg and "current/signals.duckdb in the export folder" in msg
        )
    finally:
        reader.kill()
        reader.wait()


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


def test_a_killed_run_leaves_no_prefect_server_behind(tmp_path: Path) -> None:
    """Issue: a killed run left its ephemeral Prefect server (~200 MB) running for half an hour."""
    import os
    import signal

    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    run = subprocess.Popen(
        [sys.executable, "-m", "alvh.cli", "run", "--as-of", "2018-02-05", "--source-dir", str(tmp_path),
         "--warehouse", str(tmp_path / "w.duckdb"), "--export-dir", str(tmp_path / "exp")],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        server = None
        deadline = time.monotonic() + 90
        while server is None and time.monotonic() < deadline and run.poll() is None:
            for child in _children(run.pid):
                cmd = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ")
                if b"uvicorn" in cmd or b"server_guard" in cmd:
                    server = child
            time.sleep(0.2)
        assert server is not None, "the run started no Prefect server"
        os.kill(run.pid, signal.SIGKILL)
        run.wait()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and Path(f"/proc/{server}").exists():
            state = Path(f"/proc/{server}/stat").read_text().split()[2] if Path(f"/proc/{server}").exists() else "X"
            if state == "Z":  # exited; waits only for init to reap it
                break
            time.sleep(0.2)
        alive = Path(f"/proc/{server}/stat").exists() and Path(f"/proc/{server}/stat").read_text().split()[2] != "Z"
        assert not alive, f"the Prefect server (PID {server}) outlived the killed run"
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
