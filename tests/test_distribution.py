"""alvh as a real distribution: `uv build` makes a wheel and an sdist from a clean checkout, the
wheel installs into a fresh virtual environment without the dev group, and the installed `alvh`
runs — `--help`, and `ingest --source-dir` on a small folder of real files."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = (ROOT / ".." / "shared" / "data").resolve()
DEV_TOOLS = ("pytest", "mypy", "ruff", "talib", "hypothesis", "importlinter")


def run(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=900, **kw)  # type: ignore[call-overload]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean checkout of HEAD built with `uv build` and its wheel installed in a new venv."""
    exe = os.environ.get("UV") or shutil.which("uv")  # `uv run` names itself in $UV
    assert exe, "uv is needed to build the distribution"
    uv = [exe]
    work = tmp_path_factory.mktemp("dist")
    clone = work / "clone"
    res = run(["git", "clone", "-q", str(ROOT), str(clone)])
    assert res.returncode == 0, res.stderr
    res = run([*uv, "build", "--out-dir", str(work / "dist")], cwd=clone)
    assert res.returncode == 0, res.stderr
    wheels = list((work / "dist").glob("alvh-*.whl"))
    sdists = list((work / "dist").glob("alvh-*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1
    names = zipfile.ZipFile(wheels[0]).namelist()
    top = {n.split("/")[0] for n in names if not n.startswith("alvh-")}
    assert top == {"alvh"}, top  # one top-level import name
    venv = work / "venv"
    res = run([*uv, "venv", "-q", "--python", sys.executable, str(venv)])
    assert res.returncode == 0, res.stderr
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    res = run([*uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), str(wheels[0])], env=env)
    assert res.returncode == 0, res.stderr
    return venv


def test_wheel_installs_without_dev_tools(installed: Path) -> None:
    py = installed / "bin" / "python"
    for mod in DEV_TOOLS:
        res = run([str(py), "-c", f"import {mod}"])
        assert res.returncode != 0, f"the wheel pulled in the dev tool {mod}"


def test_installed_alvh_runs_help_and_ingest(installed: Path, tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    for name in ("VIX_History.csv", "VVIX_History.csv"):
        shutil.copy(next(DATA.rglob(name)), folder / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALVH_", "VIRTUAL_ENV", "PYTHONPATH"))}
    env["ALVH_HOME"] = str(tmp_path / "home")  # an installed alvh has no project root
    alvh = str(installed / "bin" / "alvh")
    res = run([alvh, "--help"], env=env, cwd=tmp_path)
    assert res.returncode == 0 and "ingest" in res.stdout, res.stdout + res.stderr
    res = run([alvh, "ingest", "--source-dir", str(folder)], env=env, cwd=tmp_path)
    out = res.stdout + res.stderr
    assert "Traceback" not in out, out
    assert res.returncode == 0, out  # a failed ingest says why here (not as a missing table below)
    wh = tmp_path / "home" / "warehouse" / "alvh.duckdb"
    assert wh.is_file(), out
    import duckdb

    with duckdb.connect(str(wh), read_only=True) as con:
        n = con.sql("SELECT count(*) FROM raw.cboe_index WHERE symbol = 'VIX'").fetchall()[0][0]
    assert n > 9000, out
