"""The one error hierarchy of alvh.

Every error carries structured fields (file, line, column, value, expected) and renders a message
that says what is wrong and what to do. Lower layers (sources, warehouse, transforms) raise these;
the CLI prints ``str(error)`` and exits non-zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass
class AlvhError(Exception):
    """Base class: a message plus optional location of the fault."""

    message: str
    file: str | None = None
    line: int | None = None
    column: str | None = None
    value: str | None = None
    expected: str | None = None

    def __post_init__(self) -> None:
        super().__init__(self.render())

    def render(self) -> str:
        where = []
        if self.file:
            where.append(f"file {self.file}")
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column:
            where.append(f"column {self.column!r}")
        text = self.message
        if where:
            text = f"{', '.join(where)}: {text}"
        if self.value is not None:
            text += f" (got {self.value!r})"
        if self.expected:
            text += f"; expected {self.expected}"
        return text

    def __str__(self) -> str:
        return self.render()


class SourceError(AlvhError):
    """A source file is not what it claims to be (HTML page, wrong header, empty, truncated),
    or could not be fetched. Nothing of that file is written."""


class IngestIncomplete(SourceError):
    """The day's signal was published from the data at hand, but some files could not be
    ingested; ``day`` is the published session (its plan is still worth showing)."""

    def __init__(self, message: str, day: date) -> None:
        super().__init__(message)
        self.day = day


class ValidationFailed(AlvhError):
    """A table failed its pandera model or GX suite; nothing was published."""


class WarehouseLocked(AlvhError):
    """Another process holds the DuckDB warehouse (a writing job, or a reader while we write)."""


class WarehouseMissing(AlvhError):
    """There is no warehouse file where one was expected (a read of a warehouse never built)."""


class WarehouseInvalid(AlvhError):
    """The warehouse path is not a DuckDB database (a folder, garbage, another format)."""


class WarehouseReadOnly(AlvhError):
    """The warehouse (or its folder) cannot be written: read-only file system or permissions."""


class ExportError(AlvhError):
    """The export folder cannot hold the exports (it is a file, or cannot be written)."""


class ConfigError(AlvhError):
    """A setting is missing or invalid."""
