"""The daily page: read a published session from the warehouse, render it (``alvh.report.page``)
and write ``<export_dir>/pages/<session>.html``, ``index.html`` and the plotly.js file the pages
share (``PLOTLY_JS``, once per folder). ``alvh run`` writes the page of the session it signals;
``alvh page [--date D]`` rebuilds one from the warehouse; ``alvh backfill`` rewrites the pages of
the sessions it republishes (``rewrite_pages``)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path

import duckdb

from alvh.core.errors import AlvhError
from alvh.core.settings import Settings
from alvh.pipeline.published import require_warehouse, session_or_latest
from alvh.report.page import PLOTLY_JS, PageData, plotly_js, render_index, render_page
from alvh.warehouse.connection import connect
from alvh.warehouse.daily_page import (
    INDEX,
    PAGES_DIR,
    page_inputs,
    page_path,
    pages_present,
    published_summaries,
    write_if_changed,
    write_text_atomic,
)
from alvh.warehouse.export import check_export_dir
from alvh.warehouse.published import today_new_york, unpublished_message


def page_data(con: duckdb.DuckDBPyConnection, d: date) -> PageData:
    """The page's data for published session ``d``; raises ``AlvhError`` naming the published
    range when ``d`` is not published."""
    rows = page_inputs(con, d)
    if rows["signal"] is None:
        raise AlvhError(unpublished_message(con, d, today_new_york()))
    return PageData(session=d, **rows)


def write_page(con: duckdb.DuckDBPyConnection, export_dir: Path, d: date, keep: int = 0) -> Path:
    """Render and write session ``d``'s page, then the index of every page present; returns the
    page. The same published rows give the same bytes (a re-run changes no file). ``keep`` > 0
    removes the pages of all but the newest ``keep`` sessions, never the page just written (each
    can be rebuilt from the warehouse)."""
    path = _write_one(con, export_dir, d)
    if keep:
        for day, _ in pages_to_prune(pages_present(export_dir), keep, d):
            page_path(export_dir, day).unlink(missing_ok=True)
    write_index(con, export_dir)
    return path


def write_session_page(settings: Settings, day: date | None) -> tuple[date, Path]:
    """`alvh page`: rebuild session ``day``'s page (default: the latest published) and the index
    from the warehouse, read-only (a job writing it is waited for ``lock_timeout_s``, then named);
    returns the session and the page.

    Raises
    ------
    AlvhError
        No warehouse, nothing published, ``day`` not published, a locked warehouse or an export
        folder that cannot be written — each naming what to do."""
    require_warehouse(settings.warehouse)
    with connect(settings.warehouse, read_only=True, wait_s=settings.lock_timeout_s) as con:
        d = session_or_latest(con, day)
        check_export_dir(settings.export_dir)
        path = write_page(con, settings.export_dir.resolve(), d, settings.page_keep_sessions)
    return d, path


def rewrite_pages(con: duckdb.DuckDBPyConnection, export_dir: Path, days: Iterable[date]) -> list[Path]:
    """Rewrite the page of each session of ``days`` that has one (after ``alvh backfill``
    republished them: a page must show the published plan), then the index; sessions without a
    page get none. Returns the pages rewritten."""
    present = {day for day, _ in pages_present(export_dir)}
    written = [_write_one(con, export_dir, d) for d in days if d in present]
    if written:
        write_index(con, export_dir)
    return written


def write_index(con: duckdb.DuckDBPyConnection, export_dir: Path) -> Path:
    """``index.html``: every page present, newest first, with its session's published plan."""
    summaries = published_summaries(con)
    entries = [(day, name, summaries.get(day, "")) for day, name in pages_present(export_dir)]
    path = export_dir / PAGES_DIR / INDEX
    write_text_atomic(path, render_index(entries))
    return path


def _write_one(con: duckdb.DuckDBPyConnection, export_dir: Path, d: date) -> Path:
    """Session ``d``'s page; the shared plotly.js is written first (if missing or different), so a
    page is never in the folder without the script it loads."""
    text = render_page(page_data(con, d))
    write_if_changed(export_dir / PAGES_DIR / PLOTLY_JS, plotly_js())
    path = page_path(export_dir, d)
    write_text_atomic(path, text)
    return path


def pages_to_prune(present: list[tuple[date, str]], keep: int, written: date) -> list[tuple[date, str]]:
    """The pages beyond the newest ``keep`` sessions (``present`` sorted by session), except
    ``written``."""
    return [(day, name) for day, name in present[: max(len(present) - keep, 0)] if day != written]
