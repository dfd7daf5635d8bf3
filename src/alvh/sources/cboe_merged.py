"""A merged file of Cboe index closes (``volatility.csv``: one column per index, ISO dates).

Format (PROVENANCE §15): header ``date,VIX1D,OVX,VIX9D,VIX,…,VVIX,…,VXTH,…``, dates
``YYYY-MM-DD``, closes in index points, an empty cell where an index has no value that day. It is
**derived** (a repository's fetcher merges Cboe's ``<SYM>_History.csv`` closes); it is read here
only for the indices Cboe's own files in the shared folder lack (VXTH).
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import polars as pl

from alvh.core.errors import SourceError

DATE_COLUMN = "date"
DATE_FORMAT = "%Y-%m-%d"


def parse_merged_closes(content: bytes, file: str, symbols: Sequence[str]) -> pl.DataFrame:
    """The closes of ``symbols`` from a merged file's bytes.

    Returns ``date`` (``pl.Date``) and one ``Float64`` column per symbol (null where the file has
    no value), sorted by date; rows where every requested symbol is empty are dropped. Raises
    ``SourceError`` when the header lacks ``date`` or a requested symbol, when a date is not ISO,
    or when a date repeats.
    """
    try:
        header = content.split(b"\n", 1)[0].decode("utf-8-sig").strip().split(",")
    except UnicodeDecodeError as exc:
        raise SourceError("not a UTF-8 text file", file=file) from exc
    missing = [c for c in (DATE_COLUMN, *symbols) if c not in header]
    if missing:
        raise SourceError(
            f"header lacks {', '.join(missing)}", file=file, line=1, expected="date,<SYM>,… (a merged Cboe file)"
        )
    raw = pl.read_csv(
        io.BytesIO(content),
        columns=[DATE_COLUMN, *symbols],
        schema_overrides={DATE_COLUMN: pl.String, **{s: pl.Float64 for s in symbols}},
    )
    out = raw.with_columns(pl.col(DATE_COLUMN).str.to_date(DATE_FORMAT, strict=False))
    bad = out.filter(pl.col(DATE_COLUMN).is_null())
    if bad.height:
        first = raw.filter(out[DATE_COLUMN].is_null())[DATE_COLUMN][0]
        raise SourceError(
            f"{bad.height} unparseable date(s)", file=file, column=DATE_COLUMN, value=first, expected="YYYY-MM-DD"
        )
    if out[DATE_COLUMN].is_duplicated().any():
        dup = out.filter(out[DATE_COLUMN].is_duplicated())[DATE_COLUMN][0]
        raise SourceError(
            "a date appears twice", file=file, column=DATE_COLUMN, value=str(dup), expected="one row per date"
        )
    return out.filter(pl.any_horizontal([pl.col(s).is_not_null() for s in symbols])).sort(DATE_COLUMN)
