"""CSV and Parquet exports of the published marts, for downstream consumers.

- CSV: one file per mart (``<export_dir>/<mart>.csv``), written to a temporary file in the same
  folder and renamed over the old one, so a reader never sees half a file. Text cells that a
  spreadsheet would read as a formula (starting with ``= + - @``, tab or CR) are prefixed with
  ``'``.
- Parquet: ``<export_dir>/parquet/<mart>/year=YYYY/*.parquet`` (hive style), written to a temporary
  folder and swapped in.
- A file whose content would not change is not rewritten (re-runs leave exports byte-identical).
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

EXPORTED = (
    "marts.indicators_daily",
    "marts.hedge_signal_daily",
    "marts.layer_adjustment",
    "marts.hedge_order",
    "marts.hedge_position",
    "marts.stress_scenario",
)
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


def _write_atomic(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` via temp file + rename; False if the file already holds it."""
    if path.exists() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


def _digest_dir(folder: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(folder.rglob("*.parquet")):
        h.update(str(f.relative_to(folder)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def _write_parquet(frame: pl.DataFrame, target: Path, date_col: str) -> bool:
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        if frame.height:
            frame.with_columns(pl.col(date_col).dt.year().alias("year")).write_parquet(
                tmp, partition_by="year", mkdir=True
            )
        if target.exists() and _digest_dir(target) == _digest_dir(tmp):
            shutil.rmtree(tmp)
            return False
        old = target.with_name(f".{target.name}.old")
        if target.exists():
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
        return True
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def export_marts(con: duckdb.DuckDBPyConnection, export_dir: Path) -> dict[str, bool]:
    """Export every published mart; returns table → whether any file changed."""
    export_dir.mkdir(parents=True, exist_ok=True)
    (export_dir / "parquet").mkdir(exist_ok=True)
    changed = {}
    for table in EXPORTED:
        name = table.split(".", 1)[1]
        frame = con.sql(f"SELECT * FROM {table}").pl()
        keys = [
            c
            for c in ("session_date", "layer", "ticket", "contract_expiry", "strike", "scenario")
            if c in frame.columns
        ]
        frame = frame.sort(keys)
        buf = io.BytesIO()
        neutralise_formulas(frame).write_csv(buf)
        csv_changed = _write_atomic(export_dir / f"{name}.csv", buf.getvalue())
        pq_changed = _write_parquet(frame, export_dir / "parquet" / name, "session_date")
        changed[table] = csv_changed or pq_changed
    return changed
