"""What a VIX-option trade pays to cross the market: the half bid-ask spread (ALVH_METHOD.md §9,
ALVH-2026.3), one compiled function both backtest engines call, and its fit to a real chain.

``fitted`` (the default)::

    h(P, VVIX) = scale · max(floor, base + slope · P) · max(1, VVIX / vvix_ref) ^ vvix_power

``base`` and ``slope`` are the least-squares fit of the half-spreads Cboe quoted at the close of
2016-06-01 on every two-sided monthly VIX call worth at most 5 points (156 calls;
:func:`fit_half_spread` reproduces them); ``floor`` is half the 0.05 tick. That day's VVIX was
78.93 (``vvix_ref`` 79): one calm day cannot show how spreads widen in stress, so the widening
with VVIX (linear, ``vvix_power`` 1: twice as wide at VVIX 158) is an assumption the README's
half-spread × 1, 2, 4 table brackets. ``constant`` is ALVH-2026.2's flat ``vix_half_spread``.

Units: prices and half-spreads in VIX points per contract (× $100 in dollars); VVIX in index
points.
"""

from __future__ import annotations

from typing import NamedTuple

import numba as nb
import numpy as np
import polars as pl
from scipy.optimize import least_squares


class SpreadModel(NamedTuple):
    """The half-spread's constants (each a setting ``vix_spread_*``, ``vix_half_spread``); plain
    numbers so the compiled engine takes the model as one argument. ``fitted`` 1.0 or 0.0."""

    fitted: float
    constant: float
    base: float
    slope: float
    floor: float
    vvix_ref: float
    vvix_power: float
    scale: float


@nb.njit(cache=True)
def vix_half_spread(price: float, vvix: float, m: SpreadModel) -> float:
    """Half the bid-ask of a VIX option worth ``price`` (VIX points) on a day with ``vvix``; a
    missing VVIX (NaN) does not widen it."""
    if m.fitted == 0.0:
        return m.constant * m.scale
    h = max(m.floor, m.base + m.slope * price)
    if vvix == vvix and vvix > m.vvix_ref:
        h *= (vvix / m.vvix_ref) ** m.vvix_power
    return h * m.scale


def fit_half_spread(quotes: pl.DataFrame, floor: float, max_price: float = 5.0) -> tuple[float, float]:
    """(base, slope) of ``max(floor, base + slope · mid)`` fitted by least squares to the
    half-spreads of ``quotes`` (columns ``bid_eod``, ``ask_eod``; two-sided rows worth at most
    ``max_price`` points are used)."""
    q = quotes.filter((pl.col("bid_eod") > 0) & (pl.col("ask_eod") >= pl.col("bid_eod"))).with_columns(
        mid=(pl.col("bid_eod") + pl.col("ask_eod")) / 2.0, half=(pl.col("ask_eod") - pl.col("bid_eod")) / 2.0
    )
    q = q.filter(pl.col("mid") <= max_price)
    mid, half = q["mid"].to_numpy(), q["half"].to_numpy()
    if len(mid) < 2:
        raise ValueError(f"fit_half_spread needs at least two two-sided quotes worth ≤ {max_price}, got {len(mid)}")
    fit = least_squares(lambda c: np.maximum(floor, c[0] + c[1] * mid) - half, x0=[0.03, 0.01])
    return float(fit.x[0]), float(fit.x[1])
