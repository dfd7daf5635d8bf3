"""A replica of Cboe's VIX Tail Hedge index (VXTH) priced on the VIX-option surface, to validate
the surface across regimes (2006–2026) against an index that bought real VIX calls every month.

VXTH (Cboe; PROVENANCE §15): hold the S&P 500 total-return index and, at each monthly VIX
expiry (the *roll*), spend a weight ``w`` of the portfolio on one-month 30-delta VIX calls, held
to the next expiry. ``w`` is set from the front VX future ``F`` on the roll day (the contract
being bought, i.e. the one expiring at the next roll)::

    F ≤ 15 → 0 %    15 < F ≤ 30 → 1 %    30 < F ≤ 50 → 0.5 %    F > 50 → 0 %

The replica, per roll period ``[t0, t1]`` (``t0``, ``t1`` consecutive monthly VIX expiries):

- ``F`` = that contract's settle on ``t0`` (else the forward interpolated in expiry date between
  the contracts that bracket it, ``alvh.transforms.forwards``; flagged ``forward_source``);
- ``dte = t1 − t0`` calendar days, ``T = dte/365``; ``r`` = DTB3/100 (last value on or before
  ``t0``); ``σ(K) = m · vix_sigma(VVIX_t0, F, K, dte, surface)`` (``m`` = 1 unless fitted);
- the strike ``K`` is the listed strike whose Black-76 delta ``e^{−rT} N(d1)`` is nearest 0.30
  (ties: the lower strike); the call costs ``P`` = its Black-76 price;
- at ``t1`` it pays ``max(S − K, 0)``, ``S`` = the contract's final settlement (its settle dated
  ``t1`` in the CFE data; else VIX's open on ``t1``, flagged ``final_source = "vix_open"``);
- the S&P 500 total return over the period is ``R = SPX_t1/SPX_t0 · exp(q·days/365) − 1``
  (closes; ``q`` a stated dividend yield);
- period return ``(1 − w)(1 + R) + w·payoff/P − 1``; **excess return** over the S&P 500 total
  return ``w·(payoff/P − 1 − R)``. VXTH's own excess return is ``VXTH_t1/VXTH_t0 − 1 − R``.

The fit: the σ multiplier ``m`` minimising Σ (replica excess − VXTH excess)² over the periods
(monthly excess returns, not log levels: each month counts once, and a level fit would let the
early months' errors carry into every later one). The strike is re-chosen at each ``m``.

Units: VX, VIX, strikes and prices in index points; VVIX in index points; rates and yields
decimals per year; returns decimals. Pure: frames in, frames out; no I/O, no settings lookup.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from itertools import pairwise

import numpy as np
import polars as pl
from scipy.optimize import minimize_scalar

from alvh.transforms.forwards import ForwardCurves
from alvh.transforms.pricing import black76_price_delta, vix_strike_grid
from alvh.transforms.vix_surface import VixSurface, vix_sigma_array

TARGET_DELTA = 0.30
# (upper bound of the front future, weight): the first row whose bound F does not exceed wins
WEIGHT_SCHEDULE: tuple[tuple[float, float], ...] = ((15.0, 0.0), (30.0, 0.01), (50.0, 0.005), (float("inf"), 0.0))
FINAL_SETTLE = "settle"
FINAL_VIX_OPEN = "vix_open"

ROLL_COLUMNS = (
    "start",  # roll date t0 (a monthly VIX expiry)
    "end",  # next roll date t1 = the bought contract's expiry
    "dte",  # calendar days t0 → t1
    "forward",  # the bought contract's settle (or interpolated forward) on t0, index points
    "forward_source",  # "settle" | "interpolated"
    "final_settlement",  # the contract's final settlement on t1, index points
    "final_source",  # "settle" | "vix_open"
    "vvix",  # VVIX close on t0
    "rate",  # DTB3 on or before t0, decimal
    "spx_tr_return",  # S&P 500 total return t0 → t1 (price return + stated dividend yield)
    "vxth_return",  # VXTH t0 → t1
    "vxth_excess",  # vxth_return − spx_tr_return
)


# --------------------------------------------------------------------------- the index's rules


def call_weight(front_future: float) -> float:
    """VXTH's weight on VIX calls at a roll, from the front VX future (index points)."""
    for bound, weight in WEIGHT_SCHEDULE:
        if front_future <= bound:
            return weight
    return 0.0  # NaN: no future, no calls


def call_weights(front_future: np.ndarray) -> np.ndarray:
    """:func:`call_weight` over an array."""
    f = np.asarray(front_future, dtype=np.float64)
    return np.select([f <= b for b, _ in WEIGHT_SCHEDULE], [w for _, w in WEIGHT_SCHEDULE], default=0.0)


def period_excess(weight: float, payoff: float, premium: float, spx_tr_return: float) -> float:
    """Excess return over the S&P 500 total return of one roll period: ``w·(payoff/P − 1 − R)``."""
    if weight == 0.0:
        return 0.0
    return weight * (payoff / premium - 1.0 - spx_tr_return)


# --------------------------------------------------------------------------- strike and price


class CallGrid:
    """Every listed strike of every roll with its surface σ at ``m = 1``, computed once.

    σ scales linearly with the multiplier ``m``, so a fit re-prices Black-76 on this grid for each
    trial ``m`` without evaluating the surface again.

    Parameters
    ----------
    forward, dte, rate, vvix
        Equal-length arrays: the VX forward of the bought expiry (index points), calendar days to
        it, the rate (decimal), VVIX (index points).
    surface
        ``vix_sigma(vvix, F, K, dte, surface)`` gives each strike's σ.
    grid
        Listed strikes (default :func:`alvh.transforms.pricing.vix_strike_grid`).
    """

    def __init__(
        self,
        forward: np.ndarray,
        dte: np.ndarray,
        rate: np.ndarray,
        vvix: np.ndarray,
        surface: VixSurface,
        grid: np.ndarray | None = None,
    ) -> None:
        f = np.asarray(forward, dtype=np.float64)
        self.n = f.size
        self.grid = vix_strike_grid() if grid is None else np.asarray(grid, dtype=np.float64)
        m = self.grid.size
        self.f = np.repeat(f, m)
        dd = np.repeat(np.asarray(dte, dtype=np.float64), m)
        self.t = dd / 365.0
        self.r = np.repeat(np.asarray(rate, dtype=np.float64), m)
        self.k = np.tile(self.grid, self.n)
        self.sigma = vix_sigma_array(np.repeat(np.asarray(vvix, dtype=np.float64), m), self.f, self.k, dd, surface)

    def calls(self, sigma_multiplier: float = 1.0, target_delta: float = TARGET_DELTA) -> dict[str, np.ndarray]:
        """Per roll: the listed strike whose Black-76 delta ``e^{−rT}N(d1)`` with σ = m × surface
        σ is nearest ``target_delta`` (ties: the lower strike).

        Returns arrays ``strike``, ``sigma`` (decimal), ``price`` (index points), ``delta``.
        """
        sig = sigma_multiplier * self.sigma
        price, delta = black76_price_delta(self.f, self.k, self.t, self.r, sig, True)
        shape = (self.n, self.grid.size)
        price, delta, sig = (np.asarray(a).reshape(shape) for a in (price, delta, sig))
        best = np.argmin(np.abs(delta - target_delta), axis=1)
        rows = np.arange(self.n)
        return {
            "strike": self.grid[best],
            "sigma": sig[rows, best],
            "price": price[rows, best],
            "delta": delta[rows, best],
        }


def select_calls(
    forward: np.ndarray,
    dte: np.ndarray,
    rate: np.ndarray,
    vvix: np.ndarray,
    surface: VixSurface,
    *,
    sigma_multiplier: float = 1.0,
    target_delta: float = TARGET_DELTA,
    grid: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """:meth:`CallGrid.calls` for one multiplier (see :class:`CallGrid` for the arguments)."""
    return CallGrid(forward, dte, rate, vvix, surface, grid).calls(sigma_multiplier, target_delta)


def call_grid(rolls: pl.DataFrame, surface: VixSurface, grid: np.ndarray | None = None) -> CallGrid:
    """The :class:`CallGrid` of :func:`build_rolls` periods."""
    return CallGrid(
        rolls["forward"].to_numpy(),
        rolls["dte"].to_numpy(),
        rolls["rate"].to_numpy(),
        rolls["vvix"].to_numpy(),
        surface,
        grid,
    )


# --------------------------------------------------------------------------- roll periods


def build_rolls(
    roll_dates: Sequence[date],
    vx: pl.DataFrame,
    daily: pl.DataFrame,
    rates: pl.DataFrame,
    *,
    dividend_yield: float,
) -> pl.DataFrame:
    """One row per roll period ``[t0, t1]`` of consecutive ``roll_dates`` (monthly VIX expiries).

    Parameters
    ----------
    roll_dates
        Ascending monthly VIX expiries; each period's contract is the one expiring at ``t1``.
    vx
        VX settles ``trade_date, contract_expiry, settle`` (index points), weeklies included (they
        bracket missing monthly contracts); an expiry-day row is that contract's final settlement.
    daily
        ``date, spx, vvix, vxth, vix_open`` (index points; nulls allowed): closes, VIX's open.
    rates
        ``date, rate`` with the rate in **percent** (FRED DTB3); the last value on or before ``t0``.
    dividend_yield
        The S&P 500's dividend yield (decimal per year) added to its price return.

    Returns
    -------
    ``ROLL_COLUMNS``. A period whose forward (no settle, no bracketing pair), final settlement
    (no settle, no VIX open), SPX, VVIX or VXTH value on ``t0``/``t1`` is missing is left out;
    :func:`roll_gaps` names them.
    """
    curves = ForwardCurves.from_frame(vx)
    day = {r["date"]: r for r in daily.iter_rows(named=True)}
    by_date = rates.drop_nulls().sort("date")
    rate_dates = by_date["date"].to_numpy().astype("datetime64[D]")
    rate_values = by_date["rate"].to_numpy()
    rows = []
    for t0, t1 in pairwise(roll_dates):
        fwd = curves.forward(t0, t1)
        d0, d1 = day.get(t0, {}), day.get(t1, {})
        final, final_source = curves.settle(t1, t1), FINAL_SETTLE
        if final is None:
            final, final_source = d1.get("vix_open"), FINAL_VIX_OPEN
        i = int(np.searchsorted(rate_dates, np.datetime64(t0, "D"), side="right")) - 1
        values = [d0.get("spx"), d1.get("spx"), d0.get("vvix"), d0.get("vxth"), d1.get("vxth")]
        if fwd is None or final is None or i < 0 or any(v is None for v in values):
            continue
        rate = float(rate_values[i]) / 100.0
        spx0, spx1, vvix, vxth0, vxth1 = (float(v) for v in values if v is not None)
        days = (t1 - t0).days
        spx_tr = spx1 / spx0 * float(np.exp(dividend_yield * days / 365.0)) - 1.0
        vxth_ret = vxth1 / vxth0 - 1.0
        rows.append(
            (
                t0,
                t1,
                days,
                fwd.value,
                fwd.source,
                float(final),
                final_source,
                float(vvix),
                rate,
                spx_tr,
                vxth_ret,
                vxth_ret - spx_tr,
            )
        )
    schema = {
        "start": pl.Date,
        "end": pl.Date,
        "dte": pl.Int64,
        "forward": pl.Float64,
        "forward_source": pl.String,
        "final_settlement": pl.Float64,
        "final_source": pl.String,
        "vvix": pl.Float64,
        "rate": pl.Float64,
        "spx_tr_return": pl.Float64,
        "vxth_return": pl.Float64,
        "vxth_excess": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema, orient="row")


def roll_gaps(roll_dates: Sequence[date], rolls: pl.DataFrame) -> list[tuple[date, date]]:
    """The periods of ``roll_dates`` that :func:`build_rolls` left out (missing inputs)."""
    have = set(rolls["start"].to_list())
    return [(t0, t1) for t0, t1 in pairwise(roll_dates) if t0 not in have]


def price_rolls(
    rolls: pl.DataFrame,
    surface: VixSurface,
    *,
    sigma_multiplier: float = 1.0,
    target_delta: float = TARGET_DELTA,
    grid: np.ndarray | CallGrid | None = None,
) -> pl.DataFrame:
    """The replica's calls and returns on :func:`build_rolls` periods.

    Adds ``weight`` (decimal of the portfolio), ``strike``, ``sigma``, ``delta``, ``price``
    (index points), ``payoff`` (index points at ``t1``), ``call_multiple`` (payoff/price),
    ``replica_return`` and ``replica_excess`` (over the S&P 500 total return; 0 when w = 0).
    ``grid`` is the listed strikes, or a :class:`CallGrid` already built on ``rolls`` and
    ``surface`` (then ``surface`` is not evaluated again).
    """
    cg = grid if isinstance(grid, CallGrid) else call_grid(rolls, surface, grid)
    calls = cg.calls(sigma_multiplier, target_delta)
    w = call_weights(rolls["forward"].to_numpy())
    payoff = np.maximum(rolls["final_settlement"].to_numpy() - calls["strike"], 0.0)
    multiple = payoff / calls["price"]
    r_tr = rolls["spx_tr_return"].to_numpy()
    excess = np.where(w > 0.0, w * (multiple - 1.0 - r_tr), 0.0)
    return rolls.with_columns(
        pl.Series("weight", w),
        pl.Series("strike", calls["strike"]),
        pl.Series("sigma", calls["sigma"]),
        pl.Series("delta", calls["delta"]),
        pl.Series("price", calls["price"]),
        pl.Series("payoff", payoff),
        pl.Series("call_multiple", multiple),
        pl.Series("replica_return", r_tr + excess),
        pl.Series("replica_excess", excess),
    )


# --------------------------------------------------------------------------- fit and report


def tracking_sse(
    rolls: pl.DataFrame, surface: VixSurface, sigma_multiplier: float, grid: CallGrid | None = None
) -> float:
    """Σ over periods of (replica excess − VXTH excess)², σ × ``sigma_multiplier``."""
    priced = price_rolls(rolls, surface, sigma_multiplier=sigma_multiplier, grid=grid)
    d = priced["replica_excess"].to_numpy() - priced["vxth_excess"].to_numpy()
    return float(np.dot(d, d))


def fit_sigma_multiplier(
    rolls: pl.DataFrame,
    surface: VixSurface,
    bounds: tuple[float, float] = (0.5, 2.0),
    step: float = 0.01,
    grid: CallGrid | None = None,
) -> float:
    """The ``m`` in ``bounds`` minimising :func:`tracking_sse` (monthly excess returns).

    The objective is only piecewise smooth in ``m``: as σ moves, the 30-delta strike of a month
    jumps to the next listed strike, and a month that paid 50× (Feb-2020) alone moves the sum by
    more than the rest. A bounded Brent search on its own stops in whichever piece it lands in, so
    a scan at ``step`` picks the best piece and scipy's bounded search refines it within one step
    either side (the scan's best point is kept if the search does worse).
    """
    cg = call_grid(rolls, surface) if grid is None else grid
    lo, hi = bounds
    scan = np.arange(lo, hi + 1e-9, step)
    sse = [tracking_sse(rolls, surface, float(m), cg) for m in scan]
    best = float(scan[int(np.argmin(sse))])
    a, b = max(lo, best - step), min(hi, best + step)
    res = minimize_scalar(
        lambda m: tracking_sse(rolls, surface, float(m), cg), bounds=(a, b), method="bounded", options={"xatol": 1e-4}
    )
    return float(res.x) if res.fun <= min(sse) else best


def replica_summary(
    rolls: pl.DataFrame, surface: VixSurface, bounds: tuple[float, float] = (0.5, 2.0)
) -> dict[str, float]:
    """Figures of one surface on the periods ``rolls``.

    ``correlation``: of monthly excess returns, replica (m = 1) vs VXTH; ``m``: the fitted σ
    multiplier; ``correlation_at_m``; ``tracking_error``: RMS monthly excess difference at
    m = 1 (decimal); ``mean_gap_bp``: mean monthly (replica − VXTH) excess at m = 1, basis points;
    ``level_ratio``: the replica's final level over VXTH's (both from 1; m = 1).
    """
    cg = call_grid(rolls, surface)
    priced = price_rolls(rolls, surface, grid=cg)
    rep, idx = priced["replica_excess"].to_numpy(), priced["vxth_excess"].to_numpy()
    m = fit_sigma_multiplier(rolls, surface, bounds, grid=cg)
    at_m = price_rolls(rolls, surface, sigma_multiplier=m, grid=cg)["replica_excess"].to_numpy()
    level = float(np.prod(1.0 + priced["replica_return"].to_numpy()) / np.prod(1.0 + priced["vxth_return"].to_numpy()))
    return {
        "correlation": float(np.corrcoef(rep, idx)[0, 1]),
        "m": m,
        "correlation_at_m": float(np.corrcoef(at_m, idx)[0, 1]),
        "tracking_error": float(np.sqrt(np.mean((rep - idx) ** 2))),
        "mean_gap_bp": float(np.mean(rep - idx) * 1e4),
        "level_ratio": level,
    }


def sensitivity_table(rolls: pl.DataFrame, variants: Mapping[str, VixSurface]) -> pl.DataFrame:
    """:func:`replica_summary` for each named surface, one row each (``variant`` first)."""
    rows = [{"variant": name, **replica_summary(rolls, s)} for name, s in variants.items()]
    return pl.DataFrame(rows)


def default_variants(base: VixSurface | None = None) -> dict[str, VixSurface]:
    """The surfaces the validation compares: the calibrated smile, the legacy formula, the smile
    with its skew ×0.5 and ×1.5, and without the VVIX pivot (``skew_vvix_pivot`` = 1000)."""
    from alvh.transforms.vix_surface import LEGACY

    s = VixSurface() if base is None else base
    return {
        "smile": s,
        "legacy": LEGACY,
        "smile skew x0.5": s._replace(skew=s.skew * 0.5),
        "smile skew x1.5": s._replace(skew=s.skew * 1.5),
        "smile no pivot": s._replace(skew_vvix_pivot=1000.0),
    }
