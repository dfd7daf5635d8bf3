"""`alvh run`: the daily job, then the plan it published."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from alvh.cli.options import ExportOpt, WarehouseOpt, parse_date
from alvh.cli.prefect_output import quiet_prefect
from alvh.cli.render import fail, out_console, signal_panel
from alvh.core.errors import AlvhError


def run(
    as_of: Annotated[str | None, typer.Option("--as-of", help="session to signal (default: today, New York)")] = None,
    source_dir: Annotated[Path | None, typer.Option("--source-dir", help="read files from this folder")] = None,
    warehouse: WarehouseOpt = None,
    export_dir: ExportOpt = None,
) -> None:
    """The daily job: ingest → indicators → signals → publish → export, then print the plan."""
    from alvh.core.settings import load_settings
    from alvh.pipeline.writing_job import writing_job

    settings = load_settings(warehouse=warehouse, source_dir=source_dir, export_dir=export_dir)
    day = parse_date(as_of, "--as-of")
    started = False
    try:
        with writing_job(settings):
            quiet_prefect()
            from alvh.flows.daily import daily_flow

            started = True
            summary = daily_flow(
                as_of=day,
                source=str(settings.source_dir) if settings.source_dir else "http",
                settings=settings,
            )
    except AlvhError as exc:
        from alvh.core.errors import ExportError, IngestIncomplete

        if isinstance(exc, IngestIncomplete):  # the plan went out: show it, then what failed
            print_published_plan(settings.warehouse, exc.day)
        elif isinstance(exc, ExportError) and started:  # published, then an export or the page failed
            from alvh.core.calendar import today_new_york

            if print_published_plan(settings.warehouse, day or today_new_york()):
                fail(f"the signal was published (plan above), but writing its files failed: {exc}")
        fail(str(exc))
    if summary.status == "no session":
        out_console().print(f"{summary.as_of} is not an NYSE session: no signal.")
        return
    if summary.signal is not None:
        out_console().print(signal_panel(summary.signal, summary.layers))
    out_console().print(
        f"[dim]{summary.status}: {len(summary.sessions)} session(s); exports in {settings.export_dir}[/dim]"
    )
    if summary.page is not None:
        out_console().print(f"[dim]daily page: {summary.page}[/dim]")


def print_published_plan(warehouse: Path, day: date) -> bool:
    """Print ``day``'s published plan from the warehouse; False (printing nothing) if it is not there."""
    from alvh.pipeline.published import published_plan

    plan = published_plan(warehouse, day)
    if plan is not None:
        out_console().print(signal_panel(*plan))
    return plan is not None
