"""CSV and Parquet exports of the published marts, for downstream consumers.

Layout: ``<export_dir>/current`` is a symlink to a complete snapshot folder
``<export_dir>/snapshots/<digest>`` holding ``<mart>.csv`` and ``parquet/<mart>/year=YYYY/*.parquet``
(hive style), plus ``signals.duckdb``: the same marts as a small DuckDB file for SQL users and BI
tools, so a reader never holds the warehouse a run writes (DuckDB allows no reader while a process
writes a file; a reader of a snapshot keeps its open file even after the next run replaces it).
A new snapshot is written in full (files fsynced) under a temporary name in ``snapshots/`` before
``current`` is switched to it with one atomic rename, so a reader — or a process killed at any
instant — sees either the previous set of files or the new one, never a mix and never half a
file. Text cells that a spreadsheet would read as a formula (starting with ``= + - @``, tab or CR)
are prefixed with ``'``.

**Nothing alvh did not write is touched.** Every snapshot (and every temporary folder, before the
first byte goes into it) is recorded in ``<export_dir>/.alvh-exports.json`` with the sha256 of each
of its files; the cleanup removes only recorded entries, and a foreign file or folder where alvh
would write (``current``, ``snapshots``) is refused in one line naming it. A failed write (disk
full, a file-size limit) removes its temporary folder and names the path.

**Readers read what was recorded.** Each export, changed or not, checks the current snapshot's files
against their recorded digests and rebuilds the snapshot when one is missing or differs;
``verify_snapshot`` is what ``alvh doctor`` reports.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from alvh.core.errors import ExportError

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
READER_DB = "signals.duckdb"
MANIFEST = ".alvh-exports.json"
SNAPSHOTS = "snapshots"
CURRENT = "current"
_LEGACY_NAME = re.compile(r"^[0-9a-f]{16}$")  # snapshots written before the manifest existed
_SNAPSHOT_NAME = re.compile(r"^[0-9a-f]{16}(\.[0-9]+)?$")
_FULL = {errno.ENOSPC: "the disk is full", errno.EFBIG: "a file-size limit was hit", errno.EDQUOT: "the quota is full"}


def exported_tables() -> tuple[str, ...]:
    from alvh.schemas.registry import EXPORTED_TABLES

    return tuple(EXPORTED_TABLES)


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


# --- disk errors ---------------------------------------------------------------------------------


def _disk_code(exc: BaseException) -> int | None:
    """ENOSPC, EFBIG or EDQUOT when ``exc`` is a full disk, a file-size limit or a quota (an
    ``OSError``, or Polars' or DuckDB's message of one), else None."""
    code = exc.errno if isinstance(exc, OSError) else None
    text = str(exc)
    if code is None:
        if "No space left on device" in text:
            code = errno.ENOSPC
        elif "File too large" in text:
            code = errno.EFBIG
        elif "Disk quota exceeded" in text:
            code = errno.EDQUOT
    return code if code in _FULL else None


def disk_error(exc: BaseException, where: Path) -> ExportError | None:
    """An ``ExportError`` naming ``where`` when ``exc`` is a full disk, a quota or a file-size limit
    (from Python, Polars or DuckDB), else None."""
    code = _disk_code(exc)
    if code is None:
        return None
    path = getattr(exc, "filename", None) or where
    return ExportError(
        f"{_FULL[code]} while writing {path}; nothing was switched (readers keep the previous files) and the "
        "partial files were removed — free space (or raise the limit) and run again, or point --export-dir / "
        "ALVH_EXPORT_DIR at another disk",
        file=str(where),
    )


def write_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` (a temporary folder's file); the one writer of snapshot files.
    A failed write names ``path`` (``OSError.filename``): Python sets it only when the open fails."""
    try:
        with path.open("wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        if exc.filename is None:
            raise OSError(exc.errno, exc.strerror, str(path)) from None
        raise


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# --- the manifest: what alvh wrote ---------------------------------------------------------------


def _manifest_path(export_dir: Path) -> Path:
    return export_dir / MANIFEST


def read_manifest(export_dir: Path) -> dict[str, Any]:
    """The manifest (``snapshots``: name → {digest, files: {relative path: sha256}}; ``pending``:
    temporary folders being written). An export folder from before the manifest: its
    ``current`` link's target and the other 16-hex snapshot folders holding a ``signals.duckdb``
    are adopted as alvh's, with no digests (so the next export rebuilds the current one)."""
    path = _manifest_path(export_dir)
    if path.is_file():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = None
        if isinstance(data, dict) and isinstance(data.get("snapshots"), dict):
            data.setdefault("pending", [])
            return data
        raise ExportError(
            "the export manifest is damaged; move the export folder away (alvh rebuilds it) or point "
            "--export-dir / ALVH_EXPORT_DIR at another folder",
            file=str(path),
        )
    manifest: dict[str, Any] = {"version": 1, "snapshots": {}, "pending": []}
    current, snaps = export_dir / CURRENT, export_dir / SNAPSHOTS
    if current.is_symlink() and snaps.is_dir() and not snaps.is_symlink():
        target = os.readlink(current)
        if target.startswith(f"{SNAPSHOTS}/") and _LEGACY_NAME.match(target.split("/", 1)[1]):
            for p in snaps.iterdir():
                if _LEGACY_NAME.match(p.name) and p.is_dir() and (p / READER_DB).is_file():
                    manifest["snapshots"][p.name] = {"digest": None, "files": None}
    return manifest


def _write_manifest(export_dir: Path, manifest: dict[str, Any]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".alvh-exports-", suffix=".tmp", dir=export_dir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(manifest, fh, indent=1, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, _manifest_path(export_dir))
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _current_name(export_dir: Path, manifest: dict[str, Any]) -> str | None:
    """The recorded snapshot ``current`` points at (None when there is no link yet)."""
    current = export_dir / CURRENT
    if not current.is_symlink():
        return None
    target = os.readlink(current)
    name = target.split("/", 1)[1] if target.startswith(f"{SNAPSHOTS}/") else ""
    return name if name in manifest["snapshots"] else None


def _refuse(path: Path, what: str) -> ExportError:
    return ExportError(
        f"{what} is in the export folder but was not written by alvh; alvh would write there and never replaces "
        "what it did not write — move it away, or point --export-dir / ALVH_EXPORT_DIR at another folder",
        file=str(path),
    )


def check_foreign(export_dir: Path, manifest: dict[str, Any] | None = None) -> dict[str, Any]:
    """Refuse a foreign ``current`` or ``snapshots`` (a file, a folder, a link alvh did not
    make); returns the manifest."""
    manifest = read_manifest(export_dir) if manifest is None else manifest
    current, snaps = export_dir / CURRENT, export_dir / SNAPSHOTS
    if current.is_symlink():
        if _current_name(export_dir, manifest) is None:
            raise _refuse(current, f"a link 'current' → {os.readlink(current)}")
    elif current.exists():
        raise _refuse(current, "a folder 'current'" if current.is_dir() else "a file 'current'")
    if snaps.is_symlink() or (snaps.exists() and not snaps.is_dir()):
        raise _refuse(snaps, "a file 'snapshots'")
    return manifest


def check_export_dir(export_dir: Path) -> None:
    """Fail early, in one line, when ``export_dir`` cannot hold exports: it is a file, it (or the
    folder it would be made in) cannot be written, or something alvh did not write sits where it
    would write.

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
        full = disk_error(exc, export_dir)
        if full is not None:
            raise full from None
        raise ExportError(
            f"the export folder cannot be written ({exc.strerror or exc}); choose a writable folder with "
            "--export-dir / ALVH_EXPORT_DIR",
            file=str(export_dir),
        ) from None
    check_foreign(export_dir)


# --- writing a snapshot --------------------------------------------------------------------------


def _frames(con: duckdb.DuckDBPyConnection) -> dict[str, pl.DataFrame]:
    from alvh.schemas.registry import ROW_KEYS

    frames = {}
    for table in exported_tables():
        frame = con.sql(f"SELECT * FROM {table}").pl()
        keys = [c for c in ROW_KEYS if c in frame.columns]
        frames[table.split(".", 1)[1]] = frame.sort(keys)
    return frames


def _csv_bytes(frame: pl.DataFrame) -> bytes:
    buf = io.BytesIO()
    neutralise_formulas(frame).write_csv(buf)
    return buf.getvalue()


def _parquet_bytes(frame: pl.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.write_parquet(buf)
    return buf.getvalue()


def _write_reader_db(path: Path, frames: dict[str, pl.DataFrame]) -> None:
    """The snapshot's ``signals.duckdb``: one table per exported mart (schema ``marts``). A full
    disk or a file-size limit inside DuckDB is raised as an ``OSError`` naming ``path``."""
    try:
        with duckdb.connect(str(path)) as db:
            db.execute("CREATE SCHEMA marts")
            for name, frame in frames.items():
                db.register("frame_in", frame)
                db.execute(f"CREATE TABLE marts.{name} AS SELECT * FROM frame_in")
                db.unregister("frame_in")
            db.execute("CHECKPOINT")
    except duckdb.Error as exc:
        code = _disk_code(exc)
        if code is None:
            raise
        raise OSError(code, os.strerror(code), str(path)) from None


def _write_snapshot(folder: Path, frames: dict[str, pl.DataFrame], csvs: dict[str, bytes]) -> dict[str, str]:
    """Every file of a snapshot into ``folder``; returns relative path → sha256."""
    for name, data in csvs.items():
        write_file(folder / f"{name}.csv", data)
        frame = frames[name]
        target = folder / "parquet" / name
        target.mkdir(parents=True)
        if frame.height:
            framed = frame.with_columns(pl.col("session_date").dt.year().alias("year"))
            for year in sorted(framed["year"].unique().to_list()):
                part = target / f"year={year}"
                part.mkdir()
                write_file(part / "00000000.parquet", _parquet_bytes(framed.filter(pl.col("year") == year)))
    _write_reader_db(folder / READER_DB, frames)
    with (folder / READER_DB).open("rb") as fh:
        os.fsync(fh.fileno())
    return {p.relative_to(folder).as_posix(): _sha256(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def verify_snapshot(export_dir: Path) -> list[str]:
    """Problems of the current snapshot, one per file (missing, or not the bytes recorded), each
    naming the file; empty when every recorded file is intact (or there are no exports yet)."""
    try:
        manifest = read_manifest(export_dir)
    except ExportError as exc:
        return [str(exc)]
    current = export_dir / CURRENT
    if not current.is_symlink() and not current.exists():
        return []
    name = _current_name(export_dir, manifest)
    if name is None:
        return [f"{current} is not a snapshot alvh recorded"]
    files = manifest["snapshots"][name].get("files")
    folder = export_dir / SNAPSHOTS / name
    if files is None:
        return [f"{folder}: written before alvh recorded digests (the next run rebuilds it)"]
    problems = []
    for rel, digest in sorted(files.items()):
        p = folder / rel
        if not p.is_file():
            problems.append(f"{current / rel} is missing")
        elif _sha256(p) != digest:
            problems.append(f"{current / rel} is corrupt (its sha256 differs from the one recorded)")
    return problems


@contextmanager
def _pending(export_dir: Path, manifest: dict[str, Any], snaps: Path) -> Iterator[Path]:
    """A temporary folder in ``snapshots/``, recorded as pending before anything is written into
    it, removed (and unrecorded) on any failure."""
    tmp = Path(tempfile.mkdtemp(prefix=".new-", dir=snaps))
    manifest["pending"].append(f"{SNAPSHOTS}/{tmp.name}")
    try:
        _write_manifest(export_dir, manifest)
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        manifest["pending"] = [p for p in manifest["pending"] if p != f"{SNAPSHOTS}/{tmp.name}"]
        with contextlib.suppress(OSError):  # a full disk: the next run removes the recorded leftover
            _write_manifest(export_dir, manifest)
        raise


def export_marts(con: duckdb.DuckDBPyConnection, export_dir: Path) -> bool:
    """Export every published mart as a new snapshot and switch ``current`` to it.

    Returns False (writing nothing) when the current snapshot already holds exactly this data
    and every file of it still has the digest recorded; a missing or damaged file is rebuilt.

    Raises
    ------
    ExportError
        The export folder is a file or cannot be written, something alvh did not write sits where
        it would write, or the disk filled up (naming the path; the temporary files are removed).
    """
    check_export_dir(export_dir)
    manifest = check_foreign(export_dir)
    frames = _frames(con)
    csvs = {name: _csv_bytes(f) for name, f in frames.items()}
    h = hashlib.sha256()
    for name in sorted(csvs):
        h.update(name.encode())
        h.update(csvs[name])
    digest = h.hexdigest()[:16]
    snaps = export_dir / SNAPSHOTS
    current = export_dir / CURRENT
    snaps.mkdir(parents=True, exist_ok=True)
    cur = _current_name(export_dir, manifest)
    if cur is not None and manifest["snapshots"][cur].get("digest") == digest and not verify_snapshot(export_dir):
        _clean(export_dir, manifest, cur)
        return False
    try:
        with _pending(export_dir, manifest, snaps) as tmp:
            # mkdtemp makes 0700; a published snapshot is readable by the group/others as the umask allows
            umask = os.umask(0)
            os.umask(umask)
            tmp.chmod(0o777 & ~umask)
            files = _write_snapshot(tmp, frames, csvs)
            final_name = digest
            k = 0
            while (snaps / final_name).exists() or (snaps / final_name).is_symlink():
                k += 1
                final_name = f"{digest}.{k}"
            # recorded before the rename: a kill in between leaves a record the next run drops
            manifest["snapshots"][final_name] = {"digest": digest, "files": files}
            _write_manifest(export_dir, manifest)
            os.replace(tmp, snaps / final_name)
            manifest["pending"].remove(f"{SNAPSHOTS}/{tmp.name}")
            _write_manifest(export_dir, manifest)
            link = export_dir / f".current-{os.getpid()}-{secrets.token_hex(4)}"
            os.symlink(f"{SNAPSHOTS}/{final_name}", link)
            try:
                os.replace(link, current)  # the atomic switch
            finally:
                if link.is_symlink():
                    link.unlink()
    except (OSError, duckdb.Error, pl.exceptions.PolarsError) as exc:
        full = disk_error(exc, export_dir)
        if full is not None:
            raise full from None
        raise
    _clean(export_dir, manifest, final_name)
    return True


def _clean(export_dir: Path, manifest: dict[str, Any], keep: str) -> None:
    """Remove the recorded snapshots other than ``keep`` and recorded leftovers of interrupted
    runs; nothing else in the export folder is touched."""
    snaps = export_dir / SNAPSHOTS
    changed = False
    for name in [n for n in manifest["snapshots"] if n != keep]:
        p = snaps / name
        if _SNAPSHOT_NAME.match(name) and p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        if not p.exists():
            del manifest["snapshots"][name]
            changed = True
    for rel in list(manifest["pending"]):
        p = export_dir / rel
        if rel.startswith(f"{SNAPSHOTS}/.new-") and "/" not in rel[len(SNAPSHOTS) + 1 :]:
            shutil.rmtree(p, ignore_errors=True)
        if not p.exists():
            manifest["pending"].remove(rel)
            changed = True
    if changed:
        with contextlib.suppress(OSError):  # recorded leftovers are removed by the next run
            _write_manifest(export_dir, manifest)
