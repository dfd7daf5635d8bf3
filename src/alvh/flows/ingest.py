"""Prefect flow: ingest every source family into ``raw``, then rebuild ``staging``.

Thin orchestration: one fetch task (network: retried) and one load task per source family, one
staging task, a run summary logged and saved as a table artifact. The work is done by plain
functions in ``sources``, ``warehouse`` and ``transforms``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from alvh.core.calendar import today_new_york
from alvh.core.errors import SourceError
from alvh.core.settings import Settings, load_settings, params_from
from alvh.pipeline.indicators import build_indicators_mart
from alvh.pipeline.load import IngestChecks, load_family
from alvh.pipeline.params import indicator_params
from alvh.pipeline.staging import StagingOptions, build_staging
from alvh.pipeline.wiring import brief_failure, fetch_all, files_to_fetch, make_source, vendor_format
from alvh.schemas.meta import FlowRun
from alvh.sources.base import Family, FetchedFile, Source
from alvh.sources.catalog import FAMILIES
from alvh.sources.families import RowChecks
from alvh.sources.http import HttpSource
from alvh.sources.plausible import Plausibility
from alvh.transforms.revision_guard import RevisionGuard, old_before
from alvh.warehouse.connection import open_warehouse, run_lock
from alvh.warehouse.indicators import indicators_built
from alvh.warehouse.lineage import final_files, http_validators
from alvh.warehouse.load import FileOutcome, utcnow
from alvh.warehouse.staging import staging_built
from alvh.warehouse.upsert import insert_ignore


@dataclass
class IngestSummary:
    """What one ingest run did, per file and in total."""

    run_id: str
    source: str
    outcomes: list[FileOutcome] = field(default_factory=list)
    not_fetched: int = 0
    staging_notes: dict[str, str] = field(default_factory=dict)

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    @property
    def rows_inserted(self) -> int:
        return sum(o.rows_inserted for o in self.outcomes)

    @property
    def rows_updated(self) -> int:
        return sum(o.rows_updated for o in self.outcomes)

    @property
    def rows_quarantined(self) -> int:
        return sum(o.rows_quarantined for o in self.outcomes)

    @property
    def failed(self) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    def by_family(self) -> list[dict[str, object]]:
        """One summary row per source family (the artifact and the CLI table)."""
        rows = []
        for fam in dict.fromkeys(o.family for o in self.outcomes):
            outs = [o for o in self.outcomes if o.family == fam]
            rows.append(
                {
                    "family": fam,
                    "files": len(outs),
                    "loaded": sum(o.status == "loaded" for o in outs),
                    "unchanged": sum(o.status == "unchanged" for o in outs),
                    "missing": sum(o.status == "missing" for o in outs),
                    "failed": sum(o.status == "failed" for o in outs),
                    "rows_inserted": sum(o.rows_inserted for o in outs),
                    "rows_updated": sum(o.rows_updated for o in outs),
                    "rows_quarantined": sum(o.rows_quarantined for o in outs),
                }
            )
        return rows

    def text(self) -> str:
        lines = [
            f"ingest run {self.run_id} ({self.source}): {self.count('loaded')} files loaded, "
            f"{self.count('unchanged')} unchanged, {self.not_fetched} not fetched (final), "
            f"{self.count('missing')} missing, {len(self.failed)} failed; rows inserted "
            f"{self.rows_inserted}, updated {self.rows_updated}, quarantined {self.rows_quarantined}"
        ]
        lines += [f"  {t}: {n}" for t, n in self.staging_notes.items() if n]
        lines += [f"  note {o.file_name}: {o.message}" for o in self.outcomes if o.status == "loaded" and o.message]
        lines += [f"  FAILED {o.locator}: {o.message}" for o in self.failed]
        return "\n".join(lines)


@task(name="fetch-family", cache_policy=NO_CACHE)
def fetch_family(
    source: Source, family: Family, warehouse: Path, as_of: date, start: date | None, workers: int
) -> tuple[list[FetchedFile], int]:
    """Fetch the files of one source family that can have changed."""
    refs = source.list_files(family)
    if source.kind == "http":
        with open_warehouse(warehouse) as con:
            final = final_files(con, family)
            if isinstance(source, HttpSource):
                source.remember(http_validators(con, family))
        refs, skipped = files_to_fetch(refs, final, as_of, start)
    else:
        refs, skipped = files_to_fetch(refs, set(), as_of, start)
    return fetch_all(source, refs, family, workers), skipped


def ingest_checks(settings: Settings, as_of: date, accept_revisions: Sequence[str] = ()) -> IngestChecks:
    """The checks every file passes on a run dated ``as_of``: rows dated after the later of
    ``as_of`` and today (New York) are implausible; revisions are limited by the guard settings,
    except for the files named in ``accept_revisions`` (names or paths)."""
    p = params_from(Plausibility, settings, latest=max(as_of, today_new_york()))
    guard = params_from(
        RevisionGuard,
        settings,
        old_before=old_before(as_of, settings.revision_max_age_sessions),
        accepted=frozenset(Path(a).name for a in accept_revisions),
    )
    return IngestChecks(rows=RowChecks(p, settings.bad_date_max_share), guard=guard)


@task(name="load-family", cache_policy=NO_CACHE)
def load_family_task(
    warehouse: Path,
    family: Family,
    files: list[FetchedFile],
    run_id: str,
    source_kind: str,
    settings: Settings,
    checks: IngestChecks | None = None,
) -> list[FileOutcome]:
    """Write one family's files into raw (one transaction)."""
    with open_warehouse(warehouse) as con:
        return load_family(
            con,
            family,
            files,
            run_id=run_id,
            source_kind=source_kind,
            vendor=vendor_format(settings),
            checks=checks,
        )


@task(name="build-staging", cache_policy=NO_CACHE)
def build_staging_task(warehouse: Path, run_id: str, settings: Settings) -> dict[str, str]:
    """Rebuild the staging tables from raw."""
    opts = StagingOptions(
        breadth_precedence=tuple(settings.breadth_precedence),
        breadth_glitch_fraction=settings.breadth_glitch_fraction,
        breadth_glitch_window=settings.breadth_glitch_window,
    )
    with open_warehouse(warehouse) as con:
        built = build_staging(con, run_id, opts)
    return {t: s.note for t, s in built.items()}


@task(name="build-indicators", cache_policy=NO_CACHE)
def build_indicators_task(warehouse: Path, settings: Settings) -> int:
    """Rebuild marts.indicators_daily from staging (validated, one transaction)."""
    with open_warehouse(warehouse) as con:
        return build_indicators_mart(con, indicator_params(settings)).height


def record_flow_run(
    warehouse: Path, summary: IngestSummary, started: datetime, status: str, message: str | None
) -> None:
    import polars as pl

    row = pl.DataFrame(
        [
            {
                "run_id": summary.run_id,
                "source": summary.source,
                "started_at": started,
                "finished_at": utcnow(),
                "status": status,
                "files_loaded": summary.count("loaded"),
                "files_unchanged": summary.count("unchanged"),
                "files_not_fetched": summary.not_fetched,
                "files_missing": summary.count("missing"),
                "files_failed": len(summary.failed),
                "rows_inserted": summary.rows_inserted,
                "rows_updated": summary.rows_updated,
                "rows_quarantined": summary.rows_quarantined,
                "message": message,
            }
        ]
    )
    with open_warehouse(warehouse) as con:
        insert_ignore(con, "meta.flow_run", FlowRun, row)


def run_ingest(
    settings: Settings,
    run_id: str,
    as_of: date,
    start: date | None = None,
    accept_revisions: Sequence[str] = (),
) -> IngestSummary:
    """Fetch and load every family, then rebuild staging if anything changed.

    Raises ``SourceError`` at the end (after all good files are loaded) when any file failed,
    including a file refused by the revision guard (unless named in ``accept_revisions``).
    """
    log = get_run_logger()
    source = make_source(settings, as_of)
    summary = IngestSummary(run_id=run_id, source=source.kind)
    started = utcnow()
    wh = settings.warehouse
    workers = settings.http_concurrency
    fetch = fetch_family.with_options(retries=2, retry_delay_seconds=[5, 30]) if source.kind == "http" else fetch_family
    checks = ingest_checks(settings, as_of, accept_revisions)
    for family in FAMILIES:
        files, skipped = fetch(source, family, wh, as_of, start, workers)
        summary.not_fetched += skipped
        if not files:
            continue
        outcomes = load_family_task(wh, family, files, run_id, source.kind, settings, checks)
        summary.outcomes += outcomes
        log.info(
            "%s: %d files (%d loaded, %d unchanged, %d missing, %d failed)",
            family,
            len(outcomes),
            sum(o.status == "loaded" for o in outcomes),
            sum(o.status == "unchanged" for o in outcomes),
            sum(o.status == "missing" for o in outcomes),
            sum(o.status == "failed" for o in outcomes),
        )
    if source.kind == "directory" and not summary.outcomes and not summary.not_fetched:
        nothing = (
            f"no source file found under {settings.source_dir}: expected the CBOE, CFE, breadth and FRED files "
            "(VIX_History.csv, VX_*.csv, DTB3.csv, …) anywhere under it"
        )
        record_flow_run(wh, summary, started, "failed", nothing)
        raise SourceError(nothing, file=str(settings.source_dir))
    changed = summary.rows_inserted + summary.rows_updated > 0
    if changed or not _staging_built(wh):
        summary.staging_notes = build_staging_task(wh, run_id, settings)
    if changed or not _mart_built(wh):
        rows = build_indicators_task(wh, settings)
        summary.staging_notes["marts.indicators_daily"] = f"{rows} sessions"
    log.info(summary.text())
    try:
        create_table_artifact(key="ingest-summary", table=summary.by_family(), description=summary.text())
    except Exception as exc:  # the artifact is a convenience; the run's data is already safe
        log.warning("could not save the summary artifact: %s", exc)
    message = None
    if summary.failed:
        message = "; ".join(f"{o.locator}: {o.message}" for o in summary.failed)
    record_flow_run(wh, summary, started, "failed" if summary.failed else "completed", message)
    if summary.failed:
        raise SourceError(
            f"{len(summary.failed)} file(s) could not be ingested (everything else was loaded): "
            + failures_in_brief(summary.failed)
        )
    return summary


def failures_in_brief(failed: Sequence[FileOutcome], shown: int = 3) -> str:
    """The first ``shown`` failures in full (file: message), then how many more; the whole list
    is in ``meta.flow_run`` and the run's logs. Each message is shortened (``brief_failure``): a
    guard refusal to its count and first example, another to its first 300 characters; its remedy
    is kept whole."""
    head = "; ".join(f"{o.locator}: {brief_failure(o.message or '')}" for o in failed[:shown])
    more = len(failed) - shown
    return head + (f"; … and {more} more (all in meta.flow_run.message and the run's logs)" if more > 0 else "")


def _mart_built(warehouse: Path) -> bool:
    with open_warehouse(warehouse) as con:
        return indicators_built(con)


def _staging_built(warehouse: Path) -> bool:
    with open_warehouse(warehouse) as con:
        return staging_built(con)


@flow(name="alvh-ingest")
def ingest_flow(
    source: str | None = None,
    start: date | None = None,
    end: date | None = None,
    warehouse: str | None = None,
    settings: Settings | None = None,
    accept_revisions: list[str] | None = None,
) -> IngestSummary:
    """Ingest CBOE, CFE, breadth and rate data into the warehouse.

    ``source``: a folder to read files from, ``"http"`` for the public endpoints, or None for
    the configured default. ``start``: skip VX contracts expiring before it. ``end``: the date
    treated as today (New York), default today. ``settings``: the entry point's resolved
    settings (resolved here only when the flow is started without them). ``accept_revisions``:
    file names whose suspect revisions are applied on purpose (recorded with who and when).
    """
    if settings is None:
        settings = load_settings(**({"warehouse": Path(warehouse)} if warehouse is not None else {}))
    if source == "http":
        settings = settings.model_copy(update={"source_dir": None})
    elif source is not None:
        settings = settings.model_copy(update={"source_dir": Path(source)})
    run_id = str(flow_run.id or uuid.uuid4())
    with run_lock(settings.warehouse, settings.lock_timeout_s):
        return run_ingest(settings, run_id, end or today_new_york(), start, accept_revisions or ())
