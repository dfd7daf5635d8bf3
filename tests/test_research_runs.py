"""Research runs that cannot hang (issue 21, item 7): a sweep configuration that breaks a rule is
refused in one line before any work; a Dask walk-forward whose workers are killed mid-run exits
non-zero within its heartbeat timeout with one line and leaves no process behind; SIGTERM and
Ctrl-C end the run and its workers within 10 s; an external cluster that loses its only worker
stops the run at the heartbeat timeout."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from alvh.core.errors import ConfigError
from alvh.core.settings import load_settings
from alvh.pipeline import backtest_sweep as bs
from tests.support.waits import stop_processes

ALVH = str(Path(sys.executable).parent / "alvh")
ROOT = Path(__file__).resolve().parents[1]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
BAD_SWEEP = '[[configs]]\nname = "fx"\nhedge_mode = "fixed"\nfixed_ratio = 0.2\n'


# --- helpers ------------------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if int(entry.joinpath("stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue
    return out


def _tree(pid: int) -> set[int]:
    seen, todo = set(), [pid]
    while todo:
        for c in _children(todo.pop()):
            if c not in seen:
                seen.add(c)
                todo.append(c)
    return seen


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _spawned(pid: int) -> list[int]:
    """The CLI's Dask worker processes (started by multiprocessing spawn)."""
    out = []
    for c in _children(pid):
        try:
            if b"multiprocessing.spawn" in Path(f"/proc/{c}/cmdline").read_bytes():
                out.append(c)
        except OSError:
            continue
    return out


class Cli:
    """``alvh backtest --walk-forward …`` in its own session, stderr read as it comes (rich draws
    the progress bar live with FORCE_COLOR), every descendant process recorded while it runs."""

    def __init__(self, warehouse: Path, out: Path, *extra: str) -> None:
        env = os.environ | {"ALVH_WAREHOUSE": str(warehouse), "FORCE_COLOR": "1", "COLUMNS": "160"}
        cmd = [ALVH, "backtest", "--walk-forward", "--train-years", "3", "--test-years", "1"]
        cmd += ["--start", "2008-01-02", "--out", str(out), *extra]
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
        )
        self.err = b""
        self.seen: set[int] = set()
        self._t = threading.Thread(target=self._read, daemon=True)
        self._t.start()

    def __enter__(self) -> Cli:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:  # a failed assertion never leaves the run going
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        for pid in self.seen:
            if _running(pid):
                os.kill(pid, signal.SIGKILL)

    def _read(self) -> None:
        assert self.proc.stderr is not None
        while chunk := os.read(self.proc.stderr.fileno(), 65536):
            self.err += chunk

    def text(self) -> str:
        return ANSI.sub("", self.err.decode(errors="replace")).replace("\r", "\n")

    def progress(self) -> tuple[int, int] | None:
        found = re.findall(r"walk-forward training\D*?(\d+)/(\d+)", self.text())
        return (int(found[-1][0]), int(found[-1][1])) if found else None

    def wait_for(self, cond: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not cond():
            self.seen |= _tree(self.proc.pid)
            assert self.proc.poll() is None, f"the run ended early ({self.proc.returncode}): {self.text()[-2000:]}"
            assert time.monotonic() < deadline, f"timed out; stderr so far: {self.text()[-2000:]}"
            time.sleep(0.05)
        self.seen |= _tree(self.proc.pid)

    def finish(self, timeout: float) -> float:
        t = time.monotonic()
        try:
            self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._t.join(5)
        return time.monotonic() - t

    def error_lines(self) -> list[str]:
        return [ln.strip() for ln in self.text().splitlines() if ln.strip().startswith("error:")]

    def left_behind(self, grace: float = 15.0) -> list[int]:
        deadline = time.monotonic() + grace
        while (alive := sorted(p for p in self.seen if _running(p))) and time.monotonic() < deadline:
            time.sleep(0.2)
        return alive


# --- validation before any work -----------------------------------------------------------------


def test_a_configuration_that_breaks_a_cross_field_rule_is_named_in_one_line() -> None:
    settings = load_settings()
    with pytest.raises(ConfigError) as err:
        bs.expand_spec({"configs": [{"name": "fx", "hedge_mode": "fixed", "fixed_ratio": 0.2}]}, settings)
    msg = str(err.value)
    assert msg.startswith("configuration 'fx': fixed_ratio 0.2 must lie within ratio_min")
    assert "(the configuration sets fixed_ratio = 0.2, hedge_mode = fixed)" in msg
    assert "\n" not in msg and len(msg) < 300 and "/" not in msg  # no settings dump, no machine paths
    with pytest.raises(ConfigError, match=r"^configuration 'grid carry_budget=-1': setting carry_budget = -1\.0: "):
        bs.expand_spec({"grid": {"carry_budget": [0.2, -1.0]}}, settings)


@pytest.mark.process
def test_the_cli_refuses_a_bad_sweep_before_any_work(tmp_path: Path) -> None:
    """No Prefect server, no cluster, no warehouse read: one line, before any of them is even imported
    (it took 31–110 s)."""
    sweep = tmp_path / "bad.toml"
    sweep.write_text(BAD_SWEEP)
    env = os.environ | {"ALVH_WAREHOUSE": str(tmp_path / "none.duckdb"), "COLUMNS": "300"}
    res = subprocess.run(
        [ALVH, "backtest", "--sweep", str(sweep)], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    lines = [ln for ln in (res.stdout + res.stderr).splitlines() if ln.strip()]
    assert res.returncode == 1, res.stderr
    assert lines == [
        "error: configuration 'fx': fixed_ratio 0.2 must lie within ratio_min 0.6 … ratio_max 1.2 "
        "(the configuration sets fixed_ratio = 0.2, hedge_mode = fixed)"
    ]
    assert not (tmp_path / "none.duckdb").exists()  # nothing opened, nothing created
    # before any work: no Prefect server started (its database in PREFECT_HOME would exist: a flow run
    # in this environment creates it) and no Dask cluster (distributed is not even imported)
    home = tmp_path / "prefect-home"
    bare = {k: v for k, v in env.items() if not k.startswith("PREFECT_")} | {"PREFECT_HOME": str(home)}
    traced = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "alvh.cli", "backtest", "--sweep", str(sweep)],
        cwd=tmp_path,
        env=bare,
        capture_output=True,
        text=True,
    )
    assert traced.returncode == 1
    imported = {ln.rsplit("|", 1)[-1].strip() for ln in traced.stderr.splitlines() if ln.startswith("import time:")}
    assert "alvh.pipeline.backtest_sweep" in imported  # the trace is real: the spec was read
    assert not {m for m in imported if m.split(".")[0] == "distributed"}
    assert not (home / "prefect.db").exists()
    grid = tmp_path / "grid.toml"
    grid.write_text('[grid]\nrebalance_band = [0.1, "wide"]\n')
    res = subprocess.run(
        [ALVH, "backtest", "--walk-forward", "--grid", str(grid)], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert res.returncode == 1
    assert [ln for ln in res.stderr.splitlines() if ln.strip()] == [
        "error: configuration 'grid rebalance_band=wide': setting rebalance_band = 'wide': "
        "Input should be a valid number, unable to parse string as a number"
    ]


# --- a Dask walk-forward that cannot hang -------------------------------------------------------


def slow_chunk(group: object, configs: list[object]) -> list[dict[str, object]]:
    """Stands in for ``evaluate_chunk`` on the workers: a chunk that takes minutes."""
    time.sleep(300)
    return []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.process
def test_an_external_cluster_without_workers_stops_the_run_at_the_heartbeat(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dask = str(Path(sys.executable).parent / "dask")
    address = f"tcp://127.0.0.1:{_free_port()}"
    log = (tmp_path / "dask.log").open("w")
    env = os.environ | {"PYTHONPATH": str(ROOT)}  # scheduler and worker import this module's slow_chunk
    scheduler = subprocess.Popen(
        [dask, "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1], "--no-dashboard"],
        stdout=log,
        stderr=log,
        env=env,
    )
    worker = subprocess.Popen(
        [dask, "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard"], stdout=log, stderr=log, env=env
    )
    try:
        from distributed import Client

        with Client(address, timeout=60) as c:
            c.wait_for_workers(1, timeout=120)
        monkeypatch.setattr(bs, "evaluate_chunk", slow_chunk)
        killed: list[float] = []

        def kill_worker() -> None:  # the only worker dies mid-chunk
            worker.kill()
            killed.append(time.monotonic())

        threading.Timer(5.0, kill_worker).start()
        heartbeat = 4.0
        with (
            bs.dask_session(address, 1, heartbeat_s=heartbeat) as session,
            pytest.raises(bs.ResearchRunFailed) as err,
        ):
            bs.gather_chunks(session, [(None, ["a"]), (None, ["b"])])  # type: ignore[list-item]
        took = time.monotonic() - killed[0]
        assert str(err.value) == (
            f"the Dask cluster at {address} has had no live worker for 4 s (heartbeat timeout) with 2 of 2 chunks "
            "unfinished; the run is stopped (rerun it; start workers, or raise --heartbeat-timeout)"
        )
        assert took < heartbeat + LOADED_MARGIN_S, f"stopped {took:.1f} s after the worker died"  # a ceiling only
    finally:
        stop_processes([worker, scheduler])
        log.close()


# --- a local Dask walk-forward killed or stopped mid-run (the CLI, as a subprocess) ---------------
#
# Event-based, never timed: each test waits until the CLI's workers exist and at least one chunk has
# finished (the progress bar's count, which the run draws as chunks finish) with chunks still to go,
# so a task is running on each worker; only then does it act. Ceilings are generous (a loaded CI
# machine); there is no lower bound on any duration.

HEARTBEAT_S = 30.0  # --heartbeat-timeout of these runs, seconds
STOP_BOUND_S = 10.0  # the code's own bound for SIGTERM / Ctrl-C: the run and its workers gone
LOADED_MARGIN_S = 30.0  # extra allowance for a machine under load (seconds), on top of each bound
START_CEILING_S = 600.0  # imports, Prefect's server, the market and the study's arrays, under load


def _workers(cli: Cli) -> list[psutil.Process]:
    """The CLI's live Dask worker processes (multiprocessing spawn children)."""
    out = []
    for pid in _spawned(cli.proc.pid):
        with contextlib.suppress(psutil.Error):
            out.append(psutil.Process(pid))
    return out


def _mid_run(cli: Cli, workers: int = 2) -> Callable[[], bool]:
    """True once ``workers`` workers exist and some, not all, chunks of the training grid are done."""

    def ready() -> bool:
        p = cli.progress()
        return p is not None and 0 < p[0] < p[1] and len(_workers(cli)) >= workers

    return ready


def _descendants(cli: Cli) -> list[psutil.Process]:
    with contextlib.suppress(psutil.Error):
        return psutil.Process(cli.proc.pid).children(recursive=True)
    return []


def _survivors(procs: list[psutil.Process], grace_s: float = 15.0) -> list[str]:
    """Processes of ``procs`` still running (not zombies) after up to ``grace_s`` seconds;
    ``Process.is_running`` checks the creation time too, so a reused pid is not counted."""
    deadline = time.monotonic() + grace_s
    while True:
        alive = []
        for p in procs:
            with contextlib.suppress(psutil.Error):
                if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                    alive.append(f"{p.pid} {' '.join(p.cmdline())[:120]}")
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.2)


@pytest.mark.process
def test_killing_the_workers_of_a_walk_forward_stops_the_cli_within_its_heartbeat(
    fresh_signal_warehouse: Path, tmp_path: Path
) -> None:
    with Cli(fresh_signal_warehouse, tmp_path / "out", "--heartbeat-timeout", f"{HEARTBEAT_S:g}") as cli:
        cli.wait_for(_mid_run(cli), START_CEILING_S)
        tree = _descendants(cli)
        workers = _workers(cli)
        for w in workers:
            w.kill()  # SIGKILL, each worker with a chunk in hand
        took = cli.finish(HEARTBEAT_S + LOADED_MARGIN_S)
        assert cli.proc.returncode == 1, f"exit {cli.proc.returncode}; stderr: {cli.text()[-2000:]}"
        lines = cli.error_lines()
        assert len(lines) == 1, cli.text()[-2000:]
        assert re.fullmatch(
            r"error: (a Dask worker died (while evaluating|holding the result of) chunk \d+ of \d+; the run is stopped \(rerun it; .+\)"
            r"|the local Dask cluster has had no live worker for 30 s \(heartbeat timeout\) .+)",
            lines[0],
        ), lines[0]
        assert "Traceback" not in cli.text()
        assert took < HEARTBEAT_S + LOADED_MARGIN_S, f"exited {took:.1f} s after its workers were killed"
        assert _survivors(tree + _descendants(cli)) == []


@pytest.mark.process
@pytest.mark.parametrize(
    ("sig", "code", "why"),
    [(signal.SIGTERM, 143, "terminated (SIGTERM)"), (signal.SIGINT, 130, "interrupted")],
    ids=["SIGTERM", "Ctrl-C"],
)
def test_sigterm_and_ctrl_c_stop_a_walk_forward_and_its_workers(
    fresh_signal_warehouse: Path, tmp_path: Path, sig: signal.Signals, code: int, why: str
) -> None:
    with Cli(fresh_signal_warehouse, tmp_path / "out") as cli:
        cli.wait_for(_mid_run(cli), START_CEILING_S)
        tree = _descendants(cli)
        if sig == signal.SIGINT:
            os.killpg(cli.proc.pid, sig)  # Ctrl-C: the terminal signals the whole process group
        else:
            cli.proc.send_signal(sig)
        took = cli.finish(STOP_BOUND_S + LOADED_MARGIN_S)
        assert cli.proc.returncode == code, f"exit {cli.proc.returncode}; stderr: {cli.text()[-2000:]}"
        assert cli.error_lines() == [f"error: {why}: the run and its Dask workers were stopped"], cli.text()[-2000:]
        assert "Traceback" not in cli.text()
        assert took < STOP_BOUND_S + LOADED_MARGIN_S, f"exited {took:.1f} s after {sig.name}"
        assert _survivors(tree + _descendants(cli)) == []
