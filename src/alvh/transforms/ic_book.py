"""The iron-condor book whose risk the hedge covers (ALVH_METHOD.md §4, §9).

The **model book** follows CBOE CNDR's rules: each SPX monthly expiry (third Friday) a new IC is
opened for the next monthly expiry — short the put and the call nearest ``short_delta`` (≈ 0.20),
long the wings nearest ``wing_delta`` (≈ 0.05), ``contracts`` of each — priced with
Black-Scholes on SPX (dividend yield ``q``) and the method's smile from VIX. Strikes are on a
``strike_step``-point grid.

Units: strikes and prices in SPX index points per share; money in dollars (× $100 multiplier);
vega in dollars per vol point (∂price/∂σ × 0.01 × 100 × quantity). Quantities are signed
(negative = short). The **program vega** re-prices the same legs at a constant
``program_dte`` calendar days, so sizing does not sell the hedge down as a cycle decays.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import ClassVar

import numpy as np
import polars as pl

from alvh.core.calendar import session_offset, spx_monthly_expiration
from alvh.core.settings import setting_default
from alvh.transforms.pricing import black_scholes_greeks, spx_smile_vol


@dataclass(frozen=True)
class IcParams:
    """The model IC and the SPX smile (§4); defaults from the settings (``SETTING_NAMES``: renames)."""

    SETTING_NAMES: ClassVar[dict[str, str]] = {
        "contracts": "ic_contracts",
        "short_delta": "ic_short_delta",
        "wing_delta": "ic_wing_delta",
        "strike_step": "ic_strike_step",
    }

    contracts: int = setting_default("ic_contracts")
    short_delta: float = setting_default("ic_short_delta")
    wing_delta: float = setting_default("ic_wing_delta")
    strike_step: float = setting_default("ic_strike_step")
    dividend_yield: float = setting_default("dividend_yield")
    smile_a: float = setting_default("smile_a")
    smile_b_put: float = setting_default("smile_b_put")
    smile_b_call: float = setting_default("smile_b_call")
    smile_floor: float = setting_default("smile_floor")
    program_dte: int = setting_default("program_dte")
    default_rate: float = setting_default("default_rate")
    phase_sessions: int = 0  # research only (timing luck): the IC calendar moved by trading sessions


@dataclass(frozen=True)
class IcLeg:
    """One SPX option leg; ``qty`` signed (negative = short), ``entry_price`` per share."""

    expiry: date
    strike: float
    is_call: bool
    qty: int
    entry_price: float


@dataclass(frozen=True)
class IcBook:
    """An iron condor (or any SPX option book) in force from ``opened`` to ``expiry``."""

    opened: date
    expiry: date
    legs: tuple[IcLeg, ...]
    source: str = "model"

    @property
    def contracts(self) -> int:
        """IC count: the quantity of the short put (or of the largest short leg)."""
        shorts = [-leg.qty for leg in self.legs if leg.qty < 0]
        return max(shorts) if shorts else 0

    @property
    def credit_per_ic(self) -> float:
        """Net premium received per IC, index points per share."""
        n = self.contracts
        return -sum(leg.qty * leg.entry_price for leg in self.legs) / n if n else 0.0

    @property
    def credit_usd(self) -> float:
        """Net premium received for the whole book, dollars."""
        return -sum(leg.qty * leg.entry_price for leg in self.legs) * 100.0

    @property
    def short_put(self) -> float | None:
        puts = [leg.strike for leg in self.legs if leg.qty < 0 and not leg.is_call]
        return max(puts) if puts else None

    @property
    def short_call(self) -> float | None:
        calls = [leg.strike for leg in self.legs if leg.qty < 0 and leg.is_call]
        return min(calls) if calls else None


def ic_cycle(d: date, phase_sessions: int = 0) -> tuple[date, date]:
    """(open date, expiry) of the model IC in force on session ``d``: opened at the latest SPX
    monthly expiry on or before ``d``, expiring at the next one. ``phase_sessions`` (research:
    the timing-luck study) moves the whole calendar that many trading sessions later (earlier
    when negative): each cycle opens and expires that many sessions after the monthly expiries."""
    if phase_sessions == 0:
        return _monthly_cycle(d)
    o, e = _monthly_cycle(d)
    for a, b in (_monthly_cycle(o - timedelta(days=1)), (o, e), _monthly_cycle(e)):
        a2, b2 = session_offset(a, phase_sessions), session_offset(b, phase_sessions)
        if a2 <= d < b2:
            return a2, b2
    raise ValueError(f"no IC cycle shifted by {phase_sessions} sessions covers {d}")


def _monthly_cycle(d: date) -> tuple[date, date]:
    y, m = d.year, d.month
    this = spx_monthly_expiration(y, m)
    if d >= this:
        ny, nm = (y + 1, 1) if m == 12 else (y, m + 1)
        return this, spx_monthly_expiration(ny, nm)
    py, pm = (y - 1, 12) if m == 1 else (y, m - 1)
    return spx_monthly_expiration(py, pm), this


def smile(
    p: IcParams, s: float | np.ndarray, k: np.ndarray, t: float | np.ndarray, vix: float | np.ndarray
) -> np.ndarray:
    return np.asarray(
        spx_smile_vol(s, k, t, vix, a=p.smile_a, b_put=p.smile_b_put, b_call=p.smile_b_call, floor=p.smile_floor)
    )


def open_model_ic(opened: date, expiry: date, spx: float, vix: float, rate: float, p: IcParams) -> IcBook:
    """Choose and price the model IC on its opening session (close prices)."""
    return open_model_ic_with_vega(opened, expiry, spx, vix, rate, p)[0]


def open_model_ic_with_vega(
    opened: date, expiry: date, spx: float, vix: float, rate: float, p: IcParams
) -> tuple[IcBook, float]:
    """The model IC opened at the close, and its vega there (dollars per vol point, signed: negative
    for the short book), from the same greeks the strikes were chosen with."""
    t = (expiry - opened).days / 365.0
    grid = np.arange(np.floor(spx * 0.5 / p.strike_step), np.ceil(spx * 1.5 / p.strike_step) + 1) * p.strike_step
    # the IC's puts and calls are out of the money (|Δ| < 0.5): an in-the-money strike is never the
    # nearest to a target below 0.5, so each side searches its own half of the grid
    put_k, call_k = grid[grid <= spx], grid[grid >= spx]
    both = np.concatenate([put_k, call_k])
    call_mask = np.arange(both.size) >= put_k.size
    g = black_scholes_greeks(spx, both, t, rate, smile(p, spx, both, t, vix), call_mask, p.dividend_yield)
    n = put_k.size
    puts = {key: np.asarray(v)[:n] for key, v in g.items()}
    calls = {key: np.asarray(v)[n:] for key, v in g.items()}

    def pick(greeks: dict[str, np.ndarray], target: float) -> int:
        return int(np.argmin(np.abs(np.asarray(greeks["delta"]) - target)))

    legs = []
    vega = 0.0
    for greeks, strikes, target, is_call, qty in (
        (puts, put_k, -p.short_delta, False, -p.contracts),
        (calls, call_k, p.short_delta, True, -p.contracts),
        (puts, put_k, -p.wing_delta, False, p.contracts),
        (calls, call_k, p.wing_delta, True, p.contracts),
    ):
        i = pick(greeks, target)
        legs.append(IcLeg(expiry, float(strikes[i]), is_call, qty, float(np.asarray(greeks["price"])[i])))
        vega += qty * float(np.asarray(greeks["vega"])[i])
    return IcBook(opened=opened, expiry=expiry, legs=tuple(legs)), vega


def mark_ic(
    book: IcBook,
    d: date,
    spx: float,
    vix: float,
    rate: float,
    p: IcParams,
    dte_override: int | None = None,
    program: bool = True,
) -> dict[str, float]:
    """Value and vega of the book on session ``d`` at the close.

    Returns ``value_usd`` (mark-to-model of the legs, negative for a net short book),
    ``vega_usd`` (dollars per vol point, signed) and ``program_vega_usd`` (same legs at
    ``program_dte`` days; only when ``program``, else NaN).
    """
    strikes = np.array([leg.strike for leg in book.legs])
    calls = np.array([leg.is_call for leg in book.legs])
    qty = np.array([leg.qty for leg in book.legs], dtype=np.float64)
    days = max((book.expiry - d).days, 0) if dte_override is None else dte_override
    t = days / 365.0
    if t > 0:
        g = black_scholes_greeks(spx, strikes, t, rate, smile(p, spx, strikes, t, vix), calls, p.dividend_yield)
        value = float(np.sum(qty * np.asarray(g["price"]))) * 100.0
        vega = float(np.sum(qty * np.asarray(g["vega"])))  # ×0.01 per vol point ×100 multiplier
    else:
        intrinsic = np.where(calls, np.maximum(spx - strikes, 0.0), np.maximum(strikes - spx, 0.0))
        value, vega = float(np.sum(qty * intrinsic)) * 100.0, 0.0
    if not program:
        return {"value_usd": value, "vega_usd": vega, "program_vega_usd": float("nan")}
    tp = p.program_dte / 365.0
    gp = black_scholes_greeks(spx, strikes, tp, rate, smile(p, spx, strikes, tp, vix), calls, p.dividend_yield)
    return {
        "value_usd": value,
        "vega_usd": vega,
        "program_vega_usd": float(np.sum(qty * np.asarray(gp["vega"]))),
    }


def ic_book_from_legs(legs: pl.DataFrame, opened: date, source: str) -> IcBook:
    """The SPX book of a frame of legs (``expiry``, ``strike`` in SPX points, ``put_call`` "P" or
    "C", ``qty`` signed contracts, ``entry_price`` per share), in row order, in force from
    ``opened`` to its first expiry; ``source`` says where the legs came from."""
    book = tuple(
        IcLeg(r["expiry"], float(r["strike"]), r["put_call"] == "C", int(r["qty"]), float(r["entry_price"]))
        for r in legs.to_dicts()
    )
    return IcBook(opened=opened, expiry=min(leg.expiry for leg in book), legs=book, source=source)
