"""`alvh positions import`: the actual hedge book the next signal starts from."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from alvh.cli.options import WarehouseOpt, parse_date
from alvh.cli.render import fail, out_console
from alvh.core.errors import AlvhError

positions_app = typer.Typer(no_args_is_help=True, help="The hedge book the signals start from")


@positions_app.command("import")
def positions_import(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV: contract_expiry,strike,qty[,avg_cost]; or symbol,qty[,avg_cost] with OCC symbols; "
            "or an IBKR Flex Query positions CSV"
        ),
    ],
    as_of: Annotated[str | None, typer.Option("--as-of", help="first session they apply to (default: today)")] = None,
    spx_only: Annotated[
        bool, typer.Option("--spx-only", help="import a broker file's SPX legs alone; keep the hedge book")
    ] = False,
    skip_other_underlyings: Annotated[
        bool,
        typer.Option(
            "--skip-other-underlyings",
            help="leave out options on other underlyings (AAPL …) of a broker file, counted and listed",
        ),
    ] = False,
    warehouse: WarehouseOpt = None,
) -> None:
    """Import actual VIX-call holdings; the next signal starts from them and reports the difference.
    An empty or all-zero file means flat."""
    from alvh.core.calendar import today_new_york
    from alvh.core.settings import load_settings
    from alvh.pipeline.positions import import_positions

    settings = load_settings(warehouse=warehouse)
    day = parse_date(as_of, "--as-of") or today_new_york()
    try:
        res = import_positions(settings, file, day, spx_only, skip_other_underlyings)
    except AlvhError as exc:
        fail(f"{exc} — nothing was imported")
    if res.other_underlyings:
        listed = ", ".join(f"line {n} {sym}" for n, sym in res.other_underlyings[:10])
        more = f" and {len(res.other_underlyings) - 10} more" if len(res.other_underlyings) > 10 else ""
        out_console().print(
            f"left out {len(res.other_underlyings)} option line(s) on other underlyings: {listed}{more}",
            markup=False,
            highlight=False,
        )
    when = f"the signal for {res.applies_from} starts from them"
    if res.moved_from is not None:
        when += f" ({res.moved_from} is not after the last published session, so they apply from the session after it)"
    extra = ""
    if res.ic_legs is not None:
        extra += f"; {res.ic_legs.height} SPX legs replace the model IC"
    if res.skipped:
        extra += f"; {res.skipped} line(s) of other asset classes left out"
    if res.hedge_kept:
        out_console().print(f"imported the SPX legs alone (the hedge book is kept){extra}; {when}")
        return
    if res.holdings.is_empty():
        hint = (
            " (a broker file without VIX calls: --spx-only imports its SPX legs alone)"
            if res.ic_legs is not None
            else ""
        )
        out_console().print(f"imported a flat book (no contracts held){hint}{extra}; {when}")
        return
    held = f"{res.holdings['qty'].sum()} contracts at {res.holdings.height} expiry/strike pair(s)"
    out_console().print(f"imported {held}{extra}; {when}")
