"""Health checks of the warehouse for ``alvh doctor``: one row per check, each ``ok`` or
``attention`` with a plain-words detail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from alvh.core.calendar import sessions_between

SOURCES = (
    ("VIX close", "SELECT max(session_date) FROM staging.stg_index_daily WHERE symbol = 'VIX'"),
    ("VVIX close", "SELECT max(session_date) FROM staging.stg_index_daily WHERE symbol = 'VVIX'"),
    ("SPX close", "SELECT max(session_date) FROM staging.stg_index_daily WHERE symbol = 'SPX'"),
    ("VX futures", "SELECT max(trade_date) FROM staging.stg_vx_futures WHERE is_monthly"),
    ("NYSE breadth", "SELECT max(session_date) FROM staging.stg_breadth"),
    ("T-bill rate", "SELECT max(date) FROM staging.stg_rates"),
    ("published signal", "SELECT max(session_date) FROM marts.hedge_signal_daily"),
)


def keyed_marts(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Every mart and its key as the warehouse declares it (the DDL's PRIMARY KEY, generated from
    the models), read from DuckDB itself so `alvh doctor` loads no validation library."""
    rows = con.execute(
        "SELECT table_name, constraint_column_names FROM duckdb_constraints() "
        "WHERE schema_name = 'marts' AND constraint_type = 'PRIMARY KEY' ORDER BY table_name"
    ).fetchall()
    return {f"marts.{t}": ", ".join(cols) for t, cols in rows}


@dataclass
class Check:
    name: str
    status: str  # ok | attention | info
    detail: str


def expected_session(as_of: date) -> date:
    """The latest XNYS session on or before ``as_of``."""
    return sessions_between(date(as_of.year - 1, 1, 1), as_of)[-1]


def quote_check(con: duckdb.DuckDBPyConnection, max_error_pct: float) -> Check | None:
    """Model against market on the latest session with imported quotes (ALVH-2026.3 §4):
    attention when the surface misprices a held contract by more than ``max_error_pct`` of its
    real mid; None when no quotes were ever imported."""
    rows = con.execute(
        "SELECT session_date, contract_expiry, strike, mid, model_price, error_pct, role FROM marts.quote_check "
        "WHERE session_date = (SELECT max(session_date) FROM marts.quote_check) ORDER BY abs(error_pct) DESC"
    ).fetchall()
    if not rows:
        return None
    d = rows[0][0]
    held = [r for r in rows if r[6] == "held"]
    bad = [r for r in held if abs(r[5]) > max_error_pct]
    if bad:
        worst = ", ".join(
            f"{e} {k:g}C model {m:.2f} vs mid {mid:.2f} ({err:+.0f} %)" for _, e, k, mid, m, err, _ in bad[:3]
        )
        return Check(
            "model vs market",
            "attention",
            f"{d}: the surface misprices {len(bad)} held contract(s) by more than {max_error_pct:g} %: {worst} "
            "(marks and limits use the quotes that session; check the smile_* settings)",
        )
    worst_pct = max((abs(r[5]) for r in held), default=0.0)
    return Check(
        "model vs market", "ok", f"{d}: {len(held)} held contract(s) quoted, worst error {worst_pct:.1f} % of mid"
    )


def warehouse_checks(
    con: duckdb.DuckDBPyConnection, path: Path, as_of: date, quote_error_max_pct: float = 15.0
) -> list[Check]:
    checks = []
    want = expected_session(as_of)
    for name, sql in SOURCES:
        last = con.execute(sql).fetchall()[0][0]
        if last is None:
            checks.append(Check(name, "attention", f"no data (expected {want})"))
            continue
        if last > as_of:
            checks.append(
                Check(name, "attention", f"last {last} is after {as_of}: rows for a day that has not happened")
            )
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
    for table, key in keyed_marts(con).items():
        n, k = con.execute(f"SELECT count(*), count(DISTINCT ({key})) FROM {table}").fetchall()[0]
        if n != k:
            dupes.append(f"{table}: {n - k} duplicate key(s)")
    checks += published_history_checks(con)
    quoted = quote_check(con, quote_error_max_pct)
    if quoted is not None:
        checks.append(quoted)
    size = path.stat().st_size if path.exists() else 0
    checks.append(
        Check(
            "warehouse",
            "ok" if not dupes else "attention",
            f"{size / 1e6:.1f} MB; " + ("; ".join(dupes) if dupes else "every table readable, keys unique"),
        )
    )
    return checks


# published signal columns and the indicators-mart columns they were built from (points, decimals)
INPUT_COLUMNS = (("vix_close", "vix_close"), ("macd_hist", "macd_hist"), ("ad_rsi", "ad_rsi"))


def signals_disagreeing_with_inputs(con: duckdb.DuckDBPyConnection) -> list[tuple[date, str, object, object]]:
    """(session, column, published, in the mart now) wherever a published signal's input differs
    from ``marts.indicators_daily`` (e.g. an upstream revision loaded without republishing), plus
    each layer's forward vs the mart's ``m{i}_forward``."""
    out: list[tuple[date, str, object, object]] = []
    for sig_col, mart_col in INPUT_COLUMNS:
        out += con.execute(
            f"SELECT s.session_date, '{sig_col}', s.{sig_col}, m.{mart_col} FROM marts.hedge_signal_daily s "
            f"JOIN marts.indicators_daily m USING (session_date) "
            f"WHERE NOT s.stale AND (s.{sig_col} IS DISTINCT FROM m.{mart_col}) "
            f"AND NOT (s.{sig_col} IS NOT NULL AND m.{mart_col} IS NOT NULL AND abs(s.{sig_col} - m.{mart_col}) < 1e-9)"
        ).fetchall()
    for i in (1, 2, 3):
        out += con.execute(
            f"SELECT l.session_date, 'M{i} forward', l.future_settle, m.m{i}_forward FROM marts.layer_adjustment l "
            f"JOIN marts.indicators_daily m USING (session_date) JOIN marts.hedge_signal_daily s USING (session_date) "
            f"WHERE l.layer = {i} AND NOT s.stale AND abs(l.future_settle - m.m{i}_forward) > 1e-9"
        ).fetchall()
    return sorted(out, key=lambda r: (r[0], r[1]))


def broken_carry(con: duckdb.DuckDBPyConnection) -> list[tuple[date, date, object, object]]:
    """(session, contract expiry, holdings the layer started from, positions published the session
    before) wherever a session does not start from the previous session's published book."""
    rows = con.execute(
        """
        WITH days AS (
            SELECT session_date, lag(session_date) OVER (ORDER BY session_date) AS prev
            FROM marts.hedge_signal_daily
        ),
        held AS (
            SELECT session_date, contract_expiry, sum(qty) AS qty FROM marts.hedge_position GROUP BY 1, 2
        )
        SELECT l.session_date, l.contract_expiry, l.current_qty, coalesce(h.qty, 0)
        FROM marts.layer_adjustment l JOIN days d USING (session_date)
        LEFT JOIN held h ON h.session_date = d.prev AND h.contract_expiry = l.contract_expiry
        WHERE d.prev IS NOT NULL AND l.current_qty <> coalesce(h.qty, 0)
          AND NOT EXISTS (  -- settled or rolled on the day before its first row: not a carry break
              SELECT 1 FROM marts.hedge_order o WHERE o.session_date = l.session_date
              AND o.contract_expiry = l.contract_expiry AND o.action = 'SETTLE')
        ORDER BY 1, 2
        """
    ).fetchall()
    return [tuple(r) for r in rows]


def published_history_checks(con: duckdb.DuckDBPyConnection) -> list[Check]:
    """Do the published signals still match their inputs, and does each session start from the
    book the session before published?"""
    disagree = signals_disagreeing_with_inputs(con)
    if disagree:
        d, col, old, new = disagree[0]
        first_bad = min(r[0] for r in disagree)
        detail = (
            f"signals disagree with their inputs: {len(disagree)} value(s) from {first_bad}, e.g. {d} {col} "
            f"published {old} vs {new} in marts.indicators_daily — run `alvh backfill --start {first_bad}`"
        )
        checks = [Check("published inputs", "attention", detail)]
    else:
        checks = [Check("published inputs", "ok", "every published signal matches marts.indicators_daily")]
    carry = broken_carry(con)
    if carry:
        d, e, cur, prev = carry[0]
        checks.append(
            Check(
                "position carry",
                "attention",
                f"{len(carry)} layer row(s) do not start from the previous session's positions, e.g. {d} {e}: "
                f"holds {cur}, the session before published {prev} — run `alvh backfill --start {d}`",
            )
        )
    else:
        checks.append(Check("position carry", "ok", "every session starts from the book published the session before"))
    return checks
