"""pandera models of the ``raw`` tables: vendor rows as received (prices normalised to index
points) plus load metadata (run id, source file, line, sha256, loaded_at UTC)."""

from __future__ import annotations

from datetime import date, datetime

import pandera.polars as pa
import polars as pl


class _LoadMeta(pa.DataFrameModel):
    run_id: str = pa.Field(description="ingest run that wrote or last changed the row")
    source_file: str = pa.Field(description="file name the row came from")
    line_no: pl.Int64 = pa.Field(ge=1, description="1-based line number in that file")
    sha256: str = pa.Field(description="sha256 of the file's bytes")
    loaded_at: datetime = pa.Field(description="when the row was written (UTC)")


class RawCboeIndex(_LoadMeta):
    """One row per index symbol and CBOE date, as published (holidays included)."""

    symbol: str = pa.Field(description="VIX, VIX9D, VIX3M, VIX6M, VVIX, SKEW, SPX, ...")
    date: date = pa.Field(description="CBOE row date")
    open: float = pa.Field(gt=0, nullable=True, description="index points; null in one-value files")
    high: float = pa.Field(gt=0, nullable=True, description="index points")
    low: float = pa.Field(gt=0, nullable=True, description="index points")
    close: float = pa.Field(gt=0, description="index points")

    class Config:
        strict = "filter"
        coerce = True
        unique = ["symbol", "date"]


class RawVxFutures(_LoadMeta):
    """One row per provider, contract and trade date, as published (prices ÷10 before
    2007-03-26 so every price is in index points; ``price_scale`` says by how much)."""

    provider: str = pa.Field(isin=["cfe_current", "cfe_legacy", "reconstructed"])
    contract_expiry: date = pa.Field(description="final settlement date of the contract")
    trade_date: date
    futures_label: str = pa.Field(description="CFE label, e.g. 'H (Mar 2020)'; weeklies share it")
    open: float = pa.Field(ge=0, description="index points; 0 = no trade")
    high: float = pa.Field(ge=0, description="index points; may be a quote on no-trade days")
    low: float = pa.Field(ge=0, description="index points")
    close: float = pa.Field(ge=0, description="index points; 0 = no trade")
    settle: float = pa.Field(ge=0, description="index points; 0 = no settlement published")
    change: float = pa.Field(description="index points")
    volume: pl.Int64 = pa.Field(ge=0, description="contracts")
    efp: pl.Int64 = pa.Field(ge=0, description="contracts")
    open_interest: pl.Int64 = pa.Field(ge=0, description="contracts")
    price_scale: float = pa.Field(isin=[1.0, 10.0], description="divisor applied to the file's prices")
    is_monthly: bool = pa.Field(description="expiry is the monthly VIX expiration of its month")

    class Config:
        strict = "filter"
        coerce = True
        unique = ["provider", "contract_expiry", "trade_date"]


class RawBreadth(_LoadMeta):
    """One row per provider, series and date (long form). Series: advn, decln, unchn (issues),
    advv, declv, unchv (volume; Unicorn: thousands of shares before 2002-06-21, shares after)."""

    provider: str = pa.Field(description="unicorn or the vendor CSV's provider name")
    series: str
    session_date: date
    value: pl.Int64 = pa.Field(ge=0)
    raw_text: str = pa.Field(
        nullable=True, description="the file's line exactly as read (not compared for revisions; null before 2026.12)"
    )

    class Config:
        strict = "filter"
        coerce = True
        unique = ["provider", "series", "session_date"]


class RawRates(_LoadMeta):
    """One row per FRED series and observation date (value in percent per annum)."""

    series: str
    date: date
    value: float = pa.Field(ge=-5, le=30)

    class Config:
        strict = "filter"
        coerce = True
        unique = ["series", "date"]


# Cboe DataShop Option EOD Summary, the layout without calcs (its header, in file order); the
# Calcs layout inserts the *_1545 calcs after underlying_ask_1545
DATASHOP_QUOTES_HEADER = (
    "underlying_symbol",
    "quote_date",
    "root",
    "expiration",
    "strike",
    "option_type",
    "open",
    "high",
    "low",
    "close",
    "trade_volume",
    "bid_size_1545",
    "bid_1545",
    "ask_size_1545",
    "ask_1545",
    "underlying_bid_1545",
    "underlying_ask_1545",
    "bid_size_eod",
    "bid_eod",
    "ask_size_eod",
    "ask_eod",
    "underlying_bid_eod",
    "underlying_ask_eod",
    "vwap",
    "open_interest",
    "delivery_code",
)


class RawOptionQuote(_LoadMeta):
    """One row per DataShop layout, quote date and option (root, expiration, strike, type), as
    received: the Option EOD Summary's columns (prices in index points, counts in contracts),
    the calcs null in the Quotes layout. ``layout``: ``calcs`` or ``quotes`` (staging merges the
    two; the Calcs layout's values win)."""

    layout: str = pa.Field(isin=["calcs", "quotes"])
    quote_date: date
    root: str = pa.Field(isin=["VIX", "VIXW", "SPX", "SPXW"])
    expiration: date
    strike: float = pa.Field(gt=0, description="index points")
    option_type: str = pa.Field(isin=["C", "P"])
    underlying_symbol: str = pa.Field(isin=["^VIX", "^SPX"])
    open: float = pa.Field(ge=0, description="index points; 0 = no trade")
    high: float = pa.Field(ge=0)
    low: float = pa.Field(ge=0)
    close: float = pa.Field(ge=0)
    trade_volume: pl.Int64 = pa.Field(ge=0, description="contracts")
    bid_size_1545: pl.Int64 = pa.Field(ge=0)
    ask_size_1545: pl.Int64 = pa.Field(ge=0)
    bid_size_eod: pl.Int64 = pa.Field(ge=0)
    ask_size_eod: pl.Int64 = pa.Field(ge=0)
    open_interest: pl.Int64 = pa.Field(ge=0, description="contracts")
    bid_1545: float = pa.Field(ge=0, description="15:45 snapshot")
    ask_1545: float = pa.Field(ge=0)
    underlying_bid_1545: float = pa.Field(ge=0)
    underlying_ask_1545: float = pa.Field(ge=0)
    bid_eod: float = pa.Field(ge=0, description="end-of-day quote; 0 = no bid")
    ask_eod: float = pa.Field(ge=0)
    underlying_bid_eod: float = pa.Field(ge=0, description="for VIX: spot VIX")
    underlying_ask_eod: float = pa.Field(ge=0)
    vwap: float = pa.Field(ge=0)
    implied_underlying_price_1545: float = pa.Field(ge=0, nullable=True, description="Calcs layout only")
    active_underlying_price_1545: float = pa.Field(ge=0, nullable=True)
    implied_volatility_1545: float = pa.Field(ge=0, nullable=True)
    delta_1545: float = pa.Field(nullable=True)
    gamma_1545: float = pa.Field(nullable=True)
    theta_1545: float = pa.Field(nullable=True)
    vega_1545: float = pa.Field(nullable=True, description="per 1 vol point")
    rho_1545: float = pa.Field(nullable=True)
    delivery_code: str = pa.Field(nullable=True)
    raw_text: str = pa.Field(description="the file's line exactly as read (not compared for revisions)")

    class Config:
        strict = "filter"
        coerce = True
        unique = ["layout", "quote_date", "root", "expiration", "strike", "option_type"]


# the macro calendar (family ``events``): the releases alvh keeps as facts, and the rows a
# calendar file computes itself (skipped: alvh keeps its own expiration calendar)
MACRO_EVENTS = (
    "cpi",
    "ppi",
    "nfp",
    "fomc_decision",
    "fomc_intermeeting",
    "fomc_minutes",
    "jackson_hole",
    "election",
)
COMPUTED_EVENTS = ("opex", "quad_witching", "vix_expiry")
EVENT_CALENDARS = ("macro_events", "fomc_dates")


class RawMacroEvent(_LoadMeta):
    """One row per calendar file layout, event and period: when the release of that period came
    out, as received. ``period`` is what the release is of (``2025-12`` for December's CPI, the
    month of a scheduled FOMC meeting or of the meeting whose minutes these are, the date of an
    intermeeting action, the year of Jackson Hole or an election), so a date that moves is a
    revision of ``release_date`` (dated by the earlier of the two dates), never a second row."""

    calendar: str = pa.Field(isin=list(EVENT_CALENDARS), description="the file layout the row came from")
    event: str = pa.Field(isin=list(MACRO_EVENTS))
    period: str = pa.Field(description="what the release is of: YYYY-MM, YYYY-MM-DD (intermeeting) or YYYY")
    release_date: date = pa.Field(description="the day it came out (New York)")
    time_et: str = pa.Field(nullable=True, str_matches=r"^([01]\d|2[0-3]):[0-5]\d$", description="HH:MM New York")
    ref_period: str = pa.Field(nullable=True, description="the file's ref_period as written, e.g. 'December 2025'")
    detail: str = pa.Field(nullable=True)
    source_page: str = pa.Field(nullable=True, description="the page the calendar cites, e.g. bls:sched2008")
    mp1: float = pa.Field(
        nullable=True, description="fed-funds-futures surprise of an FOMC announcement, percentage points (fomc_dates)"
    )
    raw_text: str = pa.Field(description="the file's line exactly as read (not compared for revisions)")

    class Config:
        strict = "filter"
        coerce = True
        unique = ["calendar", "event", "period"]
