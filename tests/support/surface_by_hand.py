"""The default VIX-call surface written out by hand from the README's formula ("The VIX-call
surface"), independent of ``alvh.transforms.vix_surface``: tests compare the code with it."""

from __future__ import annotations

import math


def surface_sigma(vvix: float, f: float, k: float, dte: float) -> float:
    """σ (decimal) of the default smile: τ' = max(dte, 14)/30, x = ln(K/F)/√(dte/30)."""
    lt = math.log(max(dte, 14.0) / 30.0)
    level = 0.976 * math.exp(0.100 * lt - 0.126 * lt * lt)
    slope = 1.356 * math.exp(-0.283 * lt) * min(1.0, 120.0 / vvix)
    x = math.log(k / f) / math.sqrt(dte / 30.0)
    return vvix / 100.0 * level * (1.0 + slope * 0.377 * math.tanh(x / 0.377))
