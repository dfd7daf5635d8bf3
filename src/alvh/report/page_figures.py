"""The daily page's interactive figures (Plotly): VX curve with the strikes held and to buy, R vs
r* with regimes shaded, SPX with the IC strikes and break-evens, and the payoff heat maps.

Pure: frames in, ``plotly.graph_objects.Figure`` out. Units as in the marts (index points,
dollars, percent)."""

from __future__ import annotations

from datetime import date
from typing import Any

import plotly.graph_objects as go
import polars as pl
from plotly.subplots import make_subplots

REGIME_COLOURS = {
    "calm": "rgba(46, 160, 67, 0.10)",
    "elevated": "rgba(219, 171, 9, 0.16)",
    "spike": "rgba(215, 58, 73, 0.18)",
    "fading": "rgba(56, 139, 253, 0.14)",
}
HORIZON_TITLES = {"1d": "in 1 day", "7d": "in 7 days", "ic_expiry": "at the IC expiry"}


def _layout(fig: go.Figure, title: str, height: int = 380) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0.01},
        height=height,
        margin={"l": 60, "r": 20, "t": 50, "b": 40},
        template="plotly_white",
        legend={"orientation": "h", "y": -0.15},
    )
    return fig


def vx_curve_figure(curve: pl.DataFrame, layers: list[dict[str, Any]], positions: list[dict[str, Any]]) -> go.Figure:
    """The session's VX curve (monthly forwards by expiry, interpolated ones marked) with the
    strikes held (size ∝ contracts) and the strikes to buy or sell tonight, by expiry."""
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=curve["contract_expiry"].to_list(),
            y=curve["forward"].to_list(),
            mode="lines+markers",
            name="VX forward",
            marker={"symbol": ["diamond-open" if s == "interpolated" else "circle" for s in curve["source"]]},
            text=[f"{s}" for s in curve["source"]],
            hovertemplate="%{x}: %{y:.2f} (%{text})<extra></extra>",
        )
    )
    if positions:
        biggest = max(int(p["qty"]) for p in positions) or 1
        fig.add_trace(
            go.Scatter(
                x=[p["contract_expiry"] for p in positions],
                y=[p["strike"] for p in positions],
                mode="markers",
                name="strikes held",
                marker={"size": [10 + 20 * int(p["qty"]) / biggest for p in positions], "color": "#1f6feb"},
                text=[f"{p['qty']} held at {p['strike']:g}C" for p in positions],
                hovertemplate="%{text}<extra></extra>",
            )
        )
    for side, sign, symbol, colour in (
        ("to buy", 1, "triangle-up", "#2ea043"),
        ("to sell", -1, "triangle-down", "#d73a49"),
    ):
        rows = [r for r in layers if r.get("strike") is not None and r["trade_qty"] * sign > 0]
        if rows:
            fig.add_trace(
                go.Scatter(
                    x=[r["contract_expiry"] for r in rows],
                    y=[r["strike"] for r in rows],
                    mode="markers",
                    name=f"strikes {side}",
                    marker={"symbol": symbol, "size": 16, "color": colour},
                    text=[f"L{r['layer']} {r['action']} {r['trade_qty']:+d} × {r['strike']:g}C" for r in rows],
                    hovertemplate="%{text}<extra></extra>",
                )
            )
    for r in layers:
        fig.add_annotation(x=r["contract_expiry"], y=0, yref="paper", text=f"M{r['layer']}", showarrow=False, yshift=-2)
    fig.update_yaxes(title_text="VIX points")
    return _layout(fig, "VX curve: forwards by expiry, strikes held and tonight's trades")


def regime_runs(history: pl.DataFrame) -> list[tuple[date, date, str]]:
    """Contiguous runs of one regime: (first session, last session, regime)."""
    runs: list[tuple[date, date, str]] = []
    for d, reg in zip(history["session_date"].to_list(), history["regime"].to_list(), strict=True):
        if reg is None:
            continue
        if runs and runs[-1][2] == reg:
            runs[-1] = (runs[-1][0], d, reg)
        else:
            runs.append((d, d, reg))
    return runs


DAY_MS = 86_400_000  # one day on a Plotly date axis, milliseconds


def _date_axis(fig: go.Figure, days: list[date]) -> None:
    """Sessions are days: ticks are dates, never clock times (a window of a few sessions would
    otherwise be ticked every few hours)."""
    if days and (max(days) - min(days)).days <= 14:
        fig.update_xaxes(tickformat="%b %d, %Y", dtick=DAY_MS)
    else:
        fig.update_xaxes(tickformat="%b %Y")


def ratio_figure(history: pl.DataFrame) -> go.Figure:
    """Hedge ratio R (before each session's orders) and the target r* over the window, with the
    regime of each session shaded."""
    fig = go.Figure()
    for col, name, dash in (("ratio_current", "R (held)", "solid"), ("ratio_target", "r* (target)", "dash")):
        fig.add_trace(
            go.Scatter(
                x=history["session_date"].to_list(),
                y=history[col].to_list(),
                mode="lines",
                name=name,
                line={"dash": dash},
            )
        )
    # the shading as one list of shapes: add_vrect re-validates every shape already added, which
    # took 6 s for a year's 44 regime runs on a loaded machine (quadratic); this is one pass
    fig.update_layout(
        shapes=[
            {
                "type": "rect",
                "xref": "x",
                "yref": "y domain",
                "x0": first,
                "x1": last,
                "y0": 0,
                "y1": 1,
                "fillcolor": REGIME_COLOURS.get(reg, "rgba(0,0,0,0.05)"),
                "line": {"width": 0},
                "layer": "below",
            }
            for first, last, reg in regime_runs(history)
        ]
    )
    for reg, colour in REGIME_COLOURS.items():  # a legend for the shading
        fig.add_trace(
            go.Scatter(
                x=[None], y=[None], mode="markers", name=reg, marker={"symbol": "square", "size": 12, "color": colour}
            )
        )
    fig.update_yaxes(title_text="hedge vega ÷ |V_ic|")
    _date_axis(fig, history["session_date"].to_list())
    return _layout(fig, "Hedge ratio R vs target r* over the last year (regimes shaded)")


def spx_figure(spx: pl.DataFrame, signal: dict[str, Any]) -> go.Figure:
    """SPX closes over the window with the IC's short strikes and the break-evens at its expiry."""
    fig = go.Figure(
        go.Scatter(x=spx["session_date"].to_list(), y=spx["spx_close"].to_list(), mode="lines", name="SPX close")
    )
    for key, label, dash, colour, where in (
        ("short_put", "short put", "solid", "#d73a49", "top left"),
        ("short_call", "short call", "solid", "#d73a49", "top left"),
        ("breakeven_low", "break-even (low)", "dot", "#6e7781", "bottom right"),
        ("breakeven_high", "break-even (high)", "dot", "#6e7781", "bottom right"),
    ):
        v = signal.get(key)
        if v is not None:
            fig.add_hline(
                y=float(v),
                line_dash=dash,
                line_color=colour,
                annotation_text=f"{label} {float(v):,.0f}",
                annotation_position=where,
            )
    fig.update_yaxes(title_text="SPX points")
    _date_axis(fig, spx["session_date"].to_list())
    return _layout(fig, f"SPX with the IC strikes and break-evens (IC expiry {signal.get('ic_expiry')})")


def payoff_figure(grid: pl.DataFrame) -> go.Figure:
    """Net P&L heat maps (dollars) over SPX move × VIX move, one panel per horizon, one colour scale
    centred on zero."""
    horizons = [h for h in HORIZON_TITLES if h in set(grid["horizon"].to_list())]
    fig = make_subplots(rows=1, cols=max(len(horizons), 1), subplot_titles=[HORIZON_TITLES[h] for h in horizons])
    zmax = max((abs(v) for v in grid["net_pnl_usd"].to_list() if v is not None), default=0.0) or 1.0
    for i, h in enumerate(horizons, start=1):
        g = grid.filter(pl.col("horizon") == h).sort("spx_move_pct", "vix_move")
        xs = sorted(set(g["vix_move"].to_list()))
        ys = sorted(set(g["spx_move_pct"].to_list()))
        z = [[None] * len(xs) for _ in ys]
        for r in g.iter_rows(named=True):
            z[ys.index(r["spx_move_pct"])][xs.index(r["vix_move"])] = r["net_pnl_usd"]
        fig.add_trace(
            go.Heatmap(
                x=[f"{x:+g}" for x in xs],
                y=[f"{y:+g}%" for y in ys],
                z=z,
                zmin=-zmax,
                zmax=zmax,
                zmid=0,
                colorscale="RdYlGn",
                showscale=i == len(horizons),
                colorbar={"title": {"text": "net $"}},
                hovertemplate="SPX %{y}, VIX %{x} pts: $%{z:,.0f}<extra></extra>",
            ),
            row=1,
            col=i,
        )
        fig.update_xaxes(title_text="VIX move (points)", row=1, col=i)
    fig.update_yaxes(title_text="SPX move", row=1, col=1)
    return _layout(fig, "Payoff of the whole book (IC + hedge), net P&L in dollars", height=460)
