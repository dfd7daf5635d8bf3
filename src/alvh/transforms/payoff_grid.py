"""The payoff grid of the whole book (``marts.payoff_grid``): net P&L over SPX moves × VIX moves,
at three horizons — 1 calendar day, 7 calendar days, and the IC expiry.

A cell is ``value(horizon, SPX × (1 + move/100), VIX + ΔVIX) − value(today)`` in dollars, for the
IC legs and the VIX calls held after the session's orders, with the book held unchanged to the
horizon (no rolls, no new orders). The SPX legs use the smile of §4 at the moved SPX and VIX; each
VIX-call forward moves by β_i × ΔVIX (§3), VVIX unchanged; time to expiry shrinks by the horizon,
and a leg or call that expires before the horizon is worth its intrinsic value there (the call at
its moved forward). The zero-move cell at 1 day is therefore about one day of theta.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from alvh.transforms.whole_book import WholeBook, hedge_value, ic_value

SPX_MOVES_PCT: tuple[float, ...] = (-20.0, -15.0, -10.0, -7.5, -5.0, -2.5, 0.0, 2.5, 5.0, 7.5, 10.0)
VIX_MOVES: tuple[float, ...] = (-10.0, -5.0, 0.0, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0)
HORIZONS: tuple[str, ...] = ("1d", "7d", "ic_expiry")

SCHEMA = {
    "session_date": pl.Date,
    "horizon": pl.String,
    "horizon_days": pl.Int64,
    "spx_move_pct": pl.Float64,
    "vix_move": pl.Float64,
    "ic_pnl_usd": pl.Float64,
    "hedge_pnl_usd": pl.Float64,
    "net_pnl_usd": pl.Float64,
}


def horizon_days(wb: WholeBook, horizon: str) -> int:
    """Calendar days ahead of a named horizon (the IC expiry: days to it, at least 1)."""
    return {"1d": 1, "7d": 7}.get(horizon) or max(wb.ic_dte, 1)


def payoff_grid(
    wb: WholeBook,
    spx_moves_pct: Sequence[float] = SPX_MOVES_PCT,
    vix_moves: Sequence[float] = VIX_MOVES,
    horizons: Sequence[str] = HORIZONS,
) -> pl.DataFrame:
    """One row per horizon × SPX move (percent) × VIX move (points): IC, hedge and net P&L in dollars."""
    xs, ys = np.meshgrid(np.asarray(spx_moves_pct, float), np.asarray(vix_moves, float), indexing="ij")
    xs, ys = xs.ravel(), ys.ravel()
    ic0 = float(ic_value(wb, np.array([wb.spx]), np.array([wb.vix]), 0)[0])
    h0 = float(hedge_value(wb, np.array([0.0]), 0)[0])
    parts = []
    for name in horizons:
        days = horizon_days(wb, name)
        ic = ic_value(wb, wb.spx * (1.0 + xs / 100.0), wb.vix + ys, days) - ic0
        hedge = hedge_value(wb, ys, days) - h0
        parts.append(
            pl.DataFrame(
                {
                    "session_date": [wb.session] * xs.size,
                    "horizon": [name] * xs.size,
                    "horizon_days": [days] * xs.size,
                    "spx_move_pct": xs,
                    "vix_move": ys,
                    "ic_pnl_usd": ic,
                    "hedge_pnl_usd": hedge,
                    "net_pnl_usd": ic + hedge,
                },
                schema=SCHEMA,
            )
        )
    return pl.concat(parts) if parts else pl.DataFrame(schema=SCHEMA)


def payoff_grids(books: Sequence[WholeBook]) -> pl.DataFrame:
    """The grids of many sessions, stacked."""
    frames = [payoff_grid(wb) for wb in books]
    return pl.concat(frames) if frames else pl.DataFrame(schema=SCHEMA)
