"""Signal marts in storage: read the published state and the engine's inputs, audit a batch of
rows (pandera, GX, cross-table invariants), and publish it in one transaction
(write–audit–publish). The engine that computes the rows is ``alvh.pipeline.signals``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pandera.polars as pa
import polars as pl

from alvh.core.errors import ValidationFailed
from alvh.schemas.gx_suites import CROSS_TABLE
from alvh.schemas.meta import ValidationRun
from alvh.schemas.registry import ROW_KEYS, SIGNAL_TABLES, TABLES
from alvh.schemas.signals import CROSS_TABLE_INVARIANTS, check_cross_table
from alvh.warehouse.connection import transaction
from alvh.warehouse.load import utcnow
from alvh.warehouse.published import (  # noqa: F401 - the read side, re-exported for the writers' callers
    last_published_session,
    next_event_on,
    session_plan,
    unpublished_message,
)
from alvh.warehouse.upsert import insert_ignore, write_frame

VIEWS = {
    "marts.v_latest_signal": (
        "SELECT * FROM marts.hedge_signal_daily "
        "WHERE session_date = (SELECT max(session_date) FROM marts.hedge_signal_daily)"
    ),
    "marts.v_layer_plan": (
        "SELECT l.*, s.stale, s.stale_reason, s.regime, s.ratio_current, s.ratio_target, s.actions_summary "
        "FROM marts.layer_adjustment l JOIN marts.hedge_signal_daily s USING (session_date) "
        "WHERE l.session_date = (SELECT max(session_date) FROM marts.hedge_signal_daily) ORDER BY l.layer"
    ),
}


@dataclass
class Batch:
    """The rows of a run of sessions, per mart, plus the positions held before the first."""

    sessions: list[date]
    frames: dict[str, pl.DataFrame]
    previous_positions: pl.DataFrame
    validation: list[dict[str, Any]] = field(default_factory=list)
    ratio_bounds: tuple[float, float] = (0.6, 1.2)  # ratio_min, ratio_max of the settings in force


def sql_date(d: date) -> str:
    """A SQL DATE literal from a ``datetime.date`` (typed, so never user text)."""
    return f"DATE '{date.isoformat(d)}'"


def last_published_before(con: duckdb.DuckDBPyConnection, first: date) -> date | None:
    """The last session published before ``first`` (None when nothing was)."""
    last: date | None = con.execute(
        "SELECT max(session_date) FROM marts.hedge_signal_daily WHERE session_date < ?", [first]
    ).fetchall()[0][0]
    return last


def last_indicator_session(con: duckdb.DuckDBPyConnection) -> date | None:
    """The latest session in ``marts.indicators_daily`` (None before the first ingest)."""
    last: date | None = con.execute("SELECT max(session_date) FROM marts.indicators_daily").fetchall()[0][0]
    return last


def positions_on(con: duckdb.DuckDBPyConnection, d: date) -> pl.DataFrame:
    """``marts.hedge_position`` rows of one session."""
    return con.sql(f"SELECT * FROM marts.hedge_position WHERE session_date = {sql_date(d)}").pl()


def signal_spend_on(con: duckdb.DuckDBPyConnection, d: date) -> tuple[float, date | None]:
    """(hedge spend of the IC cycle in dollars, that cycle's IC expiry) published for ``d``."""
    spend, expiry = con.execute(
        "SELECT hedge_spend_usd, ic_expiry FROM marts.hedge_signal_daily WHERE session_date = ?", [d]
    ).fetchall()[0]
    return float(spend or 0.0), expiry


def mart_rows_between(con: duckdb.DuckDBPyConnection, lo: date, hi: date) -> list[dict[str, Any]]:
    """``marts.indicators_daily`` rows of ``[lo, hi]`` as dicts."""
    return (
        con.sql(f"SELECT * FROM marts.indicators_daily WHERE session_date BETWEEN {sql_date(lo)} AND {sql_date(hi)}")
        .pl()
        .to_dicts()
    )


def mart_rows_on(con: duckdb.DuckDBPyConnection, days: Sequence[date]) -> list[dict[str, Any]]:
    """``marts.indicators_daily`` rows of the given sessions (those present)."""
    if not days:
        return []
    listed = ", ".join(sql_date(d) for d in days)
    return con.sql(f"SELECT * FROM marts.indicators_daily WHERE session_date IN ({listed})").pl().to_dicts()


def vx_settles_between(con: duckdb.DuckDBPyConnection, lo: date, hi: date) -> pl.DataFrame:
    """Every VX settle (monthlies and weeklies) traded in ``[lo, hi]``: trade_date, contract_expiry, settle."""
    return con.sql(
        "SELECT trade_date, contract_expiry, settle FROM staging.stg_vx_futures "
        f"WHERE settle IS NOT NULL AND trade_date BETWEEN {sql_date(lo)} AND {sql_date(hi)}"
    ).pl()


def vix_opens_between(con: duckdb.DuckDBPyConnection, lo: date, hi: date) -> dict[date, float]:
    """VIX opens by session in ``[lo, hi]`` (the final-settlement proxy)."""
    rows = con.execute(
        "SELECT session_date, open FROM staging.stg_index_daily "
        "WHERE symbol = 'VIX' AND open IS NOT NULL AND session_date BETWEEN ? AND ?",
        [lo, hi],
    ).fetchall()
    return dict(rows)


def published_sessions_among(con: duckdb.DuckDBPyConnection, dates: Sequence[date]) -> list[date]:
    """The sessions of ``dates`` that already have a published signal, ascending."""
    if not dates:
        return []
    rows = con.execute(
        "SELECT session_date FROM marts.hedge_signal_daily WHERE list_contains(?, session_date) ORDER BY 1",
        [list(dates)],
    ).fetchall()
    return [r[0] for r in rows]


def vix_calls_between(
    con: duckdb.DuckDBPyConnection, lo: date, hi: date
) -> dict[tuple[date, date], list[tuple[float, float, float]]]:
    """Imported two-sided end-of-day VIX calls (roots VIX and VIXW) quoted in ``[lo, hi]``:
    (quote date, expiry) → [(strike, bid, ask)], strikes ascending (ALVH-2026.3 §4)."""
    has_table = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'staging' AND table_name = 'option_quote'"
    ).fetchall()[0][0]
    if not has_table:
        return {}
    rows = con.execute(
        "SELECT quote_date, expiration, strike, bid_eod, ask_eod FROM staging.option_quote "
        "WHERE root IN ('VIX', 'VIXW') AND option_type = 'C' AND bid_eod > 0 AND ask_eod >= bid_eod "
        "AND quote_date BETWEEN ? AND ? ORDER BY quote_date, expiration, strike",
        [lo, hi],
    ).fetchall()
    out: dict[tuple[date, date], list[tuple[float, float, float]]] = {}
    for d, exp, k, bid, ask in rows:
        out.setdefault((d, exp), []).append((float(k), float(bid), float(ask)))
    return out


def ensure_views(con: duckdb.DuckDBPyConnection) -> None:
    for name, sql in VIEWS.items():
        con.execute(f"CREATE OR REPLACE VIEW {name} AS {sql}")


def audit(batch: Batch, run_id: str, docs_dir: Path | None = None, use_gx: bool = True) -> list[str]:
    """Validate the batch with pandera, the cross-table invariants and GX; every result is kept
    in ``batch.validation``. Returns the failures (empty = publishable)."""
    now = utcnow()
    lo, hi = batch.sessions[0], batch.sessions[-1]
    failures: list[str] = []

    def record(engine: str, table: str, rule: str, ok: bool, n: int, details: object = None) -> None:
        batch.validation.append(
            {
                "run_id": run_id,
                "session_from": lo,
                "session_to": hi,
                "engine": engine,
                "table_name": table,
                "rule": rule,
                "success": ok,
                "failed_rows": n,
                "details": json.dumps(details, default=str)[:4000] if details is not None else None,
                "validated_at": now,
            }
        )
        if not ok:
            failures.append(f"{engine} {table} {rule}: {n} row(s) {json.dumps(details, default=str)[:600]}")

    for table, frame in batch.frames.items():
        model = TABLES[table]
        try:
            model.validate(frame, lazy=True)
            record("pandera", table, model.__name__, True, 0)
        except pa.errors.SchemaErrors as exc:
            cases = exc.failure_cases
            for (check, column), grp in cases.group_by("check", "column", maintain_order=True):
                idx = [i for i in grp["index"].to_list() if i is not None][:10]
                keys = (
                    frame[idx]
                    .select([c for c in ("session_date", "layer", "scenario", "ticket") if c in frame.columns])
                    .to_dicts()
                    if idx
                    else []
                )
                record("pandera", table, str(check), False, grp.height, {"column": column, "rows": keys})
    inv = check_cross_table(
        batch.frames["marts.hedge_signal_daily"],
        batch.frames["marts.layer_adjustment"],
        batch.frames["marts.hedge_order"],
        batch.frames["marts.hedge_position"],
        batch.previous_positions,
        batch.ratio_bounds,
    )
    bad = {f.rule: f for f in inv}
    for name in (*CROSS_TABLE_INVARIANTS, *(r for r in bad if r not in CROSS_TABLE_INVARIANTS)):
        f = bad.get(name)
        record(
            "invariants",
            "marts.*",
            name,
            f is None,
            0 if f is None else f.rows.height,
            None if f is None else f.rows.head(10).to_dicts(),
        )
    if use_gx:
        from alvh.schemas.gx_suites import run_gx

        for res in run_gx(batch.frames, docs_dir):
            if res.success and res.table != CROSS_TABLE:
                record("gx", res.table, f"{res.table.split('.', 1)[1]}_suite", True, 0, res.statistics)
            for rule in res.rules:
                # the cross-table rules report each rule; a table's suite its failures
                if res.table == CROSS_TABLE or not rule.success:
                    record("gx", res.table, rule.rule, rule.success, rule.unexpected_count, rule.examples or None)
    return failures


def save_validation(con: duckdb.DuckDBPyConnection, batch: Batch) -> None:
    if batch.validation:
        insert_ignore(con, "meta.validation_run", ValidationRun, pl.DataFrame(batch.validation))


def publish(con: duckdb.DuckDBPyConnection, batch: Batch, unchanged: bool | None = None) -> bool:
    """Replace the batch's sessions in every signal mart in one transaction.

    Returns False (and writes nothing) when the published rows are already identical apart from
    the run id, so a re-run leaves tables and exports byte-identical. ``unchanged``: that answer,
    when the caller has already computed it.
    """
    lo, hi = batch.sessions[0], batch.sessions[-1]
    if unchanged if unchanged is not None else _unchanged(con, batch, lo, hi):
        return False
    with transaction(con):
        for table in SIGNAL_TABLES:
            con.execute(f"DELETE FROM {table} WHERE session_date BETWEEN ? AND ?", [lo, hi])
            write_frame(con, table, batch.frames[table])
        ensure_views(con)
    return True


def _unchanged(con: duckdb.DuckDBPyConnection, batch: Batch, lo: date, hi: date) -> bool:
    for table in SIGNAL_TABLES:
        frame = batch.frames[table]
        cols = [c for c in frame.columns if c != "run_id"]
        old = con.sql(
            f"SELECT {', '.join(cols)} FROM {table} WHERE session_date BETWEEN {sql_date(lo)} AND {sql_date(hi)}"
        ).pl()
        new = frame.select(cols)
        keys = [c for c in ROW_KEYS if c in cols]
        if old.height != new.height or not old.sort(keys).equals(new.sort(keys)):
            return False
    return True


def audit_and_publish(
    con: duckdb.DuckDBPyConnection, batch: Batch, run_id: str, docs_dir: Path | None = None, use_gx: bool = True
) -> bool:
    """Audit the batch, keep every result in ``meta.validation_run``, and publish only if all
    rules pass. Raises ``ValidationFailed`` naming the failing rules and rows otherwise. Data Docs
    (``docs_dir``) are regenerated only when the batch changes what is published."""
    # Data Docs are rebuilt only when the published rows would change: a re-run that publishes
    # nothing new is still validated and recorded, but leaves the docs as they are.
    unchanged = _unchanged(con, batch, batch.sessions[0], batch.sessions[-1])
    failures = audit(batch, run_id, None if unchanged else docs_dir, use_gx)
    save_validation(con, batch)
    if failures:
        raise ValidationFailed("nothing was published; failing rules: " + " | ".join(failures))
    return publish(con, batch, unchanged)


__all__ = [
    "SIGNAL_TABLES",
    "Batch",
    "audit",
    "audit_and_publish",
    "ensure_views",
    "publish",
    "vix_calls_between",
]
