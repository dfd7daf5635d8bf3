"""`alvh page`: rebuild a session's daily HTML page from the warehouse."""

from __future__ import annotations

from typing import Annotated

import typer

from alvh.cli.options import ExportOpt, WarehouseOpt, parse_date
from alvh.cli.render import fail, out_console
from alvh.core.errors import AlvhError


def page(
    date_: Annotated[str | None, typer.Option("--date", help="session (default: the latest published)")] = None,
    warehouse: WarehouseOpt = None,
    export_dir: ExportOpt = None,
) -> None:
    """Rebuild a session's daily HTML page (and the index) from the warehouse."""
    from alvh.core.settings import load_settings
    from alvh.pipeline.page import write_session_page

    settings = load_settings(warehouse=warehouse, export_dir=export_dir)
    try:  # read-only: a job writing the warehouse is waited for lock_timeout_s, then named
        day, path = write_session_page(settings, parse_date(date_, "--date"))
    except AlvhError as exc:
        fail(str(exc))
    out_console().print(f"daily page for {day}: {path}")
