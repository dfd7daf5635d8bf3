"""`alvh ingest`: load the market data into the warehouse and rebuild staging."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from alvh.cli.options import WarehouseOpt, parse_date
from alvh.cli.prefect_output import quiet_prefect
from alvh.cli.render import fail, ingest_table, out_console, progress_bars
from alvh.core.errors import AlvhError


def ingest(
    source_dir: Annotated[
        Path | None,
        typer.Option("--source-dir", help="read files from this folder instead of HTTP (ALVH_SOURCE_DIR)"),
    ] = None,
    warehouse: WarehouseOpt = None,
    start: Annotated[str | None, typer.Option(help="skip VX contracts expiring before this date")] = None,
    end: Annotated[str | None, typer.Option(help="the date treated as today (default: today, New York)")] = None,
    http: Annotated[bool, typer.Option("--http", help="force the public HTTP endpoints")] = False,
    accept_revisions: Annotated[
        list[str] | None,
        typer.Option(
            "--accept-revisions",
            help="apply this file's suspect revisions on purpose (file name or path; repeatable); "
            "who and when are recorded in meta.revision",
        ),
    ] = None,
) -> None:
    """Load CBOE, CFE, breadth and rate data into the warehouse and rebuild staging.

    A file that would revise too much stored history is refused whole (exit 1, the other files
    load); `--accept-revisions FILE` applies it on purpose."""
    from alvh.core.settings import load_settings
    from alvh.pipeline.progress import reporting
    from alvh.pipeline.writing_job import writing_job

    settings = load_settings(warehouse=warehouse, source_dir=source_dir)
    source = "http" if http else (str(settings.source_dir) if settings.source_dir else "http")
    with progress_bars(18) as on_progress:
        try:
            with writing_job(settings, export=False), reporting(on_progress):
                quiet_prefect()
                from alvh.flows.ingest import ingest_flow

                summary = ingest_flow(
                    source=source,
                    start=parse_date(start, "--start"),
                    end=parse_date(end, "--end"),
                    settings=settings,
                    accept_revisions=accept_revisions or None,
                )
        except AlvhError as exc:
            fail(str(exc))
    out_console().print(ingest_table(f"ingest {summary.run_id} → {settings.warehouse}", summary.by_family()))
    for name, note in summary.staging_notes.items():
        if note:
            out_console().print(f"{name}: {note}")
