"""Writing one source family's files into ``raw``: skip unchanged files, upsert the rows with
revision tracking, send rejected rows to ``meta.quarantine`` and record every file in
``meta.ingest_run`` — all of a batch in one transaction, so each file is written whole or not at
all."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import duckdb
import pandera.polars as pa
import polars as pl

from schemas.errors import ValidationFailed
from schemas.meta import IngestRun, Quarantine
from schemas.registry import TABLES
from sources.base import Family, FetchedFile
from sources.families import RAW_TABLE, VendorBreadthFormat, parse_family
from warehouse.connection import transaction
from warehouse.lineage import last_loaded_sha
from warehouse.upsert import insert_ignore, upsert_with_revisions


def utcnow() -> datetime:
    """Naive UTC timestamp (the warehouse stores TIMESTAMP in UTC)."""
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class FileOutcome:
    """What one file did in one run (a row of ``meta.ingest_run``)."""

    run_id: str
    family: str
    source: str
    locator: str
    file_name: str
    sha256: str | None
    bytes: int
    rows_read: int
    rows_inserted: int
    rows_updated: int
    rows_quarantined: int
    started_at: datetime
    finished_at: datetime
    status: str
    message: str | None = None


def validate(model: type[pa.DataFrameModel], frame: pl.DataFrame, table: str) -> pl.DataFrame:
    """Validate a frame against its model; failures raise ``ValidationFailed`` with the rows."""
    try:
        return model.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases.head(10)
        raise ValidationFailed(
            f"rows for {table} break the model: {cases.to_dicts()}", expected=model.__name__
        ) from exc


def load_family(
    con: duckdb.DuckDBPyConnection,
    family: Family,
    fetched: Sequence[FetchedFile],
    *,
    run_id: str,
    source_kind: str,
    vendor: VendorBreadthFormat | None = None,
) -> list[FileOutcome]:
    """Load the fetched files of one family; returns one outcome per file.

    Unchanged files (same sha256 as their last load) are not parsed. Files that fail their
    file-level checks are recorded as ``failed`` with the error and write nothing.
    """
    started = utcnow()
    table = RAW_TABLE[family]
    model = TABLES[table]
    previous = last_loaded_sha(con, family)
    outcomes: dict[str, FileOutcome] = {}
    to_parse: list[FetchedFile] = []

    def outcome(f: FetchedFile, status: str, message: str | None = None) -> FileOutcome:
        return FileOutcome(
            run_id=run_id,
            family=family,
            source=source_kind,
            locator=f.ref.locator,
            file_name=f.ref.name,
            sha256=f.sha256 if f.status == "ok" else None,
            bytes=len(f.content),
            rows_read=0,
            rows_inserted=0,
            rows_updated=0,
            rows_quarantined=0,
            started_at=started,
            finished_at=started,
            status=status,
            message=message,
        )

    for f in fetched:
        if f.status == "failed":
            outcomes[f.ref.locator] = outcome(f, "failed", f.error)
        elif f.status == "missing":
            outcomes[f.ref.locator] = outcome(f, "missing", "not found at the source (HTTP 404 or no file)")
        elif previous.get(f.ref.name) == f.sha256:
            outcomes[f.ref.locator] = outcome(f, "unchanged", "same sha256 as the last load; skipped")
        else:
            to_parse.append(f)
            outcomes[f.ref.locator] = outcome(f, "loaded")

    result = parse_family(family, to_parse, vendor)
    for locator, err in result.failed.items():
        o = outcomes[locator]
        o.status, o.message = "failed", str(err)

    ok = [f for f in to_parse if f.ref.locator not in result.failed]
    files = pl.DataFrame(
        {
            "file": [f.ref.locator for f in ok],
            "source_file": [f.ref.name for f in ok],
            "sha256": [f.sha256 for f in ok],
        },
        schema={"file": pl.String, "source_file": pl.String, "sha256": pl.String},
    )
    now = utcnow()
    rows = result.parsed.rows
    if not rows.is_empty():
        rows = rows.join(files, on="file", how="left").with_columns(
            pl.lit(run_id).alias("run_id"), pl.lit(now).alias("loaded_at")
        )
        rows = validate(model, rows, table)
    quarantine = result.parsed.quarantine.join(files, on="file", how="left").with_columns(
        pl.lit(run_id).alias("run_id"),
        pl.lit(family).alias("source"),
        pl.lit(now).alias("quarantined_at"),
    )
    read_counts = _count_by_file(rows, "source_file") if not rows.is_empty() else {}
    q_counts = _count_by_file(quarantine, "file")

    with transaction(con):
        counts = upsert_with_revisions(con, table, model, rows, run_id=run_id, now=now) if not rows.is_empty() else None
        insert_ignore(con, "meta.quarantine", Quarantine, quarantine)
        finished = utcnow()
        for f in ok:
            o = outcomes[f.ref.locator]
            o.rows_quarantined = q_counts.get(f.ref.locator, 0)
            o.rows_read = read_counts.get(f.ref.name, 0) + o.rows_quarantined
            if counts is not None:
                o.rows_inserted = counts.inserted.get(f.ref.name, 0)
                o.rows_updated = counts.updated.get(f.ref.name, 0)
        for o in outcomes.values():
            o.finished_at = finished
        lineage = pl.DataFrame([asdict(o) for o in outcomes.values()], schema=_ingest_schema())
        insert_ignore(con, "meta.ingest_run", IngestRun, lineage)
    return list(outcomes.values())


def _count_by_file(frame: pl.DataFrame, column: str) -> dict[str, int]:
    if frame.is_empty():
        return {}
    return dict(frame.group_by(column).len().iter_rows())


def _ingest_schema() -> dict[str, pl.DataType]:
    from warehouse.ddl import polars_schema

    return polars_schema(IngestRun)
