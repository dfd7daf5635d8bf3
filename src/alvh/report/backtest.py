"""The backtest report: one self-contained HTML file (figures embedded as PNG data URIs, no
external URL), readable offline."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import polars as pl

from alvh.schemas.backtest import BacktestResult

ASSUMPTIONS = [
    "VIX calls are priced with Black-76 on the VX future of the same expiry, σ from the smile surface "
    "(ALVH_METHOD.md §4): fitted to one real calm-day chain (Cboe, 2016-06-01) and scaled with VVIX; its shape "
    "in a spike is assumed, not measured.",
    "SPX legs are priced from VIX with a fixed smile (ATM 0.80 × VIX, put slope 0.80, call slope 0.15), "
    "Black-Scholes with a 1.8 % dividend yield.",
    "The IC settles at the SPX open of its expiry session; VIX calls at the VX final settlement (the "
    "expiry-day settle in the CFE data, else the VIX open of that day — flagged).",
    "Every hedge ticket fills fill_lag_sessions (default 1) sessions after the close that decided it, at that "
    "close's model price, plus the commission and the VIX half-spread (fitted to the 2016-06-01 chain's bid/ask "
    "and widened in proportion to VVIX above 79 — an assumption; constant with vix_spread_model = constant).",
    "Breadth (NYSE A/D) ends 2026-03-20 and has glitch days; without it the engine uses RSI 50 (flagged).",
    "Missing VX contracts (Jun-2024, Mar-2025, most of Mar-2022's front-month life) are priced on forwards "
    "interpolated between bracketing contracts (§3, flagged); a session without VIX, VVIX or SPX is stale: "
    "no trades, marks carried — never invented.",
]


EVENT_DEFINITIONS = [
    "Window P&L (IC, hedge, net) runs from the close of the window's start (the last close before the jump) "
    "to its end; the *_to_peak columns from that close to the VIX closing peak.",
    "static capture: a static 4/4/2 ladder of 10 calls (target delta, default 0.30; M1/M2/M3) bought at the "
    "start's close and held to the peak close — its P&L ÷ (10 × $100 × VIX rise); the ladder's convexity "
    "alone, the same for every strategy.",
    "loss offset: the strategy as actually traded — hedge P&L ÷ (−IC P&L), start close → peak close "
    "(empty when the IC did not lose).",
]


def _png(fig: plt.Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def figures(res: BacktestResult) -> dict[str, bytes]:
    """Named figures as PNG bytes."""
    out: dict[str, bytes] = {}
    spikes = res.events.filter(pl.col("kind") == "detected").unique("event").sort("window_start")
    fig, ax = plt.subplots(figsize=(11, 4.5))
    for (name,), g in res.daily.sort("session_date").group_by(["strategy"], maintain_order=True):
        ax.plot(g["session_date"].to_list(), (g["equity_net"] / 1000).to_list(), label=str(name), lw=1.1)
    for span in spikes.to_dicts():
        ax.axvspan(span["window_start"], span["window_end"], color="red", alpha=0.08)
    ax.set_title("Equity net of costs (k$), volatility spikes shaded")
    ax.set_ylabel("k$")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    out["equity"] = _png(fig)

    fig, ax = plt.subplots(figsize=(11, 3.5))
    for (name,), g in res.daily.sort("session_date").group_by(["strategy"], maintain_order=True):
        eq = g["equity_net"]
        ax.plot(g["session_date"].to_list(), ((eq - eq.cum_max()) / 1000).to_list(), label=str(name), lw=1)
    ax.set_title("Drawdown from the running peak (k$)")
    ax.legend(loc="lower left", fontsize=8)
    ax.grid(alpha=0.3)
    out["drawdown"] = _png(fig)

    ev = res.events.filter(pl.col("strategy") == "alvh_steward").sort("window_start")
    if ev.height:
        fig, ax = plt.subplots(figsize=(11, 4))
        x = range(ev.height)
        ax.bar([i - 0.2 for i in x], (ev["ic_pnl_usd"] / 1000).to_list(), width=0.4, label="IC P&L")
        ax.bar([i + 0.2 for i in x], (ev["hedge_pnl_usd"] / 1000).to_list(), width=0.4, label="hedge P&L (steward)")
        ax.set_xticks(list(x), ev["event"].to_list(), rotation=70, fontsize=7)
        ax.axhline(0, color="black", lw=0.6)
        ax.set_title("Per event: IC vs hedge P&L (k$)")
        ax.legend(fontsize=8)
        out["events"] = _png(fig)

    m = res.market_frame.sort("session_date")
    held = res.daily.filter(pl.col("strategy") == "alvh_steward").sort("session_date")
    fig, axes = plt.subplots(3, 1, figsize=(11, 7), sharex=True)
    axes[0].plot(m["session_date"].to_list(), m["vix_close"].to_list(), lw=0.9, color="black")
    axes[0].set_title("VIX close, MACD histogram, and the ladder's contracts (steward)")
    axes[1].bar(m["session_date"].to_list(), m["macd_hist"].fill_null(0).to_list(), width=1.5, color="tab:blue")
    axes[1].set_ylabel("MACD hist")
    if held.height:
        axes[2].plot(held["session_date"].to_list(), held["contracts_held"].to_list(), lw=0.9, color="tab:green")
    axes[2].set_ylabel("contracts")
    for a in axes:
        a.grid(alpha=0.3)
    out["ladder"] = _png(fig)
    return out


def _table(frame: pl.DataFrame, cols: list[str]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = []
    for r in frame.select(cols).iter_rows():
        cells = []
        for v in r:
            if isinstance(v, float):
                cells.append(f"<td class=n>{v:,.2f}</td>" if abs(v) < 100 else f"<td class=n>{v:,.0f}</td>")
            else:
                cells.append(f"<td>{html.escape('' if v is None else str(v))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _usd(v: float | None) -> str:
    return "" if v is None else f"{v:,.0f}".replace("-", "−")


def markdown_tables(res: BacktestResult) -> str:
    """The README's two tables for this run: strategies over the whole period, and the named
    windows of §9 (IC, hedge and net P&L to the window end; static capture and loss offset to the
    VIX closing peak)."""
    s = res.summary
    lines = [
        f"Backtest {res.start} → {res.end} (run {res.run_id}); dollars.",
        "",
        "| strategy | P&L gross | P&L net of costs | max drawdown (net) | hedge P&L (gross) | costs | VIX calls traded"
        " | worst month (net) | hedge carry per calm month |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in s.iter_rows(named=True):
        lines.append(
            f"| {r['strategy']} | {_usd(r['total_pnl_gross_usd'])} | {_usd(r['total_pnl_net_usd'])} | "
            f"{_usd(r['max_drawdown_net_usd'])} ({r['max_drawdown_peak']} → {r['max_drawdown_trough']}) | "
            f"{_usd(r['hedge_pnl_usd'])} | {_usd(r['costs_usd'])} | {r['contracts_traded']:,} | "
            f"{str(r['worst_month'])[:7]}: {_usd(r['worst_month_usd'])} | {_usd(r['hedge_carry_per_calm_month_usd'])} |"
        )
    ev = res.events.filter(pl.col("kind") == "named")
    by = {(r["event"], r["strategy"]): r for r in ev.iter_rows(named=True)}
    lines += [
        "",
        "| window | start → VIX peak | VIX | IC | steward hedge | net unhedged | net steward | net fixed"
        " | net 10 M1 calls | max drawdown unhedged / steward | static capture | loss offset (steward) | data gaps |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name in ev.sort("window_start")["event"].unique(maintain_order=True).to_list():
        st, un = by.get((name, "alvh_steward")), by.get((name, "unhedged"))
        fx, m1 = by.get((name, "alvh_fixed")), by.get((name, "calls_m1_10"))
        if st is None or un is None:
            continue

        def net(r: dict[str, object] | None) -> str:
            return "" if r is None else _usd(r["net_pnl_usd"])  # type: ignore[arg-type]

        sc, lo = st["static_capture"], st["loss_offset"]
        lines.append(
            f"| {name} | {st['window_start']} → {st['peak_date']} | {st['vix_start']:.1f} → {st['vix_peak']:.1f} | "
            f"{_usd(st['ic_pnl_usd'])} | {_usd(st['hedge_pnl_usd'])} | {net(un)} | {net(st)} | {net(fx)} | {net(m1)} | "
            f"{_usd(un['max_drawdown_usd'])} / {_usd(st['max_drawdown_usd'])} | "
            f"{'' if sc is None else f'{sc:.0%}'} | {'' if lo is None else f'{lo:.2f}'} | {st['data_gaps'] or ''} |"
        )
    lines += ["", side_sentence(res)]
    if not res.macro_events.is_empty():
        lines += ["", f"Macro event study ({res.macro_events_note}):", "", macro_event_markdown(res.macro_events)]
    return "\n".join(lines) + "\n"


MACRO_LABEL = {"fomc_decision": "FOMC decision", "cpi": "CPI", "ppi": "PPI"}


def macro_event_markdown(table: pl.DataFrame) -> str:
    """The macro event study's table (``alvh.transforms.macro_event_study``) as the README prints
    it: per release, series and horizon, event sessions against all others, with permutation
    p-values."""
    lines = [
        "| release | series | h | n (event / other) | mean Δ event | mean Δ other | median Δ event | median Δ other "
        "| mean abs Δ event | mean abs Δ other | share up event / other | p (mean) | p (abs) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in table.sort("kind", "horizon", "series", descending=[False, False, True]).iter_rows(named=True):
        lines.append(
            f"| {MACRO_LABEL.get(r['kind'], r['kind'])} | {r['series']} | {r['horizon']} "
            f"| {r['n_event']} / {r['n_other']} "
            f"| {r['mean_event']:+.2f} | {r['mean_other']:+.2f} | {r['median_event']:+.2f} | {r['median_other']:+.2f} "
            f"| {r['mean_abs_event']:.2f} | {r['mean_abs_other']:.2f} "
            f"| {r['share_up_event']:.0%} / {r['share_up_other']:.0%} | {r['p_mean']:.3f} | {r['p_abs']:.3f} |"
        )
    return "\n".join(lines)


def side_sentence(res: BacktestResult) -> str:
    """The IC's P&L by side over the run, in one plain paragraph (from the unhedged program)."""
    c = res.ic_sides
    if c.is_empty():
        return ""
    put, call = c["put_pnl_usd"], c["call_pnl_usd"]
    return (
        f"The IC program by side over {c.height} cycles (before costs): put side {_usd(float(put.sum()))} "
        f"({int((put < 0).sum())} losing cycles, {_usd(float(put.filter(put < 0).sum()))} lost), call side "
        f"{_usd(float(call.sum()))} ({int((call < 0).sum())} losing cycles, "
        f"{_usd(float(call.filter(call < 0).sum()))} lost). "
        "A VIX-call hedge can offset the put side's losses (SPX falls, VIX rises); the call side loses in rallies, "
        "when VIX falls and the hedge loses too."
    )


def write_report(res: BacktestResult, path: Path) -> Path:
    """Write the self-contained HTML report (figures embedded), and beside it ``tables.md`` (the
    README's tables) and each figure as ``<name>.png``; returns the report's path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pngs = figures(res)
    for name, data in pngs.items():
        (path.parent / f"{name}.png").write_bytes(data)
    (path.parent / "tables.md").write_text(markdown_tables(res), encoding="utf-8")
    figs = {k: "data:image/png;base64," + base64.b64encode(v).decode() for k, v in pngs.items()}
    summary_cols = [
        "strategy",
        "total_pnl_net_usd",
        "annual_return_net",
        "volatility_net",
        "max_drawdown_net_usd",
        "calmar_net",
        "worst_month",
        "worst_month_usd",
        "hedge_pnl_usd",
        "costs_usd",
        "hedge_carry_per_calm_month_usd",
        "contracts_traded",
        "total_pnl_gross_usd",
    ]
    event_cols = [
        "event",
        "strategy",
        "window_start",
        "peak_date",
        "window_end",
        "vix_rise",
        "ic_pnl_usd",
        "ic_put_pnl_usd",
        "ic_call_pnl_usd",
        "hedge_pnl_usd",
        "net_pnl_usd",
        "max_drawdown_usd",
        "max_drawdown_unhedged_usd",
        "ic_pnl_to_peak_usd",
        "hedge_pnl_to_peak_usd",
        "static_capture",
        "loss_offset",
        "sessions_to_recover",
        "data_gaps",
    ]
    events = res.events.filter(pl.col("strategy").is_in(["unhedged", "alvh_steward"])).sort("window_start", "strategy")
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>ALVH backtest</title><style>",
        "body{font-family:sans-serif;margin:24px;max-width:1200px}table{border-collapse:collapse;font-size:12px}"
        "td,th{border:1px solid #ccc;padding:3px 6px}td.n{text-align:right}img{max-width:100%}",
        "</style></head><body>",
        f"<h1>ALVH backtest {res.start} → {res.end}</h1><p>run {html.escape(res.run_id)}; money in dollars; "
        f"returns on the IC's risk capital ({res.summary['risk_capital_usd'][0]:,.0f} $).</p>",
        "<h2>Strategies</h2>",
        _table(res.summary, summary_cols),
        f"<h2>Equity</h2><img alt='equity' src='{figs['equity']}'>",
        f"<img alt='drawdown' src='{figs['drawdown']}'>",
    ]
    if "events" in figs:
        parts.append(f"<h2>Volatility events</h2><img alt='events' src='{figs['events']}'>")
    cycles = res.ic_sides
    parts += [
        "<ul>" + "".join(f"<li>{html.escape(d)}</li>" for d in EVENT_DEFINITIONS) + "</ul>",
        _table(events, event_cols),
        "<h2>The IC's P&amp;L by side, per cycle</h2>",
        f"<p>{html.escape(side_sentence(res))}</p>",
        _table(cycles, ["opened", "expiry", "ic_pnl_usd", "put_pnl_usd", "call_pnl_usd"]),
        f"<h2>The ladder</h2><img alt='ladder' src='{figs['ladder']}'>",
        *(
            [
                "<h2>Macro releases: do they move VIX?</h2>",
                f"<p>{html.escape(res.macro_events_note)}</p>",
                _table(res.macro_events, list(res.macro_events.columns)),
            ]
            if not res.macro_events.is_empty()
            else []
        ),
        "<h2>Model assumptions and known biases</h2><ul>",
    ]
    parts += [f"<li>{html.escape(a)}</li>" for a in ASSUMPTIONS]
    parts.append("</ul></body></html>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts))
    return path


# --- walk-forward ------------------------------------------------------------------------------

WF_STRATEGIES = ("chosen", "default", "unhedged")


def walk_forward_figure(wf: pl.DataFrame) -> bytes:
    """Per fold: in-sample vs out-of-sample net P&L, out-of-sample max drawdown and Calmar, for
    the chosen settings, the default steward and the unhedged program (k$)."""
    import numpy as np

    fold_ids = sorted(wf["fold"].unique().to_list())
    x = np.arange(len(fold_ids))
    fig, axes = plt.subplots(2, 2, figsize=(12, 7.5))
    width = 0.27
    panels = (
        (axes[0, 0], "is_pnl_net_usd", "In-sample net P&L (k$, training window)", 1000.0),
        (axes[0, 1], "oos_pnl_net_usd", "Out-of-sample net P&L (k$, test window)", 1000.0),
        (axes[1, 0], "oos_max_drawdown_net_usd", "Out-of-sample max drawdown (k$)", 1000.0),
        (axes[1, 1], "oos_calmar_net", "Out-of-sample Calmar (net)", 1.0),
    )
    for ax, col, title, scale in panels:
        for i, name in enumerate(WF_STRATEGIES):
            g = wf.filter(pl.col("strategy") == name).sort("fold")
            vals = [0.0 if v is None else v / scale for v in g[col].to_list()]
            ax.bar(x + (i - 1) * width, vals, width, label=name)
        ax.axhline(0, color="black", lw=0.6)
        ax.set_title(title, fontsize=10)
        ax.set_xticks(x, [str(f) for f in fold_ids])
        ax.set_xlabel("fold")
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    return _png(fig)


def walk_forward_path_figure(oos: pl.DataFrame) -> bytes:
    """The out-of-sample path (``session_date, strategy, equity_net, fold``): each strategy's net
    equity over the whole test span (k$), one line with no restart, folds marked."""
    fig, ax = plt.subplots(figsize=(12, 4.2))
    for name in WF_STRATEGIES:
        g = oos.filter(pl.col("strategy") == name).sort("session_date")
        ax.plot(g["session_date"].to_list(), (g["equity_net"] / 1000.0).to_list(), lw=1.1, label=name)
    starts = oos.group_by("fold").agg(pl.col("session_date").min()).sort("fold")
    for d in starts["session_date"].to_list()[1:]:
        ax.axvline(d, color="grey", lw=0.5, ls=":")
    ax.axhline(0, color="black", lw=0.6)
    ax.set_title("Out-of-sample path: net equity (k$); dotted lines: the chosen settings switch", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _png(fig)


def write_walk_forward_report(wf: pl.DataFrame, verdict: str, path: Path, oos: pl.DataFrame | None = None) -> Path:
    """A self-contained page: the verdict, the figures (with ``oos``, the path mode's one
    out-of-sample series), and per fold the windows, the chosen settings and the three
    strategies' in- and out-of-sample figures; the PNGs beside it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    png = walk_forward_figure(wf)
    (path.parent / "walk_forward.png").write_bytes(png)
    src = "data:image/png;base64," + base64.b64encode(png).decode()
    path_img = ""
    if oos is not None:
        path_png = walk_forward_path_figure(oos)
        (path.parent / "walk_forward_path.png").write_bytes(path_png)
        path_img = f"<img alt='out-of-sample path' src='data:image/png;base64,{base64.b64encode(path_png).decode()}'>"
    how = (
        "then runs them out of sample on one path: the IC and the hedge book are carried from fold to fold and the "
        "settings switch at each fold's first test session (the trades that switching needs are paid)"
        if oos is not None
        else "then runs them on the next window with a fresh IC and an empty hedge book"
    )
    cols = [
        "fold",
        "strategy",
        "train_start",
        "train_end",
        "test_start",
        "test_end",
        "settings",
        "is_pnl_net_usd",
        "is_max_drawdown_net_usd",
        "is_calmar_net",
        "oos_pnl_net_usd",
        "oos_pnl_gross_usd",
        "oos_max_drawdown_net_usd",
        "oos_calmar_net",
        "oos_costs_usd",
    ]
    objective = wf["objective"][0] if wf.height else ""
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>ALVH walk-forward</title><style>",
        "body{font-family:sans-serif;margin:24px;max-width:1300px}table{border-collapse:collapse;font-size:12px}"
        "td,th{border:1px solid #ccc;padding:3px 6px}td.n{text-align:right}img{max-width:100%}",
        "</style></head><body>",
        f"<h1>ALVH walk-forward (objective: {html.escape(str(objective))})</h1>",
        f"<p><b>{html.escape(verdict)}</b></p>",
        "<p>Each fold picks, among the grid, the settings with the best objective on its training window (net of "
        f"costs), {how}; the default steward and the unhedged IC program run on the same windows. "
        "Money in dollars.</p>",
        path_img,
        f"<img alt='walk-forward' src='{src}'>",
        _table(wf.sort("fold", "strategy"), cols),
        "</body></html>",
    ]
    path.write_text("\n".join(parts))
    return path


def timing_luck_figure(table: pl.DataFrame) -> bytes:
    """Net P&L (k$) per IC-calendar shift, one line per strategy; the unshifted calendar marked."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    for name in table["strategy"].unique(maintain_order=True).to_list():
        g = table.filter(pl.col("strategy") == name).sort("shift")
        axes[0].plot(g["shift"].to_list(), (g["pnl_net_usd"] / 1000.0).to_list(), marker=".", lw=1, label=name)
        axes[1].plot(g["shift"].to_list(), (g["max_drawdown_net_usd"] / 1000.0).to_list(), marker=".", lw=1)
    for ax, title in zip(axes, ("Net P&L (k$)", "Max drawdown, net (k$)"), strict=True):
        ax.axvline(0, color="grey", lw=0.6, ls=":")
        ax.set_xlabel("IC calendar shift, trading sessions")
        ax.set_title(title, fontsize=10)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return _png(fig)


def write_timing_luck_report(table: pl.DataFrame, summary: pl.DataFrame, path: Path) -> Path:
    """A self-contained page: what was shifted, the distribution per strategy and measure
    (unshifted, median, 10th/90th percentile, extremes), the figure, and every run."""
    path.parent.mkdir(parents=True, exist_ok=True)
    png = timing_luck_figure(table)
    (path.parent / "timing_luck.png").write_bytes(png)
    shifts = table["shift"].unique().sort().to_list()
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>ALVH timing luck</title><style>",
        "body{font-family:sans-serif;margin:24px;max-width:1300px}table{border-collapse:collapse;font-size:12px}"
        "td,th{border:1px solid #ccc;padding:3px 6px}td.n{text-align:right}img{max-width:100%}",
        "</style></head><body>",
        f"<h1>ALVH timing luck: the IC calendar shifted {shifts[0]:+d} … {shifts[-1]:+d} sessions</h1>",
        "<p>Each run moves every IC cycle's open and expiry by the same number of trading sessions; the hedge keeps "
        "the VIX calendar (its contracts and rolls follow the VX expiries), so each shift is another phase between "
        "the IC program, the ladder and the spikes. The spread of a strategy's results across shifts is luck of the "
        "calendar, not skill of the rules. Money in dollars, net of costs.</p>",
        f"<img alt='timing luck' src='data:image/png;base64,{base64.b64encode(png).decode()}'>",
        "<h2>Distribution per strategy</h2>",
        _table(summary, ["strategy", "measure", "shifts", "unshifted", "median", "p10", "p90", "min", "max"]),
        "<h2>Every run</h2>",
        _table(table.sort("strategy", "shift"), table.columns),
        "</body></html>",
    ]
    path.write_text("\n".join(parts))
    return path
