"""`alvh doctor`: is everything fresh and sound — one table, exit 1 when anything needs attention."""

from __future__ import annotations

from typing import Annotated

import typer

from alvh.cli.options import ExportOpt, WarehouseOpt, parse_date
from alvh.cli.render import doctor_table, out_console


def doctor(
    warehouse: WarehouseOpt = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="the date to check against (default: today)")] = None,
    export_dir: ExportOpt = None,
) -> None:
    """Is everything fresh and sound? One table; exit code 1 if anything needs attention."""
    from alvh.core.calendar import today_new_york
    from alvh.core.settings import load_settings
    from alvh.pipeline.doctor import doctor_checks

    settings = load_settings(warehouse=warehouse, export_dir=export_dir, check_alerts=False)
    day = parse_date(as_of, "--as-of") or today_new_york()
    checks = doctor_checks(settings, day)
    out_console().print(doctor_table(checks, f"alvh doctor — {settings.warehouse} — as of {day}"))
    if any(c.status == "attention" for c in checks):
        raise typer.Exit(1)
