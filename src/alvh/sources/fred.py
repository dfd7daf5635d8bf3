"""FRED series CSV (``fredgraph.csv?id=DTB3``; file ``DTB3.csv``).

Header ``observation_date,<ID>`` (current) or ``DATE,<ID>`` (older downloads); values in percent
per annum; ``.`` or an empty field means no observation (holiday) and is skipped, not quarantined.
The plausible range of rates is a setting (``bounds_rate``), applied by ``alvh.sources.plausible``.
"""

from __future__ import annotations

import polars as pl

from alvh.core.errors import SourceError
from alvh.sources.base import ParsedFile
from alvh.sources.text import (
    check_dates,
    decode,
    parse_dates,
    parse_numbers,
    quarantine_conflicting_duplicates,
    split_rows,
)


def parse_fred(content: bytes, file: str, series: str, *, bad_date_max_share: float = 0.01) -> ParsedFile:
    """Parse one FRED series into ``series, date, value, line_no`` (value in percent)."""
    text = decode(content, file)
    first = [f.strip() for f in text.lstrip().splitlines()[0].split(",")]
    if len(first) != 2 or first[0].lower() not in ("observation_date", "date") or first[1].upper() != series.upper():
        raise SourceError(
            "wrong header",
            file=file,
            line=1,
            value=",".join(first)[:120],
            expected=f"observation_date,{series}",
        )
    split = split_rows(text, file, ["date_text", "value"], first)
    check_dates(split.rows, "date_text", "%Y-%m-%d", file, bad_date_max_share)
    rows, q1 = parse_dates(split.rows, "date_text", "%Y-%m-%d", "date")
    rows, q2 = parse_numbers(rows, ["value"], missing=[".", ""])
    missing = rows.filter(pl.col("value").is_null()).height
    rows = rows.filter(pl.col("value").is_not_null())
    rows, q4 = quarantine_conflicting_duplicates(rows, ["date"], ["value"])
    out = rows.select(pl.lit(series.upper()).alias("series"), "date", "value", "file", "line_no", "raw_text")
    return ParsedFile(
        rows=out.sort("date"),
        quarantine=pl.concat([split.quarantine, q1, q2, q4]).sort("file", "line_no"),
        notes=[f"{missing} rows without a value skipped"],
    )
