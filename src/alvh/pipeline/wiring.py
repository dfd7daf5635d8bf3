"""Building the configured source (HTTP or a folder) from the settings, and deciding which
files are worth fetching today."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

from alvh.core.errors import SourceError
from alvh.core.settings import Settings, params_from
from alvh.pipeline.progress import report
from alvh.sources.base import Family, FetchedFile, FileRef, Source
from alvh.sources.catalog import Catalog
from alvh.sources.directory import DirectorySource
from alvh.sources.families import VendorBreadthFormat
from alvh.sources.http import HttpPolicy, HttpSource


def catalog_from(settings: Settings) -> Catalog:
    return params_from(Catalog, settings)


def vendor_format(settings: Settings) -> VendorBreadthFormat:
    return params_from(VendorBreadthFormat, settings)


def make_source(settings: Settings, as_of: date) -> Source:
    """A folder source when ``settings.source_dir`` is set, else the public HTTP endpoints."""
    cat = catalog_from(settings)
    if settings.source_dir is not None:
        vendor = settings.vendor_breadth_url
        vendor_path = Path(vendor) if vendor and "://" not in vendor else None
        return DirectorySource(settings.source_dir, cat, vendor_path)
    policy = params_from(HttpPolicy, settings)
    return HttpSource(cat, as_of, policy)


def files_to_fetch(
    refs: Sequence[FileRef], final: set[tuple[str, date]], as_of: date, start: date | None
) -> tuple[list[FileRef], int]:
    """Drop contract files that cannot have changed: expired before ``as_of`` and already read
    (or found missing) on or after their expiry; and contracts expiring before ``start``.
    Returns the refs to fetch and how many were skipped."""
    last_read = {name: d for name, d in final}
    keep: list[FileRef] = []
    for ref in refs:
        if ref.expiry is not None:
            if start is not None and ref.expiry < start:
                continue
            seen = last_read.get(ref.name)
            if ref.expiry < as_of and seen is not None and seen >= ref.expiry:
                continue
        keep.append(ref)
    return keep, len(refs) - len(keep)


def fetch_all(source: Source, refs: Sequence[FileRef], label: str, workers: int) -> list[FetchedFile]:
    """Fetch ``refs`` (in parallel over HTTP), reporting progress; order preserved."""
    total = len(refs)
    done = 0

    def fetch_one(ref: FileRef) -> FetchedFile:
        try:
            return source.fetch(ref)
        except SourceError as exc:
            return FetchedFile(ref, b"", status="failed", error=str(exc))

    out: list[FetchedFile] = []
    report(label, 0, total)
    if workers <= 1 or source.kind != "http":
        for ref in refs:
            out.append(fetch_one(ref))
            done += 1
            report(label, done, total)
        return out
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for fetched in pool.map(fetch_one, refs):
            out.append(fetched)
            done += 1
            report(label, done, total)
    return out


__all__ = [
    "Family",
    "catalog_from",
    "fetch_all",
    "files_to_fetch",
    "make_source",
    "vendor_format",
]


def brief_failure(message: str, limit: int = 300) -> str:
    """A failure message short enough for a one-line summary, never cut mid-remedy: what is kept
    of a long message is its head — a revision-guard refusal's count and first example whole,
    however long the file's path (the examples after the first become " …"); any other message's
    first ``limit`` characters — then its remedy (``; expected …``, e.g. the ``--accept-revisions``
    command) whole."""
    if len(message) <= limit:
        return message
    head, sep, remedy = message.partition("; expected ")
    example = head.find(", e.g. ")
    if example >= 0:  # a guard refusal: through its first example, wherever that ends
        cut = head.find("; ", example)
        if cut > 0:
            head = head[:cut] + " …"
    elif len(head) > limit:
        head = head[:limit].rstrip() + " …"
    return head + (sep + remedy if sep else "")
