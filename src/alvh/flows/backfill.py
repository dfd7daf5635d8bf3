"""`alvh backfill`: signals for a range of sessions from data already in the warehouse (no
ingest), validated and published in one transaction, then exported, and the daily page of each
republished session that has one rewritten (a page shows the published plan) — a Prefect flow like
the others.

A range in the middle of the published history is recomputed forward to the last published
session, so the position carry holds across its end (a changed setting there changes every
later book)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from prefect import flow, get_run_logger

from alvh.core.calendar import sessions_between, today_new_york
from alvh.core.errors import ConfigError
from alvh.core.settings import Settings, load_settings
from alvh.flows.daily import check_as_of
from alvh.pipeline.page import rewrite_pages
from alvh.pipeline.params import hedge_params, load_user_ic, method_hash
from alvh.pipeline.progress import report
from alvh.pipeline.signals import run_batch
from alvh.warehouse.connection import open_warehouse, run_lock
from alvh.warehouse.export import check_export_dir, export_marts
from alvh.warehouse.lineage import DataSpan, data_span
from alvh.warehouse.published import last_published_session


@dataclass
class BackfillSummary:
    sessions: list[date]
    published: bool  # False: the rows were already identical
    stale: int
    orders: int
    extended_to: date | None  # the range was carried forward to this published session
    pages: list[Path] = field(default_factory=list)  # the daily pages rewritten (sessions that had one)


def backfill_range(
    first: date, end: date | None, span: DataSpan, last_published: date | None, today: date
) -> tuple[list[date], date | None]:
    """The sessions to signal: ``first`` → ``end`` (default: the last session every required input
    covers), extended to the last published session when the range ends before it (the carry must
    hold). Returns the sessions and the session it was extended to (None if not).

    Raises ``ConfigError`` for a range no data exists for — in the future, before the VIX history,
    reversed, or outside the warehouse's complete data — or with no NYSE session: like
    ``alvh run --as-of``, never stale rows for sessions that cannot have data."""
    check_as_of(first, today, "--start")
    if end is not None:
        check_as_of(end, today, "--end")
        if end < first:
            raise ConfigError(f"--end {end} is before --start {first}")
    if span.first is None or span.last is None:
        raise ConfigError(f"the warehouse has no {', '.join(span.missing)} history yet: run `alvh ingest` first")
    if first < span.first:
        raise ConfigError(f"--start {first} is before the data starts ({span.first}); give a date from {span.first} on")
    if first > span.last or (end is not None and end > span.last):
        option, day = ("--start", first) if first > span.last else ("--end", end)
        raise ConfigError(
            f"{option} {day} is after the data ends ({span.last}: {span.ends}); `alvh ingest` loads newer data, "
            f"or give dates up to {span.last} (without --end, the range ends there)"
        )
    last = end or span.last
    extended = None
    if last_published is not None and last < last_published and first <= last_published:
        last, extended = last_published, last_published
    sessions = sessions_between(first, last)
    if not sessions:
        raise ConfigError(f"no NYSE sessions between {first} and {last}")
    return sessions, extended


@flow(name="alvh-backfill")
def backfill_flow(start: date, end: date | None = None, settings: Settings | None = None) -> BackfillSummary:
    """Signal, audit, publish and export every session from ``start`` to ``end``."""
    log = get_run_logger()
    settings = settings or load_settings()
    check_export_dir(settings.export_dir)  # before the work, not after it
    with run_lock(settings.warehouse, settings.lock_timeout_s), open_warehouse(settings.warehouse) as con:
        sessions, extended = backfill_range(start, end, data_span(con), last_published_session(con), today_new_york())
        if extended is not None:
            log.info("range carried forward to the last published session %s so positions carry", extended)
        batch, published = run_batch(
            con,
            sessions,
            hedge_params(settings),
            str(uuid.uuid4()),
            method_hash(settings),
            docs_dir=settings.export_dir / "data_docs",
            use_gx=settings.gx_validation,
            user_ic=load_user_ic(settings, sessions[-1]),
            progress=lambda n, total: report("signals", n, total),
        )
        export_marts(con, settings.export_dir)
        # only sessions that already have a page get one (a backfill of years writes no pages);
        # unchanged rows give the same pages, so there is nothing to rewrite then
        pages = rewrite_pages(con, settings.export_dir.resolve(), sessions) if published else []
    sig = batch.frames["marts.hedge_signal_daily"]
    summary = BackfillSummary(
        sessions, published, int(sig["stale"].sum()), batch.frames["marts.hedge_order"].height, extended, pages
    )
    log.info(
        "backfill %s → %s: %d sessions, %d stale, %d daily page(s) rewritten",
        sessions[0],
        sessions[-1],
        len(sessions),
        summary.stale,
        len(pages),
    )
    return summary
