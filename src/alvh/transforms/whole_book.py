"""The whole book of one session — the IC legs and the VIX calls held after the session's orders —
and its value under moved markets, shared by the book risk and the payoff grid.

Units: SPX, VIX, VVIX and VX forwards in index points; money in dollars (SPX and VIX options ×$100);
horizons in calendar days. Pricing is the method's (ALVH_METHOD.md §4): SPX legs Black-Scholes with
the sloped smile on VIX; VIX calls Black-76 on the forward of their own expiry with
``σ = VVIX/100 × (30/dte)^0.30``. A move of spot VIX by ``ΔVIX`` moves the forward of layer i by
``β_i × ΔVIX`` (§3); VVIX stays where it is. Held calls outside M1–M3 (no forward or beta of
their own today) are left out, as in the stress table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np

from alvh.transforms.ic_book import IcBook, IcParams, smile
from alvh.transforms.pricing import black76, black_scholes, vvix_term_sigma
from alvh.transforms.signal.book import Lot
from alvh.transforms.signal.inputs import DayInputs
from alvh.transforms.signal.params import HedgeParams
from alvh.transforms.signal.replay import Replay

MULTIPLIER = 100.0  # dollars per index point, SPX and VIX options alike
MIN_VIX = 1.0  # a moved VIX (or forward) is floored here: the grid's −10 points on a 9 VIX
MIN_FORWARD = 0.01


@dataclass(frozen=True)
class HedgeLine:
    """VIX calls of one expiry and strike: ``qty`` contracts on a forward that moves ``beta`` × ΔVIX."""

    expiry: date
    strike: float
    qty: int
    forward: float  # index points, the layer's forward at the close (settle or interpolated)
    beta: float  # Δforward / ΔVIX of the layer (§3)


@dataclass(frozen=True)
class WholeBook:
    """The session's IC and hedge, with the close it is marked at."""

    session: date
    spx: float
    vix: float
    vvix: float
    rate: float  # decimal, continuously compounded
    ic: IcBook
    hedge: tuple[HedgeLine, ...]
    ic_params: IcParams
    vvix_ref_days: float = 30.0
    vvix_exponent: float = 0.30

    @property
    def ic_dte(self) -> int:
        """Calendar days from the session to the IC expiry (0 on or after it)."""
        return max((self.ic.expiry - self.session).days, 0)

    @property
    def hedge_contracts(self) -> int:
        return sum(h.qty for h in self.hedge)


def whole_book(
    day: DayInputs,
    ic: IcBook,
    book: Mapping[tuple[date, float], Lot],
    ic_params: IcParams,
    vvix_ref_days: float = 30.0,
    vvix_exponent: float = 0.30,
) -> WholeBook | None:
    """The whole book of a session (None when a close it needs is missing: a stale session)."""
    if day.spx is None or day.vix is None or day.vvix is None:
        return None
    lines = []
    for (expiry, strike), lot in sorted(book.items()):
        j = day.layer_of(expiry)
        if j is None or lot.qty <= 0:
            continue
        x = day.layers[j]
        if x.forward is None or x.beta != x.beta:
            return None
        lines.append(HedgeLine(expiry, float(strike), int(lot.qty), float(x.forward), float(x.beta)))
    return WholeBook(
        day.session,
        day.spx,
        day.vix,
        day.vvix,
        day.rate,
        ic,
        tuple(lines),
        ic_params,
        vvix_ref_days,
        vvix_exponent,
    )


def ic_value(wb: WholeBook, spx: np.ndarray, vix: np.ndarray, days_ahead: int) -> np.ndarray:
    """Dollar value of the IC legs ``days_ahead`` calendar days on, at SPX ``spx`` and VIX ``vix``
    (arrays of the same shape). Legs at or past their expiry are worth their intrinsic value."""
    p = wb.ic_params
    s = np.asarray(spx, dtype=np.float64)
    v = np.maximum(np.asarray(vix, dtype=np.float64), MIN_VIX)
    total = np.zeros_like(s)
    for leg in wb.ic.legs:
        days = (leg.expiry - wb.session).days - days_ahead
        if days <= 0:
            px = np.maximum(s - leg.strike, 0.0) if leg.is_call else np.maximum(leg.strike - s, 0.0)
        else:
            t = days / 365.0
            k = np.full_like(s, leg.strike)
            px = np.asarray(black_scholes(s, k, t, wb.rate, smile(p, s, k, t, v), leg.is_call, p.dividend_yield))
        total = total + leg.qty * px * MULTIPLIER
    return total


def hedge_value(wb: WholeBook, d_vix: np.ndarray, days_ahead: int) -> np.ndarray:
    """Dollar value of the VIX calls ``days_ahead`` calendar days on, after spot VIX moved by
    ``d_vix`` points (each forward by β_i × ΔVIX). A call at or past its expiry is worth
    ``max(F' − K, 0)``: it settled at its moved forward."""
    dv = np.asarray(d_vix, dtype=np.float64)
    total = np.zeros_like(dv)
    for h in wb.hedge:
        f = np.maximum(h.forward + h.beta * dv, MIN_FORWARD)
        days = (h.expiry - wb.session).days - days_ahead
        if days <= 0:
            px = np.maximum(f - h.strike, 0.0)
        else:
            sigma = vvix_term_sigma(wb.vvix, float(days), wb.vvix_ref_days, wb.vvix_exponent)
            px = np.asarray(black76(f, np.full_like(f, h.strike), days / 365.0, wb.rate, sigma, True))
        total = total + h.qty * px * MULTIPLIER
    return total


def replay_books(rp: Replay, p: HedgeParams) -> list[WholeBook]:
    """The whole book of every non-stale session of a replay (the sessions the stress table has)."""
    out = []
    for s in rp.signals:
        d = s["session_date"]
        ic = rp.ics.get(d)
        if s["stale"] or ic is None:
            continue
        wb = whole_book(rp.days[d], ic, rp.books[d], p.ic, p.vvix_ref_days, p.vvix_exponent)
        if wb is not None:
            out.append(wb)
    return out
