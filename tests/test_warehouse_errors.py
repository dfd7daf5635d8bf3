"""Each way the warehouse or the export folder can be wrong gets its own one-line message, and the
CLI prints errors without a traceback unless ``--debug`` is given (issue: a garbage or missing
warehouse was reported as "locked by another process"; a read-only folder or an export dir that is
a file gave raw tracebacks)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from alvh.core.errors import ExportError, WarehouseInvalid, WarehouseMissing, WarehouseReadOnly
from alvh.warehouse.connection import check_writable, connect
from alvh.warehouse.export import check_export_dir

ROOT = Path(__file__).resolve().parents[1]


def test_missing_warehouse_on_read(tmp_path: Path) -> None:
    with pytest.raises(WarehouseMissing) as err:
        connect(tmp_path / "nowhere.duckdb", read_only=True)
    assert "no warehouse here" in str(err.value) and "alvh ingest" in str(err.value)
    assert "nowhere.duckdb" in str(err.value)


@pytest.mark.parametrize("read_only", [False, True])
def test_garbage_file_is_not_a_database(tmp_path: Path, read_only: bool) -> None:
    bad = tmp_path / "alvh.duckdb"
    bad.write_text("DATE,OPEN,HIGH,LOW,CLOSE\n" * 400)
    with pytest.raises(WarehouseInvalid) as err:
        connect(bad, read_only=read_only)
    assert "not a DuckDB database" in str(err.value) and str(bad) in str(err.value)
    assert "locked" not in str(err.value)
    assert bad.read_text().startswith("DATE,OPEN")  # never overwritten


def test_a_folder_is_not_a_warehouse(tmp_path: Path) -> None:
    with pytest.raises(WarehouseInvalid, match="is a folder"):
        check_writable(tmp_path)


def test_a_place_duckdb_cannot_open_gets_its_own_message() -> None:
    """Issue (QA): `--warehouse /proc/x.duckdb` gave DuckDB's raw IOException."""
    with pytest.raises(WarehouseInvalid, match=r"cannot be opened here .*an ordinary, writable disk"):
        connect("/proc/alvh-test.duckdb")


def test_export_dir_that_is_a_file(tmp_path: Path) -> None:
    f = tmp_path / "exports"
    f.write_text("not a folder")
    with pytest.raises(ExportError) as err:
        check_export_dir(f)
    assert "is a file, not a folder" in str(err.value) and "--export-dir" in str(err.value)


def _read_only_mount_runs(folder: Path, code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a child that sees ``folder`` as a read-only bind mount (a private mount
    namespace; root's permission bits cannot make a folder read-only for root)."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is not installed: cannot make a read-only mount to test against")
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"this machine does not allow a private mount namespace: {probe.stderr.strip()}")
    d, py = shlex.quote(str(folder)), shlex.quote(sys.executable)
    script = f"mount --bind {d} {d} && mount -o remount,ro,bind {d} && exec {py} -c {shlex.quote(code)}"
    return subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, cwd=ROOT)


@pytest.mark.process  # starts a process
def test_read_only_warehouse_and_export_folder(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    duckdb.connect(str(folder / "alvh.duckdb")).close()
    (folder / "exports").mkdir()
    code = (
        "from pathlib import Path\n"
        "from alvh.core.errors import AlvhError\n"
        "from alvh.warehouse.connection import check_writable, run_lock\n"
        "from alvh.warehouse.export import check_export_dir\n"
        f"d = Path({str(folder)!r})\n"
        "for label, call in [('existing', lambda: check_writable(d / 'alvh.duckdb')),\n"
        "                    ('new', lambda: check_writable(d / 'sub' / 'new.duckdb')),\n"
        "                    ('lock', lambda: run_lock(d / 'alvh.duckdb').__enter__()),\n"
        "                    ('export', lambda: check_export_dir(d / 'exports'))]:\n"
        "    try:\n"
        "        call(); print(label, 'OPENED')\n"
        "    except AlvhError as e:\n"
        "        print(label, type(e).__name__, e)\n"
    )
    res = _read_only_mount_runs(folder, code)
    assert res.returncode == 0, res.stderr
    lines = dict(line.split(" ", 1) for line in res.stdout.strip().splitlines())
    assert lines["existing"].startswith(WarehouseReadOnly.__name__) and "read-only" in lines["existing"]
    assert lines["new"].startswith(WarehouseReadOnly.__name__) and "writable place" in lines["new"]
    assert lines["lock"].startswith(WarehouseReadOnly.__name__) and "run lock" in lines["lock"]
    assert lines["export"].startswith(ExportError.__name__) and "cannot be written" in lines["export"]


def _alvh(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "alvh.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.process  # starts a process
def test_cli_errors_are_one_line_and_fail_before_the_work(tmp_path: Path) -> None:
    bad = tmp_path / "garbage.duckdb"
    bad.write_bytes(b"\x00\x01garbage" * 100)
    res = _alvh("run", "--as-of", "2018-02-05", "--source-dir", str(tmp_path), "--warehouse", str(bad))
    assert res.returncode == 1
    assert "not a DuckDB database" in res.stderr and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    afile = tmp_path / "exports-file"
    afile.write_text("x")
    res = _alvh(
        "backfill", "--start", "2018-02-05", "--warehouse", str(tmp_path / "w.duckdb"), "--export-dir", str(afile)
    )
    assert res.returncode == 1 and "is a file, not a folder" in res.stderr and "Traceback" not in res.stderr


@pytest.mark.process  # starts a process
def test_unexpected_errors_name_their_type_and_show_a_traceback_only_with_debug(tmp_path: Path) -> None:
    """A valid DuckDB file that is not an alvh warehouse (no marts): not an alvh error, so the CLI
    names the error's type in one line and suggests --debug; with --debug the traceback is shown."""
    other = tmp_path / "other.duckdb"
    duckdb.connect(str(other)).close()
    res = _alvh("signals", "show", "--warehouse", str(other))
    assert res.returncode == 1
    assert "CatalogException" in res.stderr and "--debug" in res.stderr and "Traceback" not in res.stderr
    res = _alvh("signals", "show", "--warehouse", str(other), "--debug")
    assert res.returncode == 1 and "Traceback" in res.stderr and "CatalogException" in res.stderr
