"""`alvh orders export`: a session's tickets as a broker basket (``ibkr-basket``: TWS BasketTrader
import) or a plain CSV with OCC symbols, limit = model price ± ``order_limit_offset``.

A ticket on a VIX contract that has expired (or expires today: VIX options stop trading the
session before their expiry) by the day the file is written is refused, unless forced; a stale
session (no trades decided) and a session other than the latest published are written with a
warning (``order_warnings``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from alvh.core.calendar import next_session
from alvh.core.errors import AlvhError
from alvh.core.settings import Settings
from alvh.pipeline.published import require_warehouse, session_or_latest
from alvh.sources.broker import basket_rows, write_csv_text
from alvh.warehouse.connection import connect
from alvh.warehouse.daily_page import write_text_atomic
from alvh.warehouse.export import check_export_dir
from alvh.warehouse.published import (
    is_published,
    last_published_session,
    next_event_on,
    orders_on,
    staleness_on,
    today_new_york,
    unpublished_message,
)

FORMATS = ("ibkr-basket", "csv")


def session_orders(con: duckdb.DuckDBPyConnection, d: date) -> list[dict[str, object]]:
    """The published tickets of session ``d``; raises naming the published range when ``d`` is not published."""
    if not is_published(con, d):
        raise AlvhError(unpublished_message(con, d, today_new_york()))
    return orders_on(con, d)


def order_warnings(con: duckdb.DuckDBPyConnection, d: date) -> list[str]:
    """What the trader must know before sending session ``d``'s file: it is stale (no trades were
    decided, and why), or it is not the latest published session."""
    out = []
    staleness = staleness_on(con, d)
    if staleness is not None and staleness[0]:
        out.append(f"{d} is STALE — no trades were decided ({staleness[1]}); the file holds no order to send")
    latest = last_published_session(con)
    if latest is not None and latest != d:
        out.append(
            f"{d} is not the latest published session ({latest}): these are that older session's orders, "
            f"not tonight's (`alvh orders export` without --date writes {latest}'s)"
        )
    return out


def expired_tickets(orders: list[dict[str, object]], today: date) -> list[dict[str, object]]:
    """The tickets (settlements left out) on a contract expiring on or before ``today``."""
    return [
        o
        for o in orders
        if o["action"] != "SETTLE" and isinstance(o["contract_expiry"], date) and o["contract_expiry"] <= today
    ]


def export_orders(
    con: duckdb.DuckDBPyConnection,
    d: date,
    fmt: str,
    out: Path,
    offset: float,
    *,
    refuse_expired_on: date | None = None,
) -> int:
    """Write session ``d``'s tickets (settlements left out) to ``out`` in ``fmt``; returns how many.

    ``refuse_expired_on``: the day the orders would be sent (the CLI's today, New York); a ticket
    on a contract expiring on or before it refuses the whole file, naming the first one.

    Raises
    ------
    AlvhError
        ``d`` is not published, a ticket's contract has expired, or ``out`` cannot be written
        (``ExportError``, naming the path)."""
    if fmt not in FORMATS:
        raise AlvhError(f"unknown format {fmt!r}", expected=" or ".join(FORMATS))
    orders = session_orders(con, d)
    if refuse_expired_on is not None:
        gone = expired_tickets(orders, refuse_expired_on)
        if gone:
            first = gone[0]
            raise AlvhError(
                f"{len(gone)} of {d}'s ticket(s) are on VIX contracts expired by {refuse_expired_on} (first: ticket "
                f"#{first['ticket']}, {first['side']} {first['qty']} × {float(str(first['strike'])):g}C expiring "
                f"{first['contract_expiry']}): a broker rejects them; nothing was written — "
                "add --force to write them anyway"
            )
    sentence, sessions = next_event_on(con, d)
    header, rows = basket_rows(orders, offset, fmt, sentence, sessions == 1, next_session(d))
    write_text_atomic(out, write_csv_text(header, rows), hint="--out")
    return len(rows)


def default_out(export_dir: Path, d: date, fmt: str) -> Path:
    return export_dir / "orders" / f"{d.isoformat()}-{fmt}.csv"


@dataclass(frozen=True)
class OrdersFile:
    """What `alvh orders export` wrote: ``tickets`` of session ``day`` to ``path``, the warnings
    for the trader (``order_warnings``), the next scheduled event in words, and the session the
    limits are meant for (the next XNYS session)."""

    day: date
    path: Path
    tickets: int
    warnings: list[str]
    next_event: str | None
    limits_session: date


def write_session_orders(settings: Settings, day: date | None, fmt: str, out: Path | None, force: bool) -> OrdersFile:
    """Write session ``day``'s tickets (default: the latest published) in ``fmt`` to ``out`` (a
    file, or a folder for the default name; default: ``<export_dir>/orders/``), reading the
    warehouse read-only (a job writing it is waited for ``lock_timeout_s``). Expired contracts
    refuse the file unless ``force``.

    Raises
    ------
    AlvhError
        No warehouse, nothing published, ``day`` not published, an expired contract, a locked
        warehouse or an export folder / file that cannot be written — each naming what to do."""
    require_warehouse(settings.warehouse)
    with connect(settings.warehouse, read_only=True, wait_s=settings.lock_timeout_s) as con:
        d = session_or_latest(con, day)
        if out is None:
            check_export_dir(settings.export_dir)
        path = out or default_out(settings.export_dir, d, fmt)
        if path.is_dir():  # a folder given: the default file name inside it
            path = path / default_out(settings.export_dir, d, fmt).name
        n = export_orders(
            con,
            d,
            fmt,
            path,
            settings.order_limit_offset,
            refuse_expired_on=None if force else today_new_york(),
        )
        warnings = order_warnings(con, d)
        event, _ = next_event_on(con, d)
    return OrdersFile(d, path, n, warnings, event, next_session(d))
