"""Stress scenarios re-priced on the day's book (ALVH_METHOD.md §7).

Hypothetical grid: VIX +5/+10/+20/+40 points paired with SPX −1.5/−3/−6/−12 %, futures moving
β_i × ΔVIX by tenor, VVIX unchanged. Historical shocks: the one-session moves of VIX, the M1–M3
futures (by tenor) and SPX on 2018-02-05, 2020-03-16 and 2024-08-05, and the 2025-04-03 →
2025-04-08 move ("2025-04-04/08"), applied to today's book. Every scenario is instantaneous (same
time to expiry). P&L in dollars: IC legs ×$100, VIX calls ×$100.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from alvh.transforms.ic_book import IcBook, IcParams
from alvh.transforms.pricing import bs_scalar, smile_scalar
from alvh.transforms.signal.inputs import DayInputs
from alvh.transforms.vix_surface import VixSurface, call_on_surface

GRID: tuple[tuple[float, float], ...] = ((5.0, -1.5), (10.0, -3.0), (20.0, -6.0), (40.0, -12.0))
HISTORICAL: tuple[tuple[str, date, date], ...] = (
    ("2018-02-05", date(2018, 2, 2), date(2018, 2, 5)),
    ("2020-03-16", date(2020, 3, 13), date(2020, 3, 16)),
    ("2024-08-05", date(2024, 8, 2), date(2024, 8, 5)),
    ("2025-04-04/08", date(2025, 4, 3), date(2025, 4, 8)),
)


@dataclass(frozen=True)
class Shock:
    name: str
    d_vix: float  # points
    spx_pct: float  # percent
    d_fut: tuple[float, float, float]  # points, by tenor M1..M3
    d_vvix: float = 0.0
    on: date = date.min  # the session the move happened (historical shocks only)


def shock_sessions() -> list[date]:
    """The sessions the historical shocks are measured between (the one place they are named)."""
    return sorted({d for _, before, after in HISTORICAL for d in (before, after)})


def historical_shocks(rows_by_date: dict[date, dict[str, Any]]) -> list[Shock]:
    """The named historical moves measured from the indicators mart (skipped if data is missing)."""
    out = []
    for name, before, after in HISTORICAL:
        a, b = rows_by_date.get(before), rows_by_date.get(after)
        if a is None or b is None:
            continue
        vals = [a.get(c) for c in ("vix_close", "spx_close")] + [b.get(c) for c in ("vix_close", "spx_close")]
        pairs = [(a.get(f"m{i}_settle"), b.get(f"m{i}_settle")) for i in (1, 2, 3)]
        if any(v is None for v in vals) or any(x is None or y is None for x, y in pairs):
            continue
        futs = [(float(x), float(y)) for x, y in pairs]  # type: ignore[arg-type]
        d_vvix = 0.0
        if a.get("vvix_close") is not None and b.get("vvix_close") is not None:
            d_vvix = float(b["vvix_close"]) - float(a["vvix_close"])
        out.append(
            Shock(
                name,
                float(b["vix_close"]) - float(a["vix_close"]),
                100.0 * (float(b["spx_close"]) / float(a["spx_close"]) - 1.0),
                (futs[0][1] - futs[0][0], futs[1][1] - futs[1][0], futs[2][1] - futs[2][0]),
                d_vvix,
                after,
            )
        )
    return out


def grid_shocks(betas: Sequence[float]) -> list[Shock]:
    return [
        Shock(f"VIX +{dv:g} / SPX {pct:g}%", dv, pct, (betas[0] * dv, betas[1] * dv, betas[2] * dv)) for dv, pct in GRID
    ]


def stress_rows(
    day: DayInputs,
    ic: IcBook,
    positions: Sequence[tuple[date, float, int]],
    shocks: Sequence[Shock],
    ic_params: IcParams,
    surface: VixSurface,
) -> list[dict[str, Any]]:
    """P&L of the IC and of the hedge held after the session's orders, per scenario. Held calls
    move with their layer's forward (settle or interpolated) and are re-priced on the surface at
    the shocked forward and VVIX (§4); contracts outside M1–M3 are not shocked."""
    assert day.spx is not None and day.vix is not None and day.vvix is not None
    d, spx, vix, vvix, rate = day.session, day.spx, day.vix, day.vvix, day.rate
    expiries = day.expiries
    forwards = [float(x.forward or 0.0) for x in day.layers]
    q = ic_params.dividend_yield
    t_ic = max((ic.expiry - d).days, 0) / 365.0

    def ic_value(s: float, v: float) -> float:
        total = 0.0
        for leg in ic.legs:
            if t_ic <= 0:
                px = max(s - leg.strike, 0.0) if leg.is_call else max(leg.strike - s, 0.0)
            else:
                sig = smile_scalar(
                    s,
                    leg.strike,
                    t_ic,
                    v,
                    ic_params.smile_a,
                    ic_params.smile_b_put,
                    ic_params.smile_b_call,
                    ic_params.smile_floor,
                )
                px = bs_scalar(s, leg.strike, t_ic, rate, sig, leg.is_call, q)
            total += leg.qty * px * 100.0
        return total

    # each held call in M1–M3: (layer, strike, qty, calendar days to expiry)
    held = [
        (expiries.index(exp), k, qty, float(max((exp - d).days, 1))) for exp, k, qty in positions if exp in expiries
    ]

    def hedge_value(d_fut: Sequence[float], d_vvix: float) -> float:
        v = max(vvix + d_vvix, 1.0)
        return sum(
            qty * call_on_surface(v, max(forwards[i] + d_fut[i], 0.01), k, days, rate, surface)[0] * 100.0
            for i, k, qty, days in held
        )

    ic0, h0 = ic_value(spx, vix), hedge_value((0.0, 0.0, 0.0), 0.0)
    rows = []
    for sh in shocks:
        ic_pnl = ic_value(spx * (1 + sh.spx_pct / 100.0), max(vix + sh.d_vix, 1.0)) - ic0
        h_pnl = hedge_value(sh.d_fut, sh.d_vvix) - h0
        rows.append(
            {
                "session_date": d,
                "scenario": sh.name,
                "vix_shock": sh.d_vix,
                "spx_shock_pct": sh.spx_pct,
                "ic_pnl_usd": ic_pnl,
                "hedge_pnl_usd": h_pnl,
                "net_pnl_usd": ic_pnl + h_pnl,
            }
        )
    return rows
