"""The ``alvh`` command line: entry point of every job."""

from __future__ import annotations

import os
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from flows.progress import reporting
from schemas.errors import AlvhError

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Adaptive Layered VIX Hedge pipeline")
console = Console(stderr=True)

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
    Console().print(table)
    for name, note in summary.staging_notes.items():
        if note:
            Console().print(f"{name}: {note}")


def main() -> None:  # pragma: no cover - console entry
    try:
        app()
    except AlvhError as exc:
        console.print(f"[red]error:[/red] {exc}")
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
