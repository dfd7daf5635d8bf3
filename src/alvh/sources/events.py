"""Macro event calendars (family ``events``): which release of which period came out when.

Two layouts, told apart by the header:

- ``macro_events.csv`` (mslade50/New_Seasonals): ``date,event,detail,ref_period,time_et,source``,
  ISO dates, one row per release (CPI, PPI, NFP, FOMC decisions, intermeeting actions and minutes,
  Jackson Hole, elections) plus rows the file *computes* (``opex``, ``quad_witching``,
  ``vix_expiry``): those are not facts (its VIX expiries are wrong at least once, 2024-06-19 for
  2024-06-18) and alvh has its own expiration calendar, so they are skipped — counted in the
  file's notes, never loaded, never quarantined.
- ``fomc_dates.csv`` (Bauer, Lakdawala & Mueller replication data): ``Date,MP1,Unscheduled``,
  month-first dates, ``MP1`` the fed-funds-futures surprise of the announcement (percentage
  points; ``1.00E+10`` means missing → null), ``Unscheduled`` 1 for an intermeeting action.

Each row is keyed by what it is a release *of* (``period``): the reference month of a BLS release
(``ref_period`` "December 2025" → ``2025-12``), the month of a scheduled FOMC meeting, the meeting
month of its minutes, the date of an intermeeting action, the year of Jackson Hole or an election.
A date that moves is then a revision of a stored value (the revision guard sees it), never a new
row beside the old one.

Row rules (quarantine, with the file, line number, the line as read and the reason): a line that
does not split into the layout's fields, an unparseable date, an unknown event, a ``time_et`` that
is not ``HH:MM``, a BLS release without a parseable ``ref_period`` or whose ``ref_period`` is not
before its release (the 20 January rows of 2000–2007 dated one year early), minutes that do not
name a meeting before them, an ``Unscheduled`` other than 0/1, an unparseable ``MP1``, and the same
release of one period twice in a batch (a copy: quarantined naming the line kept; two versions,
e.g. two dates: all of them).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from alvh.core.errors import SourceError
from alvh.schemas.raw import COMPUTED_EVENTS, MACRO_EVENTS
from alvh.sources.base import Family, ParsedFile
from alvh.sources.text import (
    QUARANTINE_SCHEMA,
    SplitRows,
    check_dates,
    concat_splits,
    decode,
    parse_numbers,
    quarantine_where,
    split_csv_line,
    split_rows,
)

FAMILY: Family = "events"
MACRO_FILE = "macro_events.csv"
FOMC_FILE = "fomc_dates.csv"
MACRO_HEADER = ("date", "event", "detail", "ref_period", "time_et", "source")
FOMC_HEADER = ("date", "mp1", "unscheduled")
LAYOUTS: dict[str, tuple[str, ...]] = {"macro_events": MACRO_HEADER, "fomc_dates": FOMC_HEADER}
DATE_FORMATS = {"macro_events": "%Y-%m-%d", "fomc_dates": "%m/%d/%Y"}
BLS_EVENTS = ("cpi", "ppi", "nfp")  # monthly releases: ref_period is the month they are of
MP1_MISSING = 1.0e10  # the replication data's sentinel for "no surprise measured"
ROW_COLUMNS = (
    "calendar",
    "event",
    "period",
    "release_date",
    "time_et",
    "ref_period",
    "detail",
    "source_page",
    "mp1",
)
VALUE_COLUMNS = ("release_date", "time_et", "ref_period", "detail", "source_page", "mp1")


def detect_layout(first_line: str, file: str) -> str:
    """``macro_events`` or ``fomc_dates`` from a header line; any other header refuses the file."""
    got = tuple(f.strip().lower() for f in split_csv_line(first_line))
    for layout, header in LAYOUTS.items():
        if got == header:
            return layout
    raise SourceError(
        "wrong header: not a macro event calendar",
        file=file,
        line=1,
        value=first_line[:120],
        expected=f"{','.join(MACRO_HEADER)} (macro_events.csv) or Date,MP1,Unscheduled (fomc_dates.csv)",
    )


def split_events(content: bytes, file: str, *, bad_date_max_share: float = 0.01) -> SplitRows:
    """File-level checks and row split of one calendar (raises ``SourceError``): a known header
    and dates in the layout's order (month-first for ``fomc_dates``: a day-first file is refused
    whole). Rows carry ``layout``."""
    text = decode(content, file)
    lines = text.splitlines()
    layout = detect_layout(lines[0] if lines else "", file)
    header = LAYOUTS[layout]
    split = split_rows(text, file, list(header), list(header), quoted=True)
    check_dates(split.rows, "date", DATE_FORMATS[layout], file, bad_date_max_share)
    split.rows = split.rows.with_columns(pl.lit(layout).alias("layout"))
    return split


def _empty_rows() -> pl.DataFrame:
    schema = {
        "calendar": pl.String,
        "event": pl.String,
        "period": pl.String,
        "release_date": pl.Date,
        "time_et": pl.String,
        "ref_period": pl.String,
        "detail": pl.String,
        "source_page": pl.String,
        "mp1": pl.Float64,
        "file": pl.String,
        "line_no": pl.Int64,
        "raw_text": pl.String,
    }
    return pl.DataFrame(schema=schema)


def _blank_to_null(c: str) -> pl.Expr:
    s = pl.col(c).str.strip_chars()
    return pl.when(s == "").then(None).otherwise(s).alias(c)


def _macro_rows(rows: pl.DataFrame) -> tuple[pl.DataFrame, list[pl.DataFrame], dict[str, list[str]]]:
    """Row rules of ``macro_events`` rows → (rows in ``ROW_COLUMNS``, quarantines, notes by file)."""
    quarantines: list[pl.DataFrame] = []
    rows = rows.with_columns(pl.col("event").str.strip_chars(), *(_blank_to_null(c) for c in MACRO_HEADER[2:]))
    computed = rows.filter(pl.col("event").is_in(list(COMPUTED_EVENTS)))
    notes: dict[str, list[str]] = {}
    for (file,), grp in computed.group_by("file", maintain_order=True):
        counts = dict(grp.group_by("event").len().iter_rows())
        parts = ", ".join(f"{e} {counts[e]}" for e in COMPUTED_EVENTS if e in counts)
        notes[str(file)] = [
            f"{grp.height} computed rows skipped ({parts}): dates the file computes, not facts "
            "(alvh keeps its own expiration calendar)"
        ]
    rows = rows.filter(~pl.col("event").is_in(list(COMPUTED_EVENTS)))
    rows = rows.with_columns(pl.col("date").str.strip_chars().str.to_date("%Y-%m-%d", strict=False).alias("_d"))
    rows, q = quarantine_where(
        rows, pl.col("_d").is_null(), pl.lit("unparseable date in column 'date' (expected %Y-%m-%d): ") + pl.col("date")
    )
    quarantines.append(q)
    rows, q = quarantine_where(
        rows,
        ~pl.col("event").is_in(list(MACRO_EVENTS)),
        pl.format(
            "unknown event {}: alvh knows {} (and skips the computed {})",
            pl.col("event"),
            pl.lit(", ".join(MACRO_EVENTS)),
            pl.lit(", ".join(COMPUTED_EVENTS)),
        ),
    )
    quarantines.append(q)
    rows, q = quarantine_where(
        rows,
        pl.col("time_et").is_not_null() & ~pl.col("time_et").str.contains(r"^([01]\d|2[0-3]):[0-5]\d$"),
        pl.lit("time_et is not HH:MM (24-hour, New York): ") + pl.col("time_et"),
    )
    quarantines.append(q)
    bls = pl.col("event").is_in(list(BLS_EVENTS))
    rows = rows.with_columns(pl.col("ref_period").str.to_date("%B %Y", strict=False).alias("_ref"))
    rows, q = quarantine_where(
        rows,
        bls & pl.col("_ref").is_null(),
        pl.format(
            "a {} release needs ref_period as a month, e.g. 'December 2025': {}",
            pl.col("event"),
            pl.col("ref_period").fill_null("(empty)"),
        ),
    )
    quarantines.append(q)
    rows, q = quarantine_where(
        rows,
        bls & (pl.col("_ref") >= pl.col("_d").dt.truncate("1mo")),
        pl.format(
            "ref_period {} is not before its release on {}: a release of a month comes after the month "
            "(this row is dated a year early, or its period is wrong)",
            pl.col("ref_period"),
            pl.col("_d"),
        ),
    )
    quarantines.append(q)
    minutes = pl.col("event") == "fomc_minutes"
    rows = rows.with_columns(
        pl.col("detail").str.extract(r"(\d{4}-\d{2}-\d{2})", 1).str.to_date("%Y-%m-%d", strict=False).alias("_mtg")
    )
    rows, q = quarantine_where(
        rows,
        minutes & (pl.col("_mtg").is_null() | (pl.col("_mtg") >= pl.col("_d"))),
        pl.format(
            "minutes must name a meeting before their release on {} (detail 'minutes of YYYY-MM-DD meeting'): {}",
            pl.col("_d"),
            pl.col("detail").fill_null("(empty)"),
        ),
    )
    quarantines.append(q)
    ev = pl.col("event")
    period = (
        pl.when(bls)
        .then(pl.col("_ref").dt.strftime("%Y-%m"))
        .when(ev == "fomc_decision")
        .then(pl.col("_d").dt.strftime("%Y-%m"))
        .when(minutes)
        .then(pl.col("_mtg").dt.strftime("%Y-%m"))
        .when(ev == "fomc_intermeeting")
        .then(pl.col("_d").dt.strftime("%Y-%m-%d"))
        .otherwise(pl.col("_d").dt.strftime("%Y"))  # jackson_hole, election: one a year
    )
    out = rows.select(
        pl.lit("macro_events").alias("calendar"),
        "event",
        period.alias("period"),
        pl.col("_d").alias("release_date"),
        "time_et",
        "ref_period",
        "detail",
        pl.col("source").alias("source_page"),
        pl.lit(None, dtype=pl.Float64).alias("mp1"),
        "file",
        "line_no",
        "raw_text",
    )
    return out, quarantines, notes


def _fomc_rows(rows: pl.DataFrame) -> tuple[pl.DataFrame, list[pl.DataFrame], dict[str, list[str]]]:
    """Row rules of ``fomc_dates`` rows → (rows in ``ROW_COLUMNS``, quarantines, notes by file)."""
    quarantines: list[pl.DataFrame] = []
    rows = rows.with_columns(
        pl.col("date").str.strip_chars().str.to_date("%m/%d/%Y", strict=False).alias("_d"),
        pl.col("unscheduled").str.strip_chars(),
    )
    rows, q = quarantine_where(
        rows, pl.col("_d").is_null(), pl.lit("unparseable date in column 'Date' (expected %m/%d/%Y): ") + pl.col("date")
    )
    quarantines.append(q)
    rows, q = parse_numbers(rows, ["mp1"])
    quarantines.append(q)
    rows, q = quarantine_where(
        rows,
        ~pl.col("unscheduled").is_in(["0", "1"]),
        pl.lit("Unscheduled must be 0 or 1: ") + pl.col("unscheduled"),
    )
    quarantines.append(q)
    sentinel = pl.col("mp1") == MP1_MISSING
    notes: dict[str, list[str]] = {}
    for (file,), grp in rows.filter(sentinel).group_by("file", maintain_order=True):
        notes[str(file)] = [f"{grp.height} rows with MP1 = 1.00E+10 (missing) loaded with a null surprise"]
    unscheduled = pl.col("unscheduled") == "1"
    out = rows.select(
        pl.lit("fomc_dates").alias("calendar"),
        pl.when(unscheduled).then(pl.lit("fomc_intermeeting")).otherwise(pl.lit("fomc_decision")).alias("event"),
        pl.when(unscheduled)
        .then(pl.col("_d").dt.strftime("%Y-%m-%d"))
        .otherwise(pl.col("_d").dt.strftime("%Y-%m"))
        .alias("period"),
        pl.col("_d").alias("release_date"),
        pl.lit(None, dtype=pl.String).alias("time_et"),
        pl.lit(None, dtype=pl.String).alias("ref_period"),
        pl.lit(None, dtype=pl.String).alias("detail"),
        pl.lit(None, dtype=pl.String).alias("source_page"),
        pl.when(sentinel).then(None).otherwise(pl.col("mp1")).alias("mp1"),
        "file",
        "line_no",
        "raw_text",
    )
    return out, quarantines, notes


def _duplicates(rows: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The same release (calendar, event, period) more than once in a batch: a copy is quarantined
    naming the line kept; versions that differ (two dates for one period) are all quarantined,
    each naming the others — which one is right is not ours to guess."""
    key = ["calendar", "event", "period"]
    scored = rows.with_row_index("_order").with_columns(
        pl.len().over(key).alias("_n"),
        pl.struct(list(VALUE_COLUMNS)).n_unique().over(key).alias("_versions"),
        pl.col("_order").min().over(key).alias("_first"),
        pl.col("file").first().over(key).alias("_first_file"),
        pl.col("line_no").first().over(key).alias("_first_line"),
        pl.format("{} (line {})", pl.col("release_date"), pl.col("line_no"))
        .implode()
        .over(key)
        .list.join(", ")
        .alias("_all"),
    )
    conflicting = scored.filter((pl.col("_n") > 1) & (pl.col("_versions") > 1))
    copies = scored.filter((pl.col("_n") > 1) & (pl.col("_versions") == 1) & (pl.col("_order") != pl.col("_first")))
    good = scored.filter((pl.col("_n") == 1) | ((pl.col("_versions") == 1) & (pl.col("_order") == pl.col("_first"))))
    what = pl.format("{} {}", pl.col("event"), pl.col("period"))
    q = pl.concat(
        [
            conflicting.select(
                "file",
                "line_no",
                "raw_text",
                pl.format(
                    "the same release appears more than once with different values: {} on {}", what, "_all"
                ).alias("reason"),
            ),
            copies.select(
                "file",
                "line_no",
                "raw_text",
                pl.format(
                    "the same release again (a copy of {} line {}): {}", "_first_file", "_first_line", what
                ).alias("reason"),
            ),
        ]
    )
    return good.select(*ROW_COLUMNS, "file", "line_no", "raw_text"), q


def parse_events_files(splits: Sequence[SplitRows]) -> ParsedFile:
    """Apply the row rules to split calendars (one batch): rows ``calendar, event, period,
    release_date, time_et, ref_period, detail, source_page, mp1, file, line_no, raw_text``; the
    file's notes (computed rows skipped, missing MP1) in ``file_notes``."""
    split = concat_splits(splits)
    parts: list[pl.DataFrame] = []
    quarantines: list[pl.DataFrame] = [split.quarantine]
    notes: dict[str, list[str]] = {}
    for layout, rule in (("macro_events", _macro_rows), ("fomc_dates", _fomc_rows)):
        rows = split.rows.filter(pl.col("layout") == layout)
        if rows.is_empty():
            continue
        out, qs, n = rule(rows)
        parts.append(out)
        quarantines += qs
        for file, lines in n.items():
            notes.setdefault(file, []).extend(lines)
    rows = pl.concat(parts) if parts else _empty_rows()
    rows, q = _duplicates(rows)
    quarantines.append(q)
    quarantine = pl.concat([x.cast(QUARANTINE_SCHEMA) for x in quarantines]).sort("file", "line_no")  # type: ignore[arg-type]
    return ParsedFile(rows=rows.sort("file", "line_no"), quarantine=quarantine, file_notes=notes)


def parse_events(content: bytes, file: str) -> ParsedFile:
    """Parse one calendar file (see :func:`parse_events_files`)."""
    return parse_events_files([split_events(content, file)])
