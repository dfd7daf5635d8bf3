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

from alvh.transforms.whole_book import WholeBook, hedge_values, ic_values

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


def grid_cells(
    wb: WholeBook,
    spx_moves_pct: Sequence[float] = SPX_MOVES_PCT,
    vix_moves: Sequence[float] = VIX_MOVES,
    horizons: Sequence[str] = HORIZONS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(SPX move %, VIX move, days ahead) of a book's cells, horizon-major then SPX then VIX move;
    cell 0 is today's mark (no move, no time)."""
    xs, ys = np.meshgrid(np.asarray(spx_moves_pct, float), np.asarray(vix_moves, float), indexing="ij")
    xs, ys = xs.ravel(), ys.ravel()
    days = np.array([horizon_days(wb, h) for h in horizons], dtype=np.int64)
    k = xs.size
    return (
        np.concatenate([[0.0], np.tile(xs, days.size)]),
        np.concatenate([[0.0], np.tile(ys, days.size)]),
        np.concatenate([[0], np.repeat(days, k)]),
    )


def payoff_grids(
    books: Sequence[WholeBook],
    spx_moves_pct: Sequence[float] = SPX_MOVES_PCT,
    vix_moves: Sequence[float] = VIX_MOVES,
    horizons: Sequence[str] = HORIZONS,
    chunk: int = 250,
) -> pl.DataFrame:
    """The grids of many sessions, stacked in one frame: one row per session × horizon × SPX move
    (percent) × VIX move (points) with the IC, hedge and net P&L in dollars. Books are priced
    ``chunk`` at a time, every cell of a chunk in one call per book side."""
    frames = []
    for i in range(0, len(books), chunk):
        part = books[i : i + chunk]
        cells = [grid_cells(wb, spx_moves_pct, vix_moves, horizons) for wb in part]
        ic = ic_values(
            part, [(wb.spx * (1.0 + x / 100.0), wb.vix + y, d) for wb, (x, y, d) in zip(part, cells, strict=True)]
        )
        hedge = hedge_values(part, [(y, d) for _, y, d in cells])
        sizes = [c[0].size - 1 for c in cells]
        per_horizon = len(spx_moves_pct) * len(vix_moves)
        ic_pnl = np.concatenate([v[1:] - v[0] for v in ic])
        hedge_pnl = np.concatenate([v[1:] - v[0] for v in hedge])
        sessions = np.array([wb.session for wb in part], dtype="datetime64[D]")
        frames.append(
            pl.DataFrame(
                {
                    "session_date": pl.Series(np.repeat(sessions, sizes)),
                    "horizon": np.tile(np.repeat(np.asarray(horizons, dtype=object), per_horizon), len(part)),
                    "horizon_days": np.concatenate([d[1:] for _, _, d in cells]),
                    "spx_move_pct": np.concatenate([x[1:] for x, _, _ in cells]),
                    "vix_move": np.concatenate([y[1:] for _, y, _ in cells]),
                    "ic_pnl_usd": ic_pnl,
                    "hedge_pnl_usd": hedge_pnl,
                    "net_pnl_usd": ic_pnl + hedge_pnl,
                }
            ).select([pl.col(c).cast(t) for c, t in SCHEMA.items()])
        )
    return pl.concat(frames) if frames else pl.DataFrame(schema=SCHEMA)


def payoff_grid(
    wb: WholeBook,
    spx_moves_pct: Sequence[float] = SPX_MOVES_PCT,
    vix_moves: Sequence[float] = VIX_MOVES,
    horizons: Sequence[str] = HORIZONS,
) -> pl.DataFrame:
    """One session's grid (see :func:`payoff_grids`)."""
    return payoff_grids([wb], spx_moves_pct, vix_moves, horizons)
