"""Issue 21 items 1–2: the export folder keeps what alvh did not write, refuses a foreign file where
it would write, cleans its temporary files on every failure (disk full, file-size limit), and
rebuilds a current snapshot whose files no longer match the digests it recorded."""

from __future__ import annotations

import errno
import json
import os
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from alvh.core.errors import ExportError
from alvh.warehouse import export as ex
from alvh.warehouse.connection import open_warehouse


def tiny_warehouse(path: Path, days: tuple[date, ...] = (date(2024, 12, 31), date(2025, 1, 2))) -> Path:
    """A migrated warehouse with a few indicator rows over two years (two Parquet partitions)."""
    with open_warehouse(path) as con:
        for d in days:
            con.execute(
                "INSERT INTO marts.indicators_daily (session_date, vix_close, m1_expiry, m1_dte, m1_tdte, m2_expiry, "
                "m2_dte, m2_tdte, m3_expiry, m3_dte, m3_tdte, beta_1, beta_2, beta_3, term_structure_complete, "
                "breadth_missing) VALUES (?, 15.5, ?, 20, 14, ?, 50, 34, ?, 80, 54, 0.7, 0.5, 0.4, true, false)",
                [d, date(2025, 1, 22), date(2025, 2, 19), date(2025, 3, 18)],
            )
    return path


@pytest.fixture()
def wh(tmp_path: Path) -> Path:
    return tiny_warehouse(tmp_path / "alvh.duckdb")


def export(wh: Path, out: Path) -> bool:
    with open_warehouse(wh) as con:
        return ex.export_marts(con, out)


def add_row(wh: Path, d: date) -> None:
    with open_warehouse(wh) as con:
        con.execute(
            "INSERT INTO marts.indicators_daily SELECT * REPLACE (CAST(? AS DATE) AS session_date) "
            "FROM marts.indicators_daily LIMIT 1",
            [d],
        )


def test_foreign_folders_in_snapshots_survive_changed_and_unchanged_runs(wh: Path, tmp_path: Path) -> None:
    out = tmp_path / "X"
    (out / "snapshots" / "vacation").mkdir(parents=True)
    (out / "snapshots" / "vacation" / "photo1.jpg").write_bytes(b"\xff\xd8 a photo")
    (out / "snapshots" / "notes.txt").write_text("mine")
    assert export(wh, out) is True
    assert export(wh, out) is False  # unchanged: the cleanup runs and still keeps them
    add_row(wh, date(2025, 1, 3))
    assert export(wh, out) is True  # changed: the old snapshot goes, the user's files stay
    assert (out / "snapshots" / "vacation" / "photo1.jpg").read_bytes() == b"\xff\xd8 a photo"
    assert (out / "snapshots" / "notes.txt").read_text() == "mine"
    alvh_snapshots = [p.name for p in (out / "snapshots").iterdir() if p.name not in ("vacation", "notes.txt")]
    assert alvh_snapshots == [os.readlink(out / "current").split("/")[1]]


@pytest.mark.parametrize("kind", ["file", "folder", "link"])
def test_a_foreign_current_is_refused_in_one_line_and_left_alone(wh: Path, tmp_path: Path, kind: str) -> None:
    out = tmp_path / "X"
    out.mkdir()
    current = out / "current"
    if kind == "file":
        current.write_text("my notes")
    elif kind == "folder":
        current.mkdir()
        (current / "a.txt").write_text("mine")
    else:
        (tmp_path / "elsewhere").mkdir()
        current.symlink_to(tmp_path / "elsewhere")
    with pytest.raises(ExportError) as err:
        export(wh, out)
    msg = str(err.value)
    assert "\n" not in msg and str(current) in msg and "not written by alvh" in msg and "--export-dir" in msg
    if kind == "file":
        assert current.read_text() == "my notes" and not current.is_symlink()
    elif kind == "folder":
        assert (current / "a.txt").read_text() == "mine"
    else:
        assert os.readlink(current) == str(tmp_path / "elsewhere")
    assert not (out / "snapshots").exists()  # refused before anything was written


def test_the_run_refuses_a_foreign_current_before_any_work(wh: Path, tmp_path: Path) -> None:
    """`alvh run`'s pre-flight check names it (no ingest, no Prefect)."""
    from typer.testing import CliRunner

    from alvh.cli import app

    out = tmp_path / "X"
    out.mkdir()
    (out / "current").write_text("mine")
    res = CliRunner().invoke(app, ["run", "--warehouse", str(wh), "--export-dir", str(out), "--as-of", "2025-01-02"])
    text = " ".join(res.output.split())
    assert res.exit_code == 1 and f"{out / 'current'}" in text and "not written by alvh" in text
    assert (out / "current").read_text() == "mine"


@pytest.mark.parametrize(("code", "words"), [(errno.ENOSPC, "the disk is full"), (errno.EFBIG, "file-size limit")])
def test_disk_full_names_the_path_and_leaves_no_temporary_files(
    wh: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, words: str
) -> None:
    out = tmp_path / "X"
    assert export(wh, out) is True
    before = os.readlink(out / "current")
    add_row(wh, date(2025, 1, 3))
    real = ex.write_file
    calls = []

    def full_after_two(path: Path, data: bytes) -> None:
        calls.append(path)
        if len(calls) > 2:
            raise OSError(code, os.strerror(code), str(path))
        real(path, data)

    monkeypatch.setattr(ex, "write_file", full_after_two)
    with pytest.raises(ExportError) as err:
        export(wh, out)
    msg = str(err.value)
    assert words in msg and str(calls[-1]) in msg and "\n" not in msg and "readers keep the previous files" in msg
    assert [p.name for p in (out / "snapshots").iterdir() if p.name.startswith(".new-")] == []
    assert os.readlink(out / "current") == before and ex.verify_snapshot(out) == []
    assert json.loads((out / ex.MANIFEST).read_text())["pending"] == []
    monkeypatch.setattr(ex, "write_file", real)
    assert export(wh, out) is True  # once there is room, the next run completes


def test_disk_full_inside_duckdb_is_named_too(wh: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "X"

    def no_space(path: Path, frames: object) -> None:
        raise duckdb.IOException(f'IO Error: Could not write file "{path}": No space left on device')

    monkeypatch.setattr(ex, "_write_reader_db", no_space)
    with pytest.raises(ExportError, match="the disk is full"):
        export(wh, out)
    assert [p.name for p in (out / "snapshots").iterdir()] == []


def test_a_truncated_parquet_file_is_found_and_rebuilt_on_an_unchanged_run(wh: Path, tmp_path: Path) -> None:
    out = tmp_path / "X"
    assert export(wh, out) is True
    part = out / "current" / "parquet" / "indicators_daily" / "year=2025" / "00000000.parquet"
    good = pl.read_parquet(part)
    part.write_bytes(part.read_bytes()[:40])
    problems = ex.verify_snapshot(out)
    assert problems == [f"{part} is corrupt (its sha256 differs from the one recorded)"]
    assert export(wh, out) is True  # data unchanged, snapshot rebuilt
    assert ex.verify_snapshot(out) == []
    assert pl.read_parquet(part).equals(good)


def test_an_overwritten_or_missing_reader_database_is_rebuilt(wh: Path, tmp_path: Path) -> None:
    out = tmp_path / "X"
    export(wh, out)
    db = out / "current" / ex.READER_DB
    db.write_bytes(b"not a database at all")
    csv = out / "current" / "hedge_signal_daily.csv"
    csv.unlink()
    assert ex.verify_snapshot(out) == [  # in path order
        f"{csv} is missing",
        f"{db} is corrupt (its sha256 differs from the one recorded)",
    ]
    assert export(wh, out) is True
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM marts.indicators_daily").fetchall() == [(2,)]
    assert csv.is_file() and ex.verify_snapshot(out) == []


def test_doctor_names_the_corrupt_snapshot_file(wh: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from alvh.cli import app

    out = tmp_path / "X"
    export(wh, out)
    res = CliRunner().invoke(app, ["doctor", "--warehouse", str(wh), "--export-dir", str(out)])
    assert "export snapshot" in res.output and "every file matches" in " ".join(res.output.split())
    part = out / "current" / "parquet" / "indicators_daily" / "year=2024" / "00000000.parquet"
    part.write_bytes(b"PAR1")
    res = CliRunner(env={"COLUMNS": "400"}).invoke(app, ["doctor", "--warehouse", str(wh), "--export-dir", str(out)])
    text = " ".join(res.output.split())
    assert res.exit_code == 1 and f"{part} is corrupt" in text and "alvh run" in text


def test_an_export_folder_from_before_the_manifest_is_adopted(wh: Path, tmp_path: Path) -> None:
    """Snapshots written by earlier versions (16-hex names, a ``signals.duckdb``) are alvh's: the
    first run rebuilds the current one with digests and removes the old; a look-alike folder
    without a reader database is not alvh's and stays."""
    out = tmp_path / "X"
    old = out / "snapshots" / "0123456789abcdef"
    old.mkdir(parents=True)
    (old / ex.READER_DB).write_bytes(b"old")
    lookalike = out / "snapshots" / "fedcba9876543210"
    lookalike.mkdir()
    (lookalike / "mine.txt").write_text("mine")
    (out / "current").symlink_to("snapshots/0123456789abcdef")
    assert export(wh, out) is True
    assert not old.exists() and (lookalike / "mine.txt").read_text() == "mine"
    assert ex.verify_snapshot(out) == []


def test_leftovers_of_a_killed_run_are_removed_only_when_recorded(wh: Path, tmp_path: Path) -> None:
    out = tmp_path / "X"
    export(wh, out)
    manifest = json.loads((out / ex.MANIFEST).read_text())
    killed = out / "snapshots" / ".new-killed"
    killed.mkdir()
    (killed / "half.csv").write_text("session_da")
    manifest["pending"].append("snapshots/.new-killed")
    (out / ex.MANIFEST).write_text(json.dumps(manifest))
    foreign = out / "snapshots" / ".new-mine"
    foreign.mkdir()
    add_row(wh, date(2025, 1, 3))
    export(wh, out)
    assert not killed.exists() and foreign.is_dir()
    assert json.loads((out / ex.MANIFEST).read_text())["pending"] == []


def published_warehouse(path: Path, sessions: tuple[tuple[date, bool, date], ...]) -> Path:
    """``tiny_warehouse`` plus published signals: per (session, stale, ticket's contract expiry) a
    signal row and, when not stale, one BUY ticket on that contract."""
    tiny_warehouse(path, tuple(d for d, _, _ in sessions))
    with open_warehouse(path) as con:
        for d, stale, expiry in sessions:
            con.execute(
                "INSERT INTO marts.hedge_signal_daily (session_date, stale, stale_reason, breadth_missing, "
                "steward_capped, ic_expiry, ic_contracts, actions_summary, method_version, settings_hash, run_id) "
                "VALUES (?, ?, ?, false, false, ?, 10, ?, 'ALVH-2026.3', 'h', 'r')",
                [d, stale, "VIX close missing" if stale else None, date(2025, 2, 21), "OPEN L1"],
            )
            if not stale:
                con.execute(
                    "INSERT INTO marts.hedge_order (session_date, ticket, contract_expiry, strike, side, qty, "
                    "model_price, layer, action, reason) VALUES (?, 1, ?, 19.0, 'BUY', 161, 0.53, 1, 'OPEN', 'open')",
                    [d, expiry],
                )
    return path
