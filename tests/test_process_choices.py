"""What a shared machine and a git checkout see of alvh (issue 21): the engine's pricing kernels
run on one thread (a 493-session replay took 11.3 s with two numba threads on a busy machine, 0.7 s
with one), numba's pool is sized to the CPUs this process may use, and the warehouse's lock file
never shows in ``git status``."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from numba.core.registry import CPUDispatcher

import alvh.transforms.backtest.kernel as kernel
import alvh.transforms.pricing as pricing
import alvh.transforms.signal.compiled_rules as compiled_rules
import alvh.transforms.spread as spread
import alvh.transforms.vix_surface as vix_surface
from alvh.core.memory import choose_numba_threads

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("module", [pricing, vix_surface, compiled_rules, kernel, spread])
def test_the_engines_kernels_are_not_parallel(module: object) -> None:
    """Every compiled function the readable engine, the backtest and the daily run call runs on
    one thread: none is compiled with ``parallel=True``."""
    dispatchers = [f for f in vars(module).values() if isinstance(f, CPUDispatcher)]
    assert dispatchers, f"{module}: no compiled function found"
    parallel = [f.py_func.__name__ for f in dispatchers if f.targetoptions.get("parallel")]
    assert parallel == []


def test_numba_threads_follow_the_variable_then_the_cpus_this_process_may_use(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUMBA_NUM_THREADS", "3")
    assert choose_numba_threads() == 3
    monkeypatch.delenv("NUMBA_NUM_THREADS")
    monkeypatch.setattr("os.sched_getaffinity", lambda _pid: {0})  # confined to one CPU
    assert choose_numba_threads() == 1
    import os

    assert os.environ["NUMBA_NUM_THREADS"] == "1"


@pytest.mark.process  # runs git
def test_the_warehouse_lock_file_is_ignored_by_git() -> None:
    """The main job leaves ``warehouse/alvh.duckdb.lock`` (the run lock); ``git status`` must not
    show it, nor the warehouse, nor the exports."""
    for path in ("warehouse/alvh.duckdb.lock", "warehouse/alvh.duckdb", "warehouse/alvh.duckdb.wal", "exports/current"):
        res = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT, check=False)
        assert res.returncode == 0, f"{path} is not ignored by .gitignore"
