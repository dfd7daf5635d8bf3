"""NYSE breadth: Unicorn archive files and a vendor CSV.

Unicorn (``NYSE_{advn,decln,unchn,advv,declv,unchv}.csv``): no header, ``YYYYMMDD, value``.
Issue counts are integers; volumes are in *thousands of shares* before 2002-06-21 and in shares
from then on (``UNICORN_VOLUME_SHARES_FROM``) — raw rows keep the value as received, staging
normalises. Vendor CSV: a date column plus advancing and declining counts, column names and date
format configurable (the TradingView export uses ``date``, ``adv_close``, ``decl_close``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

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
    split_csv_line,
    split_rows,
)

UNICORN_VOLUME_SHARES_FROM = date(2002, 6, 21)
_UNICORN = re.compile(r"^NYSE_(?P<series>[a-z]+)\.csv$", re.IGNORECASE)
_UNICORN_ROW = re.compile(r"^\d{8},\s*-?[\d.]+\s*$")


def unicorn_series_from_name(name: str) -> str:
    m = _UNICORN.match(name)
    if not m:
        raise SourceError("file name does not name a Unicorn series", file=name, expected="NYSE_<series>.csv")
    return m.group("series").lower()


def _long_frame(rows: pl.DataFrame, provider: str | pl.Expr, series: str | pl.Expr, value: str) -> pl.DataFrame:
    return rows.select(
        (pl.lit(provider) if isinstance(provider, str) else provider).alias("provider"),
        (pl.lit(series) if isinstance(series, str) else series).alias("series"),
        pl.col("date").alias("session_date"),
        pl.col(value).cast(pl.Int64).alias("value"),
        "file",
        "line_no",
        "raw_text",
    )


def _nonneg_integral(rows: pl.DataFrame, cols: list[str]) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
    qs = []
    for c in cols:
        rows, q = quarantine_where(rows, pl.col(c) < 0, f"negative count in column {c!r}")
        qs.append(q)
        rows, q = quarantine_where(rows, pl.col(c) != pl.col(c).floor(), f"non-integer count in column {c!r}")
        qs.append(q)
    return rows, qs


def split_unicorn(content: bytes, file: str, *, bad_date_max_share: float = 0.01) -> SplitRows:
    """File-level checks and row split of one Unicorn series file (raises ``SourceError``)."""
    series = unicorn_series_from_name(file.rsplit("/", 1)[-1])
    text = decode(content, file)
    first = text.lstrip().splitlines()[0]
    if not _UNICORN_ROW.match(first.strip()):
        raise SourceError(
            "wrong header: Unicorn files have no header line",
            file=file,
            line=1,
            value=first[:120],
            expected="rows of 'YYYYMMDD, value'",
        )
    split = split_rows(text, file, ["date_text", "value"], None)
    check_dates(split.rows, "date_text", "%Y%m%d", file, bad_date_max_share)
    split.rows = split.rows.with_columns(pl.lit(series).alias("series"))
    return split


def parse_unicorn_files(splits: Sequence[SplitRows]) -> ParsedFile:
    """Row rules over split Unicorn files → long rows ``provider, series, session_date, value``
    (value as received: issues, or shares / thousands of shares for the volume series)."""
    split = concat_splits(splits)
    rows, q1 = parse_dates(split.rows, "date_text", "%Y%m%d", "date")
    rows, q2 = parse_numbers(rows, ["value"])
    rows, qs = _nonneg_integral(rows, ["value"])
    rows, q3 = quarantine_conflicting_duplicates(rows, ["date"], ["value"])
    out = _long_frame(rows, "unicorn", pl.col("series"), "value").sort("series", "session_date")
    quarantine = pl.concat([split.quarantine, q1, q2, *qs, q3]).sort("file", "line_no")
    return ParsedFile(rows=out, quarantine=quarantine)


def parse_unicorn(content: bytes, file: str) -> ParsedFile:
    """Parse one Unicorn series file (see :func:`parse_unicorn_files`)."""
    return parse_unicorn_files([split_unicorn(content, file)])


def parse_vendor_breadth(
    content: bytes,
    file: str,
    *,
    provider: str,
    date_column: str,
    adv_column: str,
    decl_column: str,
    date_format: str = "%Y-%m-%d",
    bad_date_max_share: float = 0.01,
) -> ParsedFile:
    """Parse a vendor breadth CSV into long rows (series ``advn`` and ``decln``).

    Read with a real CSV reader: quoted fields and headers, thousands separators inside quotes
    (``"1,600"``) and a byte-order mark load exactly like the plain file. Dates must parse with
    ``date_format`` (else the whole file is refused)."""
    text = decode(content, file)
    header = [h.strip() for h in split_csv_line(text.lstrip().splitlines()[0])]
    lowered = [h.lower() for h in header]
    missing = [c for c in (date_column, adv_column, decl_column) if c.lower() not in lowered]
    if missing:
        raise SourceError(
            "wrong header: missing column(s) " + ", ".join(missing),
            file=file,
            line=1,
            value=",".join(header)[:120],
            expected=f"a header with {date_column}, {adv_column}, {decl_column}",
        )
    columns = [f"c{i}" for i in range(len(header))]
    split = split_rows(text, file, columns, header, quoted=True)
    rename = {
        columns[lowered.index(c.lower())]: n
        for c, n in ((date_column, "date_text"), (adv_column, "adv"), (decl_column, "decl"))
    }
    rows = split.rows.rename(rename).with_columns(
        pl.col(c).str.replace_all(r"[,\s]", "") for c in ("adv", "decl")
    )  # "1,600" → 1600
    check_dates(rows, "date_text", date_format, file, bad_date_max_share)
    rows, q1 = parse_dates(rows, "date_text", date_format, "date")
    rows, q2 = parse_numbers(rows, ["adv", "decl"])
    rows, qs = _nonneg_integral(rows, ["adv", "decl"])
    rows, q3 = quarantine_conflicting_duplicates(rows, ["date"], ["adv", "decl"])
    out = pl.concat([_long_frame(rows, provider, "advn", "adv"), _long_frame(rows, provider, "decln", "decl")]).sort(
        "series", "session_date"
    )
    quarantine = pl.concat([split.quarantine, q1, q2, *qs, q3]).sort("file", "line_no")
    return ParsedFile(rows=out, quarantine=quarantine)
