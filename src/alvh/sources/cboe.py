"""CBOE daily index histories (``{SYMBOL}_History.csv``).

Format: ``DATE,OPEN,HIGH,LOW,CLOSE`` or, for the symbols that publish one, a single value column
(``DATE,VVIX``, ``DATE,SKEW``, ``DATE,SPX``; see ``HEADER_VARIANTS``); dates ``MM/DD/YYYY``;
values in index points. A header that is not one of the symbol's variants, or dates that are
not month-first, refuse the file whole. Row rules: unparseable numbers or
dates, non-positive values, High < Low, and the same date twice with different values go to
quarantine.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import polars as pl

from alvh.core.errors import SourceError
from alvh.sources.base import ParsedFile
from alvh.sources.text import (
    SplitRows,
    check_dates,
    concat_splits,
    decode,
    parse_dates,
    parse_numbers,
    quarantine_conflicting_duplicates,
    quarantine_where,
    split_rows,
)

_NAME = re.compile(r"^(?P<symbol>[A-Z0-9]+)_History[^/]*\.csv$", re.IGNORECASE)
OHLC = ["open", "high", "low", "close"]
OHLC_HEADER = ["DATE", "OPEN", "HIGH", "LOW", "CLOSE"]


def symbol_from_name(name: str) -> str:
    """``VIX_History.csv`` → ``VIX``; ``SPX_History_yfinance_GSPC.csv`` → ``SPX``."""
    m = _NAME.match(name.rsplit("/", 1)[-1])
    if not m:
        raise SourceError("file name does not name an index", file=name, expected="<SYMBOL>_History*.csv")
    return m.group("symbol").upper()


# CBOE's legacy VIX file (vixcurrent.csv, 2004-2019): the same columns under other names
LEGACY_VIX_HEADER = ("DATE", "VIX OPEN", "VIX HIGH", "VIX LOW", "VIX CLOSE")
# The headers each symbol's file may have. The VIX family and SPX publish OHLC (VIX also in the
# legacy naming); VVIX and SKEW have been published as one value column (``DATE,VVIX``) and may
# come with OHLC; a symbol not listed (a user-configured index) may be either, its one column
# named after the symbol.
HEADER_VARIANTS: dict[str, tuple[tuple[str, ...], ...]] = {
    "VIX": (tuple(OHLC_HEADER), LEGACY_VIX_HEADER),
    "VIX9D": (tuple(OHLC_HEADER),),
    "VIX3M": (tuple(OHLC_HEADER),),
    "VIX6M": (tuple(OHLC_HEADER),),
    "SPX": (tuple(OHLC_HEADER), ("DATE", "SPX")),
    "VVIX": (tuple(OHLC_HEADER), ("DATE", "VVIX")),
    "SKEW": (tuple(OHLC_HEADER), ("DATE", "SKEW")),
}
DATE_FORMAT = "%m/%d/%Y"


def header_variants(symbol: str) -> tuple[tuple[str, ...], ...]:
    """The headers ``symbol``'s history file may have (upper case)."""
    return HEADER_VARIANTS.get(symbol, (tuple(OHLC_HEADER), ("DATE", symbol)))


def split_cboe_index(
    content: bytes, file: str, symbol: str | None = None, *, bad_date_max_share: float = 0.01
) -> SplitRows:
    """File-level checks and row split of one index history (raises ``SourceError``): the
    header must be one of the symbol's variants and the dates month-first."""
    sym = symbol or symbol_from_name(file)
    text = decode(content, file)
    first = text.lstrip().splitlines()[0]
    fields = tuple(f.strip().upper() for f in first.split(","))
    variants = header_variants(sym)
    if fields not in variants:
        raise SourceError(
            f"wrong header for {sym}",
            file=file,
            line=1,
            value=first[:120],
            expected=" or ".join(",".join(v) for v in variants),
        )
    if len(fields) == len(OHLC_HEADER):
        split = split_rows(text, file, ["date_text", *OHLC], list(fields))
    else:
        split = split_rows(text, file, ["date_text", "close"], list(fields))
        split.rows = split.rows.with_columns([pl.lit(None, dtype=pl.String).alias(c) for c in OHLC[:3]])
    check_dates(split.rows, "date_text", DATE_FORMAT, file, bad_date_max_share)
    split.rows = split.rows.with_columns(pl.lit(sym).alias("symbol"))
    return split


def parse_cboe_indices(splits: Sequence[SplitRows]) -> ParsedFile:
    """Apply the row rules to split index files.

    Returns ``symbol, date, open, high, low, close, file, line_no, raw_text``; single-value files fill
    ``close`` and leave ``open/high/low`` null. Values in index points.
    """
    split = concat_splits(splits)
    quarantines = [split.quarantine]
    rows, q = parse_dates(split.rows, "date_text", DATE_FORMAT, "date")
    quarantines.append(q)
    rows, q = parse_numbers(rows, OHLC)
    quarantines.append(q)
    rows, q = quarantine_where(rows, pl.any_horizontal([pl.col(c) <= 0 for c in OHLC]), "non-positive index value")
    quarantines.append(q)
    rows, q = quarantine_where(rows, pl.col("high") < pl.col("low"), "High < Low")
    quarantines.append(q)
    rows, q = quarantine_conflicting_duplicates(rows, ["date"], OHLC)
    quarantines.append(q)
    out = rows.select("symbol", "date", *OHLC, "file", "line_no", "raw_text").sort("symbol", "date")
    return ParsedFile(rows=out, quarantine=pl.concat(quarantines).sort("file", "line_no"))


def parse_cboe_index(content: bytes, file: str, symbol: str | None = None) -> ParsedFile:
    """Parse one index history file (see :func:`parse_cboe_indices`)."""
    return parse_cboe_indices([split_cboe_index(content, file, symbol)])
