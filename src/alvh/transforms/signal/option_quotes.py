"""Real end-of-day VIX-option quotes in the engine (ALVH_METHOD.md §4, ALVH-2026.3): where the
user imported a two-sided quote for a contract, its mid, its own IV and delta replace the surface
for that contract that session, and every priced row says which (``price_source``).

Conventions: prices in VIX points; IV a decimal, implied from the EOD mid by Black-76 on the
engine's forward for that contract (its VX settle, or the interpolated forward); delta ∂/∂F;
theta per calendar day.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from alvh.transforms.pricing import b76_scalar, implied_vol_black76

QUOTE = "quote"
MODEL = "model"


@dataclass(frozen=True)
class OptionQuote:
    """One call's end-of-day quote with the greeks implied by its mid."""

    strike: float
    bid: float
    ask: float
    mid: float
    iv: float  # decimal
    delta: float
    theta: float  # VIX points per calendar day


Chain = Mapping[float, OptionQuote]  # strike → quote, two-sided calls of one contract


def chain_of(
    calls: Sequence[tuple[float, float, float]], forward: float, dte: int, rate: float
) -> dict[float, OptionQuote]:
    """The two-sided calls ``(strike, bid, ask)`` of one contract as quotes with their implied
    greeks; a quote whose mid no volatility reproduces (below intrinsic, or ``dte`` ≤ 0) is left
    out — the surface prices that strike."""
    out: dict[float, OptionQuote] = {}
    if dte <= 0:
        return out
    t = dte / 365.0
    for k, bid, ask in calls:
        if not (bid > 0 and ask >= bid):
            continue
        mid = (bid + ask) / 2.0
        iv = float(implied_vol_black76(mid, forward, k, t, rate, True))
        if iv != iv:
            continue
        _, delta, theta = b76_scalar(forward, k, t, rate, iv, True)
        out[float(k)] = OptionQuote(float(k), float(bid), float(ask), mid, iv, delta, theta)
    return out


def quoted_target(chain: Chain, target: float) -> OptionQuote | None:
    """The quoted strike whose own delta is nearest ``target`` (ties: the lower strike), or None
    when the chain does not bracket the target (no quoted delta on each side of it): a strike
    chosen off the edge of the quotes would not be the layer's strike."""
    if not chain:
        return None
    deltas = [q.delta for q in chain.values()]
    if min(deltas) > target or max(deltas) < target:
        return None
    return min(chain.values(), key=lambda q: (abs(q.delta - target), q.strike))
