"""CFE VIX futures settlement files, one file per contract.

Three providers share the 11-column layout
``Trade Date,Futures,Open,High,Low,Close,Settle,Change,Total Volume,EFP,Open Interest``:

- ``cfe_current``: ``VX_{YYYY-MM-DD}.csv`` (expiry in the name), ISO dates, CRLF, 3 or 4 decimals.
- ``cfe_legacy``: ``CFE_{M}{YY}_VX.csv`` (month code + 2-digit year), ``MM/DD/YYYY`` dates, an
  optional disclaimer line before the header.
- ``reconstructed``: gaps in CBOE's files rebuilt from continuous series (current layout, only
  ``Settle`` real, OHLC written as 0).

Prices dated before 2007-03-26 are quoted ×10 (CBOE rescaled VX that day) and are divided by 10
here, so every price leaves this module in index points; ``price_scale`` records the divisor.

Row rules (quarantine): unparseable number/date, negative price or count, a row that traded
(``volume > 0``) with a zero High or Low, High < Low on a row that traded, a trade date after
the expiry, the same date twice with different values.
Not errors: ``Settle = 0`` means CFE published no settlement in that file (early-2013 rows;
the legacy file of the same contract has the value) — kept, the settle treated as missing;
zero Open/Close on a row that traded means only spreads traded that day — kept.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

import polars as pl

from alvh.core.calendar import vix_expiration
from alvh.core.errors import SourceError
from alvh.sources.base import ParsedFile
from alvh.sources.text import (
    SplitRows,
    check_dates,
    concat_splits,
    decode,
    parse_numbers,
    quarantine_conflicting_duplicates,
    quarantine_where,
    split_rows,
)

HEADER = [
    "Trade Date",
    "Futures",
    "Open",
    "High",
    "Low",
    "Close",
    "Settle",
    "Change",
    "Total Volume",
    "EFP",
    "Open Interest",
]
COLUMNS = [
    "trade_date_text",
    "futures_label",
    "open",
    "high",
    "low",
    "close",
    "settle",
    "change",
    "volume",
    "efp",
    "open_interest",
]
PRICES = ["open", "high", "low", "close", "settle", "change"]
COUNTS = ["volume", "efp", "open_interest"]
RESCALE_DATE = date(2007, 3, 26)
MONTH_CODES = "FGHJKMNQUVXZ"
PROVIDERS = ("cfe_current", "cfe_legacy", "reconstructed")

_CURRENT = re.compile(r"^VX_(\d{4}-\d{2}-\d{2})\.csv$", re.IGNORECASE)
_LEGACY = re.compile(r"^CFE_([FGHJKMNQUVXZ])(\d{2})_VX\.csv$", re.IGNORECASE)


def expiry_from_name(name: str) -> date:
    """Contract expiry encoded in a CFE file name.

    ``VX_2020-03-18.csv`` → 2020-03-18; ``CFE_H08_VX.csv`` → the March-2008 monthly expiry by the
    VIX expiration rule (legacy files hold monthly contracts only).
    """
    base = name.rsplit("/", 1)[-1]
    try:
        if m := _CURRENT.match(base):
            return date.fromisoformat(m.group(1))
        if m := _LEGACY.match(base):
            month = MONTH_CODES.index(m.group(1).upper()) + 1
            return vix_expiration(2000 + int(m.group(2)), month)
    except ValueError as exc:
        raise SourceError(f"file name encodes an invalid date: {exc}", file=name) from exc
    raise SourceError(
        "file name does not name a VX contract",
        file=name,
        expected="VX_YYYY-MM-DD.csv or CFE_<month code><YY>_VX.csv",
    )


def is_monthly_expiry(expiry: date) -> bool:
    """True when ``expiry`` is the monthly VIX expiration of its month (else a weekly)."""
    return expiry == vix_expiration(expiry.year, expiry.month)


def split_cfe(content: bytes, file: str, expiry: date, provider: str, *, bad_date_max_share: float = 0.01) -> SplitRows:
    """File-level checks and row split of one contract file (raises ``SourceError``): the exact
    CFE header and dates in the provider's order (ISO, or ``MM/DD/YYYY`` for legacy files)."""
    if provider not in PROVIDERS:
        raise ValueError(f"unknown VX provider {provider!r}; expected one of {PROVIDERS}")
    text = decode(content, file)
    legacy = provider == "cfe_legacy"
    split = split_rows(text, file, COLUMNS, HEADER, preamble_lines=2 if legacy else 0)
    fmt = "%m/%d/%Y" if legacy else "%Y-%m-%d"
    check_dates(split.rows, "trade_date_text", fmt, file, bad_date_max_share)
    split.rows = split.rows.with_columns(
        pl.lit(provider).alias("provider"),
        pl.lit(expiry).alias("contract_expiry"),
        pl.lit(fmt).alias("_fmt"),
    )
    return split


def parse_cfe_files(splits: Sequence[SplitRows]) -> ParsedFile:
    """Apply the row rules to split contract files.

    Returns columns ``provider, contract_expiry, trade_date, futures_label, open, high, low,
    close, settle, change, volume, efp, open_interest, price_scale, is_monthly, file,
    line_no``; prices in index points, counts in contracts.
    """
    split = concat_splits(splits)
    quarantines = [split.quarantine]
    td = pl.col("trade_date_text")
    rows = split.rows.with_columns(
        pl.when(pl.col("_fmt") == "%Y-%m-%d")
        .then(td.str.to_date("%Y-%m-%d", strict=False))
        .otherwise(td.str.to_date("%m/%d/%Y", strict=False))
        .alias("trade_date")
    )
    rows, q = quarantine_where(
        rows,
        pl.col("trade_date").is_null(),
        pl.lit("unparseable date in column 'Trade Date' (expected ") + pl.col("_fmt") + pl.lit("): ") + td,
    )
    quarantines.append(q)
    rows, q = parse_numbers(rows, PRICES + COUNTS)
    quarantines.append(q)
    rows, q = quarantine_where(
        rows,
        pl.any_horizontal([pl.col(c) < 0 for c in [*PRICES[:5], *COUNTS]]),
        "negative price or count",
    )
    quarantines.append(q)
    traded = pl.col("volume") > 0
    rows, q = quarantine_where(
        rows,
        traded & ((pl.col("high") == 0) | (pl.col("low") == 0)),
        "zero price (High or Low) on a row that traded (volume > 0)",
    )
    quarantines.append(q)
    rows, q = quarantine_where(rows, traded & (pl.col("high") < pl.col("low")), "High < Low on a row that traded")
    quarantines.append(q)
    rows, q = quarantine_where(
        rows,
        pl.col("trade_date") > pl.col("contract_expiry"),
        pl.lit("trade date after the contract's expiry ") + pl.col("contract_expiry").cast(pl.String),
    )
    quarantines.append(q)
    rows, q = quarantine_conflicting_duplicates(rows, ["trade_date"], [*PRICES, *COUNTS])
    quarantines.append(q)
    expiries = rows.select(pl.col("contract_expiry").unique())["contract_expiry"].to_list()
    monthly = [e for e in expiries if is_monthly_expiry(e)]
    scale = pl.when(pl.col("trade_date") < pl.lit(RESCALE_DATE)).then(10.0).otherwise(1.0)
    out = rows.with_columns(scale.alias("price_scale")).select(
        "provider",
        "contract_expiry",
        "trade_date",
        "futures_label",
        *[(pl.col(c) / pl.col("price_scale")).alias(c) for c in PRICES],
        *[pl.col(c).cast(pl.Int64) for c in COUNTS],
        "price_scale",
        pl.col("contract_expiry").is_in(monthly).alias("is_monthly"),
        "file",
        "line_no",
        "raw_text",
    )
    return ParsedFile(
        rows=out.sort("provider", "contract_expiry", "trade_date"),
        quarantine=pl.concat(quarantines).sort("file", "line_no"),
    )


def parse_cfe(content: bytes, file: str, expiry: date, provider: str) -> ParsedFile:
    """Parse one contract file (see :func:`parse_cfe_files`)."""
    return parse_cfe_files([split_cfe(content, file, expiry, provider)])
