"""Issue 21 item 6 / issue 23 item 5: the read-only commands answer at once — run in a fresh
interpreter, each leaves none of the libraries it does not use in ``sys.modules``; and importing
the daily flow pulls in no plotting library of the backtest report and no GX."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from tests.test_exports_folder import published_warehouse

pytestmark = pytest.mark.process

HEAVY = ("prefect", "pandera", "pandas", "matplotlib", "plotly", "great_expectations", "numba", "scipy", "dask")


def modules_after(argv: list[str], cwd: Path) -> list[str]:
    """Run ``alvh <argv>`` in a fresh interpreter; the heavy modules it imported."""
    code = (
        "import json, sys\nfrom alvh.cli import app\n"
        f"sys.argv = ['alvh', *{argv!r}]\n"
        "try:\n    app(standalone_mode=False)\nexcept SystemExit:\n    pass\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return list(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.fixture()
def wh(tmp_path: Path) -> Path:
    return published_warehouse(tmp_path / "alvh.duckdb", ((date(2025, 1, 2), False, date(2025, 1, 22)),))


@pytest.mark.parametrize(
    ("argv", "used"),
    [
        (["signals", "show"], []),
        (["orders", "export", "--force"], ["pandas"]),  # the XNYS calendar names the session the limits are for
        (["settings"], []),
        (["doctor"], ["pandas"]),  # the XNYS calendar (exchange_calendars) it checks freshness with is on pandas
    ],
    ids=["signals-show", "orders-export", "settings", "doctor"],
)
def test_read_only_commands_load_no_flow_validation_or_plotting_library(
    wh: Path, tmp_path: Path, argv: list[str], used: list[str]
) -> None:
    extra = [] if argv == ["settings"] else ["--warehouse", str(wh)]
    if argv[0] in ("orders", "doctor"):
        extra += ["--export-dir", str(tmp_path / "exp")]
    assert modules_after([*argv, *extra], tmp_path) == used


def test_the_page_loads_plotly_only(wh: Path, tmp_path: Path) -> None:
    got = modules_after(["page", "--warehouse", str(wh), "--export-dir", str(tmp_path / "exp")], tmp_path)
    assert got == ["plotly"]


def test_the_page_loads_no_prefect(wh: Path, tmp_path: Path) -> None:
    got = modules_after(["page", "--warehouse", str(wh), "--export-dir", str(tmp_path / "exp")], tmp_path)
    assert "prefect" not in got and "great_expectations" not in got and "dask" not in got
