"""Everything the CLI draws: the consoles, the progress bars, the one-line error, and the rich
tables of each command (the hedge plan, indicators, ingest, backtest, doctor, quote imports).
Every text cell from data is escaped: data, never rich markup."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    import polars as pl
    from rich.progress import TaskID

    from alvh.pipeline.doctor import Check
    from alvh.pipeline.quotes import QuotesImport

console = Console(stderr=True, soft_wrap=True)


def out_console() -> Console:
    """Standard output; wide when piped so tables are not folded."""
    return Console(width=None if sys.stdout.isatty() else 200)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one error line (the message as text, never rich markup) and exit with ``code``."""
    console.print(f"[red]error:[/red] {escape(message)}")
    raise typer.Exit(code)


def warn(message: str) -> None:
    """One yellow line on stderr (the message as text)."""
    console.print(f"[yellow]{escape(message)}[/yellow]")


@contextmanager
def progress_bars(width: int) -> Iterator[Callable[[str, int, int], None]]:
    """One bar per progress label (stderr); yields the reporter to install."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn  # bars only

    with Progress(
        TextColumn(f"{{task.description:<{width}}}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        bars: dict[str, TaskID] = {}

        def on_progress(label: str, done: int, total: int) -> None:
            if label not in bars:
                bars[label] = progress.add_task(label, total=total)
            progress.update(bars[label], completed=done, total=total)

        yield on_progress


def ingest_table(title: str, rows: list[dict[str, Any]]) -> Table:
    """The ingest summary, one row per source family (the first row's keys as columns)."""
    table = Table(title=title)
    for col in rows[0] if rows else []:
        table.add_column(col, justify="right" if col != "family" else "left")
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    return table


def indicators_table(frame: pl.DataFrame, title: str) -> Table:
    """The columns a trader scans: VIX, MACD, breadth RSI, the curve, regime, data flags."""
    table = Table(title=title)
    spec = [
        ("session", "session_date", "{}"),
        ("VIX", "vix_close", "{:.2f}"),
        ("MACD hist", "macd_hist", "{:+.2f}"),
        ("cross", "macd_cross", "{:+d}"),
        ("A/D RSI", "ad_rsi", "{:.1f}"),
        ("M1", "m1_forward", "{:.2f}"),
        ("M2", "m2_forward", "{:.2f}"),
        ("M3", "m3_forward", "{:.2f}"),
        ("contango", "contango", "{:+.1%}"),
        ("β1/β2/β3", None, ""),
        ("regime", "regime", "{}"),
        ("flags", None, ""),
    ]
    for head, _, _ in spec:
        table.add_column(head, justify="left" if head in ("session", "regime", "flags") else "right")
    for row in frame.iter_rows(named=True):
        cells = []
        for _head, col, fmt in spec:
            if col is None and _head.startswith("β"):
                cells.append("/".join(f"{row[f'beta_{i}']:.2f}" for i in (1, 2, 3)))
            elif col is None:
                flags = []
                if row["breadth_missing"]:
                    flags.append("no breadth")
                interpolated = [f"M{i}" for i in (1, 2, 3) if row.get(f"m{i}_forward_source") == "interpolated"]
                if interpolated:
                    flags.append("~ interpolated " + "/".join(interpolated))
                elif not row["term_structure_complete"]:
                    flags.append("curve incomplete")
                cells.append(", ".join(flags) or "ok")
            else:
                v = row[col]
                mark = "~" if col.endswith("_forward") and row.get(f"{col}_source") == "interpolated" else ""
                cells.append("—" if v is None else mark + fmt.format(v))
        table.add_row(*cells)
    return table


def signal_panel(signal: dict[str, Any], layers: list[dict[str, Any]]) -> Table:
    """Today's actions, readable in ten seconds (every text cell escaped: data, never rich markup)."""

    def num(v: object, fmt: str) -> str:
        return "—" if v is None else fmt.format(v)

    head = (
        f"{signal['session_date']}  VIX {num(signal['vix_close'], '{:.2f}')}  regime {signal['regime']}  "
        f"ratio {num(signal['ratio_current'], '{:.2f}')} → r* {num(signal['ratio_target'], '{:.2f}')}  "
        f"|V_ic| ${num(signal['ic_short_vega_usd'], '{:,.0f}')}/pt  break-evens "
        f"{num(signal['breakeven_low'], '{:,.0f}')}–{num(signal['breakeven_high'], '{:,.0f}')}"
    )
    if signal["stale"]:
        head = f"STALE — NO TRADES: {signal['stale_reason']}\n" + head
    if signal["breadth_missing"]:
        head += "  (breadth missing: RSI 50)"
    if signal.get("next_event"):  # information only: no rule reads it
        head += f"\nnext event: {signal['next_event']}"
    note = signal.get("positions_note")  # the book it started from, when imported holdings apply
    table = Table(
        title=escape(head),
        title_justify="left",
        caption=escape(f"positions: {note}") if note else None,
        caption_justify="left",
    )
    for col in ("layer", "expiry", "strike", "price", "held", "model", "target", "trade", "action", "reason"):
        table.add_column(
            col, justify="right" if col in ("layer", "strike", "price", "held", "model", "target", "trade") else "left"
        )
    for r in layers:
        table.add_row(
            str(r["layer"]),
            str(r["contract_expiry"]),
            num(r["strike"], "{:g}C"),
            "—" if r.get("model_price") is None else f"{r['model_price']:.2f} {r.get('price_source') or 'model'}",
            str(r["current_qty"]),
            num(r["model_target_qty"], "{}"),
            str(r["target_qty"]),
            f"{r['trade_qty']:+d}",
            r["action"],
            escape(str(r["reason"])),  # a reason is text, never rich markup
        )
    return table


def quotes_report_lines(result: QuotesImport) -> list[str]:
    """Per given file: rows kept, quarantined, refused and the quote dates; per CSV member of a
    ZIP the same; the ZIP members left out; the staging rebuild."""

    def dates(ds: list[date]) -> str:
        if not ds:
            return "none"
        return ", ".join(map(str, ds)) if len(ds) <= 3 else f"{ds[0]} → {ds[-1]} ({len(ds)} dates)"

    def counts(kept: int, quarantined: int, refused: int) -> str:
        return f"{kept:,} rows kept, {quarantined:,} quarantined, {refused:,} refused"

    def word(status: str) -> str:
        return "refused" if status == "failed" else status

    lines = []
    for f in result.files:
        one = len(f.members) == 1 and not f.ignored and f.members[0].name == Path(f.path).name
        status = f" ({word(f.members[0].status)})" if one else ""
        lines.append(
            f"{f.path}{status}: {counts(f.total('kept'), f.total('quarantined'), f.total('refused'))}; "
            f"quote dates {dates(f.dates)}"
        )
        for m in [] if one else f.members:
            lines.append(
                f"  {m.name} ({word(m.status)}): {counts(m.kept, m.quarantined, m.refused)}; "
                f"quote dates {dates(m.dates)}"
            )
        for name in f.ignored:
            lines.append(f"  {name}: ignored")
    if result.staging_note:
        lines.append(f"staging.option_quote rebuilt for {dates(result.staged_dates)}: {result.staging_note}")
    if result.published_dates:
        first = result.published_dates[0]
        lines.append(
            f"already published on the model: {dates(result.published_dates)} — `alvh backfill --start {first}` "
            "re-prices it (and the sessions after it) on these quotes; the next `alvh run` uses them for its session"
        )
    return lines


def backtest_table(summary: pl.DataFrame, start: date, end: date) -> Table:
    """The strategies compared over ``start`` → ``end``, net of costs, in dollars."""
    table = Table(title=f"backtest {start} → {end} (net of costs, dollars)")
    cols = [
        ("strategy", "strategy", "{}"),
        ("total P&L", "total_pnl_net_usd", "{:,.0f}"),
        ("gross", "total_pnl_gross_usd", "{:,.0f}"),
        ("max DD", "max_drawdown_net_usd", "{:,.0f}"),
        ("hedge P&L", "hedge_pnl_usd", "{:,.0f}"),
        ("costs", "costs_usd", "{:,.0f}"),
        ("traded", "contracts_traded", "{:,}"),
        ("Calmar", "calmar_net", "{:.2f}"),
    ]
    for head, _, _ in cols:
        table.add_column(head, justify="left" if head == "strategy" else "right")
    for r in summary.to_dicts():
        table.add_row(*("—" if r[c] is None else f.format(r[c]) for _, c, f in cols))
    return table


def doctor_table(checks: Sequence[Check], title: str) -> Table:
    """One row per check, its status coloured (ok green, attention red, else yellow)."""
    table = Table(title=title)
    for col in ("check", "status", "detail"):
        table.add_column(col)
    for c in checks:
        colour = {"ok": "green", "attention": "red"}.get(c.status, "yellow")
        table.add_row(c.name, f"[{colour}]{c.status}[/{colour}]", c.detail)
    return table
