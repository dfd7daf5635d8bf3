"""`alvh orders export`: a session's tickets as a broker basket (``ibkr-basket``: TWS BasketTrader
import) or a plain CSV with OCC symbols, limit = model price ± ``order_limit_offset``."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

from alvh.core.calendar import today_new_york
from alvh.core.errors import AlvhError
from alvh.sources.broker import basket_rows, write_csv_text
from alvh.warehouse.daily_page import write_text_atomic
from alvh.warehouse.signals import next_event_on, unpublished_message

FORMATS = ("ibkr-basket", "csv")


def session_orders(con: duckdb.DuckDBPyConnection, d: date) -> list[dict[str, object]]:
    """The published tickets of session ``d``; raises naming the published range when ``d`` is not published."""
    published = con.execute("SELECT count(*) FROM marts.hedge_signal_daily WHERE session_date = ?", [d]).fetchall()
    if not published[0][0]:
        raise AlvhError(unpublished_message(con, d, today_new_york()))
    rows: list[dict[str, object]] = (
        con.sql("SELECT * FROM marts.hedge_order WHERE session_date = $d ORDER BY ticket", params={"d": d})
        .pl()
        .to_dicts()
    )
    return rows


def export_orders(con: duckdb.DuckDBPyConnection, d: date, fmt: str, out: Path, offset: float) -> int:
    """Write session ``d``'s tickets (settlements left out) to ``out`` in ``fmt``; returns how many."""
    if fmt not in FORMATS:
        raise AlvhError(f"unknown format {fmt!r}", expected=" or ".join(FORMATS))
    sentence, sessions = next_event_on(con, d)
    header, rows = basket_rows(session_orders(con, d), offset, fmt, sentence, sessions == 1)
    write_text_atomic(out, write_csv_text(header, rows))
    return len(rows)


def default_out(export_dir: Path, d: date, fmt: str) -> Path:
    return export_dir / "orders" / f"{d.isoformat()}-{fmt}.csv"
