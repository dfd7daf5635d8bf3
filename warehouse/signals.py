"""Signals: replay the engine over sessions from the warehouse, audit the rows (pandera, GX,
cross-table invariants), and publish them in one transaction (write–audit–publish)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandera.polars as pa
import polars as pl

from schemas.errors import ValidationFailed
from schemas.meta import ValidationRun
from schemas.registry import TABLES
from schemas.signals import check_cross_table
from transforms.forwards import ForwardCurves
from transforms.ic_book import IcBook, ic_cycle
from transforms.signal import METHOD_VERSION, CurveQuotes, HedgeParams, Replay, book_from_positions, replay
from transforms.signal.stress import shock_sessions
from transforms.term_structure import expected_contracts
from warehouse.connection import transaction
from warehouse.ddl import polars_schema
from warehouse.load import utcnow
from warehouse.positions import difference_note, pending_import
from warehouse.upsert import insert_ignore

SIGNAL_TABLES = (
    "marts.hedge_signal_daily",
    "marts.layer_adjustment",
    "marts.hedge_order",
    "marts.hedge_position",
    "marts.stress_scenario",
)
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


def ensure_views(con: duckdb.DuckDBPyConnection) -> None:
    for name, sql in VIEWS.items():
        con.execute(f"CREATE OR REPLACE VIEW {name} AS {sql}")


def placeholder_row(d: date, roll_tdte: int) -> dict[str, Any]:
    """A mart row for a session the data does not reach yet: every input missing (→ stale)."""
    exp = expected_contracts(pl.Series([d], dtype=pl.Date), roll_tdte).to_dicts()[0]
    return exp | {
        "vix_close": None,
        "vvix_close": None,
        "spx_close": None,
        "macd_hist": None,
        "macd_cross": None,
        "ad_rsi": None,
        "breadth_missing": True,
        "regime": None,
        "tbill_3m_pct": None,
        "m1_settle": None,
        "m2_settle": None,
        "m3_settle": None,
        "beta_1": None,
        "beta_2": None,
        "beta_3": None,
    }


def previous_state(con: duckdb.DuckDBPyConnection, first: date) -> tuple[pl.DataFrame, float, date | None]:
    """Positions held after the last published session before ``first``, the hedge spend of its IC
    cycle, and that session's date (None when nothing was published before)."""
    last = con.execute(
        "SELECT max(session_date) FROM marts.hedge_signal_daily WHERE session_date < ?", [first]
    ).fetchall()[0][0]
    if last is None:
        return pl.DataFrame(schema=polars_schema(TABLES["marts.hedge_position"])), 0.0, None
    pos = con.sql(f"SELECT * FROM marts.hedge_position WHERE session_date = {sql_date(last)}").pl()
    spend_row = con.execute(
        "SELECT hedge_spend_usd, ic_expiry FROM marts.hedge_signal_daily WHERE session_date = ?", [last]
    ).fetchall()[0]
    same_cycle = spend_row[1] == ic_cycle(first)[1]
    return pos, float(spend_row[0] or 0.0) if same_cycle else 0.0, last


def compute_batch(
    con: duckdb.DuckDBPyConnection,
    sessions: Sequence[date],
    params: HedgeParams,
    run_id: str,
    settings_hash: str,
    user_ic: IcBook | None = None,
    start_positions: pl.DataFrame | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Batch:
    """Replay the engine over ``sessions`` from the state published before them."""
    first, last = sessions[0], sessions[-1]
    prev_pos, spend, last_published = previous_state(con, first)
    note = None
    if start_positions is None:
        start_positions = pending_import(con, first, last_published)
    if start_positions is not None:  # a user's imported holdings replace the paper book
        note = difference_note(start_positions, prev_pos)
        prev_pos = start_positions.select(
            pl.lit(last_published or first).alias("session_date"), "contract_expiry", "strike", "qty", "avg_cost"
        )
    lo = first - timedelta(days=70)
    mart = con.sql(
        f"SELECT * FROM marts.indicators_daily WHERE session_date BETWEEN {sql_date(lo)} AND {sql_date(last)}"
    ).pl()
    rows = mart.to_dicts()
    have = {r["session_date"] for r in rows}
    rows += [placeholder_row(d, params.roll_tdte) for d in sessions if d not in have]
    hist = (
        con.sql(
            "SELECT * FROM marts.indicators_daily WHERE session_date IN ("
            + ", ".join(sql_date(d) for d in shock_sessions())
            + ")"
        )
        .pl()
        .to_dicts()
    )
    rows += [r for r in hist if r["session_date"] not in have]
    book = book_from_positions(prev_pos.to_dicts())
    quotes = load_quotes(con, min([lo, *(e for e, _ in book)]), last)
    rp = replay(rows, list(sessions), book, quotes, params, user_ic, spend, progress)
    if note is not None and rp.signals:
        rp.signals[0]["positions_note"] = note
        rp.signals[0]["actions_summary"] = f"{note}. {rp.signals[0]['actions_summary']}"
    bounds = (params.ratio_min, params.ratio_max)
    return Batch(list(sessions), frames_from_replay(rp, run_id, settings_hash), prev_pos, ratio_bounds=bounds)


def load_quotes(con: duckdb.DuckDBPyConnection, lo: date, hi: date) -> CurveQuotes:
    """Every VX settle (weeklies too: they bracket a missing monthly, §3) and the VIX opens (the
    final-settlement proxy) between ``lo`` and ``hi``."""
    vx = con.sql(
        "SELECT trade_date, contract_expiry, settle FROM staging.stg_vx_futures "
        f"WHERE settle IS NOT NULL AND trade_date BETWEEN {sql_date(lo)} AND {sql_date(hi)}"
    ).pl()
    opens = con.execute(
        "SELECT session_date, open FROM staging.stg_index_daily "
        "WHERE symbol = 'VIX' AND open IS NOT NULL AND session_date BETWEEN ? AND ?",
        [lo, hi],
    ).fetchall()
    return CurveQuotes(ForwardCurves.from_frame(vx), dict(opens))


def frames_from_replay(rp: Replay, run_id: str, settings_hash: str) -> dict[str, pl.DataFrame]:
    """Typed frames in table column order."""

    def frame(table: str, rows: list[dict[str, Any]]) -> pl.DataFrame:
        schema = polars_schema(TABLES[table])
        if not rows:
            return pl.DataFrame(schema=schema)
        stamped = [r | {"method_version": METHOD_VERSION} for r in rows]  # every published row (§8)
        return pl.DataFrame(stamped, infer_schema_length=None).select(
            [pl.col(c).cast(t) if c in stamped[0] else pl.lit(None, dtype=t).alias(c) for c, t in schema.items()]
        )

    signals = [s | {"run_id": run_id, "settings_hash": settings_hash} for s in rp.signals]
    orders = []
    for d in sorted({o["session_date"] for o in rp.orders}):
        for n, o in enumerate((o for o in rp.orders if o["session_date"] == d), start=1):
            orders.append(o | {"ticket": n})
    return {
        "marts.hedge_signal_daily": frame("marts.hedge_signal_daily", signals),
        "marts.layer_adjustment": frame("marts.layer_adjustment", rp.layers),
        "marts.hedge_order": frame("marts.hedge_order", orders),
        "marts.hedge_position": frame("marts.hedge_position", rp.positions),
        "marts.stress_scenario": frame("marts.stress_scenario", rp.stress),
    }


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
    names = [
        "check_ratio_target_in_bounds",
        "check_position_carry",
        "check_layer_trades_match_orders",
        "check_stale_days_do_not_trade",
        "check_three_layers_per_day",
    ]
    bad = {f.rule: f for f in inv}
    for name in names:
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
        from schemas.gx_suites import run_gx

        short = {t.split(".", 1)[1]: f for t, f in batch.frames.items()}
        for res in run_gx(short, docs_dir, batch.ratio_bounds):
            if res.success:
                record("gx", f"marts.{res.table}", f"{res.table}_suite", True, 0, res.statistics)
            for fail in res.failures:
                record("gx", f"marts.{res.table}", fail["rule"], False, int(fail["unexpected_count"] or 0), fail)
    return failures


def save_validation(con: duckdb.DuckDBPyConnection, batch: Batch) -> None:
    if batch.validation:
        insert_ignore(con, "meta.validation_run", ValidationRun, pl.DataFrame(batch.validation))


def publish(con: duckdb.DuckDBPyConnection, batch: Batch) -> bool:
    """Replace the batch's sessions in every signal mart in one transaction.

    Returns False (and writes nothing) when the published rows are already identical apart from
    the run id, so a re-run leaves tables and exports byte-identical.
    """
    lo, hi = batch.sessions[0], batch.sessions[-1]
    if _unchanged(con, batch, lo, hi):
        return False
    with transaction(con):
        for table in SIGNAL_TABLES:
            frame = batch.frames[table]
            cols = list(frame.columns)
            con.execute(f"DELETE FROM {table} WHERE session_date BETWEEN ? AND ?", [lo, hi])
            if frame.height:
                con.register("_pub", frame)
                try:
                    con.execute(f"INSERT INTO {table} ({', '.join(cols)}) SELECT {', '.join(cols)} FROM _pub")
                finally:
                    con.unregister("_pub")
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
        keys = [c for c in ("session_date", "layer", "ticket", "contract_expiry", "strike", "scenario") if c in cols]
        if old.height != new.height or not old.sort(keys).equals(new.sort(keys)):
            return False
    return True


def run_batch(
    con: duckdb.DuckDBPyConnection,
    sessions: Sequence[date],
    params: HedgeParams,
    run_id: str,
    settings_hash: str,
    docs_dir: Path | None = None,
    use_gx: bool = True,
    user_ic: IcBook | None = None,
    start_positions: pl.DataFrame | None = None,
    progress: Callable[[int, int], None] | None = None,
    revision: tuple[date, date, str | None] | None = None,
) -> tuple[Batch, bool]:
    """Compute, audit, and (only if every check passes) publish; validation results are kept
    either way. ``revision`` = (first revised date, last published session, note): the sessions
    between them are republished with the note in their reasons. Raises ``ValidationFailed``
    naming the failing rules and rows."""
    batch = compute_batch(con, sessions, params, run_id, settings_hash, user_ic, start_positions, progress)
    if revision is not None and revision[2]:
        annotate_revision(batch, revision[0], revision[1], revision[2])
    return batch, audit_and_publish(con, batch, run_id, docs_dir, use_gx)


def annotate_revision(batch: Batch, first: date, last: date, note: str) -> None:
    """Name the upstream revision in the reasons of the republished sessions it affected."""
    within = pl.col("session_date").is_between(first, last)
    f = batch.frames
    f["marts.hedge_signal_daily"] = f["marts.hedge_signal_daily"].with_columns(
        pl.when(within)
        .then(pl.lit(f"recomputed after {note}. ") + pl.col("actions_summary"))
        .otherwise(pl.col("actions_summary"))
        .alias("actions_summary")
    )
    f["marts.layer_adjustment"] = f["marts.layer_adjustment"].with_columns(
        pl.when(within)
        .then(pl.col("reason") + pl.lit(f" (recomputed after {note})"))
        .otherwise(pl.col("reason"))
        .alias("reason")
    )


def audit_and_publish(
    con: duckdb.DuckDBPyConnection, batch: Batch, run_id: str, docs_dir: Path | None = None, use_gx: bool = True
) -> bool:
    """Audit the batch, keep every result in ``meta.validation_run``, and publish only if all
    rules pass. Raises ``ValidationFailed`` naming the failing rules and rows otherwise."""
    failures = audit(batch, run_id, docs_dir, use_gx)
    save_validation(con, batch)
    if failures:
        raise ValidationFailed("nothing was published; failing rules: " + " | ".join(failures))
    return publish(con, batch)


__all__ = [
    "SIGNAL_TABLES",
    "Batch",
    "audit",
    "audit_and_publish",
    "compute_batch",
    "ensure_views",
    "publish",
    "run_batch",
]
