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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from alvh.transforms.ic_book import IcBook, IcParams, smile
from alvh.transforms.pricing import black76, black_scholes
from alvh.transforms.signal.book import Lot
from alvh.transforms.signal.inputs import DayInputs
from alvh.transforms.signal.params import HedgeParams
from alvh.transforms.signal.replay import Replay
from alvh.transforms.vix_surface import DEFAULT as DEFAULT_SURFACE
from alvh.transforms.vix_surface import VixSurface, vix_sigma_array

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
    surface: VixSurface = DEFAULT_SURFACE  # the VIX-call surface (§4)

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
    surface: VixSurface,
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
        surface,
    )


Cells = tuple[np.ndarray, np.ndarray, np.ndarray]  # SPX level, VIX level (or ΔVIX), days ahead — one shape


def _flat(x: np.ndarray | float | int, shape: tuple[int, ...]) -> np.ndarray:
    return np.broadcast_to(np.asarray(x, dtype=np.float64), shape).ravel()


def ic_values(books: Sequence[WholeBook], cells: Sequence[Cells]) -> list[np.ndarray]:
    """Dollar value of each book's IC legs in each of its cells (SPX level, VIX level, calendar
    days ahead). Legs at or past their expiry are worth their intrinsic value. Every leg of every
    book and cell is priced in one call (a pricing call has a fixed cost that dwarfs one cell)."""
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("s", "k", "days", "v", "call", "w", "q", "rate", "cell")}
    sizes, offset = [], 0
    for wb, (spx, vix, ahead) in zip(books, cells, strict=True):
        s = np.asarray(spx, dtype=np.float64).ravel()
        n = s.size
        sizes.append(n)
        v, d = np.maximum(_flat(vix, s.shape), MIN_VIX), _flat(ahead, s.shape)
        for leg in wb.ic.legs:
            parts["s"].append(s)
            parts["v"].append(v)
            parts["days"].append((leg.expiry - wb.session).days - d)
            parts["k"].append(np.full(n, leg.strike))
            parts["call"].append(np.full(n, leg.is_call))
            parts["w"].append(np.full(n, leg.qty * MULTIPLIER))
            parts["q"].append(np.full(n, wb.ic_params.dividend_yield))
            parts["rate"].append(np.full(n, wb.rate))
            parts["cell"].append(np.arange(offset, offset + n))
        offset += n
    if not parts["s"]:
        return [np.zeros(n) for n in sizes]
    a = {k: np.concatenate(v) for k, v in parts.items()}
    t = np.maximum(a["days"], 0.0) / 365.0  # T = 0: the pricer returns the intrinsic value
    p = books[0].ic_params  # one smile for the batch: the settings in force
    sigma = smile(p, a["s"], a["k"], np.maximum(t, 1e-6), a["v"])  # the smile needs T > 0; unused at T = 0
    px = np.asarray(black_scholes(a["s"], a["k"], t, a["rate"], sigma, a["call"], a["q"]))
    return _per_book(a["cell"], a["w"] * px, offset, sizes)


def hedge_values(books: Sequence[WholeBook], cells: Sequence[tuple[np.ndarray, np.ndarray]]) -> list[np.ndarray]:
    """Dollar value of each book's VIX calls in each of its cells (ΔVIX in points, calendar days
    ahead): each forward moves by β_i × ΔVIX; a call at or past its expiry is worth ``max(F' − K, 0)``
    (it settled at its moved forward). One pricing call for every line of every book and cell."""
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("f", "k", "days", "w", "vvix", "rate", "cell")}
    sizes, offset = [], 0
    for wb, (d_vix, ahead) in zip(books, cells, strict=True):
        dv = np.asarray(d_vix, dtype=np.float64).ravel()
        n = dv.size
        sizes.append(n)
        d = _flat(ahead, dv.shape)
        for h in wb.hedge:
            parts["f"].append(np.maximum(h.forward + h.beta * dv, MIN_FORWARD))
            parts["days"].append((h.expiry - wb.session).days - d)
            parts["k"].append(np.full(n, h.strike))
            parts["w"].append(np.full(n, h.qty * MULTIPLIER))
            parts["vvix"].append(np.full(n, wb.vvix))
            parts["rate"].append(np.full(n, wb.rate))
            parts["cell"].append(np.arange(offset, offset + n))
        offset += n
    if not parts["f"]:
        return [np.zeros(n) for n in sizes]
    a = {k: np.concatenate(v) for k, v in parts.items()}
    sigma = vix_sigma_array(a["vvix"], a["f"], a["k"], np.maximum(a["days"], 1e-6), books[0].surface)
    px = np.asarray(black76(a["f"], a["k"], np.maximum(a["days"], 0.0) / 365.0, a["rate"], sigma, True))
    return _per_book(a["cell"], a["w"] * px, offset, sizes)


def _per_book(cell: np.ndarray, value: np.ndarray, cells: int, sizes: list[int]) -> list[np.ndarray]:
    """Dollar values of the priced lines summed per cell, split back into one array per book."""
    total = np.bincount(cell.astype(np.int64), weights=value, minlength=cells)
    return np.split(total, np.cumsum(sizes)[:-1])


def ic_value(wb: WholeBook, spx: np.ndarray, vix: np.ndarray, days_ahead: np.ndarray | int) -> np.ndarray:
    """Dollar value of one book's IC legs at SPX ``spx``, VIX ``vix``, ``days_ahead`` days on."""
    s = np.asarray(spx, dtype=np.float64)
    return ic_values([wb], [(s, _flat(vix, s.shape), _flat(days_ahead, s.shape))])[0]


def hedge_value(wb: WholeBook, d_vix: np.ndarray, days_ahead: np.ndarray | int) -> np.ndarray:
    """Dollar value of one book's VIX calls after spot VIX moved ``d_vix`` points, ``days_ahead`` days on."""
    dv = np.asarray(d_vix, dtype=np.float64)
    return hedge_values([wb], [(dv, _flat(days_ahead, dv.shape))])[0]


def replay_books(rp: Replay, p: HedgeParams) -> list[WholeBook]:
    """The whole book of every non-stale session of a replay (the sessions the stress table has)."""
    out = []
    for s in rp.signals:
        d = s["session_date"]
        ic = rp.ics.get(d)
        if s["stale"] or ic is None:
            continue
        wb = whole_book(rp.days[d], ic, rp.books[d], p.ic, p.surface)
        if wb is not None:
            out.append(wb)
    return out
