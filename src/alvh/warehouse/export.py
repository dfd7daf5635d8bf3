"""CSV and Parquet exports of the published marts, for downstream consumers.

Layout: ``<export_dir>/current`` is a symlink to a complete snapshot folder
``<export_dir>/snapshots/<digest>`` holding ``<mart>.csv`` and ``parquet/<mart>/year=YYYY/*.parquet``
(hive style). A new snapshot is written in full (files fsynced) before ``current`` is switched
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

from alvh.schemas.registry import EXPORTED_TABLES

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
        keys = [
            c
            for c in (
                "session_date",
                "layer",
                "ticket",
                "contract_expiry",
                "strike",
                "scenario",
                "horizon",
                "spx_move_pct",
                "vix_move",
            )
            if c in frame.columns
        ]
        frames[table.split(".", 1)[1]] = frame.sort(keys)
    return frames


def _csv_bytes(frame: pl.DataFrame) -> bytes:
    buf = io.BytesIO()
    neutralise_formulas(frame).write_csv(buf)
    return buf.getvalue()


def export_marts(con: duckdb.DuckDBPyConnection, export_dir: Path) -> bool:
    """Export every published mart as a new snapshot and switch ``current`` to it.

    Returns False (writing nothing) when the current snapshot already holds exactly this data.
    """
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
    if current.is_symlink() and os.readlink(current) == f"snapshots/{digest}" and (snaps / digest).is_dir():
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
