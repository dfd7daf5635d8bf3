"""`alvh indicators`: rebuild the indicators mart and print its latest sessions."""

from __future__ import annotations

from typing import Annotated

import typer

from alvh.cli.options import WarehouseOpt
from alvh.cli.render import fail, indicators_table, out_console, warn
from alvh.core.errors import AlvhError


def indicators(
    warehouse: WarehouseOpt = None,
    last: Annotated[int, typer.Option(min=1, help="how many of the latest sessions to print (at least 1)")] = 10,
) -> None:
    """Rebuild marts.indicators_daily from the warehouse and print the latest sessions."""
    from alvh.core.settings import load_settings
    from alvh.pipeline.indicators import rebuild_indicators

    settings = load_settings(warehouse=warehouse)
    try:
        frame = rebuild_indicators(settings)
    except AlvhError as exc:
        fail(str(exc))
    if frame.is_empty():
        warn("the warehouse holds no VIX history yet: run `alvh ingest` first")
        raise typer.Exit(1)
    out_console().print(indicators_table(frame.tail(last), f"marts.indicators_daily — {frame.height} sessions"))
