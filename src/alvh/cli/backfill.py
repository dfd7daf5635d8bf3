"""`alvh backfill`: signals for a range of sessions from the warehouse's data."""

from __future__ import annotations

from typing import Annotated

import typer

from alvh.cli.options import ExportOpt, WarehouseOpt, parse_date
from alvh.cli.prefect_output import quiet_prefect
from alvh.cli.render import fail, out_console, progress_bars
from alvh.core.errors import AlvhError


def backfill(
    start: Annotated[str, typer.Option(help="first session")],
    end: Annotated[str | None, typer.Option(help="last session (default: the last with data)")] = None,
    warehouse: WarehouseOpt = None,
    export_dir: ExportOpt = None,
) -> None:
    """Signals for every session in a range from data already in the warehouse (no ingest); a range
    ending before the last published session is carried forward to it so positions carry."""
    from alvh.core.settings import load_settings
    from alvh.pipeline.progress import reporting
    from alvh.pipeline.writing_job import writing_job

    settings = load_settings(warehouse=warehouse, export_dir=export_dir)
    first = parse_date(start, "--start")
    assert first is not None
    with progress_bars(8) as on_progress:
        try:
            with writing_job(settings), reporting(on_progress):
                quiet_prefect()
                from alvh.flows.backfill import backfill_flow

                summary = backfill_flow(first, parse_date(end, "--end"), settings=settings)
        except AlvhError as exc:
            fail(str(exc))
    s = summary.sessions
    carried = f" (carried forward to {summary.extended_to} so positions carry)" if summary.extended_to else ""
    out_console().print(
        f"{len(s)} sessions {s[0]} → {s[-1]}{carried} "
        f"({'published' if summary.published else 'unchanged'}); stale sessions: {summary.stale}; "
        f"orders: {summary.orders}; daily pages rewritten: {len(summary.pages)}"
    )
