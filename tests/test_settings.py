"""Default paths resolve under the project home, never the current directory (issue: first hour)."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.settings import default_home, load_settings


def test_defaults_are_absolute_under_home_whatever_the_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for var in ("ALVH_WAREHOUSE", "ALVH_EXPORT_DIR", "ALVH_BACKTEST_OUT", "ALVH_HOME"):
        monkeypatch.delenv(var, raising=False)
    s = load_settings()
    home = default_home()
    assert (home / "pyproject.toml").is_file()
    assert s.warehouse == home / "warehouse" / "alvh.duckdb"
    assert s.export_dir == home / "exports"
    assert s.backtest_out == home / "reports" / "backtest"
    assert s.export_dir.is_absolute()


def test_user_given_relative_paths_resolve_against_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    s = load_settings(warehouse=Path("w.duckdb"), export_dir=Path("out"))
    assert s.warehouse == tmp_path.resolve() / "w.duckdb"
    assert s.export_dir == tmp_path.resolve() / "out"


def test_home_setting_moves_the_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALVH_HOME", str(tmp_path))
    s = load_settings()
    assert s.warehouse == tmp_path.resolve() / "warehouse" / "alvh.duckdb"
    assert s.export_dir == tmp_path.resolve() / "exports"


def test_paths_do_not_change_the_settings_hash(tmp_path: Path) -> None:
    assert load_settings().settings_hash() == load_settings(warehouse=tmp_path / "x.duckdb").settings_hash()
