"""The engine over a range of sessions (the daily run, the backfill and the backtest alike), and
the stress scenarios as their own pass over the replayed books (ALVH_METHOD.md §7)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from alvh.transforms.ic_book import IcBook, ic_cycle, open_model_ic
from alvh.transforms.signal.book import Book, Lot, apply_orders
from alvh.transforms.signal.execution import settle_expired
from alvh.transforms.signal.inputs import DayInputs, Quotes, day_inputs, stale_reason
from alvh.transforms.signal.params import HedgeParams, rate_of
from alvh.transforms.signal.publish import DayResult, stale_day
from alvh.transforms.signal.step import step
from alvh.transforms.signal.stress import grid_shocks, historical_shocks, stress_rows


def model_ic_for(
    d: date,
    rows_by_date: dict[date, dict[str, Any]],
    p: HedgeParams,
    cache: dict[date, IcBook | None] | None = None,
) -> IcBook | None:
    """The model IC in force on ``d``, opened with the close data of its opening session."""
    opened, expiry = ic_cycle(d, p.ic.phase_sessions)
    if cache is not None:
        if opened not in cache:
            cache[opened] = model_ic_for(d, rows_by_date, p)
        return cache[opened]
    row = rows_by_date.get(opened)
    if row is None or row.get("spx_close") is None or row.get("vix_close") is None:
        return None
    return open_model_ic(
        opened, expiry, float(row["spx_close"]), float(row["vix_close"]), rate_of(row, p.default_rate), p.ic
    )


@dataclass
class Replay:
    """Every day's rows of a replay, ready to validate and publish."""

    signals: list[dict[str, Any]] = field(default_factory=list)
    layers: list[dict[str, Any]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)
    positions: list[dict[str, Any]] = field(default_factory=list)
    stress: list[dict[str, Any]] = field(default_factory=list)
    books: dict[date, Book] = field(default_factory=dict)
    ics: dict[date, IcBook] = field(default_factory=dict)
    days: dict[date, DayInputs] = field(default_factory=dict)


def _no_ic_day(row: dict[str, Any], book: Book, quotes: Quotes, p: HedgeParams) -> DayResult:
    """A session whose IC cannot be opened (no SPX/VIX close on its opening session): stale."""
    d = row["session_date"]
    day = day_inputs(row, quotes, p)
    settles, _ = settle_expired(book, d, quotes)
    opened, expiry = ic_cycle(d, p.ic.phase_sessions)
    missing = IcBook(opened=d, expiry=expiry, legs=())
    cause = "; ".join(c for c in (stale_reason(day), f"the IC opening session {opened} has no SPX/VIX close") if c)
    res = stale_day(row, day, apply_orders(book, settles), missing, settles, cause, p)
    res.signal["ratio_target"] = None
    res.signal["ratio_breadth"] = None
    res.signal["ic_credit_usd"] = None
    res.ic = None
    return res


def replay(
    rows: Sequence[dict[str, Any]],
    sessions: Sequence[date],
    start_book: Book,
    quotes: Quotes,
    p: HedgeParams,
    user_ic: IcBook | None = None,
    start_spend: float = 0.0,
    progress: Callable[[int, int], None] | None = None,
    with_stress: bool = True,
) -> Replay:
    """Run the day step over ``sessions`` (ascending), starting from ``start_book``.

    ``rows`` are ``marts.indicators_daily`` rows covering the sessions and the IC opening
    sessions before them. With ``user_ic`` the user's book is hedged instead of the model IC.
    """
    by_date = {r["session_date"]: r for r in rows}
    out = Replay()
    book = {k: Lot(v.qty, v.cost) for k, v in start_book.items()}
    spend = start_spend
    cycle: date | None = None
    ic_cache: dict[date, IcBook | None] = {}
    total = len(sessions)
    for n, d in enumerate(sessions, start=1):
        row = by_date.get(d)
        if row is None:
            raise ValueError(f"no indicators row for session {d}: build marts.indicators_daily first")
        ic = user_ic or model_ic_for(d, by_date, p, ic_cache)
        opened = ic.opened if ic is not None else None
        if n == 1:
            cycle = opened  # start_spend belongs to the cycle in force on the first session
        elif opened != cycle:
            spend, cycle = 0.0, opened
        if ic is None:
            res = _no_ic_day(row, book, quotes, p)
        else:
            res, spend = step(row, book, ic, quotes, p, spend)
        book = res.book
        out.signals.append(res.signal)
        out.layers += res.layers
        out.orders += res.orders
        out.positions += res.positions
        out.books[d] = book
        out.days[d] = res.day
        if res.ic is not None:
            out.ics[d] = res.ic
        if progress is not None and (n % 50 == 0 or n == total):
            progress(n, total)
    if with_stress:
        out.stress = stress_pass(out, by_date, p)
    return out


def stress_pass(rp: Replay, by_date: dict[date, dict[str, Any]], p: HedgeParams) -> list[dict[str, Any]]:
    """§7's scenarios on each non-stale session's book after its orders: the hypothetical grid
    and the historical shocks that had happened by that session (none from its future)."""
    hist = historical_shocks(by_date)
    out: list[dict[str, Any]] = []
    for s in rp.signals:
        d = s["session_date"]
        ic = rp.ics.get(d)
        if s["stale"] or ic is None:
            continue
        day = rp.days[d]
        shocks = grid_shocks([x.beta for x in day.layers]) + [h for h in hist if h.on <= d]
        held = [(e, k, lot.qty) for (e, k), lot in rp.books[d].items()]
        out += stress_rows(day, ic, held, shocks, p.ic, p.surface)
    return out
