"""Reads of what is published (the signal marts), for the read-only commands (`signals show`,
`page`, `orders export`): plain SQL on DuckDB, no validation or plotting library imported, so they
answer at once. Writing and auditing the marts is ``alvh.warehouse.signals``."""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb

from alvh.core.calendar import today_new_york
from alvh.warehouse.lineage import data_span

__all__ = [
    "is_published",
    "last_published_session",
    "next_event_on",
    "orders_on",
    "published_span",
    "session_plan",
    "staleness_on",
    "today_new_york",
    "unpublished_message",
]


def last_published_session(con: duckdb.DuckDBPyConnection) -> date | None:
    """The latest session in ``marts.hedge_signal_daily`` (None when nothing is published)."""
    last: date | None = con.execute("SELECT max(session_date) FROM marts.hedge_signal_daily").fetchall()[0][0]
    return last


def published_span(con: duckdb.DuckDBPyConnection) -> tuple[date | None, date | None]:
    """(first, last) session in ``marts.hedge_signal_daily``; (None, None) when nothing is published."""
    first, last = con.execute("SELECT min(session_date), max(session_date) FROM marts.hedge_signal_daily").fetchall()[0]
    return first, last


def is_published(con: duckdb.DuckDBPyConnection, d: date) -> bool:
    """True when session ``d`` has a row in ``marts.hedge_signal_daily``."""
    published = con.execute("SELECT count(*) FROM marts.hedge_signal_daily WHERE session_date = ?", [d]).fetchall()
    return bool(published[0][0])


def orders_on(con: duckdb.DuckDBPyConnection, d: date) -> list[dict[str, object]]:
    """Session ``d``'s tickets (``marts.hedge_order``, every column, by ticket) as dicts by column
    name; empty when it has none (or is not published)."""
    return _rows(con, "SELECT * FROM marts.hedge_order WHERE session_date = ? ORDER BY ticket", [d])


def staleness_on(con: duckdb.DuckDBPyConnection, d: date) -> tuple[bool, str | None] | None:
    """``(stale, stale_reason)`` of session ``d``'s published signal (``marts.hedge_signal_daily``);
    None when ``d`` is not published."""
    sql = "SELECT stale, stale_reason FROM marts.hedge_signal_daily WHERE session_date = ?"
    rows = con.execute(sql, [d]).fetchall()
    if not rows:
        return None
    stale, reason = rows[0]
    return stale, reason


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    """The rows of ``sql`` as dicts by column name, fetched as plain Python values (no Arrow, so
    pyarrow is not loaded for a handful of rows)."""
    result = con.execute(sql, params)
    names = [column[0] for column in result.description or ()]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def session_plan(con: duckdb.DuckDBPyConnection, d: date) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """Session ``d``'s published signal row and its layer rows (by layer); None if not published."""
    signal = _rows(con, "SELECT * FROM marts.hedge_signal_daily WHERE session_date = ?", [d])
    if not signal:
        return None
    layers = _rows(con, "SELECT * FROM marts.layer_adjustment WHERE session_date = ? ORDER BY layer", [d])
    return signal[0], layers


def next_event_on(con: duckdb.DuckDBPyConnection, d: date) -> tuple[str | None, int | None]:
    """Session ``d``'s next scheduled FOMC/CPI/PPI release as published in words
    (``marts.hedge_signal_daily.next_event``) and how many sessions away it is
    (``marts.indicators_daily.next_event_sessions``); (None, None) where there is none."""
    rows = con.execute(
        "SELECT s.next_event, m.next_event_sessions FROM marts.hedge_signal_daily s "
        "LEFT JOIN marts.indicators_daily m USING (session_date) WHERE s.session_date = ?",
        [d],
    ).fetchall()
    if not rows:
        return None, None
    sentence, sessions = rows[0]
    return sentence, None if sessions is None else int(sessions)


def unpublished_message(con: duckdb.DuckDBPyConnection, d: date, today: date) -> str:
    """Why session ``d`` has no published signal and what would publish it: which sessions are
    published, and `alvh backfill` only where the warehouse's data can give a signal for ``d``."""
    from alvh.core.calendar import is_session  # the XNYS calendar: only on this path

    first, last, n = con.execute(
        "SELECT min(session_date), max(session_date), count(*) FROM marts.hedge_signal_daily"
    ).fetchall()[0]
    published = f"published: {n} session(s), {first} → {last}" if n else "nothing is published yet"
    span = data_span(con)
    if d > today:
        hint = f"{d} is in the future (today in New York is {today})"
    elif not is_session(d):
        hint = f"{d} is not an NYSE session"
    elif span.first is None or span.last is None or not span.first <= d <= span.last:
        have = f"{span.first} → {span.last}" if span.last else "none yet"
        hint = f"the warehouse has no complete data for {d} (it has {have}); `alvh ingest` loads more"
    else:
        hint = f"`alvh backfill --start {d}` computes it from the warehouse's data"
    return f"no signal published for {d} ({published}); {hint}"
