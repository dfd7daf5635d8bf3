"""pandera models of the published ``marts`` tables. Each states its grain; invariants are
named checks that report the offending rows."""

from __future__ import annotations

from datetime import date

import pandera.polars as pa
import polars as pl

REGIMES = ["calm", "elevated", "spike", "fading"]
FORWARD_SOURCES = ["settle", "interpolated"]  # alvh.transforms.forwards.SETTLE / INTERPOLATED


class IndicatorsDaily(pa.DataFrameModel):
    """One row per XNYS session: VIX MACD, NYSE A/D RSI, VIX futures term structure, betas, regime.

    Units: VIX, futures, MACD and basis in index (vol) points; contango a decimal (M2/M1 forwards − 1);
    dte calendar days, tdte XNYS sessions; T-bill rate in percent per annum. ``m{i}_forward`` is
    the settle, or for a contract missing from the data the forward interpolated linearly in
    expiry date (calendar days) between the contracts that bracket it (ALVH_METHOD.md §3); the
    forward columns, then the next-event columns (information only), come last so that a migrated
    warehouse file has the same column order.
    """

    session_date: date = pa.Field(unique=True, description="XNYS session")
    vix_close: float = pa.Field(gt=0, nullable=True, description="VIX close, index points")
    macd: float = pa.Field(nullable=True, description="EMA12 − EMA26 of VIX (TA-Lib seeding)")
    macd_signal: float = pa.Field(nullable=True, description="EMA9 of MACD")
    macd_hist: float = pa.Field(nullable=True, description="MACD − signal")
    macd_cross: pl.Int8 = pa.Field(isin=[-1, 0, 1], nullable=True, description="+1/−1 on hist sign change")
    advances: pl.Int64 = pa.Field(ge=0, nullable=True, description="NYSE advancing issues")
    declines: pl.Int64 = pa.Field(ge=0, nullable=True, description="NYSE declining issues")
    ad_line: pl.Int64 = pa.Field(nullable=True, description="cumulative advances − declines")
    ad_rsi: float = pa.Field(ge=0, le=100, nullable=True, description="RSI(14, Wilder) of the A/D line")
    m1_expiry: date = pa.Field(description="M1 expiry by the roll rule (whether or not data exists)")
    m1_settle: float = pa.Field(gt=0, nullable=True, description="M1 settle, index points")
    m1_dte: pl.Int32 = pa.Field(gt=0)
    m1_tdte: pl.Int32 = pa.Field(gt=0)
    m2_expiry: date
    m2_settle: float = pa.Field(gt=0, nullable=True)
    m2_dte: pl.Int32 = pa.Field(gt=0)
    m2_tdte: pl.Int32 = pa.Field(gt=0)
    m3_expiry: date
    m3_settle: float = pa.Field(gt=0, nullable=True)
    m3_dte: pl.Int32 = pa.Field(gt=0)
    m3_tdte: pl.Int32 = pa.Field(gt=0)
    contango: float = pa.Field(nullable=True, description="M2/M1 forwards − 1 (decimal)")
    basis: float = pa.Field(nullable=True, description="M1 forward − VIX, index points")
    beta_1: float = pa.Field(ge=0.1, le=1.0, description="trailing no-intercept beta of ΔM1 on ΔVIX")
    beta_2: float = pa.Field(ge=0.1, le=1.0)
    beta_3: float = pa.Field(ge=0.1, le=1.0)
    regime: str = pa.Field(isin=REGIMES, nullable=True, description="calm / elevated / spike / fading")
    term_structure_complete: bool = pa.Field(description="M1–M3 all have a settle this session")
    breadth_missing: bool = pa.Field(description="no breadth data this session")
    spx_close: float = pa.Field(gt=0, nullable=True, description="SPX close, index points")
    vvix_close: float = pa.Field(gt=0, nullable=True, description="VVIX close")
    tbill_3m_pct: float = pa.Field(nullable=True, description="latest DTB3 on or before the session, %")
    tbill_3m_date: date = pa.Field(nullable=True, description="date of that DTB3 observation")
    m1_forward: float = pa.Field(
        gt=0, nullable=True, description="M1 settle, else interpolated between bracketing contracts, index points"
    )
    m1_forward_source: str = pa.Field(isin=FORWARD_SOURCES, nullable=True, description="settle / interpolated")
    m1_forward_basis: str = pa.Field(nullable=True, description="the contracts an interpolated M1 forward uses")
    m2_forward: float = pa.Field(gt=0, nullable=True, description="M2 forward, index points")
    m2_forward_source: str = pa.Field(isin=FORWARD_SOURCES, nullable=True)
    m2_forward_basis: str = pa.Field(nullable=True)
    m3_forward: float = pa.Field(gt=0, nullable=True, description="M3 forward, index points")
    m3_forward_source: str = pa.Field(isin=FORWARD_SOURCES, nullable=True)
    m3_forward_basis: str = pa.Field(nullable=True)
    next_event: str = pa.Field(
        isin=["cpi", "ppi", "fomc_decision"],
        nullable=True,
        description="the next scheduled FOMC decision, CPI or PPI release after the session's close",
    )
    next_event_date: date = pa.Field(nullable=True, description="its release date (New York)")
    next_event_time_et: str = pa.Field(nullable=True, description="its release time, HH:MM New York")
    next_event_session: date = pa.Field(nullable=True, description="the NYSE session it affects")
    next_event_sessions: pl.Int32 = pa.Field(ge=1, nullable=True, description="sessions from this one to that one")
    next_event_also: str = pa.Field(
        nullable=True, description="another of the three affecting that same session, e.g. 'FOMC decision (…)'"
    )

    class Config:
        strict = True
        coerce = True
        unique = ["session_date"]

    @pa.dataframe_check(name="check_expiries_increase_with_tenor")
    def check_expiries_increase(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            (pl.col("m1_expiry") < pl.col("m2_expiry")) & (pl.col("m2_expiry") < pl.col("m3_expiry"))
        )

    @pa.dataframe_check(name="check_breadth_flag_matches_data")
    def check_breadth_flag(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("breadth_missing") == pl.col("advances").is_null())

    @pa.dataframe_check(name="check_complete_flag_matches_settles")
    def check_complete_flag(cls, data: pa.PolarsData) -> pl.LazyFrame:
        have = pl.all_horizontal(pl.col(f"m{i}_settle").is_not_null() for i in (1, 2, 3))
        return data.lazyframe.select(pl.col("term_structure_complete") == have)

    @pa.dataframe_check(name="check_forward_source_matches_settle")
    def check_forward_source(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """A settle is its own forward; an interpolated forward names its basis; no forward, no source."""
        ok = pl.lit(True)
        for i in (1, 2, 3):
            settle, fwd = pl.col(f"m{i}_settle"), pl.col(f"m{i}_forward")
            src, basis = pl.col(f"m{i}_forward_source"), pl.col(f"m{i}_forward_basis")
            as_settle = (src == "settle") & (fwd == settle) & basis.is_null()
            as_interpolated = (src == "interpolated") & basis.is_not_null()
            absent = src.is_null() & basis.is_null()
            rule = pl.when(settle.is_not_null()).then(as_settle).when(fwd.is_not_null()).then(as_interpolated)
            ok = ok & rule.otherwise(absent).fill_null(False)
        return data.lazyframe.select(ok)

    @pa.dataframe_check(name="check_no_null_where_inputs_exist")
    def check_derived_present(cls, data: pa.PolarsData) -> pl.LazyFrame:
        m1, m2, vix = pl.col("m1_forward"), pl.col("m2_forward"), pl.col("vix_close")
        return data.lazyframe.select(
            (m1.is_null() | m2.is_null() | pl.col("contango").is_not_null())
            & (m1.is_null() | vix.is_null() | pl.col("basis").is_not_null())
            & (vix.is_null() | pl.col("regime").is_not_null())
            & (pl.col("macd").is_null() | pl.col("macd_cross").is_not_null())
        )
