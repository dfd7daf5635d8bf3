"""pandera models of the whole-book risk marts: ``marts.book_risk`` and ``marts.payoff_grid``
(computed by ``alvh.transforms.book_risk`` and ``alvh.transforms.payoff_grid``)."""

from __future__ import annotations

from datetime import date

import pandera.polars as pa
import polars as pl

HORIZONS = ["1d", "7d", "ic_expiry"]
_NET_TOL = 1e-6


class BookRisk(pa.DataFrameModel):
    """One row per non-stale session: dollar greeks of the IC, the VIX-call hedge (after the
    session's orders) and the net book, at the close.

    delta: $ per SPX point; gamma: $ of delta per SPX point (per SPX point²); vega: $ per vol
    point (IC, per 1 point of implied vol) / per VIX point (hedge, Σ q·100·Δ·β) — one unit, as in
    the hedge ratio; theta: $ per calendar day. The hedge has no SPX delta or gamma in the model.
    """

    session_date: date = pa.Field(unique=True)
    spx_close: float = pa.Field(gt=0, description="SPX close, index points")
    vix_close: float = pa.Field(gt=0, description="VIX close, index points")
    ic_contracts: pl.Int64 = pa.Field(ge=0, description="ICs in the book")
    hedge_contracts: pl.Int64 = pa.Field(ge=0, description="VIX calls held in M1–M3 after the orders")
    ic_delta_usd: float = pa.Field(description="$ per SPX point")
    ic_gamma_usd: float = pa.Field(description="$ per SPX point²")
    ic_vega_usd: float = pa.Field(description="$ per vol point (negative: short)")
    ic_theta_usd: float = pa.Field(description="$ per calendar day")
    hedge_delta_usd: float = pa.Field(description="$ per SPX point (0 in the model)")
    hedge_gamma_usd: float = pa.Field(description="$ per SPX point² (0 in the model)")
    hedge_vega_usd: float = pa.Field(ge=0, description="$ per VIX point: Σ q·100·Δ·β")
    hedge_theta_usd: float = pa.Field(le=0, description="$ per calendar day")
    net_delta_usd: float = pa.Field(description="$ per SPX point")
    net_gamma_usd: float = pa.Field(description="$ per SPX point²")
    net_vega_usd: float = pa.Field(description="$ per vol (VIX) point")
    net_theta_usd: float = pa.Field(description="$ per calendar day")
    method_version: str

    class Config:
        strict = True
        coerce = True
        unique = ["session_date"]

    @pa.dataframe_check(name="check_net_is_ic_plus_hedge")
    def net_sum(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            pl.all_horizontal(
                (pl.col(f"net_{g}_usd") - pl.col(f"ic_{g}_usd") - pl.col(f"hedge_{g}_usd")).abs()
                < _NET_TOL * (1.0 + pl.col(f"net_{g}_usd").abs())
                for g in ("delta", "gamma", "vega", "theta")
            )
        )


class PayoffGrid(pa.DataFrameModel):
    """One row per non-stale session × horizon × SPX move × VIX move: P&L in dollars of the book
    held after the session's orders, held unchanged to the horizon (``alvh.transforms.payoff_grid``)."""

    session_date: date
    horizon: str = pa.Field(isin=HORIZONS, description="1d, 7d or ic_expiry")
    horizon_days: pl.Int64 = pa.Field(ge=1, description="calendar days ahead")
    spx_move_pct: float = pa.Field(ge=-100, description="SPX move, percent")
    vix_move: float = pa.Field(description="spot VIX move, index points")
    ic_pnl_usd: float
    hedge_pnl_usd: float
    net_pnl_usd: float
    method_version: str

    class Config:
        strict = True
        coerce = True
        unique = ["session_date", "horizon", "spx_move_pct", "vix_move"]

    @pa.dataframe_check(name="check_net_is_ic_plus_hedge")
    def net_sum(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            (pl.col("net_pnl_usd") - pl.col("ic_pnl_usd") - pl.col("hedge_pnl_usd")).abs()
            < _NET_TOL * (1.0 + pl.col("net_pnl_usd").abs())
        )
