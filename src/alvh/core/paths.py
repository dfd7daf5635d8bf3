"""Where alvh keeps its files: the home folder, how a path setting becomes absolute, and — for the
read-only commands — the warehouse and export folder without building the settings object when
nothing but those paths is configured (building it imports pydantic-settings: a third of the time
`alvh signals show` takes).

The rules live here once; ``alvh.core.settings`` applies the same ones to every path setting."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_WAREHOUSE = Path("warehouse/alvh.duckdb")  # under ``home``
DEFAULT_EXPORT_DIR = Path("exports")  # under ``home``
CONFIG_FILE = Path("alvh.toml")  # in the working directory, unless ALVH_CONFIG names another

# the only variables the short path reads; any other ALVH_* one (a typo included) takes the full one
_PATH_VARIABLES = {"ALVH_HOME": "home", "ALVH_WAREHOUSE": "warehouse", "ALVH_EXPORT_DIR": "export_dir"}


def default_home() -> Path:
    """The project root when alvh runs from a source checkout (the folder holding the
    ``pyproject.toml`` that names alvh), else ``~/.alvh``."""
    for parent in Path(__file__).resolve().parents:
        pyproject = parent / "pyproject.toml"
        if pyproject.is_file() and 'name = "alvh"' in pyproject.read_text(encoding="utf-8", errors="replace"):
            return parent
    return Path.home() / ".alvh"


def absolute_path(value: Path | str, *, given: bool, home: Path) -> Path:
    """A path setting made absolute: one the user gave (a flag, a variable, the TOML file) against
    the current folder, as any command-line path; a default under ``home``."""
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = (Path.cwd() / path) if given else (home / path)
    return path.resolve()


@dataclass(frozen=True)
class StoragePaths:
    """The warehouse file and the export folder in force, absolute."""

    warehouse: Path
    export_dir: Path


def storage_paths(warehouse: Path | None = None, export_dir: Path | None = None) -> StoragePaths:
    """The warehouse and export folder the settings would give (``None`` arguments: not given on
    the command line), for a command that needs nothing else.

    When no config file exists and no ``ALVH_*`` variable is set but ``ALVH_HOME``,
    ``ALVH_WAREHOUSE`` or ``ALVH_EXPORT_DIR`` (each non-blank), every other setting is its default
    — valid by construction — and these paths follow from the rules above; otherwise the full
    settings are loaded, so a bad file or variable is refused exactly as by every other command
    (``ConfigError``)."""
    environment = _path_environment()
    if environment is None:
        from alvh.core.settings import load_settings

        settings = load_settings(warehouse=warehouse, export_dir=export_dir)
        return StoragePaths(settings.warehouse, settings.export_dir)
    home = Path(environment["home"]).expanduser().resolve() if "home" in environment else default_home().resolve()
    given = {"warehouse": warehouse, "export_dir": export_dir}
    paths = {}
    for name, default in (("warehouse", DEFAULT_WAREHOUSE), ("export_dir", DEFAULT_EXPORT_DIR)):
        value = given[name] if given[name] is not None else environment.get(name)
        paths[name] = absolute_path(default if value is None else value, given=value is not None, home=home)
    return StoragePaths(**paths)


def _path_environment() -> dict[str, str] | None:
    """The path settings from the environment (by setting name) when those are all that is
    configured; None when anything else may be (a config file, any other ``ALVH_*`` variable, a
    blank path, a variable not in capitals), which only the full settings can judge."""
    found = {}
    for key, value in os.environ.items():
        if key.upper().startswith("ALVH_"):
            if key not in _PATH_VARIABLES or not value.strip():
                return None
            found[_PATH_VARIABLES[key]] = value
    if CONFIG_FILE.exists():
        return None
    return found
