"""Real VIX-option quotes against the surface (ALVH_METHOD.md §4): each call's implied vol, delta
and standardised moneyness from its end-of-day mid, the surface's price beside it, and the fit of
the surface's constants to a chain.

Conventions: prices in VIX points; ``F`` the same-expiry VX settle (what the engine prices on);
IV from the EOD mid by Black-76 on that F; ``dte`` calendar days; errors in % of the mid and in
vol points (surface σ − quote IV, × 100); "inside" means bid ≤ model ≤ ask.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import numpy as np
import polars as pl
from scipy.optimize import least_squares

from alvh.transforms.pricing import black76, black76_greeks, implied_vol_black76
from alvh.transforms.vix_surface import VixSurface, vix_sigma_array

FIT_FIELDS = ("atm_level", "atm_slope", "atm_curvature", "skew", "skew_decay", "skew_cap")


def chain_points(
    quotes: pl.DataFrame,
    forwards: Mapping[date, float],
    rate: float,
    delta_range: tuple[float, float] = (0.10, 0.60),
) -> pl.DataFrame:
    """The two-sided calls of ``quotes`` (columns ``quote_date, expiration, strike, option_type,
    bid_eod, ask_eod``) on expiries with a forward, with ``dte, forward, mid, iv, delta, x`` added,
    kept where ``delta_range[0] ≤ Δ ≤ delta_range[1]``."""
    q = quotes.filter(
        (pl.col("option_type") == "C")
        & (pl.col("bid_eod") > 0)
        & (pl.col("ask_eod") >= pl.col("bid_eod"))
        & pl.col("expiration").is_in(list(forwards))
    ).with_columns(
        dte=(pl.col("expiration") - pl.col("quote_date")).dt.total_days(),
        forward=pl.col("expiration").replace_strict(dict(forwards), return_dtype=pl.Float64),
        mid=(pl.col("bid_eod") + pl.col("ask_eod")) / 2.0,
    )
    q = q.filter(pl.col("dte") > 0)
    f, k, t = q["forward"].to_numpy(), q["strike"].to_numpy(), q["dte"].to_numpy() / 365.0
    iv = implied_vol_black76(q["mid"].to_numpy(), f, k, t, rate, True)
    ok = np.isfinite(iv)
    delta = np.full(len(q), np.nan)
    if ok.any():
        delta[ok] = black76_greeks(f[ok], k[ok], t[ok], rate, iv[ok], True)["delta"]
    q = q.with_columns(
        iv=pl.Series(iv),
        delta=pl.Series(delta),
        x=(pl.col("strike") / pl.col("forward")).log() / (pl.col("dte") / 30.0).sqrt(),
    )
    lo, hi = delta_range
    return q.filter(pl.col("delta").is_between(lo, hi)).sort("expiration", "strike")


def model_vs_market(points: pl.DataFrame, vvix: float, rate: float, surface: VixSurface) -> pl.DataFrame:
    """``points`` (from :func:`chain_points`) with the surface's ``model_sigma``, ``model_price``,
    ``error_pct`` (% of mid), ``error_vol_pts`` and ``inside`` (bid ≤ model ≤ ask)."""
    f, k, d = points["forward"].to_numpy(), points["strike"].to_numpy(), points["dte"].to_numpy().astype(float)
    sig = vix_sigma_array(vvix, f, k, d, surface)
    price = np.asarray(black76(f, k, d / 365.0, rate, sig, True))
    out = points.with_columns(model_sigma=pl.Series(sig), model_price=pl.Series(price))
    return out.with_columns(
        error_pct=(pl.col("model_price") / pl.col("mid") - 1.0) * 100.0,
        error_vol_pts=(pl.col("model_sigma") - pl.col("iv")) * 100.0,
        inside=(pl.col("model_price") >= pl.col("bid_eod") - 1e-9)
        & (pl.col("model_price") <= pl.col("ask_eod") + 1e-9),
    )


def fit_surface(points: pl.DataFrame, vvix: float, rate: float, start: VixSurface) -> VixSurface:
    """The surface whose :data:`FIT_FIELDS` minimise Σ ((model − mid) / half-spread)² over
    ``points`` — the bid/ask as the error bar; the other constants stay as in ``start``."""
    f, k, d = points["forward"].to_numpy(), points["strike"].to_numpy(), points["dte"].to_numpy().astype(float)
    mid = points["mid"].to_numpy()
    half = np.maximum((points["ask_eod"] - points["bid_eod"]).to_numpy() / 2.0, 0.005)

    def surface_of(theta: np.ndarray) -> VixSurface:
        fitted: dict[str, float] = dict(zip(FIT_FIELDS, (float(v) for v in theta), strict=True))
        return start._replace(**fitted)  # type: ignore[arg-type]

    def residuals(theta: np.ndarray) -> np.ndarray:
        sig = vix_sigma_array(vvix, f, k, d, surface_of(theta))
        return (np.asarray(black76(f, k, d / 365.0, rate, np.maximum(sig, 1e-4), True)) - mid) / half

    x0 = np.array([getattr(start, n) for n in FIT_FIELDS])
    lower = np.array([0.2, -1.0, 0.0, 0.0, 0.0, 0.05])
    upper = np.array([3.0, 1.0, 1.0, 5.0, 2.0, 3.0])
    fit = least_squares(residuals, np.clip(x0, lower, upper), bounds=(lower, upper))
    return surface_of(fit.x)
