"""Issue 21 item 6 / issue 23 item 5: the read-only commands answer at once — each run through
the real entry point (``alvh.cli.main``) in a fresh interpreter leaves none of the libraries it
does not use in ``sys.modules``: no Prefect, no pandera, no pandas (the XNYS calendar comes from
the recorded closures, not exchange_calendars), no plotting library but the page's plotly."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from tests.test_exports_folder import published_warehouse

pytestmark = pytest.mark.process

HEAVY = (
    "prefect",
    "pandera",
    "pandas",
    "matplotlib",
    "plotly",
    "great_expectations",
    "numba",
    "scipy",
    "dask",
    "exchange_calendars",
)


def modules_after(argv: list[str], cwd: Path, watched: tuple[str, ...] = HEAVY) -> tuple[int, list[str]]:
    """Run ``alvh <argv>`` through ``main()`` in a fresh interpreter; its exit code and the
    ``watched`` (heavy) modules it imported."""
    code = (
        "import json, sys\nfrom alvh.cli import main\n"
        f"sys.argv = ['alvh', *{argv!r}]\n"
        "try:\n    main()\n    code = 0\nexcept SystemExit as exc:\n    code = exc.code or 0\n"
        f"print(json.dumps([code, sorted(m for m in {watched!r} if m in sys.modules)]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    exit_code, modules = json.loads(out.stdout.strip().splitlines()[-1])
    return exit_code, modules


@pytest.fixture()
def wh(tmp_path: Path) -> Path:
    return published_warehouse(tmp_path / "alvh.duckdb", ((date(2025, 1, 2), False, date(2025, 1, 22)),))


@pytest.mark.parametrize(
    ("argv", "used", "exit_code"),
    [
        (["signals", "show"], [], 0),
        (["orders", "export", "--force"], [], 0),  # the session the limits are for: the recorded XNYS closures
        (["settings"], [], 0),
        (["doctor"], [], 1),  # exit 1: this warehouse's sources are years behind today; calendar as above
        (["page"], ["plotly"], 0),  # the page's figures are plotly: the one library a read-only command needs
    ],
    ids=["signals-show", "orders-export", "settings", "doctor", "page"],
)
def test_read_only_commands_load_no_flow_validation_pandas_or_unused_plotting_library(
    wh: Path, tmp_path: Path, argv: list[str], used: list[str], exit_code: int
) -> None:
    extra = [] if argv == ["settings"] else ["--warehouse", str(wh)]
    if argv[0] in ("orders", "doctor", "page"):
        extra += ["--export-dir", str(tmp_path / "exp")]
    assert modules_after([*argv, *extra], tmp_path) == (exit_code, used)


def test_signals_show_loads_no_dataframe_library_nor_settings_machinery(wh: Path, tmp_path: Path) -> None:
    """Issue 21 item 6: `signals show` answers within 1.5 × a bare ``import duckdb, polars`` — it
    reads a handful of rows as plain Python values, so it loads neither polars, pyarrow nor numpy
    (polars only on the exports path, while a run holds the warehouse); with nothing configured but
    paths it builds no settings object (``alvh.core.paths``), so no pydantic-settings either; and
    the root group builds only the command it runs, so no other command's module is imported."""
    watched = ("polars", "pyarrow", "numpy", "pydantic_settings", "alvh.core.settings", "alvh.cli.run", "rich.progress")
    assert modules_after(["signals", "show", "--warehouse", str(wh)], tmp_path, watched) == (0, [])
