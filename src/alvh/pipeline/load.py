"""Load one source family's files into ``raw``: skip unchanged files, parse the rest with
``alvh.sources``, and hand rows, quarantine and lineage to storage
(``alvh.warehouse.load.store_family``), which writes a batch in one transaction — each file whole
or not at all."""

from __future__ import annotations

import getpass
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import duckdb
import polars as pl

from alvh.core.errors import SourceError
from alvh.core.settings import Settings
from alvh.schemas.registry import TABLES
from alvh.sources.base import Family, FetchedFile
from alvh.sources.families import RAW_TABLE, RowChecks, VendorBreadthFormat, parse_family
from alvh.sources.plausible import Plausibility
from alvh.transforms.revision_guard import RevisionGuard, suspect_files
from alvh.warehouse.lineage import last_loaded_sha
from alvh.warehouse.load import FileOutcome, store_family, utcnow, validate
from alvh.warehouse.upsert import pending_revisions, stored_rows_by_file


@dataclass(frozen=True)
class IngestChecks:
    """What a file must pass beyond its format: row checks (plausibility, date share) and the
    revision guard (``None``: revisions are applied without limit, as in a first load)."""

    rows: RowChecks = field(default_factory=lambda: RowChecks(Plausibility(latest=date.today())))
    guard: RevisionGuard | None = None


def load_family(
    con: duckdb.DuckDBPyConnection,
    family: Family,
    fetched: Sequence[FetchedFile],
    *,
    run_id: str,
    source_kind: str,
    vendor: VendorBreadthFormat | None = None,
    checks: IngestChecks | None = None,
    command: str = "alvh ingest",
) -> list[FileOutcome]:
    """Load the fetched files of one family; returns one outcome per file.

    Unchanged files (same sha256 as their last load) are not parsed. Files that fail their
    file-level checks, or whose revisions the guard finds suspect (and the user did not accept
    by name), are recorded as ``failed`` with the error and write nothing. ``command``: the
    command whose ``--accept-revisions`` a refusal names.
    """
    checks = checks or IngestChecks()
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
            etag=f.etag,
            last_modified=f.last_modified,
        )

    for f in fetched:
        if f.status == "failed":
            outcomes[f.ref.locator] = outcome(f, "failed", f.error)
        elif f.status == "missing":
            outcomes[f.ref.locator] = outcome(f, "missing", "not found at the source (HTTP 404 or no file)")
        elif f.status == "not_modified":
            o = outcome(f, "unchanged", "not modified since the last load (HTTP 304); not downloaded")
            o.sha256 = previous.get(f.ref.name)
            outcomes[f.ref.locator] = o
        elif previous.get(f.ref.name) == f.sha256:
            outcomes[f.ref.locator] = outcome(f, "unchanged", "same sha256 as the last load; skipped")
        else:
            to_parse.append(f)
            outcomes[f.ref.locator] = outcome(f, "loaded")

    result = parse_family(family, to_parse, vendor, checks.rows)
    for locator, err in result.failed.items():
        o = outcomes[locator]
        o.status, o.message = "failed", str(err)

    ok = [f for f in to_parse if f.ref.locator not in result.failed]
    for f in ok:  # what a file's load says beside its counts (e.g. rows skipped on purpose)
        notes = result.parsed.file_notes.get(f.ref.locator)
        if notes:
            outcomes[f.ref.locator].message = "; ".join(notes)
    files = _files_frame(ok)
    now = utcnow()
    rows = result.parsed.rows
    if not rows.is_empty():
        rows = rows.join(files, on="file", how="left").with_columns(
            pl.lit(run_id).alias("run_id"), pl.lit(now).alias("loaded_at")
        )
        rows = validate(model, rows, table)
    quarantine = result.parsed.quarantine
    accepted: dict[str, tuple[str, datetime]] = {}
    if checks.guard is not None and not rows.is_empty():
        suspects = suspect_files(
            pending_revisions(con, table, model, rows), stored_rows_by_file(con, table), checks.guard
        )
        for f in list(ok):
            reason = suspects.get(f.ref.name)
            if reason is None:
                continue
            if f.ref.name in checks.guard.accepted:
                accepted[f.ref.name] = (_user(), now)
                continue
            err = SourceError(
                reason + " — nothing of it was written",
                file=f.ref.locator,
                expected=f"a few recent revisions; to apply it on purpose: {command} --accept-revisions {f.ref.name}",
            )
            o = outcomes[f.ref.locator]
            o.status, o.message = "failed", str(err)
            ok.remove(f)
            rows = rows.filter(pl.col("source_file") != f.ref.name)
            quarantine = quarantine.filter(pl.col("file") != f.ref.locator)
        files = _files_frame(ok)
    quarantine = quarantine.join(files, on="file", how="inner").with_columns(
        pl.lit(run_id).alias("run_id"),
        pl.lit(family).alias("source"),
        pl.lit(now).alias("quarantined_at"),
    )
    store_family(
        con,
        table,
        model,
        rows,
        quarantine,
        [outcomes[f.ref.locator] for f in ok],
        outcomes,
        run_id,
        now,
        accepted=accepted,
    )
    return list(outcomes.values())


def _user() -> str:
    """Who runs this process (recorded with revisions applied on purpose)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _files_frame(ok: Sequence[FetchedFile]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "file": [f.ref.locator for f in ok],
            "source_file": [f.ref.name for f in ok],
            "sha256": [f.sha256 for f in ok],
        },
        schema={"file": pl.String, "source_file": pl.String, "sha256": pl.String},
    )


def load_folder(settings: Settings, as_of: date) -> str:
    """Every source family of the catalog, read from ``settings.source_dir``, into
    ``settings.warehouse`` through the plain functions the ingest flow's tasks call (no Prefect),
    staging built; returns the run id. ``as_of``: the date the source treats as today."""
    from alvh.pipeline.staging import build_staging
    from alvh.pipeline.wiring import fetch_all, make_source, vendor_format
    from alvh.sources.catalog import FAMILIES
    from alvh.warehouse.connection import open_warehouse

    source = make_source(settings, as_of)
    run_id = str(uuid.uuid4())
    with open_warehouse(settings.warehouse) as con:
        for family in FAMILIES:
            files = fetch_all(source, source.list_files(family), family, 1)
            load_family(con, family, files, run_id=run_id, source_kind="directory", vendor=vendor_format(settings))
        build_staging(con, run_id)
    return run_id
