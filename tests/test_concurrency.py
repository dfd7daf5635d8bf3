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
from tests.support import waits

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.process  # every test here starts a second process (a lock holder, a reader, `alvh run`)


def hold(path: Path) -> subprocess.Popen[str]:
    """Another writing job: holds the run lock until released (``waits.release``)."""
    code = (
        "import sys\n"
        "from alvh.warehouse.connection import run_lock\n"
        f"with run_lock({str(path)!r}, 0):\n"
        "    print('held', flush=True)\n"
        "    sys.stdin.readline()\n"
    )
    return waits.holder(code, "held")


def test_second_writer_fails_after_timeout_naming_the_holder(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    holder = hold(db)
    try:
        t = time.monotonic()
        with pytest.raises(WarehouseLocked) as err, run_lock(db, timeout_s=0.6):
            pass
        assert time.monotonic() - t >= 0.6  # a lower bound only: a loaded machine makes it longer, never shorter
        assert f"PID {holder.pid}" in str(err.value) and str(db) in str(err.value)
    finally:
        waits.kill(holder)
    with run_lock(db, timeout_s=0):  # released when the holder died (even by SIGKILL)
        pass


def test_second_writer_waits_for_the_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "w.duckdb"
    holder = hold(db)
    polls = waits.Polls(monkeypatch)
    try:

        def second() -> str:
            with run_lock(db, timeout_s=waits.CEILING_S):
                return "acquired"

        waiter = waits.InThread(second)
        assert polls.reached(3).wait(waits.CEILING_S), "the second writer never polled the held lock"
        assert not waiter.done()  # it found the lock held and is waiting, not failing
        waits.release(holder)
        assert waiter.result() == "acquired"  # and it got the lock once the first let go
    finally:
        waits.kill(holder)


def test_lock_is_reentrant_in_one_process(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    with run_lock(db, 0), run_lock(db, 0):
        pass


def test_alvh_run_refuses_while_another_job_holds_the_warehouse(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    holder = hold(db)
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
            timeout=waits.CEILING_S,  # a ceiling on a hang: importing the CLI took 47 s on a loaded host
            env={**__import__("os").environ, "ALVH_LOCK_TIMEOUT_S": "0.5"},
        )
        assert res.returncode == 1
        assert "another job holds the warehouse" in res.stderr and f"PID {holder.pid}" in res.stderr
    finally:
        waits.kill(holder)


def read_holding(path: Path) -> subprocess.Popen[str]:
    """A reader (a notebook, a BI tool): a read-only DuckDB connection kept open until released."""
    code = (
        "import duckdb, sys\n"
        f"con = duckdb.connect({str(path)!r}, read_only=True)\n"
        "print('reading', flush=True)\n"
        "sys.stdin.readline()\n"
        "con.close()\n"
    )
    return waits.holder(code, "reading")


def test_a_reader_delays_a_write_window_but_does_not_fail_the_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue: any open read-only reader made the scheduled run fail at once, even with
    ALVH_LOCK_TIMEOUT_S=60. A write window now waits (up to the job's lock_timeout_s) for it."""
    import duckdb

    from alvh.warehouse.connection import connect

    db = tmp_path / "w.duckdb"
    duckdb.connect(str(db)).close()
    reader = read_holding(db)
    polls = waits.Polls(monkeypatch)
    try:

        def job() -> list[tuple[int]]:
            with run_lock(db, timeout_s=waits.CEILING_S):
                con = connect(db)
                con.execute("CREATE TABLE t AS SELECT 1 AS x")
                rows = con.execute("SELECT x FROM t").fetchall()
                con.close()
                return rows

        writer = waits.InThread(job)
        assert polls.reached(3).wait(waits.CEILING_S), "the write window never polled the reader's file"
        assert not writer.done()  # waiting for the reader, not failed
        waits.release(reader)
        assert writer.result() == [(1,)]
    finally:
        waits.kill(reader)


def test_the_pre_flight_check_waits_for_a_reader_like_the_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue (QA): a reader open when `alvh run` started failed it after 2 s, even with
    lock_timeout_s = 60: the pre-flight write check did not use the job's wait. The reader here
    stays for 30 of the check's 0.1 s polls (3 s or more: past the 2 s minimum wait)."""
    import duckdb

    from alvh.core.settings import load_settings
    from alvh.pipeline.writing_job import writing_job
    from alvh.warehouse.connection import _POLL_S, MIN_READER_WAIT_S

    polls_past_minimum = int(MIN_READER_WAIT_S / _POLL_S) + 10
    db = tmp_path / "w.duckdb"
    duckdb.connect(str(db)).close()
    reader = read_holding(db)
    settings = load_settings(warehouse=db, export_dir=tmp_path / "exports", lock_timeout_s=waits.CEILING_S)
    polls = waits.Polls(monkeypatch)
    try:

        def preflight() -> None:
            with writing_job(settings):  # the pre-flight inside the job's frame (run lock, then checks)
                return None

        check = waits.InThread(preflight)
        assert polls.reached(polls_past_minimum).wait(waits.CEILING_S), "the pre-flight check stopped polling"
        assert not check.done()  # still waiting after more than the 2 s minimum: it uses the job's wait
        waits.release(reader)
        assert check.result() is None  # and passes once the reader is gone
    finally:
        waits.kill(reader)


def test_a_reader_that_stays_is_named_after_the_wait(tmp_path: Path) -> None:
    import duckdb

    from alvh.warehouse.connection import connect

    db = tmp_path / "w.duckdb"
    duckdb.connect(str(db)).close()
    reader = read_holding(db)
    try:
        t = time.monotonic()
        with pytest.raises(WarehouseLocked) as err, run_lock(db, timeout_s=3):
            connect(db)
        assert time.monotonic() - t >= 3  # a lower bound only: it waited the whole timeout before failing
        msg = str(err.value)
        assert (
            f"PID {reader.pid}" in msg and "waited 3 s" in msg and "current/signals.duckdb in the export folder" in msg
        )
    finally:
        waits.kill(reader)


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
        deadline = time.monotonic() + waits.CEILING_S  # a ceiling on a hang, not a timing assertion
        while server is None and time.monotonic() < deadline and run.poll() is None:
            for child in _children(run.pid):
                cmd = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ")
                if b"uvicorn" in cmd or b"server_guard" in cmd:
                    server = child
            time.sleep(0.2)
        assert server is not None, "the run started no Prefect server"
        os.kill(run.pid, signal.SIGKILL)
        run.wait()
        deadline = time.monotonic() + waits.CEILING_S
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
