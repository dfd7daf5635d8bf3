"""The VIX-option volatility surface (ALVH_METHOD.md §4, ALVH-2026.3): one compiled function that
every engine calls — the signal, stress, book risk, payoff grid, backtest preparation, the
compiled kernel and the research tables.

Form (``smile``, the default)::

    τ  = dte / ref_days                       (ref_days = 30 calendar days)
    τ' = max(τ, min_days / ref_days)          (below min_days the level and skew stay put)
    x  = ln(K / F) / √τ                       (standardised log-moneyness, actual τ)
    A(τ') = atm_level · exp(atm_slope · ln τ' − atm_curvature · (ln τ')²)   at-the-money term factor
    S(τ') = skew · τ'^(−skew_decay) · min(1, skew_vvix_pivot / VVIX)        call skew per unit x
    σ(K, T) = VVIX/100 · A(τ') · (1 + S(τ') · c · tanh(x / c))                c = skew_cap

The skew is linear in x near the money (slope ``S`` in units of the at-the-money vol) and bends
smoothly to a plateau ``1 ± S·c`` far from it (no kink: a kink in σ(K) would put a negative
point mass in the implied density). Above VVIX = ``skew_vvix_pivot`` the skew, in vol points,
stops growing (the ratio S falls as 1/VVIX): VIX-call skew flattens in stress, and without this a
VVIX-200 surface with the calm day's skew would be concave enough in K to allow a butterfly
arbitrage. ``legacy`` is ALVH-2026.2's σ = VVIX/100 × (ref/dte)^exponent,
kept for comparison.

Units: VVIX and F in index points, K in index points, ``dte`` in calendar days; σ a decimal
(0.85 = 85 vol points). The surface is anchored on VVIX: when VVIX doubles every σ doubles and the
shape (term factor, skew) stays — the one assumption a single calm day of quotes cannot test
(README, "The VIX-call surface", shows its sensitivity).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, NamedTuple

import numba as nb
import numpy as np

from alvh.core.settings import Settings, setting_default
from alvh.transforms.pricing import b76_call, vix_strike_grid

if TYPE_CHECKING:
    from alvh.transforms.signal.params import HedgeParams


# the settings of the surface, in ``VixSurface``'s order (the model name gives its ``smile`` flag)
SURFACE_FIELDS = (
    "vix_vol_model",
    "vvix_ref_days",
    "vvix_exponent",
    "smile_atm_level",
    "smile_atm_slope",
    "smile_atm_curvature",
    "smile_skew",
    "smile_skew_decay",
    "smile_skew_cap",
    "smile_skew_vvix_pivot",
    "smile_min_days",
)


class VixSurface(NamedTuple):
    """The surface's constants (each a setting: ``vix_vol_model``, ``vvix_ref_days``,
    ``vvix_exponent`` and ``smile_*``). A plain tuple of numbers so the compiled kernel takes it
    as one argument."""

    smile: bool = setting_default("vix_vol_model") == "smile"
    ref_days: float = setting_default("vvix_ref_days")
    legacy_exponent: float = setting_default("vvix_exponent")
    atm_level: float = setting_default("smile_atm_level")
    atm_slope: float = setting_default("smile_atm_slope")
    atm_curvature: float = setting_default("smile_atm_curvature")
    skew: float = setting_default("smile_skew")
    skew_decay: float = setting_default("smile_skew_decay")
    skew_cap: float = setting_default("smile_skew_cap")
    skew_vvix_pivot: float = setting_default("smile_skew_vvix_pivot")
    min_days: float = setting_default("smile_min_days")

    @classmethod
    def from_settings(cls, s: Settings | HedgeParams) -> VixSurface:
        """The surface of ``s`` (the settings or ``HedgeParams``): its ``SURFACE_FIELDS``."""
        model, *rest = (getattr(s, f) for f in SURFACE_FIELDS)
        return cls(model == "smile", *rest)

    @property
    def model(self) -> str:
        return "smile" if self.smile else "legacy"


DEFAULT = VixSurface()  # the calibrated smile (the settings' defaults)
LEGACY = VixSurface(smile=False)


@nb.njit(cache=True, nogil=True)
def vix_sigma(vvix: float, f: float, k: float, dte: float, s: VixSurface) -> float:
    """σ (decimal) of a VIX option struck at ``k`` on the VX future ``f`` expiring in ``dte``
    calendar days, with VVIX at ``vvix`` — the module docstring's formula. Inputs are assumed
    valid (VVIX, F, K > 0; dte > 0): callers check their own domain."""
    if not s.smile:
        return vvix / 100.0 * (s.ref_days / dte) ** s.legacy_exponent
    tau = dte / s.ref_days
    lt = math.log(max(tau, s.min_days / s.ref_days))
    level = s.atm_level * math.exp(s.atm_slope * lt - s.atm_curvature * lt * lt)
    slope = s.skew * math.exp(-s.skew_decay * lt) * min(1.0, s.skew_vvix_pivot / vvix)
    x = math.log(k / f) / math.sqrt(tau)
    return vvix / 100.0 * level * (1.0 + slope * s.skew_cap * math.tanh(x / s.skew_cap))


@nb.njit(cache=True, nogil=True)
def vix_sigmas(vvix: np.ndarray, f: np.ndarray, k: np.ndarray, dte: np.ndarray, s: VixSurface) -> np.ndarray:
    """:func:`vix_sigma` over equal-length arrays."""
    out = np.empty(f.shape[0])
    for i in range(f.shape[0]):
        out[i] = vix_sigma(vvix[i], f[i], k[i], dte[i], s)
    return out


def vix_sigma_array(vvix: Any, f: Any, k: Any, dte: Any, s: VixSurface) -> np.ndarray:
    """:func:`vix_sigma` on anything NumPy broadcasts (scalars, arrays); checks the domain and
    names the first offending argument."""
    v, ff, kk, d = (np.ascontiguousarray(a, dtype=np.float64).ravel() for a in np.broadcast_arrays(vvix, f, k, dte))
    for name, a in (("vvix", v), ("F", ff), ("K", kk), ("dte", d)):
        bad = ~(np.isfinite(a) & (a > 0))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{name} must be finite and > 0; {int(bad.sum())} value(s) are not (first: {a[i]!r})")
    return vix_sigmas(v, ff, kk, d, s)


@nb.njit(cache=True, nogil=True)
def call_on_surface(vvix: float, f: float, k: float, dte: float, r: float, s: VixSurface) -> tuple[float, float, float]:
    """Black-76 ``(price, delta, theta per calendar day)`` of a VIX call at its own σ(K) on the
    surface; ``dte`` calendar days (> 0), ``r`` continuously compounded."""
    return b76_call(f, k, dte / 365.0, r, vix_sigma(vvix, f, k, dte, s))


@nb.njit(cache=True, nogil=True)
def target_delta_strike(
    vvix: float, f: float, dte: float, r: float, target: float, grid: np.ndarray, s: VixSurface
) -> float:
    """The strike of ``grid`` (listed strikes, ascending) whose delta on the surface is nearest
    ``target``; ties go to the lower strike."""
    best, gap = grid[0], math.inf
    for k in grid:
        g = abs(call_on_surface(vvix, f, k, dte, r, s)[1] - target)
        if g < gap:
            best, gap = k, g
    return best


@nb.njit(cache=True, nogil=True)
def target_call(
    vvix: float, f: float, dte: float, r: float, target: float, grid: np.ndarray, s: VixSurface
) -> tuple[float, float, float, float, float]:
    """The model layer (§4): the target-delta strike of ``grid`` (:func:`target_delta_strike`)
    and its ``(strike, σ, price, delta, theta per calendar day)`` on the surface."""
    k = target_delta_strike(vvix, f, dte, r, target, grid, s)
    price, delta, theta = call_on_surface(vvix, f, k, dte, r, s)
    return k, vix_sigma(vvix, f, k, dte, s), price, delta, theta


STRIKES = vix_strike_grid()
