"""Real end-of-day option quotes in storage: ``raw.option_quote`` (loaded like every source, by
``alvh.pipeline.load``), ``staging.option_quote`` rebuilt for the quote dates an import touched,
and the reader the signal engine uses (:func:`read_option_quotes`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import date, datetime

import duckdb
import polars as pl

from alvh.schemas.columns import column_order, polars_schema
from alvh.schemas.meta import IngestRun, Quarantine, StagingBuild
from alvh.schemas.staging import StgOptionQuote
from alvh.warehouse.connection import transaction
from alvh.warehouse.load import FileOutcome, validate
from alvh.warehouse.upsert import insert_ignore, registered, write_frame

STAGING_TABLE = "staging.option_quote"
RAW_TABLE = "raw.option_quote"
COLUMNS = tuple(column_order(StgOptionQuote))


def quote_dates_to_stage(con: duckdb.DuckDBPyConnection, run_id: str) -> list[date]:
    """Quote dates whose staging rows must be rebuilt: those with raw rows written by ``run_id``,
    and any raw date staging does not hold yet."""
    rows = con.execute(
        f"SELECT DISTINCT quote_date FROM {RAW_TABLE} WHERE run_id = ? "
        f"UNION SELECT DISTINCT quote_date FROM {RAW_TABLE} "
        f"WHERE quote_date NOT IN (SELECT DISTINCT quote_date FROM {STAGING_TABLE}) ORDER BY 1",
        [run_id],
    ).fetchall()
    return [r[0] for r in rows]


def read_raw_option_quotes(con: duckdb.DuckDBPyConnection, dates: Sequence[date]) -> pl.DataFrame:
    """Every raw row (both layouts, with ``source_file, line_no, raw_text, sha256, run_id``) of
    the given quote dates."""
    wanted = pl.DataFrame({"quote_date": list(dates)}, schema={"quote_date": pl.Date})
    with registered(con, wanted, "_dates") as view:
        return con.sql(f"SELECT r.* FROM {RAW_TABLE} r JOIN {view} d USING (quote_date)").pl()


def write_option_quote_staging(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    dates: Sequence[date],
    frame: pl.DataFrame,
    excluded: int,
    note: str,
    quarantine: pl.DataFrame,
    now: datetime,
) -> None:
    """Validate ``frame`` and, in one transaction, replace the staging rows of ``dates`` with it,
    insert the staging quarantine rows (``file, line_no, raw_text, reason, sha256``) and log the
    build in ``meta.staging_build``."""
    valid = validate(StgOptionQuote, frame, STAGING_TABLE)
    wanted = pl.DataFrame({"quote_date": list(dates)}, schema={"quote_date": pl.Date})
    q = quarantine.with_columns(
        pl.lit(run_id).alias("run_id"), pl.lit(STAGING_TABLE).alias("source"), pl.lit(now).alias("quarantined_at")
    )
    log = pl.DataFrame(
        {
            "run_id": [run_id],
            "table_name": [STAGING_TABLE],
            "rows_out": [valid.height],
            "rows_excluded": [excluded],
            "note": [f"quote dates {_span(dates)}: {note}"],
            "built_at": [now],
        }
    )
    with transaction(con):
        with registered(con, wanted, "_dates") as view:
            con.execute(f"DELETE FROM {STAGING_TABLE} WHERE quote_date IN (SELECT quote_date FROM {view})")
        write_frame(con, STAGING_TABLE, valid.select(COLUMNS))
        if not q.is_empty():
            insert_ignore(con, "meta.quarantine", Quarantine, q)
        insert_ignore(con, "meta.staging_build", StagingBuild, log)


def _span(dates: Sequence[date]) -> str:
    if not dates:
        return "none"
    return str(dates[0]) if len(dates) == 1 else f"{dates[0]} → {dates[-1]} ({len(dates)})"


def record_container(con: duckdb.DuckDBPyConnection, outcome: FileOutcome) -> None:
    """Record a delivered ZIP in ``meta.ingest_run`` (its sha256 and members in ``message``;
    the rows are counted on its member files)."""
    insert_ignore(con, "meta.ingest_run", IngestRun, pl.DataFrame([asdict(outcome)], schema=polars_schema(IngestRun)))


def read_option_quotes(
    con: duckdb.DuckDBPyConnection, session: date, roots: Sequence[str] = ("VIX", "VIXW")
) -> pl.DataFrame:
    """The end-of-day option quotes of ``session`` for ``roots`` (``staging.option_quote``'s
    columns), ordered by root, expiration, option type and strike; empty (with the columns)
    when there are none or the warehouse has no such table yet."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'staging' AND table_name = 'option_quote'"
    ).fetchall()[0][0]
    if not exists:  # a warehouse opened read-only before its migration: nothing was imported into it
        return pl.DataFrame(schema=polars_schema(StgOptionQuote))
    return (
        con.sql(
            f"SELECT {', '.join(COLUMNS)} FROM {STAGING_TABLE} WHERE quote_date = $day AND list_contains($roots, root) "
            "ORDER BY root, expiration, option_type, strike",
            params={"day": session, "roots": list(roots)},
        )
        .pl()
        .cast(polars_schema(StgOptionQuote))
    )
