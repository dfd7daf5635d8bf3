"""Each import-linter contract in pyproject.toml fails when broken: one forbidden import is
planted per contract in a temporary copy of the package, and ``lint-imports`` run on that copy
names every contract as broken, each with its own planted import; the same copy without the
plants keeps them all (issue 19 item 4)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

pytestmark = pytest.mark.process

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

# contract name → the modules planted to break it: (module, source); each module's name must
# appear in that contract's report. A new contract without a plant fails the first test.
PLANTS: dict[str, list[tuple[str, str]]] = {
    "Layers: cli → flows → pipeline → (report | warehouse | transforms | sources) → schemas → core; no cycles": [
        ("alvh.core._planted_upward", "import alvh.pipeline\n"),
        ("alvh.pipeline._planted_flow", "import alvh.flows\n"),  # a step may not call a flow
    ],
    "transforms are pure: of alvh they import only core and schemas": [
        ("alvh.transforms._planted_storage", "import alvh.warehouse\n"),
    ],
    "transforms and schemas touch no OS, process, FFI, local database or network module": [
        ("alvh.schemas._planted_env", "import os\n"),
        ("alvh.transforms._planted_shell", "import subprocess\n"),
        ("alvh.transforms._planted_ffi", "import ctypes\n"),
        ("alvh.schemas._planted_sqlite", "import sqlite3\n"),
        ("alvh.transforms._planted_tmp", "import tempfile\n"),
        ("alvh.transforms._planted_http", "import urllib.request\n"),
        ("alvh.schemas._planted_requests", "import requests\n"),
    ],
    "transforms and schemas reach neither Prefect nor DuckDB, even indirectly": [
        ("alvh.schemas._planted_duckdb", "import duckdb\n"),
        # indirect: transforms → a core module that imports Prefect
        ("alvh.transforms._planted_indirect", "import alvh.core._planted_prefect\n"),
    ],
    "core does not import Prefect": [
        ("alvh.core._planted_prefect", "def f():\n    import prefect  # even a lazy import\n"),
    ],
    "allow-list: only the flows, the pipeline and the CLI import Prefect": [
        ("alvh.sources._planted_flow", "from prefect import flow\n"),
    ],
    "allow-list: only storage (warehouse), the flows and the pipeline import DuckDB": [
        ("alvh.report._planted_sql", "import duckdb\n"),
        ("alvh.cli._planted_sql", "import duckdb\n"),  # the CLI is no longer on the list
    ],
    "the CLI talks to flows and the pipeline: it imports neither storage (warehouse) nor DuckDB": [
        ("alvh.cli._planted_duckdb", "def f():\n    import duckdb  # even a lazy import\n"),
        ("alvh.cli._planted_storage", "from alvh.warehouse import published\n"),
    ],
    "storage only stores: warehouse imports no transforms and no sources": [
        ("alvh.warehouse._planted_parse", "from alvh.sources import http\n"),
    ],
}


def contract_names() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return [c["name"] for c in config["tool"]["importlinter"]["contracts"]]


def package_copy(dest: Path) -> Path:
    """``src/alvh`` and the config copied under ``dest``; returns the copy's ``src``."""
    src = dest / "src"
    shutil.copytree(ROOT / "src" / "alvh", src / "alvh", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")
    return src


def lint_imports(dest: Path, src: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(src), "COLUMNS": "400", "NO_COLOR": "1"}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", str(dest / "pyproject.toml")],
        cwd=dest,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def broken_sections(output: str, names: list[str]) -> dict[str, str]:
    """The report of each broken contract: from its heading (the name over a rule of dashes) to
    the next heading, in the "Broken contracts" part (the warnings part has the same headings)."""
    output = output[output.index("\nBroken contracts\n") :]
    starts = sorted(
        (m.start(), name)
        for name in names
        for m in re.finditer(rf"^{re.escape(name)}\n-+\n", output, flags=re.MULTILINE)
    )
    ends = [s for s, _ in starts[1:]] + [len(output)]
    return {name: output[s:e] for (s, name), e in zip(starts, ends, strict=True)}


def test_every_contract_has_a_planted_violation() -> None:
    assert sorted(contract_names()) == sorted(PLANTS)


def test_each_contract_fails_on_its_planted_import_and_the_clean_copy_passes(tmp_path: Path) -> None:
    names = contract_names()
    src = package_copy(tmp_path)
    clean = lint_imports(tmp_path, src)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert f"Contracts: {len(names)} kept, 0 broken." in clean.stdout
    assert str(src) not in str(ROOT)  # the copy, not the working tree, was analysed
    for plants in PLANTS.values():
        for module, source in plants:
            (src / (module.replace(".", "/") + ".py")).write_text(source, encoding="utf-8")
    planted = lint_imports(tmp_path, src)
    assert planted.returncode == 1, planted.stdout + planted.stderr
    assert f"Contracts: 0 kept, {len(names)} broken." in planted.stdout, planted.stdout
    for name in names:
        assert re.search(rf"^{re.escape(name)} BROKEN( \(.*\))?$", planted.stdout, flags=re.MULTILINE), name
    sections = broken_sections(planted.stdout, names)
    assert sorted(sections) == sorted(names)
    for name, plants in PLANTS.items():
        for module, _ in plants:
            assert module in sections[name], f"{name}: {module} not reported\n{sections[name]}"
