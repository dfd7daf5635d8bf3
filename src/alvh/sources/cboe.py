"""CBOE daily index histories (``{SYMBOL}_History.csv``).

Format: ``DATE,OPEN,HIGH,LOW,CLOSE`` or a single value column (``DATE,VVIX``, ``DATE,SKEW``,
``DATE,SPX``); dates ``MM/DD/YYYY``; values in index points. Row rules: unparseable numbers or
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


def split_cboe_index(content: bytes, file: str, symbol: str | None = None) -> SplitRows:
    """File-level checks and row split of one index history (raises ``SourceError``)."""
    sym = symbol or symbol_from_name(file)
    text = decode(content, file)
    first = text.lstrip().splitlines()[0]
    fields = [f.strip().upper() for f in first.split(",")]
    if fields == OHLC_HEADER:
        split = split_rows(text, file, ["date_text", *OHLC], OHLC_HEADER)
    elif len(fields) == 2 and fields[0] == "DATE" and fields[1]:
        split = split_rows(text, file, ["date_text", "close"], ["DATE", fields[1]])
        split.rows = split.rows.with_columns([pl.lit(None, dtype=pl.String).alias(c) for c in OHLC[:3]])
    else:
        raise SourceError(
            "wrong header",
            file=file,
            line=1,
            value=first[:120],
            expected="DATE,OPEN,HIGH,LOW,CLOSE or DATE,<SYMBOL>",
        )
    split.rows = split.rows.with_columns(pl.lit(sym).alias("symbol"))
    return split


def parse_cboe_indices(splits: Sequence[SplitRows]) -> ParsedFile:
    """Apply the row rules to split index files.

    Returns ``symbol, date, open, high, low, close, file, line_no``; single-value files fill
    ``close`` and leave ``open/high/low`` null. Values in index points.
    """
    split = concat_splits(splits)
    quarantines = [split.quarantine]
    rows, q = parse_dates(split.rows, "date_text", "%m/%d/%Y", "date")
    quarantines.append(q)
    rows, q = parse_numbers(rows, OHLC)
    quarantines.append(q)
    rows, q = quarantine_where(rows, pl.any_horizontal([pl.col(c) <= 0 for c in OHLC]), "non-positive index value")
    quarantines.append(q)
    rows, q = quarantine_where(rows, pl.col("high") < pl.col("low"), "High < Low")
    quarantines.append(q)
    rows, q = quarantine_conflicting_duplicates(rows, ["date"], OHLC)
    quarantines.append(q)
    out = rows.select("symbol", "date", *OHLC, "file", "line_no").sort("symbol", "date")
    return ParsedFile(rows=out, quarantine=pl.concat(quarantines).sort("file", "line_no"))


def parse_cboe_index(content: bytes, file: str, symbol: str | None = None) -> ParsedFile:
    """Parse one index history file (see :func:`parse_cboe_indices`)."""
    return parse_cboe_indices([split_cboe_index(content, file, symbol)])
