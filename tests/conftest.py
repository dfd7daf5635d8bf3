"""Shared fixtures: the real data folder, a local HTTP server that serves it at the real URL
paths, and one Prefect test harness per session for flow tests."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

_prefect_home = tempfile.mkdtemp(prefix="alvh-prefect-")
atexit.register(shutil.rmtree, _prefect_home, ignore_errors=True)  # each test process's own Prefect home
os.environ.setdefault("PREFECT_HOME", _prefect_home)
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")

from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from tests.support.cboe_server import DataServer  # noqa: E402

DATA = (Path(__file__).resolve().parents[1] / ".." / "shared" / "data").resolve()


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not DATA.is_dir():
        pytest.fail(f"the shared data folder is missing at {DATA}")
    return DATA


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture()
def data_server(data_dir: Path) -> Iterator[DataServer]:
    server = DataServer(data_dir)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def loaded_warehouse(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse loaded from the shared folder through the plain functions (no Prefect),
    with staging built; shared read-only by the tests that need real staged data."""
    from datetime import date

    from alvh.core.settings import load_settings
    from alvh.pipeline.load import load_folder

    db = tmp_path_factory.mktemp("wh") / "alvh.duckdb"
    load_folder(load_settings(source_dir=data_dir, warehouse=db), date(2026, 7, 22))
    return db


@pytest.fixture(scope="session")
def signal_warehouse(loaded_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The loaded warehouse with ``marts.indicators_daily`` built (copied; tests copy it again
    before writing signals)."""
    import shutil

    from alvh.pipeline.indicators import build_indicators_mart
    from alvh.warehouse.connection import open_warehouse

    db = tmp_path_factory.mktemp("sig") / "alvh.duckdb"
    shutil.copy(loaded_warehouse, db)
    with open_warehouse(db) as con:
        build_indicators_mart(con)
    return db


@pytest.fixture(scope="session")
def market(signal_warehouse: Path):  # type: ignore[no-untyped-def]
    """The backtest's market over the shared signal warehouse (read-only; a test file may define
    its own ``market`` fixture, which then wins)."""
    from tests.support.market import market_of

    return market_of(signal_warehouse)


@pytest.fixture()
def fresh_signal_warehouse(signal_warehouse: Path, tmp_path: Path) -> Path:
    import shutil

    db = tmp_path / "alvh.duckdb"
    shutil.copy(signal_warehouse, db)
    return db


@pytest.fixture()
def http_env(data_server: DataServer, monkeypatch: pytest.MonkeyPatch) -> DataServer:
    """Point every base-URL setting at the local server (and read nothing from a folder)."""
    for key, value in data_server.settings_overrides().items():
        monkeypatch.setenv(f"ALVH_{key.upper()}", value)
    monkeypatch.delenv("ALVH_SOURCE_DIR", raising=False)
    return data_server
