"""The ``alvh`` command line: entry point of every job."""

from __future__ import annotations

import os
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from flows.progress import reporting
from schemas.errors import AlvhError

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Adaptive Layered VIX Hedge pipeline")
console = Console(stderr=True)


def out() -> Console:
    """Standard output; wide when piped so tables are not folded."""
    return Console(width=None if sys.stdout.isatty() else 200)


WarehouseOpt = Annotated[
    Path | None,
    typer.Option("--warehouse", help="DuckDB file (default: ALVH_WAREHOUSE or warehouse/alvh.duckdb)"),
]


@app.callback()
def _root() -> None:
    """Adaptive Layered VIX Hedge: ingest market data, compute and publish hedge signals."""


def _parse_date(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date; expected YYYY-MM-DD", param_hint=name) from None


def _quiet_prefect() -> None:
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")


@app.command()
def ingest(
    source_dir: Annotated[
        Path | None,
        typer.Option("--source-dir", help="read files from this folder instead of HTTP (ALVH_SOURCE_DIR)"),
    ] = None,
    warehouse: WarehouseOpt = None,
    start: Annotated[str | None, typer.Option(help="skip VX contracts expiring before this date")] = None,
    end: Annotated[
        str | None, typer.Option(help="the date treated as today (default: today, New York)")
    ] = None,
    http: Annotated[bool, typer.Option("--http", help="force the public HTTP endpoints")] = False,
) -> None:
    """Load CBOE, CFE, breadth and rate data into the warehouse and rebuild staging."""
    _quiet_prefect()
    from flows.ingest import ingest_flow
    from flows.settings import load_settings

    settings = load_settings(warehouse=warehouse, source_dir=source_dir)
    source = "http" if http else (str(settings.source_dir) if settings.source_dir else "http")
    with Progress(
        TextColumn("{task.description:<18}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        bars: dict[str, TaskID] = {}

        def on_progress(label: str, done: int, total: int) -> None:
            if label not in bars:
                bars[label] = progress.add_task(label, total=total)
            progress.update(bars[label], completed=done, total=total)

        try:
            with reporting(on_progress):
                summary = ingest_flow(
                    source=source,
                    start=_parse_date(start, "--start"),
                    end=_parse_date(end, "--end"),
                    warehouse=str(settings.warehouse),
                )
        except AlvhError as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(1) from None
    table = Table(title=f"ingest {summary.run_id} → {settings.warehouse}")
    rows = summary.by_family()
    for col in rows[0] if rows else []:
        table.add_column(col, justify="right" if col != "family" else "left")
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    out().print(table)
    for name, note in summary.staging_notes.items():
        if note:
            out().print(f"{name}: {note}")


@app.command()
def indicators(
    warehouse: WarehouseOpt = None,
    last: Annotated[int, typer.Option(help="how many of the latest sessions to print")] = 10,
) -> None:
    """Rebuild marts.indicators_daily from the warehouse and print the latest sessions."""
    from flows.settings import load_settings
    from flows.sources import indicator_params
    from warehouse.connection import open_warehouse
    from warehouse.indicators import build_indicators_mart

    settings = load_settings(warehouse=warehouse)
    try:
        with open_warehouse(settings.warehouse) as con:
            frame = build_indicators_mart(con, indicator_params(settings))
    except AlvhError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    if frame.is_empty():
        console.print("[yellow]the warehouse holds no VIX history yet: run `alvh ingest` first[/yellow]")
        raise typer.Exit(1)
    out().print(indicators_table(frame.tail(last), f"marts.indicators_daily — {frame.height} sessions"))


def indicators_table(frame: pl.DataFrame, title: str) -> Table:
    """The columns a trader scans: VIX, MACD, breadth RSI, the curve, regime, data flags."""
    table = Table(title=title)
    spec = [
        ("session", "session_date", "{}"),
        ("VIX", "vix_close", "{:.2f}"),
        ("MACD hist", "macd_hist", "{:+.2f}"),
        ("cross", "macd_cross", "{:+d}"),
        ("A/D RSI", "ad_rsi", "{:.1f}"),
        ("M1", "m1_settle", "{:.2f}"),
        ("M2", "m2_settle", "{:.2f}"),
        ("M3", "m3_settle", "{:.2f}"),
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
                if not row["term_structure_complete"]:
                    flags.append("curve incomplete")
                cells.append(", ".join(flags) or "ok")
            else:
                v = row[col]
                cells.append("—" if v is None else fmt.format(v))
        table.add_row(*cells)
    return table


def main() -> None:  # pragma: no cover - console entry
    try:
        app()
    except AlvhError as exc:
        console.print(f"[red]error:[/red] {exc}")
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
