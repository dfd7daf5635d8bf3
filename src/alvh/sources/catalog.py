"""What each source family consists of: the real URLs (HTTP) and the file-name patterns
(directory). Pure: the caller passes the run date and the settings it needs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from alvh.core.calendar import vix_expiration, vix_monthly_expirations
from alvh.sources.base import Family, FileRef
from alvh.sources.cfe import MONTH_CODES

FAMILIES: tuple[Family, ...] = (
    "cboe_index",
    "vx_current",
    "vx_legacy",
    "vx_reconstructed",
    "unicorn",
    "vendor_breadth",
    "fred",
    "events",
)


# the macro calendars (family ``events``), by the name they are stored under whatever the URL
EVENT_FILES = ("macro_events.csv", "fomc_dates.csv")


@dataclass(frozen=True)
class Catalog:
    """The parameters that decide which files exist (from the settings object)."""

    cboe_index_base_url: str
    cfe_vx_base_url: str
    cfe_legacy_base_url: str
    unicorn_base_url: str
    fred_base_url: str
    index_symbols: tuple[str, ...]
    fred_series: tuple[str, ...]
    unicorn_series: tuple[str, ...]
    vx_first_expiry: date
    vx_months_ahead: int
    vx_legacy_first_year: int
    vx_legacy_last_year: int
    vendor_breadth_url: str | None
    vendor_breadth_name: str
    events_macro_url: str | None = None
    events_fomc_url: str | None = None


def http_refs(cat: Catalog, family: Family, as_of: date) -> list[FileRef]:
    """Every URL of ``family`` worth requesting on ``as_of`` (monthly VX contracts only)."""
    if family == "cboe_index":
        return [
            FileRef(family, f"{s}_History.csv", f"{cat.cboe_index_base_url.rstrip('/')}/{s}_History.csv")
            for s in cat.index_symbols
        ]
    if family == "vx_current":
        last = as_of + timedelta(days=31 * cat.vx_months_ahead)
        return [
            FileRef(
                family,
                f"VX_{e.isoformat()}.csv",
                f"{cat.cfe_vx_base_url.rstrip('/')}/VX_{e.isoformat()}.csv",
                e,
            )
            for e in vix_monthly_expirations(cat.vx_first_expiry, last)
        ]
    if family == "vx_legacy":
        refs = []
        for year in range(cat.vx_legacy_first_year, cat.vx_legacy_last_year + 1):
            for month, code in enumerate(MONTH_CODES, start=1):
                name = f"CFE_{code}{year % 100:02d}_VX.csv"
                refs.append(
                    FileRef(
                        family,
                        name,
                        f"{cat.cfe_legacy_base_url.rstrip('/')}/{name}",
                        vix_expiration(year, month),
                    )
                )
        return refs
    if family == "unicorn":
        return [
            FileRef(family, f"NYSE_{s}.csv", f"{cat.unicorn_base_url.rstrip('/')}/NYSE_{s}.csv")
            for s in cat.unicorn_series
        ]
    if family == "fred":
        return [FileRef(family, f"{s}.csv", f"{cat.fred_base_url}?id={s}") for s in cat.fred_series]
    if family == "vendor_breadth":
        if not cat.vendor_breadth_url:
            return []
        name = cat.vendor_breadth_url.rstrip("/").rsplit("/", 1)[-1].split("?")[0] or cat.vendor_breadth_name
        return [FileRef(family, name, cat.vendor_breadth_url)]
    if family == "events":
        urls = ((EVENT_FILES[0], cat.events_macro_url), (EVENT_FILES[1], cat.events_fomc_url))
        return [FileRef(family, name, url) for name, url in urls if url]
    return []  # vx_reconstructed exists only as local files


def directory_patterns(cat: Catalog, family: Family) -> list[str]:
    """File-name globs (matched anywhere under the folder) of ``family``."""
    if family == "cboe_index":
        return [f"{s}_History*.csv" for s in cat.index_symbols]
    if family in ("vx_current", "vx_reconstructed"):
        return ["VX_*.csv"]
    if family == "vx_legacy":
        return ["CFE_*_VX.csv"]
    if family == "unicorn":
        return [f"NYSE_{s}.csv" for s in cat.unicorn_series]
    if family == "fred":
        return [f"{s}.csv" for s in cat.fred_series]
    if family == "vendor_breadth":
        return [cat.vendor_breadth_name]
    if family == "events":
        return list(EVENT_FILES)
    raise ValueError(f"unknown family {family!r}")
