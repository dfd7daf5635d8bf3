"""Whole-book risk of a session (``marts.book_risk``): net delta, gamma, vega and theta of the IC
book, of the VIX-call hedge, and of both, after the session's orders, at the close.

Units (dollars per unit of the market move):

- **delta** — dollars per 1 SPX point: ``Σ qty × 100 × ∂P/∂S``.
- **gamma** — change of that delta per 1 SPX point (dollars per SPX point²):
  ``Σ qty × 100 × ∂²P/∂S²``, with ``∂²P/∂S² = e^{−qT} φ(d1) / (S σ √T)`` (sticky strike: each
  leg keeps the smile volatility of its strike).
- **vega** — dollars per 1 point of volatility. IC: ``Σ qty × 100 × ∂P/∂σ × 0.01`` (per vol
  point, the method's ``V_ic`` on the live legs); hedge: ``Σ q × 100 × Δ × β`` (per point of spot
  VIX, the method's ``h_i``). The method equates the two units (R = hedge vega ÷ |V_ic|), and so
  does the net column.
- **theta** — dollars per calendar day, markets unchanged (Black-Scholes / Black-76 theta).

VIX calls have no SPX delta or gamma in the method's model — SPX and VIX are separate axes (the
payoff grid moves both) — so the hedge's delta and gamma are 0 and the net equals the IC's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from alvh.transforms.ic_book import smile
from alvh.transforms.pricing import INV_SQRT_2PI, black76_greeks, black_scholes_greeks
from alvh.transforms.vix_surface import vix_sigma_array
from alvh.transforms.whole_book import MULTIPLIER, WholeBook


@dataclass(frozen=True)
class Greeks:
    """Dollar greeks of one book (units in the module docstring)."""

    delta: float = 0.0
    gamma: float = 0.0
    vega: float = 0.0
    theta: float = 0.0

    def __add__(self, other: Greeks) -> Greeks:
        return Greeks(
            self.delta + other.delta, self.gamma + other.gamma, self.vega + other.vega, self.theta + other.theta
        )


def bs_gamma(s: float, k: float, t: float, r: float, sigma: float, q: float) -> float:
    """Black-Scholes ``∂²P/∂S²`` per share (same for calls and puts); 0 at ``T = 0`` or ``σ = 0``."""
    sd = sigma * math.sqrt(t)
    if sd <= 0.0:
        return 0.0
    d1 = (math.log(s / k) + (r - q) * t) / sd + 0.5 * sd
    return math.exp(-q * t) * INV_SQRT_2PI * math.exp(-0.5 * d1 * d1) / (s * sd)


def _vec_gamma(
    s: np.ndarray, k: np.ndarray, t: np.ndarray, r: np.ndarray, sigma: np.ndarray, q: np.ndarray
) -> np.ndarray:
    """:func:`bs_gamma` on arrays (T > 0 and σ > 0 everywhere)."""
    sd = sigma * np.sqrt(t)
    d1 = (np.log(s / k) + (r - q) * t) / sd + 0.5 * sd
    return np.exp(-q * t) * INV_SQRT_2PI * np.exp(-0.5 * d1 * d1) / (s * sd)


def ic_greeks_many(books: Sequence[WholeBook]) -> list[Greeks]:
    """Dollar greeks of each book's IC legs at the close (legs at or past expiry contribute
    nothing); every leg of every book priced in one call."""
    rows = [(i, wb, leg) for i, wb in enumerate(books) for leg in wb.ic.legs if (leg.expiry - wb.session).days > 0]
    if not rows:
        return [Greeks() for _ in books]
    s = np.array([wb.spx for _, wb, _ in rows])
    vix = np.array([wb.vix for _, wb, _ in rows])
    r = np.array([wb.rate for _, wb, _ in rows])
    q = np.array([wb.ic_params.dividend_yield for _, wb, _ in rows])
    k = np.array([leg.strike for _, _, leg in rows])
    t = np.array([(leg.expiry - wb.session).days for _, wb, leg in rows]) / 365.0
    n = np.array([leg.qty for _, _, leg in rows], dtype=np.float64) * MULTIPLIER
    sigma = smile(books[0].ic_params, s, k, t, vix)
    g = black_scholes_greeks(s, k, t, r, sigma, np.array([leg.is_call for _, _, leg in rows]), q)
    book = np.array([i for i, _, _ in rows])
    sums = [
        np.bincount(book, weights=n * np.asarray(x), minlength=len(books))
        for x in (g["delta"], _vec_gamma(s, k, t, r, sigma, q), np.asarray(g["vega"]) * 0.01, g["theta"])
    ]
    return [Greeks(*(float(col[i]) for col in sums)) for i in range(len(books))]


def hedge_greeks_many(books: Sequence[WholeBook]) -> list[Greeks]:
    """Dollar greeks of each book's VIX calls at the close: vega = Σ q·100·Δ·β, theta per calendar
    day; every line of every book priced in one call."""
    rows = [(i, wb, h) for i, wb in enumerate(books) for h in wb.hedge if (h.expiry - wb.session).days > 0]
    if not rows:
        return [Greeks() for _ in books]
    days = np.array([(h.expiry - wb.session).days for _, wb, h in rows], dtype=np.float64)
    vvix = np.array([wb.vvix for _, wb, _ in rows])
    f = np.array([h.forward for _, _, h in rows])
    k = np.array([h.strike for _, _, h in rows])
    sigma = vix_sigma_array(vvix, f, k, days, books[0].surface)
    r = np.array([wb.rate for _, wb, _ in rows])
    g = black76_greeks(f, k, days / 365.0, r, sigma, True)
    n = np.array([h.qty for _, _, h in rows], dtype=np.float64) * MULTIPLIER
    beta = np.array([h.beta for _, _, h in rows])
    book = np.array([i for i, _, _ in rows])
    vega = np.bincount(book, weights=n * np.asarray(g["delta"]) * beta, minlength=len(books))
    theta = np.bincount(book, weights=n * np.asarray(g["theta"]), minlength=len(books))
    return [Greeks(0.0, 0.0, float(vega[i]), float(theta[i])) for i in range(len(books))]


def ic_greeks(wb: WholeBook) -> Greeks:
    """Dollar greeks of one book's IC legs at the close."""
    return ic_greeks_many([wb])[0]


def hedge_greeks(wb: WholeBook) -> Greeks:
    """Dollar greeks of one book's VIX calls at the close."""
    return hedge_greeks_many([wb])[0]


def risk_row(wb: WholeBook, ic: Greeks, hedge: Greeks) -> dict[str, Any]:
    """The session's ``marts.book_risk`` row (without ``method_version``)."""
    net = ic + hedge
    row: dict[str, Any] = {
        "session_date": wb.session,
        "spx_close": wb.spx,
        "vix_close": wb.vix,
        "ic_contracts": wb.ic.contracts,
        "hedge_contracts": wb.hedge_contracts,
    }
    for name, g in (("ic", ic), ("hedge", hedge), ("net", net)):
        row |= {
            f"{name}_delta_usd": g.delta,
            f"{name}_gamma_usd": g.gamma,
            f"{name}_vega_usd": g.vega,
            f"{name}_theta_usd": g.theta,
        }
    return row


def book_risk_row(wb: WholeBook) -> dict[str, Any]:
    """One session's ``marts.book_risk`` row (without ``method_version``)."""
    return book_risk_rows([wb])[0]


def book_risk_rows(books: Sequence[WholeBook]) -> list[dict[str, Any]]:
    """One row per session's whole book (all books priced together)."""
    ics, hedges = ic_greeks_many(books), hedge_greeks_many(books)
    return [risk_row(wb, ic, h) for wb, ic, h in zip(books, ics, hedges, strict=True)]
