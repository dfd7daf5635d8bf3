"""Writing one source family's parsed files into ``raw``: upsert the rows with revision tracking,
send rejected rows to ``meta.quarantine`` and record every file in ``meta.ingest_run`` — all of a
batch in one transaction, so each file is written whole or not at all. Parsing is
``alvh.sources``; joining the two is ``alvh.pipeline.load``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import duckdb
import pandera.polars as pa
import polars as pl

from alvh.core.errors import ValidationFailed
from alvh.schemas.meta import IngestRun, Quarantine
from alvh.warehouse.connection import transaction
from alvh.warehouse.upsert import insert_ignore, mark_accepted, upsert_with_revisions


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
    etag: str | None = None
    last_modified: str | None = None


def validate(model: type[pa.DataFrameModel], frame: pl.DataFrame, table: str) -> pl.DataFrame:
    """Validate a frame against its model; failures raise ``ValidationFailed`` with the rows."""
    try:
        return model.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases.head(10)
        raise ValidationFailed(
            f"rows for {table} break the model: {cases.to_dicts()}", expected=model.__name__
        ) from exc


def store_family(
    con: duckdb.DuckDBPyConnection,
    table: str,
    model: type[pa.DataFrameModel],
    rows: pl.DataFrame,
    quarantine: pl.DataFrame,
    parsed: Sequence[FileOutcome],
    outcomes: dict[str, FileOutcome],
    run_id: str,
    now: datetime,
    accepted: dict[str, tuple[str, datetime]] | None = None,
) -> None:
    """In one transaction: upsert ``rows`` (validated, with ``source_file``) into ``table`` with
    revisions, insert the quarantine rows, complete the ``parsed`` files' counts, and record every
    outcome in ``meta.ingest_run``. ``accepted``: file name → (user, when) of suspect files
    applied on purpose, recorded on their revisions."""
    read_counts = _count_by_file(rows, "source_file") if not rows.is_empty() else {}
    q_counts = _count_by_file(quarantine, "file")
    with transaction(con):
        counts = upsert_with_revisions(con, table, model, rows, run_id=run_id, now=now) if not rows.is_empty() else None
        if accepted:
            mark_accepted(con, run_id, table, accepted)
        insert_ignore(con, "meta.quarantine", Quarantine, quarantine)
        finished = utcnow()
        for o in parsed:
            o.rows_quarantined = q_counts.get(o.locator, 0)
            o.rows_read = read_counts.get(o.file_name, 0) + o.rows_quarantined
            if counts is not None:
                o.rows_inserted = counts.inserted.get(o.file_name, 0)
                o.rows_updated = counts.updated.get(o.file_name, 0)
        for o in outcomes.values():
            o.finished_at = finished
        lineage = pl.DataFrame([asdict(o) for o in outcomes.values()], schema=_ingest_schema())
        insert_ignore(con, "meta.ingest_run", IngestRun, lineage)


def _count_by_file(frame: pl.DataFrame, column: str) -> dict[str, int]:
    if frame.is_empty():
        return {}
    return dict(frame.group_by(column).len().iter_rows())


def _ingest_schema() -> dict[str, pl.DataType]:
    from alvh.schemas.columns import polars_schema

    return polars_schema(IngestRun)
