"""Cboe DataShop "Option EOD Summary" files: real end-of-day option quotes.

Two layouts, told apart by the header (``QUOTES_HEADER``, 26 columns; ``CALCS_HEADER``, 34: the
same plus the 15:45 calcs ``implied_underlying_price_1545 … rho_1545``). A delivery is a plain CSV
(LF or CRLF), a ZIP of CSVs, or Cboe's package: a ZIP holding a description ``.txt`` and one ZIP
per layout, each holding the CSV. :func:`expand_file` opens the containers (recursively) into one
member file per CSV, named ``outer.zip::inner.zip::inner.csv``; every other member (the description)
is listed as ignored. A file or member whose header is neither layout is refused whole.

Row rules (quarantine, with the member path, the line number and the line as read): a line that
does not split into the layout's fields, an unparseable number or date, a count that is not a
whole number ≥ 0, a negative price, a strike ≤ 0, an option type other than C/P, an expiration
before the quote date, a crossed quote (bid > ask while ask > 0, at the close or at 15:45), a
root alvh does not keep (VIX, VIXW: ^VIX; SPX, SPXW: ^SPX) or one quoted on another underlying,
and the same option twice in one batch (a copy, or two versions: all of them then). Kept: zero
bid and ask (no quote, e.g. an expiry on its last day) — a row is two-sided when bid > 0,
ask > 0 and ask ≥ bid (staging marks it).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import polars as pl

from alvh.core.errors import SourceError
from alvh.schemas.raw import DATASHOP_QUOTES_HEADER
from alvh.sources.base import Family, FetchedFile, FileRef, ParsedFile
from alvh.sources.text import (
    SplitRows,
    check_dates,
    concat_splits,
    decode,
    parse_numbers,
    quarantine_where,
    split_csv_line,
    split_rows,
)

FAMILY: Family = "option_eod"
QUOTES_HEADER = DATASHOP_QUOTES_HEADER  # the layout without calcs
CALCS = (
    "implied_underlying_price_1545",
    "active_underlying_price_1545",
    "implied_volatility_1545",
    "delta_1545",
    "gamma_1545",
    "theta_1545",
    "vega_1545",
    "rho_1545",
)
_AT = QUOTES_HEADER.index("underlying_ask_1545") + 1
CALCS_HEADER = (*QUOTES_HEADER[:_AT], *CALCS, *QUOTES_HEADER[_AT:])
LAYOUTS: dict[str, tuple[str, ...]] = {"calcs": CALCS_HEADER, "quotes": QUOTES_HEADER}

KEY = ("layout", "quote_date", "root", "expiration", "strike", "option_type")
PRICES = (
    "open",
    "high",
    "low",
    "close",
    "bid_1545",
    "ask_1545",
    "underlying_bid_1545",
    "underlying_ask_1545",
    "bid_eod",
    "ask_eod",
    "underlying_bid_eod",
    "underlying_ask_eod",
    "vwap",
)
COUNTS = ("trade_volume", "bid_size_1545", "ask_size_1545", "bid_size_eod", "ask_size_eod", "open_interest")
CALC_PRICES = ("implied_underlying_price_1545", "active_underlying_price_1545", "implied_volatility_1545")
# roots alvh keeps and the underlying each is quoted on (VIXW: the weekly VIX options)
ROOTS: dict[str, str] = {"VIX": "^VIX", "VIXW": "^VIX", "SPX": "^SPX", "SPXW": "^SPX"}
DATE_FORMAT = "%Y-%m-%d"
MEMBER_SEP = "::"  # outer.zip::inner.zip::inner.csv (no shell quoting needed, unlike "!")
MAX_DEPTH = 3  # ZIPs inside ZIPs: Cboe's package is 2 deep
MAX_MEMBER_BYTES = 2 * 1024**3  # a member larger than this (uncompressed) is refused, not read
_SKIPPED_MEMBERS = ("__MACOSX/",)


@dataclass
class Expanded:
    """The CSV files a delivered file consists of, and the members left out (with why)."""

    members: list[FetchedFile]
    ignored: list[str] = field(default_factory=list)


def _is_zip(content: bytes) -> bool:
    return content[:4] in (b"PK\x03\x04", b"PK\x05\x06")


def expand_file(content: bytes, locator: str, name: str) -> Expanded:
    """The CSV member files of a delivered file: the file itself when it is a CSV; every
    ``.csv`` inside a ZIP, recursively through inner ZIPs (locator and name extended with
    ``::member``); other members listed in ``ignored`` as ``name::member (why)``.

    Raises ``SourceError`` for a ZIP that cannot be read, is nested too deep, holds a member
    too large, or holds no CSV at all.
    """
    if not _is_zip(content):
        return Expanded([FetchedFile(FileRef(FAMILY, name, locator), content)])
    out = Expanded([])
    _expand_zip(content, locator, name, out, depth=1)
    if not out.members:
        raise SourceError(
            "the ZIP holds no CSV file" + (f" (only {', '.join(out.ignored)})" if out.ignored else " (it is empty)"),
            file=locator,
            expected="a Cboe DataShop Option EOD Summary CSV, a ZIP of them, or Cboe's ZIP of ZIPs",
        )
    return out


def _expand_zip(content: bytes, locator: str, name: str, out: Expanded, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise SourceError(f"ZIPs nested more than {MAX_DEPTH} deep", file=locator, expected="Cboe's package")
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, OSError) as exc:
        raise SourceError(f"not a readable ZIP archive ({exc})", file=locator) from None
    with archive:
        for info in archive.infolist():
            member = info.filename
            if info.is_dir():
                continue
            where, label = f"{locator}{MEMBER_SEP}{member}", f"{name}{MEMBER_SEP}{member}"
            base = member.rsplit("/", 1)[-1]
            if member.startswith(_SKIPPED_MEMBERS) or base.startswith("._"):
                out.ignored.append(f"{label} (a macOS resource file)")
                continue
            lower = base.lower()
            if not lower.endswith((".csv", ".zip")):
                out.ignored.append(f"{label} (not a CSV: {'a description' if lower.endswith('.txt') else 'other'})")
                continue
            if info.file_size > MAX_MEMBER_BYTES:
                raise SourceError(
                    f"member of {info.file_size:,} bytes uncompressed, more than {MAX_MEMBER_BYTES:,}",
                    file=where,
                    expected="one day's or one month's option EOD file",
                )
            try:
                data = archive.read(info)
            except (zipfile.BadZipFile, RuntimeError, OSError, NotImplementedError) as exc:
                raise SourceError(f"cannot read this ZIP member ({exc})", file=where) from None
            if lower.endswith(".zip"):
                _expand_zip(data, where, label, out, depth + 1)
            else:
                out.members.append(FetchedFile(FileRef(FAMILY, label, where), data))


def detect_layout(first_line: str, file: str) -> str:
    """``calcs`` or ``quotes`` from a header line; any other header refuses the file."""
    got = tuple(f.strip().lower() for f in split_csv_line(first_line))
    for layout, header in LAYOUTS.items():
        if got == header:
            return layout
    missing = [c for c in QUOTES_HEADER if c not in got]
    extra = [c[:40] for c in got if c not in CALCS_HEADER]
    detail = []
    if len(missing) == len(QUOTES_HEADER):
        detail.append("none of its columns is a DataShop column")
    else:
        if missing:
            detail.append("missing " + ", ".join(missing[:6]) + (" …" if len(missing) > 6 else ""))
        if extra:
            detail.append("unexpected " + ", ".join(extra[:6]) + (" …" if len(extra) > 6 else ""))
        if not detail:
            detail.append("columns out of order, or only some of the calcs columns")
    raise SourceError(
        f"wrong header: not a Cboe DataShop Option EOD Summary file ({'; '.join(detail)})",
        file=file,
        line=1,
        value=first_line[:120],
        expected=f"the Quotes layout ({len(QUOTES_HEADER)} columns: {','.join(QUOTES_HEADER[:6])},…,"
        f"open_interest,delivery_code) or the Calcs layout ({len(CALCS_HEADER)} columns, with "
        f"{CALCS[0]} … {CALCS[-1]} after underlying_ask_1545)",
    )


def split_option_eod(content: bytes, file: str, *, bad_date_max_share: float = 0.01) -> SplitRows:
    """File-level checks and row split of one CSV member (raises ``SourceError``): the header
    must be one of the two layouts and the quote dates ISO. Every data line becomes a row of
    strings (the Quotes layout's calcs columns null) or a quarantine row."""
    text = decode(content, file)
    lines = text.splitlines()
    layout = detect_layout(lines[0] if lines else "", file)
    header = LAYOUTS[layout]
    split = split_rows(text, file, list(header), list(header), quoted=True)
    check_dates(split.rows, "quote_date", DATE_FORMAT, file, bad_date_max_share)
    split.rows = split.rows.with_columns(
        pl.lit(layout).alias("layout"),
        *[pl.lit(None, dtype=pl.String).alias(c) for c in CALCS if c not in header],
    )
    return split


def _key_text() -> pl.Expr:
    return pl.concat_str(
        [pl.col(c).cast(pl.String) for c in ("quote_date", "root", "expiration", "strike", "option_type")],
        separator=" ",
    )


def _duplicates(rows: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The same option (layout, day, root, expiry, strike, type) more than once in a batch: a
    copy is quarantined naming the line kept; versions that differ are all quarantined (which is
    right is not ours to guess)."""
    values = [c for c in rows.columns if c not in (*KEY, "file", "line_no", "raw_text", "_order")]
    key = list(KEY)
    scored = rows.with_row_index("_order").with_columns(
        pl.len().over(key).alias("_n"),
        pl.struct(values).n_unique().over(key).alias("_versions"),
        pl.col("file").first().over(key).alias("_first_file"),
        pl.col("line_no").first().over(key).alias("_first_line"),
        pl.col("_order").min().over(key).alias("_first"),
    )
    conflicting = scored.filter((pl.col("_n") > 1) & (pl.col("_versions") > 1))
    copies = scored.filter((pl.col("_n") > 1) & (pl.col("_versions") == 1) & (pl.col("_order") != pl.col("_first")))
    good = scored.filter(
        (pl.col("_n") == 1) | ((pl.col("_versions") == 1) & (pl.col("_order") == pl.col("_first")))
    ).drop("_order", "_n", "_versions", "_first_file", "_first_line", "_first")
    q = pl.concat(
        [
            conflicting.select(
                "file",
                "line_no",
                "raw_text",
                (pl.lit("the same option appears more than once with different values: ") + _key_text()).alias(
                    "reason"
                ),
            ),
            copies.select(
                "file",
                "line_no",
                "raw_text",
                pl.format(
                    "the same option again (a copy of {} line {}): {}", "_first_file", "_first_line", _key_text()
                ).alias("reason"),
            ),
        ]
    )
    return good, q


def parse_option_eod_files(splits: Sequence[SplitRows]) -> ParsedFile:
    """Apply the row rules to split CSV members (one batch).

    Returns ``layout, underlying_symbol, quote_date, root, expiration, strike, option_type``, the
    prices (index points), counts (Int64), the calcs (null in the Quotes layout), ``delivery_code``,
    ``file, line_no, raw_text``.
    """
    split = concat_splits(splits)
    quarantines = [split.quarantine]
    rows = split.rows.with_columns(
        pl.col("quote_date").str.to_date(DATE_FORMAT, strict=False).alias("_qd"),
        pl.col("expiration").str.to_date(DATE_FORMAT, strict=False).alias("_exp"),
    )
    for text_col, parsed in (("quote_date", "_qd"), ("expiration", "_exp")):
        rows, q = quarantine_where(
            rows,
            pl.col(parsed).is_null(),
            pl.lit(f"unparseable date in column {text_col!r} (expected {DATE_FORMAT}): ") + pl.col(text_col),
        )
        quarantines.append(q)
    rows = rows.with_columns(pl.col("_qd").alias("quote_date"), pl.col("_exp").alias("expiration")).drop("_qd", "_exp")
    rows, q = parse_numbers(rows, ["strike", *PRICES, *COUNTS])
    quarantines.append(q)
    rows, q = parse_numbers(rows, list(CALCS), missing=("",))  # an empty calc is "not computed", not an error
    quarantines.append(q)
    rows = rows.with_columns(
        pl.col("root").str.strip_chars(),
        pl.col("underlying_symbol").str.strip_chars(),
        pl.col("option_type").str.strip_chars(),
        pl.when(pl.col("delivery_code").str.strip_chars() == "")
        .then(None)
        .otherwise(pl.col("delivery_code").str.strip_chars())
        .alias("delivery_code"),
    )
    for c in COUNTS:
        rows, q = quarantine_where(
            rows,
            (pl.col(c) < 0) | (pl.col(c) != pl.col(c).floor()),
            pl.format(f"not a whole number ≥ 0 in column {c!r}: {{}}", pl.col(c)),
        )
        quarantines.append(q)
    known = list(ROOTS)
    rows, q = quarantine_where(
        rows,
        ~pl.col("root").is_in(known),
        pl.format("unknown root {}: alvh keeps {}", pl.col("root"), pl.lit(", ".join(known))),
    )
    quarantines.append(q)
    underlying = pl.col("root").replace_strict(ROOTS, default=None)
    rows, q = quarantine_where(
        rows,
        pl.col("underlying_symbol") != underlying,
        pl.format("root {} is quoted on {}, not on {}", pl.col("root"), underlying, pl.col("underlying_symbol")),
    )
    quarantines.append(q)
    rows, q = quarantine_where(
        rows,
        ~pl.col("option_type").is_in(["C", "P"]),
        pl.lit("option_type must be C or P: ") + pl.col("option_type"),
    )
    quarantines.append(q)
    rows, q = quarantine_where(rows, pl.col("strike") <= 0, pl.format("strike {} is not above 0", pl.col("strike")))
    quarantines.append(q)
    negative = [pl.when(pl.col(c) < 0).then(pl.lit(c)) for c in (*PRICES, *CALC_PRICES)]
    rows, q = quarantine_where(
        rows,
        pl.any_horizontal([pl.col(c) < 0 for c in (*PRICES, *CALC_PRICES)]),
        pl.lit("negative price in column ") + pl.coalesce(negative),
    )
    quarantines.append(q)
    for when in ("eod", "1545"):
        bid, ask = pl.col(f"bid_{when}"), pl.col(f"ask_{when}")
        rows, q = quarantine_where(
            rows,
            (bid > ask) & (ask > 0),
            pl.format(f"crossed quote: bid_{when} {{}} > ask_{when} {{}}", bid, ask),
        )
        quarantines.append(q)
    rows, q = quarantine_where(
        rows,
        pl.col("expiration") < pl.col("quote_date"),
        pl.format("expiration {} is before the quote date {}", pl.col("expiration"), pl.col("quote_date")),
    )
    quarantines.append(q)
    rows = rows.with_columns([pl.col(c).cast(pl.Int64) for c in COUNTS])
    columns = [*KEY, "underlying_symbol", *PRICES[:4], *COUNTS, *PRICES[4:], *CALCS, "delivery_code"]
    rows = rows.select(*columns, "file", "line_no", "raw_text")
    rows, q = _duplicates(rows)
    quarantines.append(q)
    return ParsedFile(
        rows=rows.sort("file", "line_no"),
        quarantine=pl.concat(quarantines).sort("file", "line_no"),
    )


def parse_option_eod(content: bytes, file: str) -> ParsedFile:
    """Parse one CSV member (see :func:`parse_option_eod_files`)."""
    return parse_option_eod_files([split_option_eod(content, file)])


def quote_dates(content: bytes) -> list[date]:
    """The quote dates a CSV member covers (a quick read of that one column; dates that do not
    parse are left out — the row rules quarantine them)."""
    try:
        frame = pl.read_csv(io.BytesIO(content), columns=["quote_date"], infer_schema=False, truncate_ragged_lines=True)
    except pl.exceptions.PolarsError:
        return []
    parsed = frame["quote_date"].str.strip_chars().str.to_date(DATE_FORMAT, strict=False).drop_nulls().unique()
    return sorted(parsed.to_list())
