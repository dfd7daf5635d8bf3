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
