"""Default paths resolve under the project home, never the current directory (issue: first hour)."""

from __future__ import annotations

from pathlib import Path

import pytest

from alvh.core.settings import default_home, load_settings


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


# --- ranges and cross-field rules: every bad value is refused with the setting named -----------

BAD = [
    ("ALVH_IC_CONTRACTS", "-10", "ic_contracts"),
    ("ALVH_LAYER_WEIGHTS", "[0,0,0]", "layer_weights"),
    ("ALVH_LAYER_WEIGHTS", "[0.5,0.5,0.5]", "summing to 1"),
    ("ALVH_TARGET_DELTA", "nan", "target_delta"),
    ("ALVH_TARGET_DELTA", "1.5", "target_delta"),
    ("ALVH_RATIO_MIN", "2", "ratio_min 2.0 must be ≤ ratio_max"),
    ("ALVH_FIXED_RATIO", "1.3", "fixed_ratio 1.3 must lie within"),
    ("ALVH_CARRY_BUDGET", "-1", "carry_budget"),
    ("ALVH_BETA_CLIP", "[1,0]", "beta_clip"),
    ("ALVH_DAILY_CRON", "garbage", "daily_cron"),
    ("ALVH_DAILY_CRON", "99 17 * * 1-5", "daily_cron"),
    ("ALVH_SCHEDULE_TIMEZONE", "Mars/Olympus", "schedule_timezone"),
    ("ALVH_HEDGE_MODE", "yolo", "hedge_mode"),
    ("ALVH_IC_CONTRACTS", "abc", "ALVH_IC_CONTRACTS"),
]


@pytest.mark.parametrize(("var", "value", "named"), BAD)
def test_bad_settings_are_refused_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, var: str, value: str, named: str
) -> None:
    from alvh.core.errors import ConfigError

    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError, match="invalid configuration") as err:
        load_settings()
    assert named in str(err.value) and "Traceback" not in str(err.value)


def test_a_valid_custom_cron_and_wider_bounds_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALVH_DAILY_CRON", "45 18 * * 1-5")
    monkeypatch.setenv("ALVH_RATIO_MAX", "1.5")
    s = load_settings()
    assert s.daily_cron == "45 18 * * 1-5" and s.ratio_max == 1.5


def test_unknown_variable_warns_with_the_closest_name(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("ALVH_IC_CONTRAKTS", "5")
    with caplog.at_level("WARNING", logger="alvh.settings"):
        s = load_settings()
    assert s.ic_contracts == 10
    assert (
        "ALVH_IC_CONTRAKTS is not an alvh setting" in caplog.text and "did you mean ALVH_IC_CONTRACTS?" in caplog.text
    )


def test_a_missing_config_file_named_explicitly_is_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from alvh.core.errors import ConfigError

    monkeypatch.setenv("ALVH_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigError, match=r"ALVH_CONFIG names .*nope\.toml, which is not a file"):
        load_settings()


@pytest.mark.process  # starts a process
def test_cli_prints_one_line_without_traceback(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("ALVH_")} | {"ALVH_LAYER_WEIGHTS": "[0,0,0]"}
    res = subprocess.run(
        [sys.executable, "-c", "from alvh.cli import main; main()", "signals", "show"],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert res.returncode == 1
    out = res.stdout + res.stderr
    assert "error: invalid configuration" in out
    assert "layer_weights [0.0, 0.0, 0.0] must be three positive numbers summing to 1" in out
    assert "Traceback" not in res.stdout + res.stderr


def test_the_renamed_alert_variable_is_still_honoured(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """An install configured before alerts went through Apprise keeps alerting after the upgrade."""
    from alvh.core.settings import load_settings

    monkeypatch.setenv("ALVH_ALERT_WEBHOOK_URL", "json://127.0.0.1:9/hook")
    with caplog.at_level("WARNING", logger="alvh.settings"):
        s = load_settings()
    assert s.alert_url is not None and s.alert_url.get_secret_value() == "json://127.0.0.1:9/hook"
    assert "now ALVH_ALERT_URL" in caplog.text and "not an alvh setting" not in caplog.text
