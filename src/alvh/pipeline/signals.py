"""The signal engine over the warehouse: read the published state and the inputs, replay the
engine (``alvh.transforms.signal``), and hand the rows to storage to audit and publish."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, timedelta
from pathlib import Path

import duckdb
import polars as pl

from alvh.pipeline.positions import imported_ic
from alvh.schemas.columns import polars_schema
from alvh.schemas.registry import TABLES
from alvh.sources.broker import format_occ
from alvh.transforms.forwards import ForwardCurves
from alvh.transforms.holdings import difference_note
from alvh.transforms.ic_book import IcBook, ic_cycle
from alvh.transforms.indicators_daily import placeholder_row
from alvh.transforms.signal import CurveQuotes, HedgeParams, book_from_positions, replay
from alvh.transforms.signal.quote_check import quote_check_rows
from alvh.transforms.signal.stress import shock_sessions
from alvh.transforms.signal_frames import frames_from_replay, risk_frames, typed_frame
from alvh.transforms.whole_book import replay_books
from alvh.warehouse.positions import pending_import
from alvh.warehouse.signals import (
    Batch,
    audit_and_publish,
    last_published_before,
    mart_rows_between,
    mart_rows_on,
    positions_on,
    signal_spend_on,
    vix_calls_between,
    vix_opens_between,
    vx_settles_between,
)


def previous_state(con: duckdb.DuckDBPyConnection, first: date) -> tuple[pl.DataFrame, float, date | None]:
    """Positions held after the last published session before ``first``, the hedge spend of its IC
    cycle, and that session's date (None when nothing was published before)."""
    last = last_published_before(con, first)
    if last is None:
        return pl.DataFrame(schema=polars_schema(TABLES["marts.hedge_position"])), 0.0, None
    spend, ic_expiry = signal_spend_on(con, last)
    same_cycle = ic_expiry == ic_cycle(first)[1]
    return positions_on(con, last), spend if same_cycle else 0.0, last


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
    if user_ic is None:  # SPX legs imported from a broker file replace the model IC
        user_ic = imported_ic(con, first)
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
    rows = mart_rows_between(con, lo, last)
    have = {r["session_date"] for r in rows}
    rows += [placeholder_row(d, params.roll_tdte) for d in sessions if d not in have]
    rows += [r for r in mart_rows_on(con, shock_sessions()) if r["session_date"] not in have]
    book = book_from_positions(prev_pos.to_dicts())
    quotes = load_quotes(con, min([lo, *(e for e, _ in book)]), last, first)
    rp = replay(rows, list(sessions), book, quotes, params, user_ic, spend, progress)
    if note is not None and rp.signals:
        rp.signals[0]["positions_note"] = note
        rp.signals[0]["actions_summary"] = f"{note}. {rp.signals[0]['actions_summary']}"
    bounds = (params.ratio_min, params.ratio_max)
    version = params.method_version
    frames = frames_from_replay(rp, run_id, settings_hash, version, vix_call_occ)
    frames |= risk_frames(replay_books(rp, params), version)
    checks = quote_check_rows(rp.days, rp.layers, rp.positions, params.surface)
    frames["marts.quote_check"] = typed_frame("marts.quote_check", checks, version)
    return Batch(list(sessions), frames, prev_pos, ratio_bounds=bounds)


def vix_call_occ(expiry: date, strike: float) -> str:
    """The OCC symbol of the VIX call of ``expiry`` and ``strike`` (a ticket's ``occ_symbol``)."""
    return format_occ("VIX", expiry, True, strike)


def load_quotes(con: duckdb.DuckDBPyConnection, lo: date, hi: date, first: date | None = None) -> CurveQuotes:
    """Every VX settle (weeklies too: they bracket a missing monthly, §3) and the VIX opens (the
    final-settlement proxy) between ``lo`` and ``hi``, and the imported VIX-call quotes of the
    sessions from ``first`` (default ``lo``) to ``hi`` (§4)."""
    curves = ForwardCurves.from_frame(vx_settles_between(con, lo, hi))
    return CurveQuotes(curves, vix_opens_between(con, lo, hi), vix_calls_between(con, first or lo, hi))


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
