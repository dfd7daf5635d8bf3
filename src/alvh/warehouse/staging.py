"""The ``staging`` tables in storage: read ``raw``, and replace every staging table (with its
conflicts, quarantine rows and build log) in one transaction, validated by the models. The
rules that turn raw rows into staging rows are ``alvh.transforms.staging``; joining them is
``alvh.pipeline.staging``."""

from __future__ import annotations

from datetime import datetime

import duckdb
import polars as pl

from alvh.schemas.meta import Quarantine, StagingBuild, VxConflict
from alvh.schemas.registry import TABLES
from alvh.warehouse.connection import transaction
from alvh.warehouse.load import validate
from alvh.warehouse.upsert import insert_ignore, replace_table

STAGING_MODELS = {t: m for t, m in TABLES.items() if t.startswith("staging.")}


def read_raw(con: duckdb.DuckDBPyConnection) -> dict[str, pl.DataFrame]:
    """The raw rows each staging table is built from, keyed by raw table."""
    return {
        "raw.cboe_index": con.sql("SELECT symbol, date, open, high, low, close FROM raw.cboe_index").pl(),
        "raw.vx_futures": con.sql("SELECT * FROM raw.vx_futures").pl(),
        "raw.breadth": con.sql("SELECT provider, series, session_date, value FROM raw.breadth").pl(),
        "raw.rates": con.sql("SELECT series, date, value FROM raw.rates").pl(),
        "raw.macro_event": con.sql(
            "SELECT calendar, event, period, release_date, time_et, ref_period, detail, source_page, mp1, "
            "source_file, line_no FROM raw.macro_event"
        ).pl(),
    }


def staging_built(con: duckdb.DuckDBPyConnection) -> bool:
    """True once a staging build is recorded (``meta.staging_build`` holds a row)."""
    return bool(con.execute("SELECT count(*) FROM meta.staging_build").fetchall()[0][0])


def breadth_origin(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Where each advancing-issues row came from (file, line, the line as read, sha256), by
    provider and session."""
    return con.sql(
        "SELECT provider, session_date, source_file, line_no, raw_text AS line_text, sha256 "
        "FROM raw.breadth WHERE series = 'advn'"
    ).pl()


def write_staging(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    frames: dict[str, pl.DataFrame],
    build_notes: dict[str, tuple[int, str | None]],
    conflicts: pl.DataFrame | None,
    quarantine: pl.DataFrame,
    now: datetime,
) -> None:
    """Validate and replace every staging table, the VX conflicts, the quarantine rows and the
    build log (``build_notes``: table → (rows excluded, note)) in one transaction."""
    valid = {t: validate(STAGING_MODELS[t], f, t) for t, f in frames.items()}
    with transaction(con):
        for table, frame in valid.items():
            replace_table(con, table, STAGING_MODELS[table], frame)
        if conflicts is not None:
            replace_table(con, "meta.vx_conflict", VxConflict, conflicts)
        insert_ignore(con, "meta.quarantine", Quarantine, quarantine)
        log = pl.DataFrame(
            {
                "run_id": [run_id] * len(valid),
                "table_name": list(valid),
                "rows_out": [f.height for f in valid.values()],
                "rows_excluded": [build_notes[t][0] for t in valid],
                "note": [build_notes[t][1] for t in valid],
                "built_at": [now] * len(valid),
            }
        )
        insert_ignore(con, "meta.staging_build", StagingBuild, log)
