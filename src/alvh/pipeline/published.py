"""A published session's plan for the read-only commands (`alvh signals show`, `page`, `orders
export`, the plan `alvh run` prints): which session a missing ``--date`` means, the plan from the
warehouse, or — while a run holds the warehouse — from the last exports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from alvh.core.calendar import today_new_york
from alvh.core.errors import AlvhError, WarehouseMissing
from alvh.warehouse.connection import connect
from alvh.warehouse.published import last_published_session, session_plan, unpublished_message

Plan = tuple[dict[str, Any], list[dict[str, Any]]]  # the signal row and its layer rows (by layer)


@dataclass(frozen=True)
class PlanLookup:
    """A session's plan, or why there is none: ``day`` is the session asked for (else the latest
    published; None when nothing is); ``why_missing`` says why ``plan`` is None (None as well when
    nothing is published at all)."""

    day: date | None
    plan: Plan | None
    why_missing: str | None = None


def require_warehouse(path: Path) -> None:
    """Raises ``WarehouseMissing`` (what to run) when there is no warehouse file at ``path``."""
    if not path.is_file():
        raise WarehouseMissing(f"no warehouse at {path}: run `alvh run` first")


def session_or_latest(con: duckdb.DuckDBPyConnection, day: date | None) -> date:
    """``day`` when given, else the latest published session; raises ``AlvhError`` (run `alvh run`)
    when nothing is published."""
    found = day or last_published_session(con)
    if found is None:
        raise AlvhError("nothing is published yet: run `alvh run` first")
    return found


def warehouse_plan(warehouse: Path, wanted: date | None) -> PlanLookup:
    """Session ``wanted``'s plan (else the latest published), read-only without waiting: raises
    ``WarehouseLocked`` while a job writes the warehouse (``exported_plan`` reads the exports)."""
    with connect(warehouse, read_only=True) as con:
        day = wanted or last_published_session(con)
        plan = session_plan(con, day) if day is not None else None
        why = unpublished_message(con, day, today_new_york()) if plan is None and day is not None else None
    return PlanLookup(day, plan, why)


def exported_plan(export_dir: Path, wanted: date | None) -> PlanLookup:
    """Session ``wanted``'s plan (else the latest exported) from ``<export_dir>/current``'s CSVs;
    raises ``AlvhError`` when there are no exports."""
    base = export_dir / "current"
    sig_path, lay_path = base / "hedge_signal_daily.csv", base / "layer_adjustment.csv"
    if not sig_path.exists():
        raise AlvhError(f"the warehouse is busy and there are no exports in {export_dir}")
    import polars as pl  # only on this path: reading the warehouse needs no DataFrame library

    sig = pl.read_csv(sig_path, try_parse_dates=True)
    day: Any = wanted or sig["session_date"].max()
    rows = sig.filter(pl.col("session_date") == day).to_dicts()
    if not rows:
        return PlanLookup(day, None, f"no exported signal for {day}")
    layers = pl.read_csv(lay_path, try_parse_dates=True).filter(pl.col("session_date") == day).sort("layer")
    return PlanLookup(day, (rows[0], layers.to_dicts()))


def published_plan(warehouse: Path, day: date) -> Plan | None:
    """Session ``day``'s published plan; None when it is not published or the warehouse cannot be
    read (the caller has a failure of its own to report)."""
    try:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            return session_plan(con, day)
    except duckdb.Error:
        return None
