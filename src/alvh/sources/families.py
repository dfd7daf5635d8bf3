"""Parsing a whole source family at once: file-level checks per file, row rules per batch.

A file that fails its file-level checks is reported in ``failed`` and contributes nothing; the
other files of the batch go on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import polars as pl

from alvh.core.errors import SourceError
from alvh.sources.base import Family, FetchedFile, ParsedFile
from alvh.sources.breadth import parse_unicorn_files, parse_vendor_breadth, split_unicorn
from alvh.sources.cboe import parse_cboe_indices, split_cboe_index
from alvh.sources.cfe import parse_cfe_files, split_cfe
from alvh.sources.events import parse_events_files, split_events
from alvh.sources.fred import parse_fred
from alvh.sources.option_eod import parse_option_eod_files, split_option_eod
from alvh.sources.plausible import Plausibility, check_plausible
from alvh.sources.text import QUARANTINE_SCHEMA, SplitRows, empty_quarantine

RAW_TABLE: dict[Family, str] = {
    "cboe_index": "raw.cboe_index",
    "vx_current": "raw.vx_futures",
    "vx_legacy": "raw.vx_futures",
    "vx_reconstructed": "raw.vx_futures",
    "unicorn": "raw.breadth",
    "vendor_breadth": "raw.breadth",
    "fred": "raw.rates",
    "option_eod": "raw.option_quote",
    "events": "raw.macro_event",
}
VX_PROVIDER: dict[Family, str] = {
    "vx_current": "cfe_current",
    "vx_legacy": "cfe_legacy",
    "vx_reconstructed": "reconstructed",
}


@dataclass(frozen=True)
class VendorBreadthFormat:
    """Column names and date format of a vendor breadth CSV (each field is the setting
    ``vendor_breadth_<field>``)."""

    SETTING_NAMES: ClassVar[dict[str, str]] = {
        name: f"vendor_breadth_{name}"
        for name in ("provider", "date_column", "adv_column", "decl_column", "date_format")
    }

    provider: str = "tradingview"
    date_column: str = "date"
    adv_column: str = "adv_close"
    decl_column: str = "decl_close"
    date_format: str = "%Y-%m-%d"


@dataclass(frozen=True)
class RowChecks:
    """The checks beyond each format's own rules: plausibility of values and dates, and the
    share of unparseable dates above which a file is refused whole."""

    plausibility: Plausibility | None = None
    bad_date_max_share: float = 0.01


# raw tables that keep each row's line as read (quarantine rows built later point back to it)
KEEPS_LINE = frozenset({"unicorn", "vendor_breadth", "option_eod", "events"})


@dataclass
class FamilyParse:
    parsed: ParsedFile
    failed: dict[str, SourceError] = field(default_factory=dict)  # locator → error


def _empty() -> ParsedFile:
    return ParsedFile(rows=pl.DataFrame(), quarantine=empty_quarantine())


def parse_family(
    family: Family,
    files: Sequence[FetchedFile],
    vendor: VendorBreadthFormat | None = None,
    checks: RowChecks | None = None,
) -> FamilyParse:
    """Parse every fetched file of ``family``; rows carry ``file`` (the locator) and ``line_no``
    (and ``raw_text`` for the breadth families). With ``checks.plausibility``, implausible rows
    go to quarantine with the rest."""
    result = _parse_family(family, files, vendor, checks or RowChecks())
    parsed = result.parsed
    if checks is not None and checks.plausibility is not None and not parsed.rows.is_empty():
        rows, q = check_plausible(family, parsed.rows, checks.plausibility)
        parsed.rows = rows
        parsed.quarantine = pl.concat([parsed.quarantine, q.cast(QUARANTINE_SCHEMA)]).sort("file", "line_no")  # type: ignore[arg-type]
    if family not in KEEPS_LINE and "raw_text" in parsed.rows.columns:
        parsed.rows = parsed.rows.drop("raw_text")
    return result


def _parse_family(
    family: Family, files: Sequence[FetchedFile], vendor: VendorBreadthFormat | None, checks: RowChecks
) -> FamilyParse:
    share = checks.bad_date_max_share
    failed: dict[str, SourceError] = {}
    if family in ("vendor_breadth", "fred"):
        parts: list[ParsedFile] = []
        for f in files:
            try:
                if family == "fred":
                    parts.append(
                        parse_fred(f.content, f.ref.locator, f.ref.name.removesuffix(".csv"), bad_date_max_share=share)
                    )
                else:
                    fmt = vendor or VendorBreadthFormat()
                    parts.append(
                        parse_vendor_breadth(
                            f.content,
                            f.ref.locator,
                            provider=fmt.provider,
                            date_column=fmt.date_column,
                            adv_column=fmt.adv_column,
                            decl_column=fmt.decl_column,
                            date_format=fmt.date_format,
                            bad_date_max_share=share,
                        )
                    )
            except SourceError as exc:
                failed[f.ref.locator] = exc
        if not parts:
            return FamilyParse(_empty(), failed)
        return FamilyParse(
            ParsedFile(
                rows=pl.concat([p.rows for p in parts]),
                quarantine=pl.concat([p.quarantine for p in parts]),
                notes=[n for p in parts for n in p.notes],
            ),
            failed,
        )
    splits: list[SplitRows] = []
    for f in files:
        try:
            if family == "cboe_index":
                splits.append(split_cboe_index(f.content, f.ref.locator, bad_date_max_share=share))
            elif family in VX_PROVIDER:
                assert f.ref.expiry is not None, "VX file refs carry their expiry"
                splits.append(
                    split_cfe(f.content, f.ref.locator, f.ref.expiry, VX_PROVIDER[family], bad_date_max_share=share)
                )
            elif family == "unicorn":
                splits.append(split_unicorn(f.content, f.ref.locator, bad_date_max_share=share))
            elif family == "option_eod":
                splits.append(split_option_eod(f.content, f.ref.locator, bad_date_max_share=share))
            elif family == "events":
                splits.append(split_events(f.content, f.ref.locator, bad_date_max_share=share))
            else:
                raise ValueError(f"unknown family {family!r}")
        except SourceError as exc:
            failed[f.ref.locator] = exc
    if not splits:
        return FamilyParse(_empty(), failed)
    if family == "cboe_index":
        parsed = parse_cboe_indices(splits)
    elif family in VX_PROVIDER:
        parsed = parse_cfe_files(splits)
    elif family == "option_eod":
        parsed = parse_option_eod_files(splits)
    elif family == "events":
        parsed = parse_events_files(splits)
    else:
        parsed = parse_unicorn_files(splits)
    return FamilyParse(parsed, failed)
