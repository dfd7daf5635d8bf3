"""`alvh quotes import`: real end-of-day option quotes from Cboe DataShop files, loaded like every
source (``alvh.pipeline.load``: sha256 skip, row rules and quarantine, revision guard, lineage in
``meta.ingest_run``) into ``raw.option_quote``, then ``staging.option_quote`` rebuilt for the
quote dates the import changed. Runs under the run lock; no Prefect."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb

from alvh.core.calendar import today_new_york
from alvh.core.errors import SourceError
from alvh.core.settings import Settings, params_from
from alvh.pipeline.load import IngestChecks, load_family
from alvh.sources.base import FetchedFile, FileRef
from alvh.sources.families import RowChecks
from alvh.sources.option_eod import FAMILY, Expanded, expand_file, quote_dates
from alvh.sources.plausible import Plausibility
from alvh.transforms.revision_guard import RevisionGuard, old_before
from alvh.transforms.staging import Staged, build_stg_option_quote
from alvh.warehouse.connection import open_warehouse, run_lock
from alvh.warehouse.lineage import last_load_counts
from alvh.warehouse.load import FileOutcome, utcnow
from alvh.warehouse.option_quotes import (
    quote_dates_to_stage,
    read_raw_option_quotes,
    record_container,
    write_option_quote_staging,
)
from alvh.warehouse.signals import published_sessions_among


@dataclass
class MemberReport:
    """One CSV a delivered file consists of (the file itself, or a member of its ZIP)."""

    name: str  # file name, with ``::member`` paths inside a ZIP
    status: str  # loaded, unchanged (same sha256 as its last load) or failed (refused)
    kept: int
    quarantined: int
    refused: int  # data lines of a refused CSV
    inserted: int = 0
    updated: int = 0
    dates: list[date] = field(default_factory=list)
    message: str | None = None


@dataclass
class FileReport:
    """What one file given on the command line did."""

    path: str
    members: list[MemberReport] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # ZIP members that are not CSVs (the description)

    def total(self, what: str) -> int:
        return sum(int(getattr(m, what)) for m in self.members)

    @property
    def dates(self) -> list[date]:
        return sorted({d for m in self.members for d in m.dates})

    @property
    def refusals(self) -> list[MemberReport]:
        return [m for m in self.members if m.status == "failed"]


@dataclass
class QuotesImport:
    run_id: str
    files: list[FileReport]
    staged_dates: list[date] = field(default_factory=list)
    staging_note: str | None = None
    published_dates: list[date] = field(default_factory=list)  # staged dates whose signal is already published

    @property
    def refusals(self) -> list[MemberReport]:
        return [m for f in self.files for m in f.refusals]


@dataclass
class _Delivered:
    path: Path
    expanded: Expanded
    content: bytes | None = None  # the delivered bytes when it is a ZIP (recorded as a container)


def quote_checks(settings: Settings, as_of: date, accepted: frozenset[str]) -> IngestChecks:
    """The checks an import dated ``as_of`` applies (as ``alvh ingest`` does): rows dated after
    the later of ``as_of`` and today (New York) are implausible; revisions are limited by the
    guard settings, except for the files named in ``accepted``."""
    p = params_from(Plausibility, settings, latest=max(as_of, today_new_york()))
    guard = params_from(
        RevisionGuard,
        settings,
        old_before=old_before(as_of, settings.revision_max_age_sessions),
        accepted=accepted,
    )
    return IngestChecks(rows=RowChecks(p, settings.bad_date_max_share), guard=guard)


def deliver(path: Path) -> _Delivered:
    """The CSV member files of one given file (a failed pseudo-member when it cannot be read or
    opened: it is recorded and refused like any bad file)."""
    name = path.name
    try:
        content = path.read_bytes()
    except OSError as exc:
        bad = FetchedFile(FileRef(FAMILY, name, str(path)), b"", status="failed", error=_unreadable(path, exc))
        return _Delivered(path, Expanded([bad]))
    try:
        expanded = expand_file(content, str(path), name)
    except SourceError as exc:
        return _Delivered(path, Expanded([FetchedFile(FileRef(FAMILY, name, str(path)), content, "failed", str(exc))]))
    is_container = len(expanded.members) != 1 or expanded.members[0].ref.locator != str(path)
    return _Delivered(path, expanded, content if is_container else None)


def _unreadable(path: Path, exc: OSError) -> str:
    return str(SourceError(f"cannot read the file: {exc.strerror}", file=str(path)))


def accepted_names(delivered: Sequence[_Delivered], accept_revisions: Sequence[str]) -> frozenset[str]:
    """File names whose suspect revisions apply on purpose: each name or path given, and every
    CSV member of a given ZIP named so."""
    given = {Path(a).name for a in accept_revisions} | set(accept_revisions)
    names = set(given)
    for d in delivered:
        if d.path.name in given or str(d.path) in given:
            names.update(m.ref.name for m in d.expanded.members)
    return frozenset(names)


def _data_lines(content: bytes) -> int:
    text = content.decode("utf-8", errors="replace")
    return max(0, sum(1 for line in text.splitlines() if line.strip()) - 1)


def import_quotes(
    settings: Settings,
    paths: Sequence[Path],
    accept_revisions: Sequence[str] = (),
    as_of: date | None = None,
) -> QuotesImport:
    """Load DataShop option EOD files (CSV, ZIP, or Cboe's ZIP of ZIPs) into ``raw.option_quote``
    and rebuild ``staging.option_quote`` for the quote dates that changed, under the run lock.

    Each given file is loaded in its own transaction: a refused file (wrong header, unreadable,
    or a re-import the revision guard finds suspect) writes nothing and the others still load.
    ``accept_revisions``: names or paths whose suspect revisions apply on purpose. ``as_of``:
    the date treated as today (default: today, New York).
    """
    day = as_of or today_new_york()
    run_id = str(uuid.uuid4())
    delivered = [deliver(Path(p)) for p in paths]
    checks = quote_checks(settings, day, accepted_names(delivered, accept_revisions))
    reports: list[FileReport] = []
    with run_lock(settings.warehouse, settings.lock_timeout_s), open_warehouse(settings.warehouse) as con:
        for d in delivered:
            started = utcnow()
            outcomes = load_family(
                con,
                FAMILY,
                d.expanded.members,
                run_id=run_id,
                source_kind="file",
                checks=checks,
                command=f"alvh quotes import {d.path}",
            )
            report = FileReport(str(d.path), ignored=list(d.expanded.ignored))
            previous = last_load_counts(con, FAMILY)
            for f, o in zip(d.expanded.members, outcomes, strict=True):
                report.members.append(_member_report(f, o, previous))
            reports.append(report)
            if d.content is not None:
                record_container(con, _container_outcome(d, report, run_id, started))
        staged, dates = stage_option_quotes(con, run_id)
        published = published_sessions_among(con, dates)
    return QuotesImport(run_id, reports, dates, staged.note if staged is not None else None, published)


def _member_report(f: FetchedFile, o: FileOutcome, previous: dict[str, tuple[int, int]]) -> MemberReport:
    if o.status == "failed":
        lines = _data_lines(f.content) if f.content else 0
        return MemberReport(f.ref.name, "failed", 0, 0, lines, message=o.message)
    if o.status == "unchanged":
        read, quarantined = previous.get(o.file_name, (0, 0))
    else:
        read, quarantined = o.rows_read, o.rows_quarantined
    return MemberReport(
        f.ref.name,
        o.status,
        read - quarantined,
        quarantined,
        0,
        o.rows_inserted,
        o.rows_updated,
        quote_dates(f.content),
        o.message,
    )


def _container_outcome(d: _Delivered, report: FileReport, run_id: str, started: datetime) -> FileOutcome:
    """The ``meta.ingest_run`` record of a delivered ZIP: its sha256 and what became of each member."""
    assert d.content is not None
    statuses = {m.status for m in report.members}
    status = "failed" if statuses == {"failed"} else "unchanged" if statuses == {"unchanged"} else "loaded"
    parts = [f"{m.name}: {m.status}" for m in report.members] + [f"{i}: ignored" for i in report.ignored]
    probe = FetchedFile(FileRef(FAMILY, d.path.name, str(d.path)), d.content)
    now = utcnow()
    return FileOutcome(
        run_id=run_id,
        family=FAMILY,
        source="file",
        locator=str(d.path),
        file_name=d.path.name,
        sha256=probe.sha256,
        bytes=len(d.content),
        rows_read=0,
        rows_inserted=0,
        rows_updated=0,
        rows_quarantined=0,
        started_at=started,
        finished_at=now,
        status=status,
        message="ZIP package (rows are counted on its CSV members): " + "; ".join(parts),
    )


def stage_option_quotes(con: duckdb.DuckDBPyConnection, run_id: str) -> tuple[Staged | None, list[date]]:
    """Rebuild ``staging.option_quote`` for the quote dates ``run_id`` wrote (and any raw date
    staging lacks) in one transaction; nothing when no date changed."""
    dates = quote_dates_to_stage(con, run_id)
    if not dates:
        return None, []
    staged = build_stg_option_quote(read_raw_option_quotes(con, dates))
    quarantine = staged.quarantine
    assert quarantine is not None
    write_option_quote_staging(con, run_id, dates, staged.frame, staged.excluded, staged.note, quarantine, utcnow())
    return staged, dates
