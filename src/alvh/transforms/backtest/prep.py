"""Per-session inputs of the compiled engine (:mod:`alvh.transforms.backtest.kernel`), prepared
once, vectorised where possible, as plain NumPy arrays (numbers only, no strings).

Everything here depends on the market and on the *market* parameters only (``PREPARED_FIELDS``:
the IC program, the VIX-call surface, the target delta and the default rate) — never on the
hedge rules' settings (band, carry budget, weights, …), which the kernel reads. So a sweep
prepares once per distinct market key and runs every configuration of that key on the same
arrays.

The values are computed with the readable engine's own functions (``day_inputs``,
``layer_models``' strike search, ``b76_scalar``, ``program_vega``, ``model_ic_for``), so the
kernel starts from bit-identical numbers. Units as in the engine: index points, calendar days
(``dte``), decimals for rates and vols, dollars for the IC credit and |V_ic| (per vol point).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from typing import Any, NamedTuple

import numba
import numpy as np

from alvh.transforms.backtest.readable import Market
from alvh.transforms.signal.compiled_rules import regime_code
from alvh.transforms.signal.inputs import day_inputs
from alvh.transforms.signal.params import OPTION_MULTIPLIER, HedgeParams
from alvh.transforms.signal.replay import model_ic_for
from alvh.transforms.signal.vega import vega_to_hedge
from alvh.transforms.vix_surface import STRIKES, SURFACE_FIELDS, VixSurface, target_call

WINDOW_BEFORE = 3  # held contracts priced off the curve: expiries from M1 − 3 …
WINDOW = 10  # … to M1 + 6 (monthly contracts), more than any book ever holds
# the HedgeParams fields the prepared arrays depend on (the market key and the surface's constants)
PREPARED_FIELDS = ("target_delta", "default_rate", "ic", *SURFACE_FIELDS)


class EngineArrays(NamedTuple):
    """The compiled engine's inputs, by name — numba reads the fields, so every kernel takes this
    one argument instead of positional slots. Session ``i`` (``ordinal``); layer ``j`` (0-based
    M1–M3); expiry ``e`` (``exp_ordinal``: every contract expiry the engine can hold); ``NaN``
    where an input is missing. ``m_idx[i, j]`` is M_j's expiry index; ``win_fwd[i, o]`` the
    forward on session ``i`` of expiry ``m_idx[i, 0] − WINDOW_BEFORE + o`` (settle or
    interpolated, §3; M1–M3 are in the window); ``final[e]`` the final settlement of expiry ``e``
    (the expiry-day settle, else the VIX open; NaN when neither exists). Every field but
    ``exp_ordinal`` and ``final`` is per session, so a walk-forward path can switch any of them
    (the surface and the target strikes included) from one session to the next."""

    surface: np.ndarray  # (n, 11) the VIX-call surface in force (``VixSurface``'s fields)
    ordinal: np.ndarray  # session as a day number (date.toordinal)
    exp_ordinal: np.ndarray  # expiry as a day number
    vix: np.ndarray
    vvix: np.ndarray
    rate: np.ndarray  # decimal
    ready: np.ndarray  # bool: VIX, VVIX, SPX, M1–M3's forwards and betas known and the model IC open
    rsi: np.ndarray  # A/D RSI; NaN when breadth is missing (the kernel uses its centre)
    hist: np.ndarray  # MACD histogram; NaN when missing
    cross: np.ndarray  # int64: −1, 0, +1
    regime: np.ndarray  # int64, ``compiled_rules.regime_code``
    eve: np.ndarray  # bool: a scheduled FOMC/CPI/PPI release affects the next session (hold_before_events)
    m_idx: np.ndarray  # int64 (n, 3)
    fwd: np.ndarray  # (n, 3)
    beta: np.ndarray  # (n, 3)
    strike: np.ndarray  # (n, 3) target-delta strike (NaN on a session that cannot be sized)
    price: np.ndarray  # (n, 3) its Black-76 price, VIX points
    h: np.ndarray  # (n, 3) h_j = 100·Δ·β: $ per VIX point of one contract of M_j (the sizing's h)
    theta: np.ndarray  # (n, 3) VIX points per calendar day
    credit: np.ndarray  # IC credit in force, dollars
    vega_ic: np.ndarray  # |V_ic|, dollars per vol point
    win_fwd: np.ndarray  # (n, WINDOW)
    final: np.ndarray  # (len(expiries),)

    @property
    def sessions(self) -> list[date]:
        return [date.fromordinal(d) for d in self.ordinal.tolist()]

    @property
    def expiries(self) -> list[date]:
        return [date.fromordinal(d) for d in self.exp_ordinal.tolist()]


PER_SESSION = tuple(f for f in EngineArrays._fields if f not in ("exp_ordinal", "final"))  # not per expiry


def market_key(p: HedgeParams) -> tuple[Any, ...]:
    """The values of ``p`` the prepared arrays depend on (everything else is the kernel's)."""
    return tuple(getattr(p, f) for f in PREPARED_FIELDS)


def slice_arrays(arr: EngineArrays, a: int, b: int) -> EngineArrays:
    """The arrays of sessions ``a:b`` (every per-session input depends on its session alone)."""
    return arr._replace(**{f: getattr(arr, f)[a:b] for f in PER_SESSION})


def _num(v: object) -> float:
    return float(v) if v is not None else math.nan  # type: ignore[arg-type]


def prepare_engine(market: Market, sessions: Sequence[date], p: HedgeParams) -> EngineArrays:
    """The compiled engine's inputs for ``sessions`` (ascending) under the market parameters of
    ``p`` (:data:`PREPARED_FIELDS`)."""
    n = len(sessions)
    rows = [market.by_date[d] for d in sessions]
    expiries = sorted({r[f"m{i}_expiry"] for r in rows for i in (1, 2, 3)})
    idx = {e: k for k, e in enumerate(expiries)}
    nan = ("vix", "vvix", "spx", "rate", "rsi", "hist", "credit", "vega_ic", "fwd", "beta")
    a: dict[str, Any] = {k: np.full((n, 3) if k in ("fwd", "beta") else n, math.nan) for k in nan}
    a["win_fwd"] = np.full((n, WINDOW), math.nan)
    a |= {k: np.zeros(n, dtype=np.int64) for k in ("cross", "regime")}
    a |= {"has_ic": np.zeros(n, dtype=np.bool_), "m_idx": np.zeros((n, 3), dtype=np.int64)}
    dte = np.zeros((n, 3))
    cache: dict = {}
    for i, (d, row) in enumerate(zip(sessions, rows, strict=True)):
        day = day_inputs(row, market.quotes, p)
        a["vix"][i], a["vvix"][i], a["spx"][i] = _num(day.vix), _num(day.vvix), _num(day.spx)
        a["rate"][i], a["rsi"][i], a["hist"][i] = day.rate, _num(row.get("ad_rsi")), _num(day.hist)
        a["cross"][i] = int(day.cross) if day.cross is not None else 0
        a["regime"][i] = regime_code(day.regime)
        for j, x in enumerate(day.layers):
            a["m_idx"][i, j], dte[i, j], a["fwd"][i, j], a["beta"][i, j] = idx[x.expiry], x.dte, _num(x.forward), x.beta
        base = a["m_idx"][i, 0] - WINDOW_BEFORE
        for o in range(WINDOW):
            e = base + o
            if 0 <= e < len(expiries) and expiries[e] > d:
                f = market.quotes.forward(d, expiries[e])
                a["win_fwd"][i, o] = math.nan if f is None else f.value
        ic = model_ic_for(d, market.by_date, p, cache)
        if ic is not None:
            a["has_ic"][i], a["credit"][i] = True, ic.credit_usd
            if day.spx is not None and day.vix is not None:
                a["vega_ic"][i] = vega_to_hedge(ic, day, p)
    known = np.column_stack([a.pop("spx"), a["vix"], a["vvix"], a["fwd"], a["beta"]])
    ready = a.pop("has_ic") & ~np.isnan(known).any(axis=1)
    finals = [market.quotes.final_settlement(exp) for exp in expiries]
    strike, price, delta, theta = _layer_models(a["vvix"], dte, a["fwd"], a["rate"], p.target_delta, STRIKES, p.surface)
    return EngineArrays(
        surface=np.tile(np.array(p.surface, dtype=np.float64), (n, 1)),
        ordinal=np.array([d.toordinal() for d in sessions], dtype=np.int64),
        exp_ordinal=np.array([e.toordinal() for e in expiries], dtype=np.int64),
        ready=ready,
        eve=np.array([r.get("next_event_sessions") == 1 for r in rows], dtype=np.bool_),
        final=np.array([math.nan if fs is None else fs[0] for fs in finals]),
        strike=strike,
        price=price,
        h=OPTION_MULTIPLIER * delta * a["beta"],
        theta=theta,
        **a,
    )


@numba.njit(cache=True)
def _layer_models(
    vvix: np.ndarray, dte: np.ndarray, fwd: np.ndarray, rate: np.ndarray, target: float, grid: np.ndarray, s: VixSurface
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``layer_models`` of every (session, layer) with VVIX and a forward: the target-delta
    strike on the surface and its Black-76 (price, delta, theta) — the readable engine's own
    :func:`~alvh.transforms.vix_surface.target_call`. The calls-only strategies read one layer,
    so each layer stands on its own."""
    out = np.full((4, vvix.shape[0], 3), np.nan)
    for i in range(vvix.shape[0]):
        for j in range(3):
            if vvix[i] == vvix[i] and fwd[i, j] == fwd[i, j] and dte[i, j] > 0:
                k, _, px, dl, th = target_call(vvix[i], fwd[i, j], dte[i, j], rate[i], target, grid, s)
                out[:, i, j] = k, px, dl, th
    return out[0], out[1], out[2], out[3]
