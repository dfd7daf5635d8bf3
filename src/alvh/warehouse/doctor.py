"""Health checks of the warehouse for ``alvh doctor``: one row per check, each ``ok`` or
``attention`` with a plain-words detail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from alvh.core.calendar import sessions_between
from alvh.schemas.registry import EXPORTED_TABLES, TABLES
from alvh.warehouse.ddl import primary_key

SOURCES = (
    ("VIX close", "SELECT max(session_date) FROM staging.stg_index_daily WHERE symbol = 'VIX'"),
    ("VVIX close", "SELECT max(session_date) FROM staging.stg_index_daily WHERE symbol = 'VVIX'"),
    ("SPX close", "SELECT max(session_date) FROM staging.stg_index_daily WHERE symbol = 'SPX'"),
    ("VX futures", "SELECT max(trade_date) FROM staging.stg_vx_futures WHERE is_monthly"),
    ("NYSE breadth", "SELECT max(session_date) FROM staging.stg_breadth"),
    ("T-bill rate", "SELECT max(date) FROM staging.stg_rates"),
    ("published signal", "SELECT max(session_date) FROM marts.hedge_signal_daily"),
)
# every exported mart and its key, from the models (schemas.registry is the one list of tables)
KEYED_MARTS = {t: ", ".join(primary_key(TABLES[t])) for t in EXPORTED_TABLES}


@dataclass
class Check:
    name: str
    status: str  # ok | attention | info
    detail: str


def expected_session(as_of: date) -> date:
    """The latest XNYS session on or before ``as_of``."""
    return sessions_between(date(as_of.year - 1, 1, 1), as_of)[-1]


def warehouse_checks(con: duckdb.DuckDBPyConnection, path: Path, as_of: date) -> list[Check]:
    checks = []
    want = expected_session(as_of)
    for name, sql in SOURCES:
        last = con.execute(sql).fetchall()[0][0]
        if last is None:
            checks.append(Check(name, "attention", f"no data (expected {want})"))
            continue
        behind = len([d for d in sessions_between(last, want) if d > last])
        status = "ok" if behind == 0 else "attention"
        checks.append(
            Check(name, status, f"last {last}, expected {want}" + (f" — {behind} session(s) behind" if behind else ""))
        )
    run = con.execute(
        "SELECT run_id, status, started_at, finished_at, message FROM meta.flow_run ORDER BY started_at DESC LIMIT 1"
    ).fetchall()
    if not run:
        checks.append(Check("last ingest run", "attention", "no run recorded: run `alvh run` or `alvh ingest`"))
    else:
        _run_id, status, started, finished, message = run[0]
        secs = (finished - started).total_seconds()
        checks.append(
            Check(
                "last ingest run",
                "ok" if status == "completed" else "attention",
                f"{status} at {finished:%Y-%m-%d %H:%M} UTC in {secs:.1f} s" + (f": {message}" if message else ""),
            )
        )
    latest = run[0][0] if run else None
    q = con.execute("SELECT count(*) FROM meta.quarantine WHERE run_id = ?", [latest]).fetchall()[0][0]
    r = con.execute("SELECT count(*) FROM meta.revision WHERE run_id = ?", [latest]).fetchall()[0][0]
    q_all = con.execute("SELECT count(*) FROM meta.quarantine").fetchall()[0][0]
    r_all = con.execute("SELECT count(*) FROM meta.revision").fetchall()[0][0]
    checks.append(
        Check(
            "quarantine",
            "ok" if q == 0 else "attention",
            f"{q} new row(s) in the last run ({q_all} in all: see meta.quarantine)",
        )
    )
    checks.append(
        Check(
            "revisions",
            "ok" if r == 0 else "attention",
            f"{r} changed past value(s) in the last run ({r_all} in all: see meta.revision)",
        )
    )
    last_val = con.execute("SELECT max(validated_at) FROM meta.validation_run").fetchall()[0][0]
    bad = con.execute(
        "SELECT count(*) FROM meta.validation_run WHERE NOT success AND validated_at = ?", [last_val]
    ).fetchall()[0][0]
    checks.append(Check("validation", "ok" if bad == 0 else "attention", f"{bad} failed rule(s) in the last publish"))
    dupes = []
    for table, key in KEYED_MARTS.items():
        n, k = con.execute(f"SELECT count(*), count(DISTINCT ({key})) FROM {table}").fetchall()[0]
        if n != k:
            dupes.append(f"{table}: {n - k} duplicate key(s)")
    size = path.stat().st_size if path.exists() else 0
    checks.append(
        Check(
            "warehouse",
            "ok" if not dupes else "attention",
            f"{size / 1e6:.1f} MB; " + ("; ".join(dupes) if dupes else "every table readable, keys unique"),
        )
    )
    return checks
