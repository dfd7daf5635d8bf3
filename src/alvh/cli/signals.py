"""`alvh signals show`: a published session's hedge plan, read-only."""

from __future__ import annotations

from typing import Annotated

import typer

from alvh.cli.options import ExportOpt, WarehouseOpt, parse_date
from alvh.cli.render import console, fail, out_console, signal_panel, warn
from alvh.core.errors import AlvhError, WarehouseLocked

signals_app = typer.Typer(no_args_is_help=True, help="Read the published signals")


@signals_app.command("show")
def signals_show(
    date_: Annotated[str | None, typer.Option("--date", help="session (default: the latest published)")] = None,
    warehouse: WarehouseOpt = None,
    export_dir: ExportOpt = None,
) -> None:
    """Print a session's hedge plan: one line per layer, with the reason."""
    from alvh.core.paths import storage_paths  # the settings object only when more than paths is configured
    from alvh.pipeline.published import exported_plan, warehouse_plan

    settings = storage_paths(warehouse=warehouse, export_dir=export_dir)
    wanted = parse_date(date_, "--date")
    if not settings.warehouse.exists():
        fail(
            f"no warehouse at {settings.warehouse}: run `alvh run` (or `alvh ingest`) first, "
            "or point --warehouse / ALVH_WAREHOUSE at yours"
        )
    busy = False
    try:
        lookup = warehouse_plan(settings.warehouse, wanted)
    except WarehouseLocked:  # a run holds the warehouse for writing: read the last exported plan instead
        busy = True
        try:
            lookup = exported_plan(settings.export_dir, wanted)
        except AlvhError as exc:
            fail(str(exc))
    if lookup.plan is None:
        if lookup.why_missing is None:
            console.print("[yellow]nothing is published yet[/yellow]: run `alvh run` (or `alvh backfill`)")
        else:
            warn(lookup.why_missing)
        raise typer.Exit(1)
    out_console().print(signal_panel(*lookup.plan))
    if busy:
        out_console().print("[dim](read from the exports: the warehouse is busy with a run)[/dim]")
