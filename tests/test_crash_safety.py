"""SIGKILL during publish/export leaves the warehouse, and the exports, each exactly as before or
exactly as after the run — never a partial session, never a half-written file — and the next run
completes normally. Trials, each asserted: 6 in CI, 24 under the nightly profile
(``ALVH_HYPOTHESIS_PROFILE=nightly``); ``ALVH_CRASH_TRIALS`` sets the number."""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest

from alvh.core.calendar import sessions_between
from alvh.pipeline.signals import run_batch
from alvh.schemas.registry import SIGNAL_TABLES
from alvh.transforms.signal import HedgeParams
from alvh.warehouse.connection import open_warehouse
from alvh.warehouse.export import export_marts
from tests.support.hypothesis_profiles import profile_name

ROOT = Path(__file__).resolve().parents[1]
# each trial: a killed and a clean backfill flow (~2 × 10 s)
TRIALS = int(os.environ.get("ALVH_CRASH_TRIALS") or (24 if profile_name() == "nightly" else 6))
pytestmark = pytest.mark.flow


def state(db: Path, exports: Path) -> tuple[Any, Any]:
    with duckdb.connect(str(db)) as con:  # read-write, as the next run would open it (replays the WAL)
        tables = tuple(
            con.sql(f"SELECT * EXCLUDE (run_id) FROM {t} ORDER BY ALL").fetchall()
            if t == "marts.hedge_signal_daily"
            else con.sql(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
            for t in SIGNAL_TABLES
        )
    current = (exports / "current").resolve()
    files = tuple((str(p.relative_to(current)), content(p)) for p in sorted(current.rglob("*")) if p.is_file())
    return tables, files


def content(p: Path) -> str:
    """A file's content, whole, minus the run id (which differs between any two runs); for the
    snapshot's DuckDB file, every table's rows."""
    import polars as pl

    if p.suffix == ".duckdb":
        with duckdb.connect(str(p), read_only=True) as con:
            names = [r[0] for r in con.sql("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()]
            rows = []
            for n in names:
                keep = ", ".join(c for c in con.sql(f"SELECT * FROM marts.{n} LIMIT 0").columns if c != "run_id")
                rows.append((n, con.sql(f"SELECT {keep} FROM marts.{n} ORDER BY ALL").fetchall()))
        return hashlib.sha256(repr(rows).encode()).hexdigest()
    frame = pl.read_csv(p, infer_schema=False) if p.suffix == ".csv" else pl.read_parquet(p)
    if "run_id" in frame.columns:
        frame = frame.drop("run_id")
    return hashlib.sha256(frame.write_csv().encode()).hexdigest()


def backfill(db: Path, exports: Path) -> subprocess.Popen[bytes]:
    from prefect.settings import PREFECT_API_URL

    # the session's Prefect API (as a scheduled deployment has one): no ephemeral server per run
    api = {"PREFECT_API_URL": str(PREFECT_API_URL.value())} if PREFECT_API_URL.value() else {}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "alvh.cli",
            "backfill",
            "--start",
            "2018-03-01",
            "--end",
            "2018-03-29",
            "--warehouse",
            str(db),
            "--export-dir",
            str(exports),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, **api, "ALVH_GX_VALIDATION": "false"},  # GX adds seconds, not writes
    )


def watch(proc: subprocess.Popen[bytes], db: Path, exports: Path) -> tuple[float | None, float | None]:
    """Seconds from now to the run's first warehouse write (its WAL appearing) and to its switch of
    ``exports/current``; polled every 2 ms until the process exits."""
    wal, link = Path(f"{db}.wal"), exports / "current"
    before, t0 = os.readlink(link), time.monotonic()
    first_write = switched = None
    while proc.poll() is None:
        t = time.monotonic() - t0
        if first_write is None and wal.exists():
            first_write = t
        if switched is None and os.readlink(link) != before:
            switched = t
        time.sleep(0.002)
    return first_write, switched


def kill_after_first_write(proc: subprocess.Popen[bytes], db: Path, delay: float) -> bool:
    """SIGKILL the run ``delay`` seconds after its first warehouse write. True only when the kill
    landed in the run: it was running when the signal was sent and it died of SIGKILL (not of its
    own exit a moment before)."""
    wal = Path(f"{db}.wal")
    while proc.poll() is None and not wal.exists():
        time.sleep(0.002)
    time.sleep(delay)
    if proc.poll() is not None:
        return False
    proc.send_signal(signal.SIGKILL)
    return proc.wait() == -signal.SIGKILL


def test_sigkill_during_publish_and_export(
    prefect_harness: None,
    signal_warehouse: Path,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pristine_db, pristine_exp = tmp_path / "p.duckdb", tmp_path / "p-exports"
    shutil.copy(signal_warehouse, pristine_db)
    with open_warehouse(pristine_db) as con:
        run_batch(
            con,
            sessions_between(
                sessions_between(__import__("datetime").date(2018, 2, 1), __import__("datetime").date(2018, 2, 28))[0],
                __import__("datetime").date(2018, 2, 28),
            ),
            HedgeParams(),
            "before",
            "h",
            use_gx=False,
        )
        export_marts(con, pristine_exp)
    before = state(pristine_db, pristine_exp)

    def reset(name: str) -> tuple[Path, Path]:
        db, exp = tmp_path / f"{name}.duckdb", tmp_path / f"{name}-exports"
        for p in (db, Path(str(db) + ".wal")):
            p.unlink(missing_ok=True)
        shutil.rmtree(exp, ignore_errors=True)
        shutil.copy(pristine_db, db)
        shutil.copytree(pristine_exp, exp, symlinks=True)
        return db, exp

    # a first run compiles and caches the numba kernels (pricing, book risk, payoff grid)
    db, exp = reset("warm")
    assert backfill(db, exp).wait(timeout=300) == 0
    db, exp = reset("ref")  # the run that is never killed
    proc = backfill(db, exp)
    first_write, switched = watch(proc, db, exp)
    assert proc.wait(timeout=300) == 0, proc.stderr.read() if proc.stderr else b""
    assert first_write is not None and switched is not None, "the reference run never wrote or never switched"
    window = switched - first_write  # publish + export: a fraction of a second in a run of ~10 s
    after = state(db, exp)
    assert after != before

    # Kills are timed from the run's own first write (its WAL appearing), not from its start: the
    # publish/export window is ~3 % of a run, and a run's length varies with the machine's load.
    rng = random.Random(20181)
    outcomes = []
    for trial in range(TRIALS):
        db, exp = reset("t")
        proc = backfill(db, exp)
        delay = rng.uniform(0.0, 1.2 * window)
        killed = kill_after_first_write(proc, db, delay)
        proc.wait()
        tables, files = state(db, exp)
        # each is exactly as before or as after; a kill between the publish and the export switch
        # leaves the exports one run behind the warehouse, and the next run brings them level
        where = f"trial {trial}: a kill {delay:.3f} s after the first write"
        assert tables in (before[0], after[0]), f"{where} left a partial warehouse"
        assert files in (before[1], after[1]), f"{where} left partial exports"
        outcomes.append(
            ("before" if tables == before[0] else "after", "before" if files == before[1] else "after", killed)
        )
        clean = backfill(db, exp)  # the next run completes normally
        assert clean.wait(timeout=300) == 0, f"trial {trial}: {clean.stderr.read() if clean.stderr else b''}"
        assert state(db, exp) == after, f"trial {trial}: the clean run after a kill differs from the never-killed run"
    # only kills that landed in a run count; a trial whose run ended before its kill proves nothing
    landed = [o for o in outcomes if o[2]]
    counts = {
        f"{t}/{f}": sum(1 for o in landed if o[:2] == (t, f)) for t in ("before", "after") for f in ("before", "after")
    }
    report = (
        f"crash safety: {len(landed)} of {TRIALS} SIGKILLs landed mid-run (after the first write, before the "
        f"run's end); warehouse/exports left as {counts}"
    )
    request.node.user_properties.append(("kills_landed", len(landed)))
    with capsys.disabled():
        print(f"\n{report}")
    assert len(landed) >= max(1, TRIALS - 1), report
