"""pandera models of the ``meta`` tables: lineage, quarantine, revisions, conflicts."""

from __future__ import annotations

from datetime import date, datetime

import pandera.polars as pa
import polars as pl

INGEST_STATUSES = ["loaded", "unchanged", "missing", "failed"]


class IngestRun(pa.DataFrameModel):
    """One row per ingest run and source file: what was read and what it did."""

    run_id: str
    family: str = pa.Field(description="source family, e.g. cboe_index, vx_current, unicorn")
    source: str = pa.Field(description="http or directory")
    locator: str = pa.Field(description="URL or path the bytes came from")
    file_name: str
    sha256: str = pa.Field(nullable=True)
    bytes: pl.Int64 = pa.Field(ge=0)
    rows_read: pl.Int64 = pa.Field(ge=0)
    rows_inserted: pl.Int64 = pa.Field(ge=0)
    rows_updated: pl.Int64 = pa.Field(ge=0)
    rows_quarantined: pl.Int64 = pa.Field(ge=0)
    started_at: datetime
    finished_at: datetime
    status: str = pa.Field(isin=INGEST_STATUSES)
    message: str = pa.Field(nullable=True)
    etag: str = pa.Field(nullable=True, description="the server's ETag for this version (HTTP only)")
    last_modified: str = pa.Field(nullable=True, description="the server's Last-Modified for this version (HTTP only)")

    class Config:
        strict = True
        coerce = True
        unique = ["run_id", "family", "file_name"]


class FlowRun(pa.DataFrameModel):
    """One row per ingest run: totals and outcome."""

    run_id: str = pa.Field(unique=True)
    source: str
    started_at: datetime
    finished_at: datetime
    status: str = pa.Field(isin=["completed", "failed"])
    files_loaded: pl.Int64
    files_unchanged: pl.Int64
    files_not_fetched: pl.Int64 = pa.Field(description="expired contracts already loaded")
    files_missing: pl.Int64
    files_failed: pl.Int64
    rows_inserted: pl.Int64
    rows_updated: pl.Int64
    rows_quarantined: pl.Int64
    message: str = pa.Field(nullable=True)

    class Config:
        strict = True
        coerce = True
        unique = ["run_id"]


class Quarantine(pa.DataFrameModel):
    """One row per rejected input row: where it was, what it said, and why it was rejected."""

    run_id: str
    source: str = pa.Field(description="source family, or the staging table that rejected it")
    file: str
    line_no: pl.Int64 = pa.Field(description="1-based line number in the file (0 if derived)")
    raw_text: str
    reason: str
    sha256: str = pa.Field(description="sha256 of the file version the row came from")
    quarantined_at: datetime

    class Config:
        strict = True
        coerce = True
        unique = ["source", "file", "sha256", "line_no", "reason"]


class Revision(pa.DataFrameModel):
    """One row per changed past value: an upstream file revised a value already loaded."""

    run_id: str
    table_name: str
    row_key: str = pa.Field(description="natural key of the row, 'col=value' joined by ', '")
    column_name: str
    old_value: str = pa.Field(nullable=True)
    new_value: str = pa.Field(nullable=True)
    source_file: str
    revised_at: datetime
    row_date: date = pa.Field(nullable=True, description="the revised row's date (its key's date column)")
    accepted_by: str = pa.Field(
        nullable=True, description="user who applied a suspect file on purpose (`alvh ingest --accept-revisions`)"
    )
    accepted_at: datetime = pa.Field(nullable=True, description="when that user applied it (UTC)")

    class Config:
        strict = True
        coerce = True
        unique = ["run_id", "table_name", "row_key", "column_name"]


class VxConflict(pa.DataFrameModel):
    """One row per contract and trade date where two providers give different non-zero settles.
    The precedence (cfe_current > cfe_legacy > reconstructed) picked ``chosen_provider``."""

    contract_expiry: date
    trade_date: date
    chosen_provider: str
    chosen_settle: float
    other_provider: str
    other_settle: float

    class Config:
        strict = True
        coerce = True
        unique = ["contract_expiry", "trade_date", "other_provider"]


class StagingBuild(pa.DataFrameModel):
    """One row per staging table build: rows written and rows left out, with why."""

    run_id: str
    table_name: str
    rows_out: pl.Int64
    rows_excluded: pl.Int64
    note: str = pa.Field(nullable=True)
    built_at: datetime

    class Config:
        strict = True
        coerce = True
        unique = ["run_id", "table_name"]


class ValidationRun(pa.DataFrameModel):
    """One row per validation of a publish batch: engine (pandera, gx, invariants), table, rule."""

    run_id: str
    session_from: date
    session_to: date
    engine: str = pa.Field(isin=["pandera", "gx", "invariants"])
    table_name: str
    rule: str
    success: bool
    failed_rows: pl.Int64 = pa.Field(ge=0)
    details: str = pa.Field(nullable=True)
    validated_at: datetime

    class Config:
        strict = True
        coerce = True
        unique = ["run_id", "engine", "table_name", "rule"]


class PositionImportRun(pa.DataFrameModel):
    """One row per positions import: when it applies and what it holds (0 contracts = flat)."""

    import_id: str
    imported_at: datetime
    as_of: date = pa.Field(description="the first session that starts from these holdings")
    source_file: str
    lines: pl.Int64 = pa.Field(ge=0, description="holding lines after aggregation")
    contracts: pl.Int64 = pa.Field(ge=0, description="contracts held; 0 means flat")

    class Config:
        strict = True
        coerce = True
        unique = ["import_id"]


class PositionImport(pa.DataFrameModel):
    """Hedge holdings a user imported (actual fills): the next signal on or after ``as_of``
    starts from them instead of the paper book."""

    import_id: str
    imported_at: datetime
    as_of: date = pa.Field(description="the holdings are those held before this session")
    source_file: str
    contract_expiry: date
    strike: float = pa.Field(gt=0)
    qty: pl.Int64 = pa.Field(ge=1)
    avg_cost: float = pa.Field(ge=0)

    class Config:
        strict = True
        coerce = True
        unique = ["import_id", "contract_expiry", "strike"]
