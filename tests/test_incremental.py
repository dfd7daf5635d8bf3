"""Incremental equals batch: the day-by-day job, each evening reading the source folder as it
was known then, yields exactly the marts of one backfill over the same range."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

import duckdb
import pytest

from alvh.core.calendar import sessions_between
from alvh.core.settings import load_settings
from alvh.pipeline.indicators import build_indicators_mart
from alvh.pipeline.load import load_family
from alvh.pipeline.signals import run_batch
from alvh.pipeline.staging import build_staging
from alvh.pipeline.wiring import fetch_all, make_source, vendor_format
from alvh.schemas.registry import SIGNAL_TABLES
from alvh.sources.catalog import FAMILIES
from alvh.transforms.signal import HedgeParams
from alvh.warehouse.connection import open_warehouse
from tests.support.truncate import truncate_tree

pytestmark = pytest.mark.flow
START, END = date(2018, 2, 1), date(2018, 2, 7)  # five evenings across the 2018-02-05 spike (its harvest)


def evening(source: Path, db: Path, day: date) -> None:
    """What the daily job does on ``day`` (its flow is thin: the same functions in order)."""
    settings = load_settings(source_dir=source, warehouse=db)
    src = make_source(settings, day)
    run_id = str(uuid.uuid4())
    with open_warehouse(db) as con:
        for family in FAMILIES:
            load_family(
                con,
                family,
                fetch_all(src, src.list_files(family), family, 1),
                run_id=run_id,
                source_kind="directory",
                vendor=vendor_format(settings),
            )
        build_staging(con, run_id)
        build_indicators_mart(con)
        run_batch(con, [day], HedgeParams(), run_id, "h", use_gx=False)


def marts(db: Path) -> dict[str, list[tuple[object, ...]]]:
    with duckdb.connect(str(db), read_only=True) as con:
        out = {
            t: con.sql(f"SELECT * EXCLUDE (run_id) FROM {t} ORDER BY ALL").fetchall()
            if t.endswith("signal_daily")
            else con.sql(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
            for t in SIGNAL_TABLES
        }
        out["indicators"] = con.sql(
            f"SELECT * FROM marts.indicators_daily WHERE session_date <= DATE '{END}' ORDER BY ALL"
        ).fetchall()
    return out


def test_day_by_day_equals_backfill(data_dir: Path, signal_warehouse: Path, tmp_path: Path) -> None:
    days = sessions_between(START, END)
    inc = tmp_path / "inc.duckdb"
    for d in days:
        folder = tmp_path / f"src-{d}"
        truncate_tree(data_dir, folder, d)
        evening(folder, inc, d)
    batch = tmp_path / "batch.duckdb"
    truncate_tree(data_dir, tmp_path / "src-batch", END)
    settings = load_settings(source_dir=tmp_path / "src-batch", warehouse=batch)
    src = make_source(settings, END)
    with open_warehouse(batch) as con:
        for family in FAMILIES:
            load_family(
                con,
                family,
                fetch_all(src, src.list_files(family), family, 1),
                run_id="b",
                source_kind="directory",
                vendor=vendor_format(settings),
            )
        build_staging(con, "b")
        build_indicators_mart(con)
        run_batch(con, days, HedgeParams(), "b", "h", use_gx=False)
    a, b = marts(inc), marts(batch)
    for table in a:
        assert a[table] == b[table], table
    assert len(a["marts.hedge_signal_daily"]) == len(days)
    assert "HARVEST" in repr(a["marts.layer_adjustment"])  # the range is not quiet: the spike's take-profit
