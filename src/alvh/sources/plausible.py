"""Plausibility of parsed rows: values within bounds, dates neither after the run date nor before
a family's plausible start (a calendar of scheduled releases, family ``events``, is dated ahead
on purpose: its limit is the last date of the exchange calendar alvh loads).

A row that breaks a rule goes to quarantine with its file, line number and the line exactly as
read; the rest of the file loads. The bounds are settings (``bounds_*``); the first plausible
dates are facts about the markets (the VX future was listed on 2004-03-26, the VIX methodology
reaches back to 1986), kept here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import ClassVar

import polars as pl

from alvh.core.calendar import CALENDAR_END, CALENDAR_START
from alvh.core.settings import setting_default
from alvh.sources.base import Family

Range = tuple[float, float]
VIX_FAMILY = ("VIX", "VIX9D", "VIX3M", "VIX6M")
ISSUE_SERIES = ("advn", "decln", "unchn")
VX_PRICES = ("open", "high", "low", "close", "settle")

# the first date a row of each family can plausibly carry
FIRST_DATE: dict[str, date] = {
    "VIX_FAMILY": date(1986, 1, 1),  # VIX is computed back to 1986 at most
    "VVIX": date(2000, 1, 1),
    "SKEW": date(1986, 1, 1),
    "index": date(1920, 1, 1),  # SPX history reaches back to 1927
    "vx": date(2004, 3, 26),  # the VX future was first listed on 2004-03-26
    "breadth": date(1940, 1, 1),
    "fred": date(1900, 1, 1),
    "SPX_OPTIONS": date(1983, 3, 11),  # SPX options were first listed on 1983-03-11
    "VIX_OPTIONS": date(2006, 2, 24),  # VIX options on 2006-02-24
    "events": CALENDAR_START,  # a release must fall within the exchange calendar alvh loads
}
# families whose rows are scheduled ahead (a calendar of releases): a date after the run date is
# the point, so their limit is the last date of the exchange calendar instead
SCHEDULED_UNTIL: dict[str, date] = {"events": CALENDAR_END}


def _default(name: str) -> Range:
    value = setting_default(name)
    return (float(value[0]), float(value[1]))


@dataclass(frozen=True)
class Plausibility:
    """Bounds (inclusive) per kind of value, and the last date a row may carry (``latest``:
    the run date; today in New York, or a later ``--end``)."""

    SETTING_NAMES: ClassVar[dict[str, str]] = {
        name: f"bounds_{name}"
        for name in (
            "vix",
            "vvix",
            "skew",
            "spx",
            "index_other",
            "vx",
            "breadth_issues",
            "breadth_volume",
            "rate",
            "mp1",
        )
    }

    latest: date
    vix: Range = field(default_factory=lambda: _default("bounds_vix"))
    vvix: Range = field(default_factory=lambda: _default("bounds_vvix"))
    skew: Range = field(default_factory=lambda: _default("bounds_skew"))
    spx: Range = field(default_factory=lambda: _default("bounds_spx"))
    index_other: Range = field(default_factory=lambda: _default("bounds_index_other"))
    vx: Range = field(default_factory=lambda: _default("bounds_vx"))
    breadth_issues: Range = field(default_factory=lambda: _default("bounds_breadth_issues"))
    breadth_volume: Range = field(default_factory=lambda: _default("bounds_breadth_volume"))
    rate: Range = field(default_factory=lambda: _default("bounds_rate"))
    mp1: Range = field(default_factory=lambda: _default("bounds_mp1"))


def _outside(value: pl.Expr, lo: float | pl.Expr, hi: float | pl.Expr) -> pl.Expr:
    return value.is_not_null() & ((value < lo) | (value > hi))


def _by_kind(key: pl.Expr, table: dict[str, Range], default: Range) -> tuple[pl.Expr, pl.Expr]:
    """(low, high) bound expressions chosen by ``key``'s value."""
    lo: pl.Expr = pl.lit(default[0])
    hi: pl.Expr = pl.lit(default[1])
    for k, (a, b) in table.items():
        lo = pl.when(key == k).then(pl.lit(a)).otherwise(lo)
        hi = pl.when(key == k).then(pl.lit(b)).otherwise(hi)
    return lo, hi


def _rules(family: Family, p: Plausibility) -> tuple[str, pl.Expr, list[tuple[str, pl.Expr, pl.Expr]]]:
    """(date column, first plausible date, [(value column, low, high)]) of ``family``'s rows."""
    if family == "cboe_index":
        sym = pl.col("symbol")
        table = {s: p.vix for s in VIX_FAMILY} | {"VVIX": p.vvix, "SKEW": p.skew, "SPX": p.spx}
        lo, hi = _by_kind(sym, table, p.index_other)
        first = (
            pl.when(sym.is_in(list(VIX_FAMILY)))
            .then(pl.lit(FIRST_DATE["VIX_FAMILY"]))
            .when(sym == "VVIX")
            .then(pl.lit(FIRST_DATE["VVIX"]))
            .when(sym == "SKEW")
            .then(pl.lit(FIRST_DATE["SKEW"]))
            .otherwise(pl.lit(FIRST_DATE["index"]))
        )
        return "date", first, [(c, lo, hi) for c in ("open", "high", "low", "close")]
    if family in ("vx_current", "vx_legacy", "vx_reconstructed"):
        lo, hi = pl.lit(p.vx[0]), pl.lit(p.vx[1])
        return "trade_date", pl.lit(FIRST_DATE["vx"]), [(c, lo, hi) for c in VX_PRICES]
    if family in ("unicorn", "vendor_breadth"):
        lo, hi = _by_kind(
            pl.col("series").is_in(list(ISSUE_SERIES)).cast(pl.String),
            {"true": p.breadth_issues},
            p.breadth_volume,
        )
        return "session_date", pl.lit(FIRST_DATE["breadth"]), [("value", lo, hi)]
    if family == "fred":
        return "date", pl.lit(FIRST_DATE["fred"]), [("value", pl.lit(p.rate[0]), pl.lit(p.rate[1]))]
    if family == "option_eod":  # dates only: the prices' own rules are the parser's
        first = (
            pl.when(pl.col("root").is_in(["VIX", "VIXW"]))
            .then(pl.lit(FIRST_DATE["VIX_OPTIONS"]))
            .otherwise(pl.lit(FIRST_DATE["SPX_OPTIONS"]))
        )
        return "quote_date", first, []
    if family == "events":
        return "release_date", pl.lit(FIRST_DATE["events"]), [("mp1", pl.lit(p.mp1[0]), pl.lit(p.mp1[1]))]
    raise ValueError(f"unknown family {family!r}")


def check_plausible(family: Family, rows: pl.DataFrame, p: Plausibility) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split parsed rows (with ``file``, ``line_no``, ``raw_text``) into plausible rows and
    quarantine rows ``file, line_no, raw_text, reason``.

    A line is quarantined whole: when one of the rows it produced (breadth files give one row
    per series) breaks a rule, every row from that line goes.
    """
    if rows.is_empty():
        return rows, rows.select("file", "line_no", "raw_text", pl.lit(None, pl.String).alias("reason")).clear()
    date_col, first, checks = _rules(family, p)
    d = pl.col(date_col)
    until = SCHEDULED_UNTIL.get(family)
    late = (
        pl.when(d > pl.lit(p.latest)).then(pl.format("date {} is after the run date {}", d, pl.lit(p.latest)))
        if until is None
        else pl.when(d > pl.lit(until)).then(
            pl.format("date {} is after the last date of the exchange calendar alvh loads ({})", d, pl.lit(until))
        )
    )
    reasons = [
        late,
        pl.when(d < first).then(pl.format("date {} is before this family's plausible start {}", d, first)),
    ]
    for col, lo, hi in checks:
        reasons.append(
            pl.when(_outside(pl.col(col), lo, hi)).then(
                pl.format(f"implausible {col} {{}}: outside [{{}}, {{}}]", pl.col(col), lo, hi)
            )
        )
    scored = rows.with_columns(pl.coalesce(reasons).alias("_reason"))
    bad_lines = (
        scored.filter(pl.col("_reason").is_not_null())
        .group_by("file", "line_no", maintain_order=True)
        .agg(pl.col("raw_text").first(), pl.col("_reason").first().alias("reason"))
    )
    good = scored.join(bad_lines.select("file", "line_no"), on=["file", "line_no"], how="anti").drop("_reason")
    return good, bad_lines.select("file", "line_no", "raw_text", "reason")
