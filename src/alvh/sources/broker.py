"""Broker file formats: OCC option symbols, positions files (a CSV of OCC symbols, or an
Interactive Brokers Flex Query "Open Positions" CSV), and the order basket written for the night.

OCC symbol (OSI): the root padded to 6 characters, the expiry ``YYMMDD``, ``C``/``P``, and the
strike × 1000 on 8 digits — ``VIX   260121C00019000`` is the VIX 2026-01-21 19 call,
``SPXW  260320P05600000`` the SPXW 2026-03-20 5600 put. The compact form without the padding
(``VIX260121C00019000``) is read too. Roots: ``VIX`` (monthly VIX options: the hedge ladder),
``SPX`` / ``SPXW`` (the SPX legs of the IC book); any other root is refused, naming its line.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

import polars as pl

from alvh.core.errors import SourceError
from alvh.sources.positions import HOLDING_SCHEMA, SPX_LEG_SCHEMA

VIX_ROOTS = ("VIX",)
SPX_ROOTS = ("SPX", "SPXW")
_OCC = re.compile(r"^(?P<root>[A-Z0-9]{1,6})\s*(?P<ymd>\d{6})(?P<right>[CP])(?P<strike>\d{8})$")
OCC_EXAMPLE = "an OCC option symbol such as 'VIX   260121C00019000' or 'SPXW  260320P05600000'"
NON_OPTION_CLASSES = ("STK", "CASH", "FUT", "BOND", "FUND", "CMDTY", "WAR", "IOPT", "CFD")
IC_LEG_SCHEMA = {"occ_symbol": pl.String, **SPX_LEG_SCHEMA}  # an SPX leg of a broker file, with its symbol


@dataclass(frozen=True)
class OccSymbol:
    root: str
    expiry: date
    is_call: bool
    strike: float  # index points

    def __str__(self) -> str:
        return format_occ(self.root, self.expiry, self.is_call, self.strike)


def parse_occ(text: str) -> OccSymbol:
    """Read an OCC symbol; raises ``ValueError`` saying what is wrong."""
    m = _OCC.match(text.strip().upper())
    if m is None:
        raise ValueError("not an OCC option symbol (root, YYMMDD, C or P, strike × 1000 on 8 digits)")
    ymd = m["ymd"]
    try:
        expiry = date(2000 + int(ymd[:2]), int(ymd[2:4]), int(ymd[4:]))
    except ValueError:
        raise ValueError(f"the expiry {ymd} in the symbol is not a date (YYMMDD)") from None
    strike = int(m["strike"]) / 1000.0
    if strike <= 0:
        raise ValueError("the strike in the symbol is 0")
    return OccSymbol(m["root"], expiry, m["right"] == "C", strike)


def format_occ(root: str, expiry: date, is_call: bool, strike: float) -> str:
    """The OCC symbol of an option: ``format_occ("VIX", date(2026, 1, 21), True, 19) == "VIX   260121C00019000"``."""
    milli = round(strike * 1000)
    if not (0 < milli < 10**8) or abs(milli - strike * 1000) > 1e-6:
        raise ValueError(f"strike {strike!r} cannot be written in an OCC symbol (0.001 steps below 100,000)")
    return f"{root:<6}{expiry:%y%m%d}{'C' if is_call else 'P'}{milli:08d}"


@dataclass(frozen=True)
class BrokerLine:
    """One option position of a broker file: its line, the symbol, signed contracts, price per unit."""

    line: int
    symbol: OccSymbol
    qty: int
    price: float  # average cost per unit of underlying (index points), 0 when the file has none


QTY_BEYOND = 1e15  # far above any positions_max_qty (≤ 10,000,000), below where floats stop being whole


@dataclass
class BrokerPositions:
    vix_calls: list[BrokerLine]
    spx_legs: list[BrokerLine]
    skipped: int  # lines of other asset classes (stocks, cash, futures) left out
    other_underlyings: list[tuple[int, str]] = field(default_factory=list)  # (line, symbol) skipped on request


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _header(cells: list[str]) -> dict[str, int] | None:
    """Column index by normalised name when ``cells`` is a header row of a broker positions file."""
    names = {_norm(c): i for i, c in enumerate(cells)}
    if "symbol" in names and ("quantity" in names or "qty" in names or "position" in names):
        return names
    return None


FLEX_MARKERS = {"BOF", "BOA", "BOS", "EOS", "EOA", "EOF"}  # Flex "header and trailer records"
FLEX_RECORDS = {"HEADER", "DATA"}  # then the section code (e.g. POST), then the row itself


def broker_rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """(line, cells) of each non-empty row; a Flex export with header and trailer records is read
    as the plain one (its BOF/BOA/BOS/EOS/EOA/EOF rows left out, HEADER/DATA and the section code
    taken off)."""
    for n, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not any(c.strip() for c in row):
            continue
        kind = row[0].strip().upper()
        if kind in FLEX_MARKERS:
            continue
        yield n, (row[2:] if kind in FLEX_RECORDS and len(row) > 2 else row)


def is_broker_file(text: str) -> bool:
    """True when the first row with content is a broker positions header (OCC symbols or IBKR Flex)."""
    for _, row in broker_rows(text):
        return _header(row) is not None
    return False


def _cell(row: list[str], cols: dict[str, int], *names: str) -> str | None:
    for n in names:
        i = cols.get(n)
        if i is not None and i < len(row) and row[i].strip() != "":
            return row[i].strip()
    return None


def _number(text: str, file: str, line: int, column: str, expected: str) -> float:
    try:
        v = float(text.replace(",", ""))
    except ValueError:
        raise SourceError("not a number", file=file, line=line, column=column, value=text, expected=expected) from None
    if not math.isfinite(v):
        raise SourceError("not a finite number", file=file, line=line, column=column, value=text, expected=expected)
    return v


def read_broker_positions(content: str, file: str, skip_other_underlyings: bool = False) -> BrokerPositions:
    """Option positions of a CSV with a ``symbol`` and a ``qty``/``quantity`` column (OCC symbols;
    optional ``avg_cost``), or an IBKR Flex Query positions CSV (``Symbol``, ``Quantity``, optional
    ``AssetClass``, ``CostBasisPrice``/``OpenPrice``; repeated header rows of several sections are
    read as headers). Every option line must be a VIX call or an SPX/SPXW option with a whole
    number of contracts; VIX calls must be long. Lines of other asset classes are counted and left
    out. ``skip_other_underlyings``: an option on another underlying (``AAPL …``) is left out and
    listed (``other_underlyings``) instead of refusing the file. The first bad line raises
    ``SourceError`` naming it, and nothing is returned."""
    out = BrokerPositions([], [], 0)
    cols: dict[str, int] | None = None
    for n, row in broker_rows(content):
        head = _header(row)
        if head is not None:
            cols = head
            continue
        if cols is None:
            raise SourceError(
                "no header row before the first position",
                file=file,
                line=n,
                expected="a header with symbol and qty (or IBKR Flex: Symbol, Quantity)",
            )
        asset = (_cell(row, cols, "assetclass") or "OPT").upper()
        if asset in NON_OPTION_CLASSES:
            out.skipped += 1
            continue
        raw_symbol = _cell(row, cols, "symbol") or ""
        try:
            sym = parse_occ(raw_symbol)
        except ValueError as exc:
            raise SourceError(
                str(exc), file=file, line=n, column="symbol", value=raw_symbol, expected=OCC_EXAMPLE
            ) from None
        if sym.root not in VIX_ROOTS + SPX_ROOTS and skip_other_underlyings:
            out.other_underlyings.append((n, raw_symbol.strip()))
            continue
        if sym.root not in VIX_ROOTS + SPX_ROOTS:
            raise SourceError(
                f"unknown option root {sym.root!r}: the book holds VIX calls and SPX legs only",
                file=file,
                line=n,
                column="symbol",
                value=raw_symbol,
                expected="root VIX (monthly VIX options) or SPX / SPXW; or --skip-other-underlyings to leave it out",
            )
        qty_text = _cell(row, cols, "quantity", "qty", "position") or ""
        qty_f = _number(qty_text, file, n, "qty", "a whole number of contracts")
        if qty_f != int(qty_f):
            raise SourceError(
                "not a whole number of contracts", file=file, line=n, column="qty", value=qty_text, expected="e.g. 40"
            )
        if abs(qty_f) > QTY_BEYOND:
            raise SourceError(
                f"{qty_f:,.0f} contracts is beyond any position limit",
                file=file,
                line=n,
                column="qty",
                value=qty_text,
                expected="at most positions_max_qty contracts (default 100,000) on one line",
            )
        price_text = _cell(row, cols, "avgcost", "costbasisprice", "openprice", "averagecost", "tradeprice")
        price = 0.0 if price_text is None else _number(price_text, file, n, "avg_cost", "a price ≥ 0 per unit")
        if price < 0:
            raise SourceError("a negative cost", file=file, line=n, column="avg_cost", value=price_text, expected="≥ 0")
        item = BrokerLine(n, sym, int(qty_f), price)
        if sym.root in VIX_ROOTS:
            if not sym.is_call:
                raise SourceError(
                    "a VIX put: the hedge ladder holds VIX calls only",
                    file=file,
                    line=n,
                    column="symbol",
                    value=raw_symbol,
                    expected="a VIX call (C)",
                )
            if item.qty < 0:
                raise SourceError(
                    "a short VIX call: the hedge ladder holds long calls only",
                    file=file,
                    line=n,
                    column="qty",
                    value=qty_text,
                    expected="a quantity ≥ 0",
                )
            out.vix_calls.append(item)
        else:
            out.spx_legs.append(item)
    if cols is None:
        raise SourceError("no header row", file=file, line=1, expected="symbol,qty[,avg_cost] or an IBKR Flex header")
    return out


def broker_lines(
    text: str, file: str, skip_other_underlyings: bool = False
) -> tuple[pl.DataFrame, pl.DataFrame, int, list[tuple[int, str]]]:
    """(VIX-call lines in the holdings layout ``HOLDING_SCHEMA``, SPX legs aggregated per symbol in
    ``IC_LEG_SCHEMA`` with the ``line`` of each symbol's first row, lines skipped, options on other
    underlyings left out on request) of a broker positions file (OCC symbols or IBKR Flex; see
    ``read_broker_positions``). Duplicate SPX symbols add up, their price weighted by contracts;
    a leg netting to 0 drops out."""
    pos = read_broker_positions(text, file, skip_other_underlyings)
    lines = pl.DataFrame(
        [
            {
                "line": b.line,
                "contract_expiry": b.symbol.expiry,
                "strike": b.symbol.strike,
                "qty": b.qty,
                "avg_cost": b.price,
            }
            for b in pos.vix_calls
        ],
        schema=HOLDING_SCHEMA,
    )
    raw = pl.DataFrame(
        [
            {
                "occ_symbol": str(b.symbol),
                "expiry": b.symbol.expiry,
                "strike": b.symbol.strike,
                "put_call": "C" if b.symbol.is_call else "P",
                "qty": b.qty,
                "entry_price": b.price,
                "line": b.line,
            }
            for b in pos.spx_legs
        ],
        schema=IC_LEG_SCHEMA | {"line": pl.Int64},
    )
    frame = (
        raw.group_by("occ_symbol", "expiry", "strike", "put_call", maintain_order=True)
        .agg(
            pl.col("qty").sum(),
            ((pl.col("qty").abs() * pl.col("entry_price")).sum() / pl.col("qty").abs().sum()).alias("entry_price"),
            pl.col("line").first(),
        )
        .filter(pl.col("qty") != 0)
        .select(*IC_LEG_SCHEMA, "line")
    )
    return lines, frame, pos.skipped, pos.other_underlyings


# --- the night's orders as a broker basket ----------------------------------------------------

TICK = Decimal("0.05")  # VIX option price increment used for limits (index points)
BASKET_COLUMNS = (
    "Action",
    "Quantity",
    "Symbol",
    "SecType",
    "LastTradingDayOrContractMonth",
    "Strike",
    "Right",
    "Multiplier",
    "TradingClass",
    "Exchange",
    "Currency",
    "TimeInForce",
    "OrderType",
    "LmtPrice",
    "BasketTag",
    "OrderRef",
)
CSV_COLUMNS = (
    "session_date",
    "ticket",
    "occ_symbol",
    "side",
    "qty",
    "contract_expiry",
    "strike",
    "model_price",
    "price_source",
    "limit_price",
    "layer",
    "action",
    "reason",
    "next_event",  # the next scheduled FOMC/CPI/PPI release after the session's close, in words
    "for_session",  # the session the limits are meant for: the one after the deciding close
)


def spreadsheet_safe(text: str) -> str:
    """A text cell a spreadsheet would read as a formula (``= + - @``, tab, CR first) gets a ``'``."""
    return "'" + text if text.startswith(("=", "+", "-", "@", "\t", "\r")) else text


def limit_price(
    model_price: float, side: str, offset: float, bid: float | None = None, ask: float | None = None
) -> float:
    """The limit of a ticket in index points: price + ``offset`` for a BUY, − for a SELL, rounded
    away from the price to the 0.05 tick (a BUY up, a SELL down), never below 0.05. A ticket
    priced on an imported quote is kept inside it: a BUY at most its ask, a SELL at least its bid."""
    raw = Decimal(str(model_price)) + (Decimal(str(offset)) if side == "BUY" else -Decimal(str(offset)))
    steps = (raw / TICK).to_integral_value(rounding=ROUND_CEILING if side == "BUY" else ROUND_FLOOR)
    limit = max(steps * TICK, TICK)
    if side == "BUY" and ask is not None and ask > 0:
        limit = min(limit, Decimal(str(ask)))
    if side == "SELL" and bid is not None and bid > 0:
        limit = max(limit, Decimal(str(bid)))
    return float(limit)


def basket_rows(
    orders: list[dict[str, Any]],
    offset: float,
    fmt: str,
    next_event: str | None = None,
    event_next_session: bool = False,
    for_session: date | None = None,
) -> tuple[tuple[str, ...], list[list[str]]]:
    """Header and rows of the night's tickets (``marts.hedge_order`` rows, SETTLE tickets left
    out: settlement is not an order). ``fmt`` is ``ibkr-basket`` (TWS BasketTrader import, limit
    orders, DAY) or ``csv`` (the tickets with their OCC symbols and limits).

    ``next_event``: the session's next scheduled FOMC/CPI/PPI release in words (information only).
    The CSV carries it on every row (column ``next_event``); a basket has no room for a comment
    line (TWS reads every line as an order), so its ``OrderRef`` names it when the release comes
    before or during the next session (``event_next_session``).

    ``for_session``: the session the limits are meant for (the engine decides at a close, so
    its orders go in on the next session); the CSV's ``for_session`` column and the basket's
    ``OrderRef`` say it."""
    rows: list[list[str]] = []
    event_ref = f"; {next_event}" if next_event and event_next_session else ""
    for_ref = f" for {for_session}" if for_session else ""
    for o in orders:
        if o["action"] == "SETTLE":
            continue
        lmt = f"{limit_price(float(o['model_price']), o['side'], offset, o.get('bid'), o.get('ask')):.2f}"
        occ = o.get("occ_symbol") or format_occ("VIX", o["contract_expiry"], True, float(o["strike"]))
        if fmt == "ibkr-basket":
            rows.append(
                [
                    o["side"],
                    str(o["qty"]),
                    "VIX",
                    "OPT",
                    o["contract_expiry"].strftime("%Y%m%d"),
                    f"{float(o['strike']):g}",
                    "C",
                    "100",
                    "VIX",
                    "CBOE",
                    "USD",
                    "DAY",
                    "LMT",
                    lmt,
                    f"ALVH-{o['session_date']}",
                    f"alvh {o['session_date']} #{o['ticket']} L{o['layer']} {o['action']}{for_ref}{event_ref}",
                ]
            )
        elif fmt == "csv":
            rows.append(
                [
                    str(o["session_date"]),
                    str(o["ticket"]),
                    occ,
                    o["side"],
                    str(o["qty"]),
                    str(o["contract_expiry"]),
                    f"{float(o['strike']):g}",
                    f"{float(o['model_price']):.4f}",
                    str(o.get("price_source") or "model"),
                    lmt,
                    str(o["layer"]),
                    o["action"],
                    spreadsheet_safe(str(o["reason"])),
                    spreadsheet_safe(next_event or ""),
                    str(for_session or ""),
                ]
            )
        else:
            raise ValueError(f"unknown order format {fmt!r}; expected ibkr-basket or csv")
    return (BASKET_COLUMNS if fmt == "ibkr-basket" else CSV_COLUMNS), rows


def write_csv_text(header: tuple[str, ...], rows: list[list[str]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()
