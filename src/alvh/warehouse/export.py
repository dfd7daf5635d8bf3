"""CSV and Parquet exports of the published marts, for downstream consumers.

Layout: ``<export_dir>/current`` is a symlink to a complete snapshot folder
``<export_dir>/snapshots/<digest>`` holding ``<mart>.csv`` and ``parquet/<mart>/year=YYYY/*.parquet``
(hive style), plus ``signals.duckdb``: the same marts as a small DuckDB file for SQL users and BI
tools, so a reader never holds the warehouse a run writes (DuckDB allows no reader while a process
writes a file; a reader of a snapshot keeps its open file even after the next run replaces it).
A new snapshot is written in full (files fsynced) before ``current`` is switched
to it with one atomic rename, so a reader — or a process killed at any instant — sees either the
previous set of files or the new one, never a mix and never half a file. Text cells that a
spreadsheet would read as a formula (starting with ``= + - @``, tab or CR) are prefixed with
``'``. When nothing changed, nothing is written (re-runs leave exports byte-identical).
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tempfile
from pathlib import Path

import duckdb
import polars as pl

from alvh.core.errors import ExportError
from alvh.schemas.registry import EXPORTED_TABLES, ROW_KEYS

EXPORTED = EXPORTED_TABLES
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """Prefix text cells that start like a spreadsheet formula with a single quote."""
    text = [c for c, t in frame.schema.items() if t == pl.String]
    if not text:
        return frame
    return frame.with_columns(
        pl.when(
            pl.col(c).str.starts_with(FORMULA_START[0])
            | pl.any_horizontal([pl.col(c).str.starts_with(s) for s in FORMULA_START[1:]])
        )
        .then(pl.lit("'") + pl.col(c))
        .otherwise(pl.col(c))
        .alias(c)
        for c in text
    )


def _fsync_tree(folder: Path) -> None:
    for f in folder.rglob("*"):
        if f.is_file():
            with f.open("rb") as fh:
                os.fsync(fh.fileno())


def _frames(con: duckdb.DuckDBPyConnection) -> dict[str, pl.DataFrame]:
    frames = {}
    for table in EXPORTED:
        frame = con.sql(f"SELECT * FROM {table}").pl()
        keys = [c for c in ROW_KEYS if c in frame.columns]
        frames[table.split(".", 1)[1]] = frame.sort(keys)
    return frames


def _csv_bytes(frame: pl.DataFrame) -> bytes:
    buf = io.BytesIO()
    neutralise_formulas(frame).write_csv(buf)
    return buf.getvalue()


READER_DB = "signals.duckdb"


def check_export_dir(export_dir: Path) -> None:
    """Fail early, in one line, when ``export_dir`` cannot hold exports: it is a file, or it (or
    the folder it would be made in) cannot be written.

    Raises
    ------
    ExportError
        Naming the path and what to do.
    """
    if export_dir.exists() and not export_dir.is_dir():
        raise ExportError(
            "the export folder is a file, not a folder; move it away or point --export-dir / ALVH_EXPORT_DIR "
            "at a folder",
            file=str(export_dir),
        )
    try:
        export_dir.mkdir(parents=True, exist_ok=True)
        probe = Path(tempfile.mkstemp(prefix=".probe-", dir=export_dir)[1])
        probe.unlink()
    except OSError as exc:
        raise ExportError(
            f"the export folder cannot be written ({exc.strerror or exc}); choose a writable folder with "
            "--export-dir / ALVH_EXPORT_DIR",
            file=str(export_dir),
        ) from None


def _write_reader_db(path: Path, frames: dict[str, pl.DataFrame]) -> None:
    """The snapshot's ``signals.duckdb``: one table per exported mart (schema ``marts``)."""
    with duckdb.connect(str(path)) as db:
        db.execute("CREATE SCHEMA marts")
        for name, frame in frames.items():
            db.register("frame_in", frame)
            db.execute(f"CREATE TABLE marts.{name} AS SELECT * FROM frame_in")
            db.unregister("frame_in")
        db.execute("CHECKPOINT")


def export_marts(con: duckdb.DuckDBPyConnection, export_dir: Path) -> bool:
    """Export every published mart as a new snapshot and switch ``current`` to it.

    Returns False (writing nothing) when the current snapshot already holds exactly this data.

    Raises
    ------
    ExportError
        The export folder is a file or cannot be written.
    """
    check_export_dir(export_dir)
    frames = _frames(con)
    csvs = {name: _csv_bytes(f) for name, f in frames.items()}
    h = hashlib.sha256()
    for name in sorted(csvs):
        h.update(name.encode())
        h.update(csvs[name])
    digest = h.hexdigest()[:16]
    snaps = export_dir / "snapshots"
    current = export_dir / "current"
    snaps.mkdir(parents=True, exist_ok=True)
    if (
        current.is_symlink()
        and os.readlink(current) == f"snapshots/{digest}"
        and (snaps / digest / READER_DB).is_file()
    ):
        _clean(snaps, digest)
        return False
    tmp = Path(tempfile.mkdtemp(prefix=".new-", dir=snaps))
    # mkdtemp makes 0700; a published snapshot is readable by the group/others as the umask allows
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)
    try:
        for name, data in csvs.items():
            (tmp / f"{name}.csv").write_bytes(data)
            frame = frames[name]
            target = tmp / "parquet" / name
            target.mkdir(parents=True)
            if frame.height:
                frame.with_columns(pl.col("session_date").dt.year().alias("year")).write_parquet(
                    target, partition_by="year", mkdir=True
                )
        _write_reader_db(tmp / READER_DB, frames)
        _fsync_tree(tmp)
        final = snaps / digest
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
        link = export_dir / f".current-{os.getpid()}"
        if link.is_symlink() or link.exists():
            link.unlink()
        os.symlink(f"snapshots/{digest}", link)
        os.replace(link, current)  # the atomic switch
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _clean(snaps, digest)
    return True


def _clean(snaps: Path, keep: str) -> None:
    """Remove snapshots other than the current one, and leftovers of interrupted runs."""
    for p in snaps.iterdir():
        if p.name != keep:
            shutil.rmtree(p, ignore_errors=True)
    for p in snaps.parent.glob(".current-*"):
        p.unlink(missing_ok=True)
