"""The source interface: one protocol, two implementations (HTTP and directory)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Literal, Protocol

import polars as pl

from alvh.sources.text import empty_quarantine

Family = Literal[
    "cboe_index",
    "vx_current",
    "vx_legacy",
    "vx_reconstructed",
    "unicorn",
    "vendor_breadth",
    "fred",
    "option_eod",
    "events",
]


@dataclass(frozen=True)
class FileRef:
    """One file a source family consists of.

    ``locator`` is the URL or absolute path; ``name`` the file name the parser reads meaning from
    (symbol, expiry, series); ``expiry`` is set for VX contract files.
    """

    family: Family
    name: str
    locator: str
    expiry: date | None = None


@dataclass(frozen=True)
class FetchedFile:
    """A file's bytes with its origin; ``status`` is ``ok``, ``missing`` (HTTP 404 / no file),
    ``not_modified`` (HTTP 304: the server says the last load is current; no bytes) or ``failed``
    (could not be fetched: ``error`` says why). ``etag`` / ``last_modified``: the server's
    validators, sent back next time."""

    ref: FileRef
    content: bytes
    status: Literal["ok", "missing", "not_modified", "failed"] = "ok"
    error: str | None = None
    etag: str | None = None
    last_modified: str | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass
class ParsedFile:
    """Rows that passed the row rules, and the rows sent to quarantine. ``file_notes``: what a
    file's load should say beside its counts (locator → sentences, e.g. rows skipped on purpose),
    recorded as its ``meta.ingest_run.message``."""

    rows: pl.DataFrame
    quarantine: pl.DataFrame = field(default_factory=empty_quarantine)
    notes: list[str] = field(default_factory=list)
    file_notes: dict[str, list[str]] = field(default_factory=dict)


ProgressFn = Callable[[int, int, str], None]


class Source(Protocol):
    """Lists the files of a source family and fetches them."""

    kind: str

    def list_files(self, family: Family) -> list[FileRef]:
        """Every file of ``family`` this source can offer."""
        ...

    def fetch(self, ref: FileRef) -> FetchedFile:
        """The bytes of one file (``status='missing'`` where the source says it does not exist)."""
        ...
