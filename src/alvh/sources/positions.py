"""Positions files a user writes by hand: the native hedge-holdings CSV and the SPX book of
``positions_file``. The holdings CSV of `alvh positions import` is
``contract_expiry,strike,qty[,avg_cost]``; the SPX book is CSV
``expiry,strike,put_call,quantity,entry_price`` or TOML ``[[legs]]`` with the same keys.

Each parser returns a frame in one fixed layout (``HOLDING_SCHEMA``, ``SPX_LEG_SCHEMA``) and
refuses the file at its first bad field, naming file, line and column and what was expected.
Rules that need the market (listed strikes and expiries, the first session the positions apply
to) are checked by ``alvh.pipeline.positions``. Broker files (OCC symbols, IBKR Flex) are
``alvh.sources.broker``."""

from __future__ import annotations

import io
import math
import tomllib
from datetime import date

import polars as pl

from alvh.core.errors import SourceError

COLUMNS = ("contract_expiry", "strike", "qty")

HOLDING_SCHEMA = {  # one VIX-call holding line: expiry, strike in VIX points, whole contracts, cost per unit
    "line": pl.Int64,
    "contract_expiry": pl.Date,
    "strike": pl.Float64,
    "qty": pl.Int64,
    "avg_cost": pl.Float64,
}
SPX_LEG_SCHEMA = {  # one SPX leg: strike in SPX points, "P"/"C", signed contracts, price per share
    "expiry": pl.Date,
    "strike": pl.Float64,
    "put_call": pl.String,
    "qty": pl.Int64,
    "entry_price": pl.Float64,
}
SPX_BOOK_COLUMNS = "expiry,strike,put_call,quantity,entry_price"


def decode_text(content: bytes, file: str) -> str:
    """The text of a positions file (UTF-8, a BOM allowed); a binary file is refused by name."""
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with its BOM (Excel's "Unicode Text")
        try:
            return decode_text(content.decode("utf-16").encode("utf-8"), file)
        except UnicodeDecodeError:
            pass
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = content[: exc.start].count(b"\n") + 1
        raise SourceError(
            f"not a text CSV file: line {line} does not decode as UTF-8 (nor is the file UTF-16 with a byte-order "
            'mark); save it as "CSV UTF-8" and import again',
            file=file,
        ) from None
    if "\x00" in text:
        raise SourceError("not a text CSV file (it holds NUL bytes)", file=file)
    return text


def parse_holdings(content: bytes, file: str, max_qty: int | None = None) -> pl.DataFrame:
    """CSV ``contract_expiry,strike,qty[,avg_cost]`` (ISO dates, VIX points, whole contracts),
    one row per line with its line number (``HOLDING_SCHEMA``); each bad field names its line.
    Rules that need the market (listed strikes and expiries) are checked by
    ``alvh.pipeline.positions``."""
    text = decode_text(content, file)
    first = text.lstrip().split("\n", 1)[0]
    if ";" in first and "," not in first:
        raise SourceError(
            "the file is separated by semicolons; alvh reads comma-separated CSV",
            file=file,
            line=1,
            expected="contract_expiry,strike,qty[,avg_cost] (save it as CSV with commas)",
        )
    try:
        raw = pl.read_csv(io.StringIO(text), infer_schema=False) if text.strip() else pl.DataFrame()
    except pl.exceptions.PolarsError as exc:
        raise SourceError(f"not a CSV file: {exc}", file=file) from exc
    if raw.width == 0 and not text.strip():
        raw = pl.DataFrame(schema={c: pl.String for c in COLUMNS})
    missing = [c for c in COLUMNS if c not in raw.columns]
    if missing:
        raise SourceError(
            "wrong header: missing " + ", ".join(missing),
            file=file,
            line=1,
            expected="contract_expiry,strike,qty[,avg_cost]",
        )
    rows = []
    for i, r in enumerate(raw.to_dicts(), start=2):

        def bad(column: str, why: str, expected: str, r: dict[str, object] = r, i: int = i) -> SourceError:
            return SourceError(why, file=file, line=i, column=column, value=str(r.get(column)), expected=expected)

        try:
            expiry = date.fromisoformat(str(r["contract_expiry"]).strip())
        except ValueError:
            raise bad("contract_expiry", "not a date", "an ISO date YYYY-MM-DD") from None
        text_qty = str(r["qty"]).strip()
        try:
            qty_f = float(text_qty.replace(",", ""))
        except ValueError:
            raise bad("qty", "not a number of contracts", "an integer ≥ 0, e.g. 40") from None
        if not math.isfinite(qty_f):
            raise bad("qty", "not a finite number of contracts", "an integer ≥ 0, e.g. 40")
        if qty_f < 0:
            raise bad("qty", "a negative quantity: the hedge ladder holds long VIX calls only (no short calls)", "≥ 0")
        if qty_f != int(qty_f):
            raise bad("qty", "not a whole number of contracts", "an integer ≥ 0, e.g. 40")
        limit = max_qty if max_qty is not None else 1e12
        if qty_f > limit:
            raise bad(
                "qty",
                f"{qty_f:,.0f} contracts is more than positions_max_qty = {limit:,.0f} on one line",
                f"a whole number from 0 to {limit:,.0f} (raise ALVH_POSITIONS_MAX_QTY if you really hold more)",
            )
        try:
            strike = float(str(r["strike"]))
            cost = float(str(r.get("avg_cost") or 0.0))
        except ValueError:
            raise bad("strike", "not a number", "a strike in VIX points, e.g. 22 or 12.5") from None
        if not math.isfinite(cost) or cost < 0:
            raise bad("avg_cost", "the average cost must be a finite price ≥ 0", "VIX points, e.g. 1.35")
        rows.append({"line": i, "contract_expiry": expiry, "strike": strike, "qty": int(qty_f), "avg_cost": cost})
    return pl.DataFrame(rows, schema=HOLDING_SCHEMA)


def spx_leg_problem(strike: float, qty: int, entry_price: float, max_qty: int) -> tuple[str, str, str] | None:
    """What is wrong with an SPX leg, as (column, value, expected), or None: a finite strike > 0
    (index points), a signed quantity of at most ``max_qty`` contracts either way, a finite price
    ≥ 0 (dollars per share)."""
    if not math.isfinite(strike) or strike <= 0:
        return "strike", f"{strike}", "a finite strike > 0, in SPX points"
    if abs(qty) > max_qty:
        return "quantity", f"{qty}", f"at most positions_max_qty = {max_qty:,} contracts either way"
    if not math.isfinite(entry_price) or entry_price < 0:
        return "entry_price", f"{entry_price}", "a finite price ≥ 0, dollars per share"
    return None


def parse_spx_book(text: str, kind: str, max_qty: int) -> pl.DataFrame:
    """A user's SPX legs (``SPX_LEG_SCHEMA``, in file order) from CSV
    (``expiry,strike,put_call,quantity,entry_price``) or TOML (``kind == "toml"``: ``[[legs]]``
    tables with the same keys). Quantity signed (contracts, at most ``max_qty`` either way);
    strikes in SPX points; prices dollars per share. The first bad leg raises ``ValueError``
    naming its number (legs count from 1) and the columns expected; a file without legs too."""
    if kind == "toml":
        rows = tomllib.loads(text).get("legs", [])
    else:
        rows = pl.read_csv(io.StringIO(text), infer_schema=False).to_dicts()
    legs = []
    for i, r in enumerate(rows, start=1):
        try:
            pc = str(r["put_call"]).strip().upper()[:1]
            expiry = date.fromisoformat(str(r["expiry"]).strip())
            strike, qty, price = float(r["strike"]), int(r["quantity"]), float(r["entry_price"])
            if pc not in ("C", "P"):
                raise ValueError(f"put_call must be P or C, got {r['put_call']!r}")
            problem = spx_leg_problem(strike, qty, price, max_qty)
            if problem is not None:
                column, value, expected = problem
                raise ValueError(f"{column} {value}: expected {expected}")
        except (KeyError, ValueError, TypeError) as exc:
            raise ValueError(f"positions file leg {i}: {exc}; expected {SPX_BOOK_COLUMNS}") from exc
        legs.append({"expiry": expiry, "strike": strike, "put_call": pc, "qty": qty, "entry_price": price})
    if not legs:
        raise ValueError("positions file has no legs")
    return pl.DataFrame(legs, schema=SPX_LEG_SCHEMA)
