"""The frame every writing job (`alvh ingest`, `run`, `backfill`) runs in: the run lock first,
then, before any work, the warehouse writable and the export folder usable."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from alvh.core.settings import Settings
from alvh.warehouse.connection import check_writable, run_lock
from alvh.warehouse.export import check_export_dir


@contextmanager
def writing_job(settings: Settings, export: bool = True) -> Iterator[None]:
    """A writing job's frame: first the run lock (another job is waited for ``lock_timeout_s``,
    then named by its command), and only then, before any work, the warehouse opens for writing (a
    reader holding it — a notebook, a BI tool — is waited for and named by its program) and the
    export folder can be written (each failure one line saying what to do).

    Raises
    ------
    AlvhError
        ``WarehouseLocked`` (another job or a reader, named), ``WarehouseReadOnly``, or
        ``ExportError`` for an export folder that cannot take exports (``export=False`` skips it)."""
    with run_lock(settings.warehouse, settings.lock_timeout_s):
        check_writable(settings.warehouse, settings.lock_timeout_s)
        if export:
            check_export_dir(settings.export_dir)
        yield
