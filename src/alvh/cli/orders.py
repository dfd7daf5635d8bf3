"""`alvh orders export`: a session's tickets as a file for the broker."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from alvh.cli.options import ExportOpt, WarehouseOpt, parse_date
from alvh.cli.render import console, fail, out_console
from alvh.core.errors import AlvhError

orders_app = typer.Typer(no_args_is_help=True, help="The night's tickets, for the broker")


@orders_app.command("export")
def orders_export(
    date_: Annotated[str | None, typer.Option("--date", help="session (default: the latest published)")] = None,
    fmt: Annotated[str, typer.Option("--format", help="ibkr-basket (TWS BasketTrader) or csv")] = "ibkr-basket",
    out: Annotated[Path | None, typer.Option("--out", help="file to write (default: <export_dir>/orders/)")] = None,
    force: Annotated[
        bool, typer.Option("--force", help="write tickets on contracts already expired (refused otherwise)")
    ] = False,
    warehouse: WarehouseOpt = None,
    export_dir: ExportOpt = None,
) -> None:
    """Write a session's tickets as a broker basket: limit = model price ± order_limit_offset.
    Warns for a stale session and one that is not the latest; refuses expired contracts unless --force."""
    from alvh.core.settings import load_settings
    from alvh.pipeline.orders import FORMATS, write_session_orders

    settings = load_settings(warehouse=warehouse, export_dir=export_dir)
    if fmt not in FORMATS:
        fail(f"--format {fmt!r} is not one of {', '.join(FORMATS)}", 2)
    try:
        written = write_session_orders(settings, parse_date(date_, "--date"), fmt, out, force)
    except AlvhError as exc:
        fail(str(exc))
    for w in written.warnings:
        console.print(f"[yellow]warning:[/yellow] {escape(w)}", highlight=False)
    out_console().print(
        f"{written.tickets} ticket(s) of {written.day} written to {written.path} ({fmt}); "
        f"limits meant for the session of {written.limits_session}",
        markup=False,
        highlight=False,
    )
    if written.next_event:
        out_console().print(f"next event: {written.next_event}", markup=False)
