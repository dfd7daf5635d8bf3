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
from alvh.transforms.pricing import INV_SQRT_2PI, black76_greeks, black_scholes_greeks, vvix_term_sigma
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


def ic_greeks(wb: WholeBook) -> Greeks:
    """Dollar greeks of the IC legs at the close (legs at or past expiry contribute nothing)."""
    p = wb.ic_params
    out = Greeks()
    for leg in wb.ic.legs:
        days = (leg.expiry - wb.session).days
        if days <= 0:
            continue
        t = days / 365.0
        sigma = float(smile(p, wb.spx, np.array([leg.strike]), t, wb.vix)[0])
        g = black_scholes_greeks(wb.spx, leg.strike, t, wb.rate, sigma, leg.is_call, p.dividend_yield)
        n = leg.qty * MULTIPLIER
        out = out + Greeks(
            n * g["delta"],
            n * bs_gamma(wb.spx, leg.strike, t, wb.rate, sigma, p.dividend_yield),
            n * g["vega"] * 0.01,
            n * g["theta"],
        )
    return out


def hedge_greeks(wb: WholeBook) -> Greeks:
    """Dollar greeks of the VIX calls at the close: vega = Σ q·100·Δ·β, theta per calendar day."""
    out = Greeks()
    for h in wb.hedge:
        days = (h.expiry - wb.session).days
        if days <= 0:
            continue
        sigma = vvix_term_sigma(wb.vvix, float(days), wb.vvix_ref_days, wb.vvix_exponent)
        g = black76_greeks(h.forward, h.strike, days / 365.0, wb.rate, sigma, True)
        n = h.qty * MULTIPLIER
        out = out + Greeks(0.0, 0.0, n * g["delta"] * h.beta, n * g["theta"])
    return out


def book_risk_row(wb: WholeBook) -> dict[str, Any]:
    """The session's ``marts.book_risk`` row (without ``method_version``)."""
    ic, hedge = ic_greeks(wb), hedge_greeks(wb)
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


def book_risk_rows(books: Sequence[WholeBook]) -> list[dict[str, Any]]:
    """One row per session's whole book."""
    return [book_risk_row(wb) for wb in books]
