"""The trader's daily page: one HTML file per session, and the index page. No CDN, no external
URL — a pages folder opens from a laptop with no network: plotly.js is one shared file in the
folder (``PLOTLY_JS``, written once by ``alvh.pipeline.page``), loaded by a relative
``<script src>``, so a page holds only its own data (about 100–200 KB, not 4.9 MB).

Pure: ``PageData`` in, an HTML string out. The page answers, top to bottom: what to trade tonight
(the three layers, their tickets and reasons), what the whole book does if SPX or VIX moves (book
risk, stress table, payoff heat maps), where the break-evens are (SPX chart), whether the hedge is
where the method wants it (R vs r*, the VX curve with the strikes), and which inputs are flagged."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import plotly.graph_objects as go
import polars as pl
from plotly.offline import get_plotlyjs, get_plotlyjs_version

from alvh.report.page_figures import payoff_figure, ratio_figure, spx_figure, vx_curve_figure

PLOTLY_JS = f"plotly-{get_plotlyjs_version()}.min.js"  # beside the pages; versioned: old pages keep theirs

# Loaded after PLOTLY_JS: when the shared file is missing (a page copied out of its folder), each
# plot says so in its box instead of throwing "Plotly is not defined".
PLOTLY_MISSING = (
    'if(typeof window.Plotly==="undefined"){window.Plotly={newPlot:function(id){var e=document.getElementById(id);'
    f'if(e){{e.textContent="plot not drawn: {PLOTLY_JS} is not beside this page (copy the whole pages folder)";'
    'e.style.height="auto";e.style.padding="8px";}}}}'
)


def plotly_js() -> str:
    """The content of the shared ``PLOTLY_JS`` file (plotly.js as bundled with plotly.py)."""
    return get_plotlyjs()


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;max-width:1280px;padding:16px;
color:#1f2328;background:#fff}
h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.15em;margin:1.4em 0 .4em;border-bottom:1px solid #d0d7de}
table{border-collapse:collapse;font-size:.9em;margin:.3em 0}th,td{border:1px solid #d0d7de;padding:3px 7px;
text-align:right;vertical-align:top}th{background:#f6f8fa}td.text{text-align:left;max-width:640px}
.banner{padding:8px 12px;border-radius:6px;margin:8px 0}.stale{background:#ffebe9;border:1px solid #d73a49}
.ok{background:#dafbe1;border:1px solid #2ea043}.warn{background:#fff8c5;border:1px solid #d4a72c}
.kpi{display:inline-block;margin-right:22px}.kpi b{font-size:1.15em}.neg{color:#cf222e}.pos{color:#1a7f37}
.plot{border:1px solid #d0d7de;border-radius:6px;margin:8px 0}
"""


@dataclass
class PageData:
    """Everything a session's page shows (rows as read from the marts)."""

    session: date
    signal: dict[str, Any]
    layers: list[dict[str, Any]]
    orders: list[dict[str, Any]] = field(default_factory=list)
    positions: list[dict[str, Any]] = field(default_factory=list)
    stress: list[dict[str, Any]] = field(default_factory=list)
    risk: dict[str, Any] | None = None
    grid: pl.DataFrame = field(default_factory=pl.DataFrame)
    history: pl.DataFrame = field(default_factory=pl.DataFrame)  # session_date, ratio_current, ratio_target, regime
    spx: pl.DataFrame = field(default_factory=pl.DataFrame)  # session_date, spx_close
    curve: pl.DataFrame = field(default_factory=pl.DataFrame)  # contract_expiry, forward, source
    indicators: dict[str, Any] | None = None
    freshness: dict[str, date | None] = field(default_factory=dict)  # input → last date on or before the session
    quote_check: list[dict[str, Any]] = field(default_factory=list)  # marts.quote_check rows of the session


def esc(v: object) -> str:
    return html.escape("" if v is None else str(v))


def money(v: object) -> str:
    """Dollars with a sign colour: ``$-1,234`` in red."""
    if v is None:
        return "—"
    x = float(v)  # type: ignore[arg-type]
    cls = "neg" if x < 0 else "pos" if x > 0 else ""
    sign = "−" if round(x) < 0 else ""
    return f'<span class="{cls}">{sign}${abs(x):,.0f}</span>'


def num(v: object, fmt: str = "{:,.2f}") -> str:
    return "—" if v is None else fmt.format(v)


def strike(v: object) -> str:
    return "—" if v is None else f"{float(v):g}C"  # type: ignore[arg-type]


def table(table_id: str, headers: Sequence[str], rows: Sequence[Sequence[str]], text_cols: Sequence[int] = ()) -> str:
    """An HTML table; cells are already escaped/formatted HTML."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(f'<td class="text">{c}</td>' if i in text_cols else f"<td>{c}</td>" for i, c in enumerate(r))
        + "</tr>"
        for r in rows
    )
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def data_flags(d: PageData) -> list[str]:
    """The inputs to be wary of tonight, in plain words: stale, breadth missing, interpolated
    forwards, inputs whose last value is older than the session."""
    flags = []
    s = d.signal
    if s.get("stale"):
        flags.append(f"STALE — no trades: {s.get('stale_reason')}")
    if s.get("breadth_missing"):
        flags.append("breadth missing: the A/D RSI is taken as 50 (neutral)")
    for r in d.layers:
        if r.get("forward_source") == "interpolated":
            basis = (d.indicators or {}).get(f"m{r['layer']}_forward_basis") or "interpolated between its neighbours"
            flags.append(f"M{r['layer']} ({r['contract_expiry']}) forward {num(r.get('future_settle'))} is {basis}")
    for name, last in d.freshness.items():
        if last is None:
            flags.append(f"{name}: no data")
        elif last < d.session:
            flags.append(f"{name}: last value {last}, older than the session")
    return flags


def orders_table(layers: Sequence[dict[str, Any]]) -> str:
    """Tonight's plan per layer (the rows of ``marts.layer_adjustment``)."""
    rows = [
        [
            str(r["layer"]),
            esc(r["contract_expiry"]),
            esc(strike(r.get("strike"))),
            esc(price_with_source(r.get("model_price"), r.get("price_source"))),
            str(r["current_qty"]),
            str(r["target_qty"]),
            f"{r['trade_qty']:+d}",
            esc(r["action"]),
            esc(r["reason"]),
        ]
        for r in sorted(layers, key=lambda r: r["layer"])
    ]
    heads = ["layer", "expiry", "strike", "price", "held", "target", "trade", "action", "reason"]
    return table("orders", heads, rows, [8])


def price_with_source(price: object, source: object) -> str:
    """``0.40 (quote)``: the price and whether an imported quote or the surface gave it (§4)."""
    return "—" if price is None else f"{num(price)} ({source or 'model'})"


def quote_check_table(rows: Sequence[dict[str, Any]]) -> str:
    """Model against market: the surface's price of each quoted layer strike and held contract
    beside the real mid (``marts.quote_check``)."""
    body = [
        [
            str(r["layer"]),
            esc(r["contract_expiry"]),
            esc(strike(r["strike"])),
            esc(r["role"]),
            f"{r['bid']:.2f} / {r['ask']:.2f}",
            f"{r['mid']:.3f}",
            f"{r['model_price']:.3f}",
            f"{r['error_pct']:+.1f} %",
            f"{r['error_vol_pts']:+.1f}",
        ]
        for r in rows
    ]
    heads = ["layer", "expiry", "strike", "role", "bid / ask", "mid", "surface", "error", "error (vol pts)"]
    return table("quote-check", heads, body)


def tickets_table(orders: Sequence[dict[str, Any]]) -> str:
    if not orders:
        return "<p>No tickets tonight.</p>"
    rows = [
        [
            str(o["ticket"]),
            esc(o.get("occ_symbol") or ""),
            esc(o["side"]),
            str(o["qty"]),
            esc(o["contract_expiry"]),
            esc(strike(o["strike"])),
            esc(price_with_source(o["model_price"], o.get("price_source"))),
            str(o["layer"]),
            esc(o["action"]),
        ]
        for o in orders
    ]
    heads = ["ticket", "OCC symbol", "side", "qty", "expiry", "strike", "price", "layer", "action"]
    return table("tickets", heads, rows)


def risk_table(risk: dict[str, Any] | None) -> str:
    if risk is None:
        return "<p>No book risk for this session (stale inputs).</p>"
    rows = [
        [esc(label)] + [money(risk[f"{book}_{g}_usd"]) for g in ("delta", "gamma", "vega", "theta")]
        for label, book in (("IC book", "ic"), ("VIX-call hedge", "hedge"), ("net", "net"))
    ]
    heads = ["book", "delta ($/SPX pt)", "gamma ($/SPX pt²)", "vega ($/vol pt)", "theta ($/day)"]
    return table("book-risk", heads, rows, [0])


def stress_table(stress: Sequence[dict[str, Any]]) -> str:
    if not stress:
        return "<p>No stress table for this session (stale inputs).</p>"
    rows = [
        [
            esc(r["scenario"]),
            num(r["vix_shock"], "{:+.2f}"),
            num(r["spx_shock_pct"], "{:+.2f}%"),
            money(r["ic_pnl_usd"]),
            money(r["hedge_pnl_usd"]),
            money(r["net_pnl_usd"]),
        ]
        for r in stress
    ]
    return table("stress", ["scenario", "VIX (pts)", "SPX", "IC P&L", "hedge P&L", "net P&L"], rows, [0])


def figure_div(fig: go.Figure, div_id: str) -> str:
    """A figure's div and script; plotly.js itself is the shared file loaded in the page head."""
    body = fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=div_id,
        default_height=f"{fig.layout.height or 380}px",
        config={"displaylogo": False, "responsive": True},
    )
    return f'<div class="plot">{body}</div>'


def headline(s: dict[str, Any]) -> str:
    kpis = [
        ("VIX", num(s.get("vix_close"))),
        ("regime", esc(s.get("regime") or "—")),
        ("R → r*", f"{num(s.get('ratio_current'))} → {num(s.get('ratio_target'))}"),
        ("|V_ic|", f"${num(s.get('ic_short_vega_usd'), '{:,.0f}')}/pt"),
        ("break-evens", f"{num(s.get('breakeven_low'), '{:,.0f}')} – {num(s.get('breakeven_high'), '{:,.0f}')}"),
        (
            "IC",
            f"{esc(s.get('ic_contracts'))} × {num(s.get('short_put'), '{:,.0f}')}P / "
            f"{num(s.get('short_call'), '{:,.0f}')}C exp {esc(s.get('ic_expiry'))}",
        ),
    ]
    return "".join(f'<span class="kpi">{esc(k)} <b>{v}</b></span>' for k, v in kpis)


def render_page(d: PageData) -> str:
    """The session's page as one HTML string."""
    s = d.signal
    flags = data_flags(d)
    banner_cls = "stale" if s.get("stale") else "warn" if flags else "ok"
    flag_html = "".join(f"<li>{esc(f)}</li>" for f in flags) or "<li>none: every input is fresh</li>"
    plots = []
    if d.curve.height:
        plots.append(("VX curve", figure_div(vx_curve_figure(d.curve, d.layers, d.positions), "plot-vx-curve")))
    if d.history.height:
        plots.append(("Hedge ratio", figure_div(ratio_figure(d.history), "plot-ratio")))
    if d.spx.height:
        plots.append(("SPX and the IC", figure_div(spx_figure(d.spx, s), "plot-spx")))
    if d.grid.height:
        plots.append(("Payoff", figure_div(payoff_figure(d.grid), "plot-payoff")))
    sections = [
        f"<h1>ALVH — {esc(d.session)}</h1>",
        f"<div>{headline(s)}</div>",
        f'<div class="banner {banner_cls}"><b>{esc(s.get("actions_summary"))}</b></div>',
        f'<p id="next-event">Next scheduled event: {esc(s.get("next_event") or "—")}</p>',
        "<h2>Tonight's orders — the three layers</h2>",
        orders_table(d.layers),
        "<h2>Tickets</h2>",
        tickets_table(d.orders),
        "<h2>Data flags</h2>",
        f'<ul id="flags">{flag_html}</ul>',
        "<h2>Whole-book risk</h2>",
        risk_table(d.risk),
        "<h2>Stress</h2>",
        stress_table(d.stress),
    ]
    if d.quote_check:
        sections += ["<h2>Model against market (imported quotes)</h2>", quote_check_table(d.quote_check)]
    for title, div in plots:
        sections += [f"<h2>{esc(title)}</h2>", div]
    sections.append(
        f"<p><small>method {esc(s.get('method_version'))} · settings {esc(s.get('settings_hash'))} · "
        f"published by run {esc(s.get('run_id'))}</small></p>"
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>ALVH {esc(d.session)}</title><style>{CSS}</style>"
        f'<script src="{PLOTLY_JS}" charset="utf-8"></script><script>{PLOTLY_MISSING}</script></head>'
        f"<body>{''.join(sections)}</body></html>"
    )


def render_index(entries: Sequence[tuple[date, str, str]]) -> str:
    """The index of pages: (session, file name, the session's actions summary), newest first."""
    rows = [
        [f'<a href="{esc(name)}">{esc(d)}</a>', esc(summary)]
        for d, name, summary in sorted(entries, key=lambda e: e[0], reverse=True)
    ]
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>ALVH daily pages</title>'
        f"<style>{CSS}</style></head><body><h1>ALVH daily pages</h1>"
        f"{table('sessions', ['session', 'plan'], rows, [1])}</body></html>"
    )
