"""Preload of the local Dask workers of a sweep or walk-forward (:class:`alvh.pipeline.backtest_sweep.DaskSession`).

Kept light on purpose: a worker needs the compiled engine (what a chunk unpickles into and runs)
and nothing of the parent's settings, schemas or Prefect. Importing
:mod:`alvh.pipeline.backtest_sweep` instead pulled pandera, pandas' schema engines and the settings
model into every worker (measured 7.6 s against 6.2 s for the engine alone per worker at load ≈ 10
on the 2-core machine), CPU the parent needs while it prepares the study's arrays."""

from __future__ import annotations

import contextlib
import signal

import alvh.transforms.backtest.sweep  # noqa: F401  # the engine, imported while the parent prepares


def dask_setup(worker: object) -> None:
    """Ctrl-C (SIGINT to the terminal's whole process group) is the parent's to handle — it stops
    the workers itself — so a worker ignores it instead of dying with a traceback under a chunk."""
    with contextlib.suppress(ValueError):  # not the main thread: leave the signal alone
        signal.signal(signal.SIGINT, signal.SIG_IGN)
