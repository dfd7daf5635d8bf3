"""Option pricing: Black-76 for VIX options on the same-expiry VX future, Black-Scholes for SPX
options with the method's smile; greeks, implied volatility, the VIX strike grid.

Conventions (ALVH_METHOD.md §4)
-------------------------------
- Prices in index points per unit of underlying (× $100 multiplier for VIX and SPX options).
- ``T`` in years of calendar time (``dte / 365``); ``r`` and ``q`` continuously compounded
  decimals (4 % = 0.04); ``sigma`` a decimal (0.85 = 85 vol points).
- ``vega`` is per 1.00 of σ (divide by 100 for "per vol point"); ``theta`` is per calendar day
  (the price change from one day's decay, negative for a long option).

Domain rule (documented, tested): F, S, K must be > 0 and finite; T ≥ 0; σ ≥ 0; r, q finite.
Anything else raises ``ValueError`` naming the argument and the first offending index. At
``T == 0`` or ``σ == 0`` the price is the discounted intrinsic value (no NaN from 0/0). Implied
volatility returns NaN (NumPy input) or null (Polars input) where no volatility fits the price.

The array kernels run on one thread: on the small arrays of a session (a strike grid, a book)
starting numba's threads cost more than the work, and on a shared 2-core machine they slowed the
readable engine ~2× (a 490-session replay: 1.53 s with 2 threads, 0.58–0.77 s with 1).

Formulas: Black-76 ``c = e^{-rT} [F N(d1) − K N(d2)]``, ``d1 = (ln(F/K) + σ²T/2) / (σ√T)``,
``d2 = d1 − σ√T``; Black-Scholes with ``F = S e^{(r−q)T}`` in the same formula.
"""

from __future__ import annotations

import math
from typing import Any

import numba as nb
import numpy as np
import polars as pl

ArrayLike = Any  # float | np.ndarray | pl.Series

SQRT2 = math.sqrt(2.0)
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


@nb.njit(cache=True, nogil=True)
def _ncdf(x: float) -> float:
    return 0.5 * math.erfc(-x / SQRT2)


@nb.njit(cache=True, nogil=True)
def _npdf(x: float) -> float:
    return INV_SQRT_2PI * math.exp(-0.5 * x * x)


@nb.njit(cache=True, nogil=True)
def _b76_one(f, k, t, r, s, call):
    """(price, delta, vega, theta per year) of one Black-76 option."""
    disc = math.exp(-r * t)
    sd = s * math.sqrt(t)
    if sd <= 0.0:
        if call:
            itm = f > k
            return disc * max(f - k, 0.0), (disc if itm else 0.0), 0.0, r * disc * max(f - k, 0.0)
        itm = f < k
        return disc * max(k - f, 0.0), (-disc if itm else 0.0), 0.0, r * disc * max(k - f, 0.0)
    d1 = (math.log(f / k) + 0.5 * sd * sd) / sd
    d2 = d1 - sd
    if call:
        price = disc * (f * _ncdf(d1) - k * _ncdf(d2))
        delta = disc * _ncdf(d1)
    else:
        price = disc * (k * _ncdf(-d2) - f * _ncdf(-d1))
        delta = -disc * _ncdf(-d1)
    vega = disc * f * _npdf(d1) * math.sqrt(t)
    theta = r * price - disc * f * _npdf(d1) * s / (2.0 * math.sqrt(t))
    return price, delta, vega, theta


@nb.njit(cache=True, nogil=True)
def _b76_price_delta(f, k, t, r, s, call):
    """Price and delta only (the hot path: no vega/theta work)."""
    n = f.shape[0]
    price = np.empty(n)
    delta = np.empty(n)
    for i in nb.prange(n):
        disc = math.exp(-r[i] * t[i])
        sd = s[i] * math.sqrt(t[i])
        fi = f[i]
        ki = k[i]
        if sd > 0.0:
            d1 = math.log(fi / ki) / sd + 0.5 * sd
            n1 = 0.5 * math.erfc(-d1 / SQRT2)
            n2 = 0.5 * math.erfc(-(d1 - sd) / SQRT2)
            if call[i]:
                price[i] = disc * (fi * n1 - ki * n2)
                delta[i] = disc * n1
            else:
                price[i] = disc * (ki * (1.0 - n2) - fi * (1.0 - n1))
                delta[i] = -disc * (1.0 - n1)
        elif call[i]:
            price[i] = disc * max(fi - ki, 0.0)
            delta[i] = disc if fi > ki else 0.0
        else:
            price[i] = disc * max(ki - fi, 0.0)
            delta[i] = -disc if fi < ki else 0.0
    return price, delta


@nb.njit(cache=True, nogil=True)
def _domain_ok(f, k, t, r, s):
    """One pass over the inputs: True where every argument is in the documented domain."""
    n = f.shape[0]
    ok = np.empty(n, dtype=np.bool_)
    for i in nb.prange(n):
        ok[i] = (
            f[i] > 0.0
            and f[i] < math.inf
            and k[i] > 0.0
            and k[i] < math.inf
            and t[i] >= 0.0
            and t[i] < math.inf
            and s[i] >= 0.0
            and s[i] < math.inf
            and abs(r[i]) < math.inf
        )
    return ok


@nb.njit(cache=True, nogil=True)
def _b76_all(f, k, t, r, s, call):
    n = f.shape[0]
    out = np.empty((4, n))
    for i in nb.prange(n):
        p, d, v, th = _b76_one(f[i], k[i], t[i], r[i], s[i], call[i])
        out[0, i] = p
        out[1, i] = d
        out[2, i] = v
        out[3, i] = th
    return out


@nb.njit(cache=True, nogil=True)
def _b76_iv(price, f, k, t, r, call):
    """Bisection on σ in [1e-6, 20] (fixed 100 steps: always terminates); NaN when the price is
    outside the no-arbitrage band (below intrinsic or above the bound) or T ≤ 0."""
    n = price.shape[0]
    out = np.empty(n)
    for i in nb.prange(n):
        disc = math.exp(-r[i] * t[i])
        intrinsic = disc * max(f[i] - k[i], 0.0) if call[i] else disc * max(k[i] - f[i], 0.0)
        upper = disc * f[i] if call[i] else disc * k[i]
        p = price[i]
        if not (t[i] > 0.0) or not (p > intrinsic) or not (p < upper) or math.isnan(p):
            out[i] = np.nan
            continue
        lo, hi = 1e-6, 20.0
        plo = _b76_one(f[i], k[i], t[i], r[i], lo, call[i])[0]
        phi = _b76_one(f[i], k[i], t[i], r[i], hi, call[i])[0]
        if p < plo or p > phi:
            out[i] = np.nan
            continue
        for _ in range(100):
            mid = 0.5 * (lo + hi)
            if _b76_one(f[i], k[i], t[i], r[i], mid, call[i])[0] < p:
                lo = mid
            else:
                hi = mid
        out[i] = 0.5 * (lo + hi)
    return out


def _arrays(*args: ArrayLike) -> list[np.ndarray]:
    conv = [a.to_numpy() if isinstance(a, pl.Series) else np.asarray(a) for a in args]
    return [np.ascontiguousarray(a) for a in np.broadcast_arrays(*conv)]


def _check(name: str, a: np.ndarray, ok: np.ndarray, rule: str) -> None:
    bad = ~ok
    if bad.any():
        i = int(np.flatnonzero(bad.ravel())[0])
        raise ValueError(
            f"{name} must be {rule}; {int(bad.sum())} value(s) are not (first at index {i}: {a.ravel()[i]!r})"
        )


def _prepare(
    f: ArrayLike,
    k: ArrayLike,
    t: ArrayLike,
    r: ArrayLike,
    sigma: ArrayLike,
    is_call: ArrayLike,
    fname: str = "F",
) -> tuple[list[np.ndarray], bool]:
    scalar = all(np.ndim(x) == 0 and not isinstance(x, pl.Series) for x in (f, k, t, r, sigma, is_call))
    F, K, T, R, S, C = _arrays(f, k, t, r, sigma, is_call)
    F, K, T, R, S = (np.ascontiguousarray(x, dtype=np.float64).ravel() for x in (F, K, T, R, S))
    C = np.ascontiguousarray(C, dtype=np.bool_).ravel()
    if not _domain_ok(F, K, T, R, S).all():  # find and name the first offender
        with np.errstate(invalid="ignore"):
            _check(fname, F, np.isfinite(F) & (F > 0), "finite and > 0")
            _check("K", K, np.isfinite(K) & (K > 0), "finite and > 0")
            _check("T", T, np.isfinite(T) & (T >= 0), "finite and >= 0 (years)")
            _check("r", R, np.isfinite(R), "finite")
            _check("sigma", S, np.isfinite(S) & (S >= 0), "finite and >= 0")
    return [F, K, T, R, S, C], scalar


def _shape(x: np.ndarray, scalar: bool) -> Any:
    return float(x[0]) if scalar else x


def black76(F: ArrayLike, K: ArrayLike, T: ArrayLike, r: ArrayLike, sigma: ArrayLike, is_call: ArrayLike) -> Any:
    """Black-76 price of a European option on a future (index points); scalars or arrays."""
    (f, k, t, rr, s, c), scalar = _prepare(F, K, T, r, sigma, is_call)
    return _shape(_b76_price_delta(f, k, t, rr, s, c)[0], scalar)


def black76_price_delta(
    F: ArrayLike, K: ArrayLike, T: ArrayLike, r: ArrayLike, sigma: ArrayLike, is_call: ArrayLike
) -> tuple[Any, Any]:
    """Black-76 price and delta (∂price/∂F) in one pass."""
    (f, k, t, rr, s, c), scalar = _prepare(F, K, T, r, sigma, is_call)
    p, d = _b76_price_delta(f, k, t, rr, s, c)
    return _shape(p, scalar), _shape(d, scalar)


def black76_greeks(
    F: ArrayLike, K: ArrayLike, T: ArrayLike, r: ArrayLike, sigma: ArrayLike, is_call: ArrayLike
) -> dict[str, Any]:
    """``price``, ``delta`` (∂/∂F), ``vega`` (∂/∂σ per 1.00), ``theta`` (per calendar day).

    Theta is the price change as one calendar day passes with F and σ fixed:
    ``(r·P − e^{-rT} F n(d1) σ / (2√T)) / 365``.
    """
    (f, k, t, rr, s, c), scalar = _prepare(F, K, T, r, sigma, is_call)
    out = _b76_all(f, k, t, rr, s, c)
    return {
        "price": _shape(out[0], scalar),
        "delta": _shape(out[1], scalar),
        "vega": _shape(out[2], scalar),
        "theta": _shape(out[3] / 365.0, scalar),
    }


def black_scholes(
    S: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    r: ArrayLike,
    sigma: ArrayLike,
    is_call: ArrayLike,
    q: ArrayLike = 0.0,
) -> Any:
    """Black-Scholes price of a European option on a dividend-paying index (index points)."""
    return black_scholes_greeks(S, K, T, r, sigma, is_call, q)["price"]


def black_scholes_greeks(
    S: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    r: ArrayLike,
    sigma: ArrayLike,
    is_call: ArrayLike,
    q: ArrayLike = 0.0,
) -> dict[str, Any]:
    """``price``, ``delta`` (∂/∂S), ``vega`` (per 1.00 of σ), ``theta`` (per calendar day).

    Priced as Black-76 on the forward ``F = S e^{(r−q)T}``: ``∂P/∂S = ∂P/∂F · e^{(r−q)T}``; theta
    adds the carry term, ``θ = θ_F − ∂P/∂F · F (r − q)``, per calendar day.
    """
    scalar = all(np.ndim(x) == 0 and not isinstance(x, pl.Series) for x in (S, K, T, r, sigma, is_call, q))
    (spot, k, t, rr, sig, c), _ = _prepare(S, K, T, r, sigma, is_call, fname="S")
    qq = np.broadcast_to(np.asarray(q.to_numpy() if isinstance(q, pl.Series) else q, dtype=np.float64), spot.shape)
    _check("q", qq, np.isfinite(qq), "finite")
    growth = np.exp((rr - qq) * t)
    f = spot * growth
    out = _b76_all(f, k, t, rr, sig, c)
    theta = out[3] - out[1] * f * (rr - qq)
    return {
        "price": _shape(out[0], scalar),
        "delta": _shape(out[1] * growth, scalar),
        "vega": _shape(out[2], scalar),
        "theta": _shape(theta / 365.0, scalar),
    }


def implied_vol_black76(
    price: ArrayLike, F: ArrayLike, K: ArrayLike, T: ArrayLike, r: ArrayLike, is_call: ArrayLike
) -> Any:
    """σ such that Black-76 reproduces ``price``; NaN (null for a Polars Series) where none fits."""
    polars_in = isinstance(price, pl.Series)
    p, f, k, t, rr, c = _arrays(price, F, K, T, r, is_call)
    pf, ff, kf, tf, rf = (np.ascontiguousarray(x, dtype=np.float64).ravel() for x in (p, f, k, t, rr))
    out = _b76_iv(pf, ff, kf, tf, rf, np.ascontiguousarray(c, dtype=np.bool_).ravel())
    if polars_in:
        return pl.Series("implied_vol", out, nan_to_null=True)
    return float(out[0]) if np.ndim(price) == 0 else out


def implied_vol_black_scholes(
    price: ArrayLike,
    S: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    r: ArrayLike,
    is_call: ArrayLike,
    q: ArrayLike = 0.0,
) -> Any:
    """σ such that Black-Scholes reproduces ``price`` (via the forward); NaN/null where none fits."""
    s, t, rr, qq = (np.asarray(x.to_numpy() if isinstance(x, pl.Series) else x, dtype=np.float64) for x in (S, T, r, q))
    f = s * np.exp((rr - qq) * t)
    return implied_vol_black76(price, f, K, T, r, is_call)


# --- the method's volatility inputs ----------------------------------------------------------


def spx_smile_vol(
    S: ArrayLike,
    K: ArrayLike,
    T: ArrayLike,
    vix: ArrayLike,
    a: float = 0.80,
    b_put: float = 0.80,
    b_call: float = 0.15,
    floor: float = 0.05,
) -> Any:
    """σ (decimal) of an SPX option from VIX with the method's sloped smile.

    ``m = ln(K/S)``; ``σ = max(floor, a·VIX/100 − b·m·√(30/dte))`` with ``dte = 365 T``,
    ``b = b_put`` for ``m < 0`` and ``b_call`` for ``m ≥ 0``.
    """
    s, k, t, v = (np.asarray(x.to_numpy() if isinstance(x, pl.Series) else x, dtype=np.float64) for x in (S, K, T, vix))
    _check("T", t, np.isfinite(t) & (t > 0), "> 0 years")
    _check("S", s, np.isfinite(s) & (s > 0), "> 0")
    _check("K", k, np.isfinite(k) & (k > 0), "> 0")
    m = np.log(k / s)
    b = np.where(m < 0, b_put, b_call)
    out = np.maximum(floor, a * v / 100.0 - b * m * np.sqrt(30.0 / (365.0 * t)))
    return float(out) if np.ndim(out) == 0 else out


def vix_strike_grid(low: float = 5.0, high: float = 300.0) -> np.ndarray:
    """Listed VIX option strikes in ``[low, high]``: 0.5 apart below 15, 1 apart up to 200, 5 above."""
    fine = np.arange(0.5, 15.0, 0.5)
    mid = np.arange(15.0, 200.0 + 1e-9, 1.0)
    wide = np.arange(205.0, 1000.0 + 1e-9, 5.0)
    grid = np.concatenate([fine, mid, wide])
    return grid[(grid >= low - 1e-9) & (grid <= high + 1e-9)]


# --- scalar versions for day-by-day state machines (pure Python math: no array overhead) ------


@nb.njit(cache=True, nogil=True)
def b76_scalar(f: float, k: float, t: float, r: float, s: float, is_call: bool = True) -> tuple[float, float, float]:
    """Black-76 ``(price, delta, theta per calendar day)`` for one option; same domain rule as
    :func:`black76` (inputs assumed already valid: F, K > 0, T, σ ≥ 0). Compiled, so the readable
    engine and the compiled kernel run the very same floating-point operations."""
    disc = math.exp(-r * t)
    sd = s * math.sqrt(t)
    if sd <= 0.0:
        intrinsic = max(f - k, 0.0) if is_call else max(k - f, 0.0)
        itm = (f > k) if is_call else (f < k)
        return disc * intrinsic, (disc if is_call else -disc) if itm else 0.0, r * disc * intrinsic / 365.0
    d1 = math.log(f / k) / sd + 0.5 * sd
    n1 = 0.5 * math.erfc(-d1 / SQRT2)
    n2 = 0.5 * math.erfc(-(d1 - sd) / SQRT2)
    if is_call:
        price = disc * (f * n1 - k * n2)
        delta = disc * n1
    else:
        price = disc * (k * (1.0 - n2) - f * (1.0 - n1))
        delta = -disc * (1.0 - n1)
    decay = disc * f * INV_SQRT_2PI * math.exp(-0.5 * d1 * d1) * s / (2.0 * math.sqrt(t))
    return price, delta, (r * price - decay) / 365.0


@nb.njit(cache=True, nogil=True)
def b76_call(f: float, k: float, t: float, r: float, s: float) -> tuple[float, float, float]:
    """:func:`b76_scalar` for a call."""
    return b76_scalar(f, k, t, r, s, True)


def bs_scalar(s: float, k: float, t: float, r: float, sigma: float, is_call: bool, q: float = 0.0) -> float:
    """Black-Scholes price of one option (via the forward), pure Python."""
    f = s * math.exp((r - q) * t)
    return b76_scalar(f, k, t, r, sigma, is_call)[0]


def smile_scalar(
    s: float,
    k: float,
    t: float,
    vix: float,
    a: float = 0.80,
    b_put: float = 0.80,
    b_call: float = 0.15,
    floor: float = 0.05,
) -> float:
    """:func:`spx_smile_vol` for one strike (pure Python)."""
    m = math.log(k / s)
    b = b_put if m < 0 else b_call
    return max(floor, a * vix / 100.0 - b * m * math.sqrt(30.0 / (365.0 * t)))
