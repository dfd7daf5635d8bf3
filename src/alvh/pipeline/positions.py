"""`alvh positions import`: a user's actual VIX-call holdings — the native CSV, a CSV of OCC
symbols or an IBKR Flex Query positions file (which may also carry the SPX legs of the IC book) —
checked against the market's rules and stored under the run lock; the next signal starts from
them. Nothing of a bad file is stored, and every failure names its line.

The files are parsed by ``alvh.sources.positions`` and ``alvh.sources.broker``, aggregated by
``alvh.transforms.holdings`` and stored by ``alvh.warehouse.positions``; this module checks the
rules that need the market and joins them. It also turns the SPX legs (imported, or of
``positions_file``) into the IC book the signals hedge."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from alvh.core.calendar import next_session, vix_monthly_expirations
from alvh.core.errors import ConfigError, SourceError
from alvh.core.settings import Settings
from alvh.sources.broker import broker_lines, is_broker_file
from alvh.sources.positions import decode_text, parse_holdings, parse_spx_book, spx_leg_problem
from alvh.transforms.holdings import aggregate_holdings
from alvh.transforms.ic_book import IcBook, ic_book_from_legs
from alvh.transforms.pricing import vix_strike_grid
from alvh.warehouse.connection import open_warehouse, run_lock
from alvh.warehouse.positions import imported_ic_legs, store_import
from alvh.warehouse.published import last_published_session, today_new_york

LISTED = set(np.round(vix_strike_grid(0.5, 1000.0), 2).tolist())


@dataclass
class ImportResult:
    holdings: pl.DataFrame  # one row per contract and strike (empty: flat)
    applies_from: date  # the first session that starts from them
    moved_from: date | None  # the --as-of given, when it was on or before the last published session
    ic_legs: pl.DataFrame | None = None  # SPX legs of a broker file (None: the model IC stays)
    skipped: int = 0  # broker-file lines of other asset classes left out
    other_underlyings: list[tuple[int, str]] = field(default_factory=list)  # (line, symbol) left out on request
    hedge_kept: bool = False  # --spx-only: the SPX legs alone were imported; the hedge book is as it was


def check_ic_legs(legs: pl.DataFrame, applies_from: date, max_qty: int, file: str) -> None:
    """Each SPX leg (duplicates summed) must be sane (``spx_leg_problem``) and still open on
    ``applies_from``."""
    for r in legs.to_dicts():
        problem = spx_leg_problem(float(r["strike"]), int(r["qty"]), float(r["entry_price"]), max_qty)
        if problem is not None:
            column, value, expected = problem
            raise SourceError(
                "not a plausible SPX leg", file=file, line=r["line"], column=column, value=value, expected=expected
            )
        if r["expiry"] <= applies_from:
            raise SourceError(
                f"this SPX leg has expired by {applies_from}, the first session these positions apply to",
                file=file,
                line=r["line"],
                column="symbol",
                value=r["occ_symbol"],
                expected=f"an expiry after {applies_from}",
            )


def imported_ic(con: duckdb.DuckDBPyConnection, first: date) -> IcBook | None:
    """The SPX legs imported from a broker file, in force on session ``first``, as the IC book."""
    found = imported_ic_legs(con, first)
    if found is None:
        return None
    as_of, legs = found
    return ic_book_from_legs(legs, as_of, "imported SPX legs")


def positions_file_book(text: str, kind: str, max_qty: int) -> IcBook:
    """The SPX book of ``positions_file`` (its text; ``kind`` "csv" or "toml"), in force from
    ``date.min`` to its first expiry. A bad leg raises ``ValueError`` naming it
    (``alvh.sources.positions.parse_spx_book``)."""
    return ic_book_from_legs(parse_spx_book(text, kind, max_qty), date.min, "positions file")


LISTED_MONTHS = 12  # VIX options list up to 12 monthly expiries ahead


def check_lines(lines: pl.DataFrame, applies_from: date, max_qty: int, file: str) -> None:
    """Market rules per line: a finite strike > 0 on the listed grid, at most ``max_qty``
    contracts, and a listed monthly VIX expiry still open on ``applies_from``."""
    if lines.is_empty():
        return
    first, last = lines["contract_expiry"].min(), lines["contract_expiry"].max()
    assert isinstance(first, date) and isinstance(last, date)
    monthly = set(vix_monthly_expirations(first, last))
    listed = [e for e in vix_monthly_expirations(applies_from, date(applies_from.year + 2, 12, 31)) if e > applies_from]
    furthest = listed[LISTED_MONTHS - 1]
    for r in lines.to_dicts():
        where = {"file": file, "line": r["line"]}
        k = r["strike"]
        if not math.isfinite(k) or k <= 0 or round(k, 2) not in LISTED:
            raise SourceError(
                "not a listed VIX option strike",
                column="strike",
                value=str(k),
                expected="a strike on the listed grid: 0.5 apart below 15, 1 apart up to 200, 5 above",
                **where,
            )
        if r["qty"] > max_qty:
            raise SourceError(
                f"more than positions_max_qty = {max_qty:,} contracts on one line",
                column="qty",
                value=str(r["qty"]),
                expected=f"a whole number from 0 to {max_qty:,}",
                **where,
            )
        e = r["contract_expiry"]
        if e not in monthly:
            raise SourceError(
                "not a monthly VIX expiry (the ladder holds monthlies only)",
                column="contract_expiry",
                value=str(e),
                expected="a monthly VIX expiration date, e.g. the Wednesday 30 days before SPX's",
                **where,
            )
        if e <= applies_from:
            raise SourceError(
                f"this contract has expired by {applies_from}, the first session these holdings apply to",
                column="contract_expiry",
                value=str(e),
                expected=f"an expiry after {applies_from}",
                **where,
            )
        if e > furthest:
            raise SourceError(
                f"no VIX option of this expiry is listed on {applies_from} (a typo in the year or month?)",
                column="contract_expiry",
                value=str(e),
                expected=f"one of the next {LISTED_MONTHS} monthly expiries, up to {furthest}",
                **where,
            )


def check_totals(holdings: pl.DataFrame, max_qty: int, file: str) -> None:
    """Lines of one contract and strike add up; their sum too must be at most ``max_qty``."""
    over = holdings.filter(pl.col("qty") > max_qty)
    if over.height:
        r = over.row(0, named=True)
        raise SourceError(
            f"the lines of {r['contract_expiry']} {r['strike']:g}C add up to more than positions_max_qty = {max_qty:,}",
            file=file,
            column="qty",
            value=str(r["qty"]),
            expected=f"at most {max_qty:,} contracts of one contract and strike",
        )


def import_positions(
    settings: Settings,
    path: Path,
    as_of: date,
    spx_only: bool = False,
    skip_other_underlyings: bool = False,
    today: date | None = None,
) -> ImportResult:
    """Parse, check and store a holdings file under the run lock. An ``as_of`` on or before the
    last published session applies from the session after it (that session's signal has gone out
    already); an empty or all-zero file means flat. ``spx_only``: import the SPX legs of a broker
    file alone and keep the hedge book (e.g. the VIX calls are held at another broker)."""
    today = today or today_new_york()
    if as_of > today:  # as `alvh run --as-of` refuses it
        raise ConfigError(
            f"--as-of {as_of} is in the future (today in New York is {today}): holdings apply from a session that "
            "has happened or today; give a past date or omit --as-of for today"
        )
    try:
        size = path.stat().st_size
        if size > settings.positions_max_bytes:
            raise SourceError(
                f"the file is {size:,} bytes, above positions_max_bytes = {settings.positions_max_bytes:,} (a book of "
                "positions is a few KB): check that it is the positions file, or raise ALVH_POSITIONS_MAX_BYTES",
                file=str(path),
            )
        content = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"cannot read the file: {exc.strerror}", file=str(path)) from None
    text = decode_text(content, str(path))
    ic_legs, skipped = None, 0
    other: list[tuple[int, str]] = []
    if is_broker_file(text):
        lines, ic_legs, skipped, other = broker_lines(text, str(path), skip_other_underlyings)
        if ic_legs.is_empty():
            ic_legs = None
    else:
        lines = parse_holdings(text.encode("utf-8"), str(path), settings.positions_max_qty)
    if spx_only and ic_legs is None:
        raise SourceError(
            "--spx-only, but the file holds no SPX legs", file=str(path), expected="a broker file with SPX/SPXW options"
        )
    with run_lock(settings.warehouse, settings.lock_timeout_s), open_warehouse(settings.warehouse) as con:
        last = last_published_session(con)
        applies_from, moved = next_session(as_of, inclusive=True), None
        if last is not None and as_of <= last:
            applies_from = next_session(last)
            moved = as_of
        check_lines(lines, applies_from, settings.positions_max_qty, str(path))
        if ic_legs is not None:
            check_ic_legs(ic_legs, applies_from, settings.positions_max_qty, str(path))
            ic_legs = ic_legs.drop("line")
        holdings = aggregate_holdings(lines)
        check_totals(holdings, settings.positions_max_qty, str(path))
        store_import(con, holdings, applies_from, str(path), ic_legs, hedge=not spx_only)
    return ImportResult(holdings, applies_from, moved, ic_legs, skipped, other_underlyings=other, hedge_kept=spx_only)
