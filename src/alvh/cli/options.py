"""What several commands share on the command line: the ``--warehouse`` and ``--export-dir``
options, ``--date``-style parsing, and the global ``--debug`` flag."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

WarehouseOpt = Annotated[
    Path | None,
    typer.Option("--warehouse", help="DuckDB file (default: ALVH_WAREHOUSE or warehouse/alvh.duckdb)"),
]
ExportOpt = Annotated[Path | None, typer.Option("--export-dir", help="CSV/Parquet exports (ALVH_EXPORT_DIR)")]


@dataclass
class GlobalFlags:
    """Flags of the whole command line. ``debug``: ``--debug`` anywhere on it — full tracebacks
    and Prefect's error logs."""

    debug: bool = False


FLAGS = GlobalFlags()


def parse_date(value: str | None, name: str) -> date | None:
    """``value`` as a date (None stays None); a usage error naming option ``name`` and the format
    otherwise."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date; expected YYYY-MM-DD", param_hint=name) from None
