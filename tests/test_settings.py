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


# --- the read-only commands' short path (alvh.core.paths, issue 21 item 6): the settings' paths,
# and whenever anything but paths is configured, the settings themselves (their errors included)

PATH_CASES = [
    ({}, {}),
    ({"ALVH_HOME": "{tmp}/h"}, {}),
    ({"ALVH_HOME": "rel-home"}, {}),
    ({"ALVH_HOME": "~/alvh-home"}, {}),
    ({"ALVH_WAREHOUSE": "w.duckdb", "ALVH_EXPORT_DIR": "{tmp}/x"}, {}),
    ({"ALVH_WAREHOUSE": "~/w.duckdb", "ALVH_HOME": "h", "ALVH_EXPORT_DIR": "../out"}, {}),
    ({"ALVH_WAREHOUSE": "env.duckdb"}, {"warehouse": Path("flag.duckdb")}),
    ({}, {"warehouse": Path("../up.duckdb"), "export_dir": Path("out")}),
    ({"ALVH_HOME": "h"}, {"export_dir": Path("{tmp}/abs")}),
    ({"alvh_warehouse": "lower.duckdb"}, {}),  # not in capitals: the settings judge it
    ({"ALVH_RATIO_MAX": "1.5", "ALVH_WAREHOUSE": "w.duckdb"}, {}),  # another setting: the settings
    ({"ALVH_IC_CONTRAKTS": "5"}, {}),  # a typo: the settings (and their warning)
]


def _only(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, env: dict[str, str]) -> None:
    """Run in ``tmp_path`` with exactly ``env`` of the ALVH_* variables (``{tmp}`` is tmp_path)."""
    import os

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "user"))  # where ~ goes
    for var in list(os.environ):
        if var.upper().startswith("ALVH_"):
            monkeypatch.delenv(var)
    for var, value in env.items():
        monkeypatch.setenv(var, value.format(tmp=tmp_path))


@pytest.mark.parametrize(("env", "flags"), PATH_CASES)
def test_storage_paths_are_the_settings_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], flags: dict[str, Path]
) -> None:
    from alvh.core.paths import StoragePaths, storage_paths

    _only(monkeypatch, tmp_path, env)
    flags = {k: Path(str(v).format(tmp=tmp_path)) for k, v in flags.items()}
    s = load_settings(**flags)
    assert storage_paths(**flags) == StoragePaths(s.warehouse, s.export_dir)


def test_storage_paths_read_the_config_file_through_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from alvh.core.paths import StoragePaths, _path_environment, storage_paths

    _only(monkeypatch, tmp_path, {"ALVH_HOME": "h"})
    assert _path_environment() == {"home": "h"}  # the short path: nothing else configured
    (tmp_path / "alvh.toml").write_text('warehouse = "from-toml.duckdb"\n')
    assert _path_environment() is None
    assert storage_paths() == StoragePaths(
        tmp_path.resolve() / "from-toml.duckdb", tmp_path.resolve() / "h" / "exports"
    )


@pytest.mark.parametrize(
    ("env", "toml"),
    [
        ({"ALVH_LAYER_WEIGHTS": "[0,0,0]"}, None),
        ({"ALVH_IC_CONTRACTS": "abc", "ALVH_WAREHOUSE": "w.duckdb"}, None),
        ({"ALVH_WAREHOUSE": " "}, None),  # blank: refused by the settings, not taken as the current folder
        ({"ALVH_HOME": ""}, None),
        ({"ALVH_CONFIG": "{tmp}/nope.toml"}, None),
        ({}, "warehouse = [1"),  # not TOML
        ({}, "ratio_min = 2.0\n"),
    ],
)
def test_storage_paths_refuse_what_the_settings_refuse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], toml: str | None
) -> None:
    from alvh.core.errors import ConfigError
    from alvh.core.paths import storage_paths

    _only(monkeypatch, tmp_path, env)
    if toml is not None:
        (tmp_path / "alvh.toml").write_text(toml)
    with pytest.raises(ConfigError) as full:
        load_settings()
    with pytest.raises(ConfigError) as short:
        storage_paths()
    assert str(short.value) == str(full.value)


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
