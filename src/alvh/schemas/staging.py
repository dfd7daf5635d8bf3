"""pandera models of the ``staging`` tables: renamed, cast, aligned to exchange sessions and
de-duplicated — nothing else. Rebuilt from ``raw`` after every ingest."""

from __future__ import annotations

from datetime import date

import pandera.polars as pa
import polars as pl


class StgIndexDaily(pa.DataFrameModel):
    """One row per XNYS session and index symbol (CBOE's holiday rows excluded)."""

    session_date: date
    symbol: str
    open: float = pa.Field(gt=0, nullable=True, description="index points")
    high: float = pa.Field(gt=0, nullable=True, description="index points")
    low: float = pa.Field(gt=0, nullable=True, description="index points")
    close: float = pa.Field(gt=0, description="index points")

    class Config:
        strict = True
        coerce = True
        unique = ["symbol", "session_date"]


class StgVxFutures(pa.DataFrameModel):
    """One row per VX contract and trade date with a settlement, merged across providers by
    precedence cfe_current > cfe_legacy > reconstructed (conflicts in ``meta.vx_conflict``)."""

    trade_date: date
    contract_expiry: date
    is_monthly: bool = pa.Field(description="false for weekly contracts (same CFE label)")
    open: float = pa.Field(gt=0, nullable=True, description="index points; null = no trade")
    high: float = pa.Field(gt=0, nullable=True, description="index points; null = no trade")
    low: float = pa.Field(gt=0, nullable=True, description="index points; null = no trade")
    close: float = pa.Field(gt=0, nullable=True, description="index points; null = no trade")
    settle: float = pa.Field(gt=0, description="daily settlement, index points")
    volume: pl.Int64 = pa.Field(ge=0, nullable=True, description="contracts; null if unknown")
    open_interest: pl.Int64 = pa.Field(ge=0, nullable=True, description="contracts")
    tdte: pl.Int32 = pa.Field(ge=0, description="XNYS sessions in (trade_date, expiry]")
    dte: pl.Int32 = pa.Field(ge=0, description="calendar days to expiry")
    provider: str = pa.Field(isin=["cfe_current", "cfe_legacy", "reconstructed"])
    futures_label: str
    is_xnys_session: bool = pa.Field(description="trade date is an NYSE session")

    class Config:
        strict = True
        coerce = True
        unique = ["contract_expiry", "trade_date"]


class StgBreadth(pa.DataFrameModel):
    """One row per XNYS session with NYSE advancing/declining issues from the highest-priority
    provider that has a non-glitch value that day."""

    session_date: date = pa.Field(unique=True)
    advances: pl.Int64 = pa.Field(ge=0, description="advancing issues")
    declines: pl.Int64 = pa.Field(ge=0, description="declining issues")
    unchanged: pl.Int64 = pa.Field(ge=0, nullable=True, description="unchanged issues")
    adv_volume: pl.Int64 = pa.Field(ge=0, nullable=True, description="shares (normalised)")
    decl_volume: pl.Int64 = pa.Field(ge=0, nullable=True, description="shares (normalised)")
    provider: str

    class Config:
        strict = True
        coerce = True
        unique = ["session_date"]


class StgRates(pa.DataFrameModel):
    """One row per FRED series and observation date; value in percent per annum."""

    date: date
    series: str
    value: float = pa.Field(ge=-5, le=30)

    class Config:
        strict = True
        coerce = True
        unique = ["series", "date"]


class StgOptionQuote(pa.DataFrameModel):
    """One row per quote date and option: the DataShop end-of-day quotes with the 15:45 calcs,
    the two layouts merged (the Calcs layout's values win; the quote columns of both must agree,
    else the option is left out and both lines quarantined). ``mid`` only where the close is a
    two-sided quote (bid > 0, ask > 0, ask ≥ bid)."""

    quote_date: date
    root: str = pa.Field(isin=["VIX", "VIXW", "SPX", "SPXW"])
    expiration: date
    strike: float = pa.Field(gt=0, description="index points")
    option_type: str = pa.Field(isin=["C", "P"])
    underlying_symbol: str = pa.Field(isin=["^VIX", "^SPX"])
    bid_eod: float = pa.Field(ge=0, description="index points; 0 = no bid")
    ask_eod: float = pa.Field(ge=0, description="index points; 0 = no offer")
    mid: float = pa.Field(gt=0, nullable=True, description="(bid + ask) / 2 of a two-sided close; else null")
    two_sided: bool = pa.Field(description="bid_eod > 0, ask_eod > 0 and ask_eod ≥ bid_eod")
    bid_size_eod: pl.Int64 = pa.Field(ge=0)
    ask_size_eod: pl.Int64 = pa.Field(ge=0)
    bid_1545: float = pa.Field(ge=0)
    ask_1545: float = pa.Field(ge=0)
    underlying_bid_eod: float = pa.Field(ge=0, description="for VIX: spot VIX at the close")
    underlying_ask_eod: float = pa.Field(ge=0)
    underlying_bid_1545: float = pa.Field(ge=0)
    underlying_ask_1545: float = pa.Field(ge=0)
    implied_underlying_1545: float = pa.Field(
        ge=0, nullable=True, description="Cboe's implied forward at 15:45 (for VIX: the expiry's VX forward)"
    )
    iv_1545: float = pa.Field(ge=0, nullable=True, description="implied volatility at 15:45 (0.931 = 93.1 %)")
    delta_1545: float = pa.Field(nullable=True)
    gamma_1545: float = pa.Field(nullable=True)
    theta_1545: float = pa.Field(nullable=True)
    vega_1545: float = pa.Field(nullable=True, description="per 1 vol point")
    open_interest: pl.Int64 = pa.Field(ge=0, description="contracts")
    trade_volume: pl.Int64 = pa.Field(ge=0, description="contracts")
    layout: str = pa.Field(isin=["calcs", "quotes"], description="layout the values come from (calcs wins)")
    source_file: str = pa.Field(description="file (with its member path in a ZIP) the row came from")
    run_id: str = pa.Field(description="the import run that wrote that raw row")

    class Config:
        strict = True
        coerce = True
        unique = ["quote_date", "root", "expiration", "strike", "option_type"]


EVENT_TIMINGS = ["before_open", "during_session", "after_close", "no_session"]


class StgMacroEvent(pa.DataFrameModel):
    """One row per release in the macro calendar (``macro_events.csv`` after quarantine; its
    computed rows never loaded) with the NYSE session it affects: a release before 09:30 ET, or
    during the session (an FOMC decision at 14:00/14:15), affects that session; one at or after
    16:00, or on a day that is not a session (the Sunday 2020-03-15 cut), the next session. A
    release without a time is taken to come out during its session, an election's results after
    the close. ``mp1``: the fed-funds-futures surprise of an FOMC action from ``fomc_dates.csv``,
    matched by the session it affects (null where that file has none or its sentinel)."""

    event: str = pa.Field(description="cpi, ppi, nfp, fomc_decision, fomc_intermeeting, fomc_minutes, …")
    release_date: date = pa.Field(description="the day it came out (New York)")
    time_et: str = pa.Field(nullable=True, description="HH:MM New York; null = not stated")
    session_date: date = pa.Field(description="the NYSE session the release affects")
    timing: str = pa.Field(isin=EVENT_TIMINGS, description="when it falls relative to that session's hours")
    scheduled: bool = pa.Field(description="false for intermeeting (unscheduled) FOMC actions")
    period: str = pa.Field(description="what the release is of (raw.macro_event.period)")
    ref_period: str = pa.Field(nullable=True)
    detail: str = pa.Field(nullable=True)
    mp1: float = pa.Field(nullable=True, description="fed-funds-futures surprise, percentage points (FOMC only)")
    source_page: str = pa.Field(nullable=True, description="the page the calendar cites")
    source_file: str = pa.Field(description="the calendar file the row came from")
    line_no: pl.Int64 = pa.Field(ge=1, description="its line in that file")

    class Config:
        strict = True
        coerce = True
        unique = ["event", "period"]
