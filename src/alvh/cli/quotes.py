"""`alvh quotes import`: real end-of-day option quotes into the warehouse."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from alvh.cli.options import WarehouseOpt
from alvh.cli.render import fail, out_console, quotes_report_lines
from alvh.core.errors import AlvhError

quotes_app = typer.Typer(no_args_is_help=True, help="Real end-of-day option quotes (Cboe DataShop files)")


@quotes_app.command("import")
def quotes_import(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="Cboe DataShop Option EOD Summary files: a CSV (with or without calcs), a ZIP of them, "
            "or Cboe's package (a ZIP of ZIPs)"
        ),
    ],
    accept_revisions: Annotated[
        list[str] | None,
        typer.Option(
            "--accept-revisions",
            help="apply this file's suspect revisions of stored quotes on purpose (file name or path; "
            "repeatable); who and when are recorded in meta.revision",
        ),
    ] = None,
    warehouse: WarehouseOpt = None,
) -> None:
    """Load end-of-day option quotes into raw.option_quote and staging.option_quote; print per file
    the rows kept, quarantined and refused and the quote dates covered. A refused file (exit 1)
    writes nothing; the others still load."""
    from alvh.core.settings import load_settings
    from alvh.pipeline.quotes import import_quotes

    settings = load_settings(warehouse=warehouse)
    try:
        result = import_quotes(settings, files, accept_revisions or ())
    except AlvhError as exc:
        fail(str(exc))
    for line in quotes_report_lines(result):
        out_console().print(line, markup=False, highlight=False, soft_wrap=True)
    refusals = result.refusals
    if refusals:
        from alvh.pipeline.wiring import brief_failure

        shown = "; ".join(brief_failure(m.message or m.name) for m in refusals[:3])
        more = f"; … and {len(refusals) - 3} more" if len(refusals) > 3 else ""
        fail(f"{len(refusals)} file(s) refused, nothing of them written (the others loaded): {shown}{more}")
