"""Shared handling of delimited text files: file-level checks and row splitting.

File-level faults raise :class:`SourceError` (nothing of the file is written); row-level faults
become quarantine rows ``(line_no, raw_text, reason)`` so that one bad row never blocks the good
ones and is never silently dropped.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl

from alvh.core.errors import SourceError

QUARANTINE_SCHEMA = {
    "file": pl.String,
    "line_no": pl.Int64,
    "raw_text": pl.String,
    "reason": pl.String,
}


def empty_quarantine() -> pl.DataFrame:
    return pl.DataFrame(schema=QUARANTINE_SCHEMA)


@dataclass
class SplitRows:
    """Rows of a delimited file as strings, plus the rows that could not be split."""

    rows: pl.DataFrame  # columns: file, line_no, raw_text, then one String column per field
    quarantine: pl.DataFrame = field(default_factory=empty_quarantine)
    header_line: int = 0


def decode(content: bytes, file: str) -> str:
    """Decode bytes as UTF-8 (Latin-1 fallback) and reject content that is not a CSV file."""
    if not content or not content.strip():
        raise SourceError("file is empty", file=file, expected="a CSV file with data rows")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = content.decode("latin-1")
    head = text.lstrip()[:512].lower()
    if head.startswith("<") or "<html" in head or "<!doctype" in head:
        raise SourceError(
            "received an HTML page instead of CSV data",
            file=file,
            value=text.lstrip()[:60],
            expected="CSV text (is the URL right, or did the server return an error page?)",
        )
    return text


def split_rows(
    text: str,
    file: str,
    columns: Sequence[str],
    header: Sequence[str] | None,
    *,
    preamble_lines: int = 0,
    header_match: str = "exact",
    quoted: bool = False,
) -> SplitRows:
    """Split CSV text into string columns with 1-based line numbers.

    Parameters
    ----------
    columns
        Output column names, one per field.
    header
        The expected header fields (compared after stripping, case-insensitively), or ``None``
        for headerless files.
    preamble_lines
        Lines that may precede the header (e.g. CFE's disclaimer line); the header is searched
        for within the first ``preamble_lines + 1`` lines.
    header_match
        ``"exact"``: the header must equal ``header``; ``"prefix"``: only the first
        ``len(header)`` fields are compared (the rest are named by ``columns``).
    quoted
        Read each line with a real CSV reader (quoted fields such as ``"1,600"``, quoted
        headers) instead of splitting on commas; ``raw_text`` stays the line exactly as read.

    Raises
    ------
    SourceError
        Wrong or missing header, no data rows, or a last line cut off mid-row.
    """
    lines = text.splitlines()
    n_fields = len(columns)
    fields_of = split_csv_line if quoted else _split_plain
    start = 0
    header_line = 0
    if header is not None:
        want = [h.strip().lower() for h in header]
        found = None
        for i, line in enumerate(lines[: preamble_lines + 1]):
            got = [f.strip().lower() for f in fields_of(line)]
            cmp = got[: len(want)] if header_match == "prefix" else got
            if cmp == want:
                found = i
                break
        if found is None:
            raise SourceError(
                "wrong header",
                file=file,
                line=1 + preamble_lines if len(lines) > preamble_lines else 1,
                value=(lines[0] if lines else "")[:120],
                expected=",".join(header),
            )
        start = found + 1
        header_line = found + 1
    body = lines[start:]
    # Every real file ends with a newline: a body that does not, and whose last line has too
    # few fields or an empty last field, was cut off mid-row. (A cut inside the last number of a
    # complete row cannot be seen here; over HTTP the Content-Length check catches it.)
    if body and not text.endswith(("\n", "\r")):
        last = body[-1]
        parts = fields_of(last)
        if last.strip() and (len(parts) < n_fields or not parts[-1].strip()):
            raise SourceError(
                "file is truncated: the last line is cut off mid-row",
                file=file,
                line=start + len(body),
                value=last[:120],
                expected=f"{n_fields} fields",
            )
    line_nos: list[int] = []
    raws: list[str] = []
    cols: list[list[str]] = [[] for _ in range(n_fields)]
    bad_lines: list[int] = []
    bad_raw: list[str] = []
    bad_reason: list[str] = []
    for offset, line in enumerate(body):
        if not line.strip():
            continue
        parts = fields_of(line)
        line_no = start + offset + 1
        if len(parts) != n_fields:
            bad_lines.append(line_no)
            bad_raw.append(line)
            bad_reason.append(f"expected {n_fields} fields, found {len(parts)}")
            continue
        line_nos.append(line_no)
        raws.append(line)
        for j, p in enumerate(parts):
            cols[j].append(p.strip())
    if not line_nos and not bad_lines:
        raise SourceError("file has a header but no data rows", file=file, expected="data rows")
    data: dict[str, list[int] | list[str]] = {"line_no": line_nos, "raw_text": raws}
    for name, values in zip(columns, cols, strict=True):
        data[name] = values
    schema = {"line_no": pl.Int64, "raw_text": pl.String} | {c: pl.String for c in columns}
    rows = pl.DataFrame(data, schema=schema).with_columns(pl.lit(file).alias("file"))
    quarantine = pl.DataFrame(
        {
            "file": [file] * len(bad_lines),
            "line_no": bad_lines,
            "raw_text": bad_raw,
            "reason": bad_reason,
        },
        schema=QUARANTINE_SCHEMA,
    )
    return SplitRows(rows=rows, quarantine=quarantine, header_line=header_line)


def _split_plain(line: str) -> list[str]:
    return line.split(",")


def split_csv_line(line: str) -> list[str]:
    """The fields of one CSV line read by the ``csv`` module (quotes, embedded commas)."""
    return next(csv.reader([line]), [])


def check_dates(rows: pl.DataFrame, column: str, fmt: str, file: str, max_bad_share: float) -> None:
    """Refuse a whole file whose dates are not in its family's order ``fmt``.

    Raises ``SourceError`` when the format is month-first (``%m/…``) and any date's first
    field is above 12 (the file is day-first: parsing it row by row would silently swap day
    and month wherever both are ≤ 12), or when more than ``max_bad_share`` of the dates (and
    more than one) do not parse with ``fmt`` at all; a single stray bad date is left to the row
    rules (quarantine).
    """
    if rows.is_empty():
        return
    texts = rows[column]
    if fmt.startswith("%m"):
        first = texts.str.extract(r"^\s*(\d{1,2})\D", 1).cast(pl.Int64, strict=False)
        over = rows.filter((first > 12).fill_null(False))
        if not over.is_empty():
            raise SourceError(
                f"dates are not month-first: {over.height} of {rows.height} dates have a first field above 12; "
                "the whole file is refused (read day-first it would re-date rows silently)",
                file=file,
                line=int(over["line_no"][0]),
                value=str(over[column][0]),
                expected=fmt,
            )
    bad = rows.filter(texts.str.to_date(fmt, strict=False).is_null())
    if bad.height > max(1.0, max_bad_share * rows.height):  # one stray bad date is a row fault
        raise SourceError(
            f"{bad.height} of {rows.height} dates ({bad.height / rows.height:.1%}) do not parse as {fmt} "
            f"(at most {max_bad_share:.1%} may); the whole file is refused",
            file=file,
            line=int(bad["line_no"][0]),
            value=str(bad[column][0]),
            expected=fmt,
        )


def parse_numbers(
    rows: pl.DataFrame, numeric: Sequence[str], *, missing: Sequence[str] = ()
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Cast string columns to Float64; rows with an unparseable number, ``NaN`` or an infinity go
    to quarantine.

    A null string (a column the file does not have) stays null.

    ``missing`` lists the strings that mean "no value" (become null, not quarantined), e.g.
    FRED's ``.`` and empty fields.
    """
    casts = []
    bad_exprs = []
    for c in numeric:
        s = pl.col(c)
        is_missing = s.is_in(list(missing)).fill_null(False) if missing else pl.lit(False)
        parsed = pl.when(is_missing).then(None).otherwise(s).cast(pl.Float64, strict=False)
        casts.append(parsed.alias(c))
        bad_exprs.append(
            pl.when(parsed.is_null() & s.is_not_null() & ~is_missing)
            .then(pl.lit(f"unparseable number in column {c!r}: ") + s)
            .when(parsed.is_not_null() & ~parsed.is_finite())
            .then(pl.lit(f"not a finite number in column {c!r}: ") + s)
            .otherwise(None)
        )
    checked = rows.with_columns(pl.coalesce(*bad_exprs).alias("_reason")) if bad_exprs else rows
    bad = checked.filter(pl.col("_reason").is_not_null()) if bad_exprs else rows.clear()
    good = checked.filter(pl.col("_reason").is_null()).drop("_reason") if bad_exprs else rows
    quarantine = bad.select("file", "line_no", "raw_text", pl.col("_reason").alias("reason"))
    return good.with_columns(casts), quarantine


def quarantine_where(df: pl.DataFrame, condition: pl.Expr, reason: str | pl.Expr) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split ``df`` into rows that pass and quarantine rows where ``condition`` is true."""
    flagged = df.with_columns(condition.fill_null(False).alias("_bad"))
    bad = flagged.filter(pl.col("_bad"))
    reason_expr = reason if isinstance(reason, pl.Expr) else pl.lit(reason)
    quarantine = bad.select("file", "line_no", "raw_text", reason_expr.cast(pl.String).alias("reason"))
    return flagged.filter(~pl.col("_bad")).drop("_bad"), quarantine


def quarantine_conflicting_duplicates(
    df: pl.DataFrame, key: Sequence[str], values: Sequence[str]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Same key twice in one file (``key`` is within a file; ``file`` is added): identical rows
    collapse to one; rows that disagree are all quarantined (we cannot know which one is right)."""
    key = ["file", *key]
    dedup = df.unique(subset=[*key, *values], keep="first", maintain_order=True)
    n_versions = pl.len().over(key)
    bad = dedup.filter(n_versions > 1)
    good = dedup.filter(n_versions == 1)
    key_text = pl.concat_str([pl.col(k).cast(pl.String) for k in key[1:]], separator=" ")
    quarantine = bad.select(
        "file",
        "line_no",
        "raw_text",
        (pl.lit("the same key appears twice in the file with different values: ") + key_text).alias("reason"),
    )
    return good, quarantine


def parse_dates(rows: pl.DataFrame, column: str, fmt: str, out: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Parse a date column with an explicit format; unparseable dates go to quarantine."""
    parsed = rows.with_columns(pl.col(column).str.to_date(fmt, strict=False).alias(out))
    return quarantine_where(
        parsed,
        pl.col(out).is_null(),
        pl.lit(f"unparseable date in column {column!r} (expected {fmt}): ") + pl.col(column),
    )


def concat_splits(splits: Sequence[SplitRows]) -> SplitRows:
    """Stack the split rows of many files of one format, so the row rules run once."""
    if not splits:
        raise ValueError("no files to concatenate")
    return SplitRows(
        rows=pl.concat([s.rows for s in splits], how="diagonal_relaxed"),
        quarantine=pl.concat([s.quarantine for s in splits]),
    )
