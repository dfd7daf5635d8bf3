"""Model against market (ALVH-2026.3 §4): on every session with imported quotes, the surface's
price of each layer's target strike and of each held contract beside the real mid — the error in %
of the mid and in vol points (surface σ − the quote's own IV, × 100)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from alvh.transforms.signal.inputs import DayInputs
from alvh.transforms.vix_surface import VixSurface, call_on_surface, vix_sigma


def quote_check_rows(
    days: Mapping[date, DayInputs],
    layers: Sequence[dict[str, Any]],
    positions: Sequence[dict[str, Any]],
    surface: VixSurface,
) -> list[dict[str, Any]]:
    """One row per session × (layer target strike, held contract in M1–M3) that has an imported
    two-sided quote: ``role`` is ``layer`` or ``held``; prices in VIX points."""
    wanted: dict[tuple[date, date, float], dict[str, Any]] = {}
    for r in layers:
        if r.get("strike") is not None:
            wanted[(r["session_date"], r["contract_expiry"], float(r["strike"]))] = {
                "role": "layer",
                "layer": r["layer"],
                "qty": 0,
            }
    for r in positions:
        key = (r["session_date"], r["contract_expiry"], float(r["strike"]))
        held = wanted.get(key, {"layer": None}) | {"role": "held", "qty": int(r["qty"])}
        wanted[key] = held
    out = []
    for (d, exp, k), what in sorted(wanted.items(), key=lambda kv: kv[0]):
        day = days.get(d)
        if day is None or day.vvix is None:
            continue
        j = day.layer_of(exp)
        if j is None:
            continue
        x = day.layers[j]
        q = x.chain.get(k)
        if q is None or x.forward is None:
            continue
        sig = vix_sigma(day.vvix, float(x.forward), k, float(x.dte), surface)
        price = call_on_surface(day.vvix, float(x.forward), k, float(x.dte), day.rate, surface)[0]
        out.append(
            {
                "session_date": d,
                "contract_expiry": exp,
                "strike": k,
                "role": what["role"],
                "layer": j + 1,
                "qty_held": what["qty"],
                "forward": float(x.forward),
                "dte": x.dte,
                "bid": q.bid,
                "ask": q.ask,
                "mid": q.mid,
                "quote_iv": q.iv,
                "quote_delta": q.delta,
                "model_price": price,
                "model_sigma": sig,
                "error_pct": (price / q.mid - 1.0) * 100.0,
                "error_vol_pts": (sig - q.iv) * 100.0,
                "inside_spread": q.bid <= price <= q.ask,
            }
        )
    return out
