"""Sizing (ALVH_METHOD.md §4–§5): the target layer, r*, N*, q_i and the steward carry cap.

Units: h_i and |V_ic| in dollars per VIX point (per vol point for the IC); carry in dollars per
month (Black-76 theta per calendar day × 30 × $100); quantities in contracts."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from alvh.transforms.signal import compiled_rules as cr
from alvh.transforms.signal.inputs import DayInputs
from alvh.transforms.signal.option_quotes import MODEL, QUOTE, Chain, quoted_target
from alvh.transforms.signal.params import OPTION_MULTIPLIER, HedgeParams
from alvh.transforms.vix_surface import STRIKES, VixSurface, call_on_surface, target_call


@dataclass(frozen=True)
class LayerModel:
    """Today's model of layer i: the contract new purchases go into, at the target strike."""

    forward: float  # VIX points
    dte: int  # calendar days
    sigma: float  # Black-76 vol of the target strike, from the surface (decimal)
    strike: float
    price: float  # VIX points
    delta: float
    theta: float  # VIX points per calendar day (Black-76)
    beta: float
    h: float  # $ per VIX point per contract: 100 × Δ × β
    vvix: float  # the session's VVIX close (the surface's anchor)
    surface: VixSurface
    price_source: str = MODEL  # "quote": strike, price, delta and theta from an imported quote
    chain: Chain = field(default_factory=dict)

    def price_of(self, strike: float, rate: float) -> tuple[float, float]:
        """(price, delta) of another strike of the same contract: its quote's mid and delta when
        imported, else the surface."""
        q = self.chain.get(strike)
        if q is not None:
            return q.mid, q.delta
        price, delta, _ = call_on_surface(self.vvix, self.forward, strike, float(self.dte), rate, self.surface)
        return price, delta


def layer_models(day: DayInputs, p: HedgeParams) -> list[LayerModel]:
    """The target-delta strike of each layer and its greeks (requires a non-stale day): from the
    imported quotes when they bracket the target delta (the quoted strike whose own delta is
    nearest), else from the surface."""
    assert day.vvix is not None
    s = p.surface
    out = []
    for x in day.layers:
        assert x.forward is not None
        f = float(x.forward)
        q = quoted_target(x.chain, p.target_delta)
        if q is not None:
            h = OPTION_MULTIPLIER * q.delta * x.beta
            out.append(
                LayerModel(f, x.dte, q.iv, q.strike, q.mid, q.delta, q.theta, x.beta, h, day.vvix, s, QUOTE, x.chain)
            )
            continue
        k, sig, price, delta, theta = target_call(day.vvix, f, float(x.dte), day.rate, p.target_delta, STRIKES, s)
        h = OPTION_MULTIPLIER * delta * x.beta
        out.append(LayerModel(f, x.dte, sig, k, price, delta, theta, x.beta, h, day.vvix, s, MODEL, x.chain))
    return out


def _arr(xs: Sequence[float]) -> np.ndarray:
    return np.asarray(xs, dtype=np.float64)


def target_ratio(rsi: float, hist: float | None, p: HedgeParams) -> tuple[float, float]:
    """(r_b, r*) before the steward cap: ``r_b = base + span·clip((center − RSI)/scale, −1, 1)``,
    ``r* = clip(r_b + tilt·sign(hist), ratio_min, ratio_max)``. Fixed mode: both ``fixed_ratio``."""
    kp = cr.settings_record(p)
    return cr.base_ratio(rsi, kp), cr.target_ratio(rsi, math.nan if hist is None else hist, kp)


def largest_remainder(total: int, weights: Sequence[float]) -> list[int]:
    """Split ``total`` contracts by ``weights`` into integers summing to ``total`` (ties: the
    earlier layer)."""
    out = np.zeros(len(weights), dtype=np.int64)
    cr.largest_remainder(total, _arr(weights), out)
    return [int(x) for x in out]


def size_ladder(ratio: float, vega_ic: float, h: Sequence[float], p: HedgeParams) -> tuple[float, list[int]]:
    """``N* = r·|V_ic| / Σ w_i h_i`` and the layer quantities (largest remainder of round(N*))."""
    q = np.zeros(len(p.weights), dtype=np.int64)
    n_star = cr.size_ladder(ratio, vega_ic, _arr(h), _arr(p.weights), q)
    return n_star, [int(x) for x in q]


def monthly_carry(q: Sequence[int], models: Sequence[LayerModel]) -> float:
    """Expected carry of holding ``q`` for a month, dollars: Σ q_i |θ_i| × 30 × $100."""
    return cr.monthly_carry(np.asarray(q, dtype=np.int64), _arr([m.theta for m in models]))


@dataclass(frozen=True)
class Sizing:
    r_star: float  # after the steward cap
    n_star: float
    q: list[int]
    capped: bool  # the cap lowered r*
    note: str  # "" or the cap's sentence for reasons


def steward_sizing(
    r_star: float, vega_ic: float, models: Sequence[LayerModel], credit_usd: float, p: HedgeParams
) -> Sizing:
    """N*, q_i at r*, lowered by the steward cap until the monthly carry fits ``carry_budget`` ×
    the IC credit — never below ``ratio_min`` (the floor wins, and the note says so with both
    figures). Fixed mode and a book without credit are never capped."""
    q_arr = np.zeros(3, dtype=np.int64)
    h, theta = _arr([m.h for m in models]), _arr([m.theta for m in models])
    ratio, n_star, over = cr.steward_sizing(r_star, vega_ic, h, theta, credit_usd, cr.settings_record(p), q_arr)
    q = [int(x) for x in q_arr]
    if not over:
        return Sizing(ratio, n_star, q, False, "")
    carry = monthly_carry(q, models)
    if carry > p.carry_budget * credit_usd:
        note = (
            f"; carry ${carry:,.0f}/month = {carry / credit_usd:.0%} of the IC credit, above the "
            f"{p.carry_budget:.0%} budget even at the {p.ratio_min:.2f} floor"
        )
    else:
        note = f"; steward cap lowered r* to {ratio:.2f} (carry ≤ {p.carry_budget:.0%} of IC credit)"
    return Sizing(ratio, n_star, q, ratio < r_star, note)


def min_trade(target: int, p: HedgeParams) -> float:
    """Smallest ADD/TRIM of a layer, contracts: max(min_trade_contracts, fraction × target)."""
    return float(cr.min_trade(target, cr.settings_record(p)))
