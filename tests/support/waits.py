"""Event-based waits for tests of processes that wait on each other (no elapsed-time windows).

- :func:`holder` starts a child process that takes something (the run lock, a read-only
  connection), prints ``ready``, and keeps it until the test writes a line to its stdin
  (:func:`release`): the test, not a timer, decides when it lets go.
- :class:`Polls` counts the polls of a waiting loop (``time.sleep`` calls in this process), so a
  test can see that a waiter found the resource taken and is waiting, without reading a clock.

Every wait has a generous ceiling (``CEILING_S``): on a loaded CI host (load 8–14 on 2 cores) an
import alone took 47 s; a ceiling only bounds a hang, it is never the thing asserted."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CEILING_S = 600.0


def holder(code: str, ready: str) -> subprocess.Popen[str]:
    """A child running ``code`` (which prints ``ready``, then blocks on ``sys.stdin.readline()``);
    returned once ``ready`` is printed."""
    p = subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert p.stdout is not None
    line = p.stdout.readline().strip()
    assert line == ready, f"the child printed {line!r} instead of {ready!r}"
    return p


def release(p: subprocess.Popen[str]) -> None:
    """Tell a :func:`holder` child to let go, and wait for it to exit."""
    assert p.stdin is not None
    if p.poll() is None:
        p.stdin.write("go\n")
        p.stdin.flush()
    p.wait(timeout=CEILING_S)


def kill(p: subprocess.Popen[str]) -> None:
    if p.poll() is None:
        p.kill()
    p.wait(timeout=CEILING_S)


class Polls:
    """Counts ``time.sleep`` calls made in this process while installed (a waiting loop's polls);
    ``reached(n)`` is an event set at the n-th."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        self._lock = threading.Lock()
        self._events: dict[int, threading.Event] = {}
        real_sleep = time.sleep

        def counting_sleep(seconds: float) -> None:
            with self._lock:
                self.count += 1
                for n, ev in self._events.items():
                    if self.count >= n:
                        ev.set()
            real_sleep(seconds)

        monkeypatch.setattr(time, "sleep", counting_sleep)

    def reached(self, n: int) -> threading.Event:
        with self._lock:
            ev = self._events.setdefault(n, threading.Event())
            if self.count >= n:
                ev.set()
            return ev


class InThread:
    """Runs ``fn`` in a thread; ``result()`` joins it (under the ceiling) and returns its value or
    raises its exception."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        self._out: dict[str, Any] = {}

        def run() -> None:
            try:
                self._out["value"] = fn()
            except BaseException as exc:  # re-raised in result()
                self._out["error"] = exc

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def done(self) -> bool:
        return not self._thread.is_alive()

    def result(self) -> Any:
        self._thread.join(CEILING_S)
        assert not self._thread.is_alive(), f"still waiting after the {CEILING_S:g} s ceiling"
        if "error" in self._out:
            raise self._out["error"]
        return self._out.get("value")


def stop_processes(procs: list[subprocess.Popen[Any]], grace_s: float = 20.0) -> None:
    """Stop helper processes a test started (a Dask scheduler and its workers): SIGTERM to all,
    then wait for each, killing one that is still there after ``grace_s`` seconds."""
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
