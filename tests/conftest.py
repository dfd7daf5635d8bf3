"""Shared fixtures (the real data folder, a local HTTP server that serves it at the real URL paths,
one Prefect test harness per session for flow tests) and the suite's three tiers.

Tiers (README "Test tiers"): every collected test gets exactly one of the markers

- ``process`` — it starts processes: an explicit ``@pytest.mark.process``, the ``flow`` marker
  (real Prefect flows), or a fixture in ``PROCESS_FIXTURES`` (Prefect harness or server, Dask
  cluster, wheel build);
- ``data`` — it reads the shared data folder: a fixture in ``DATA_FIXTURES`` anywhere in its
  fixture closure (``data_dir`` and every warehouse built from it);
- ``unit`` — everything else: pure functions on literal inputs.

An explicit tier marker wins over inference. ``pytest`` alone runs ``-m unit`` (``addopts``); the
README's command, which CI runs, selects all three. A unit-tier test that starts a process fails
(it must be marked ``process``), and a skip fails the run unless its reason is on
``ALLOWED_SKIPS``."""

from __future__ import annotations

import atexit
import os
import re
import shutil
import signal
import subprocess
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

from tests.support import hypothesis_profiles  # noqa: E402
from tests.support.cboe_server import DataServer  # noqa: E402

DATA = (Path(__file__).resolve().parents[1] / ".." / "shared" / "data").resolve()

hypothesis_profiles.load()  # before any test module builds its @settings
pytest_plugins = ["pytester"]  # tests/test_tiers.py collects literal test files in-process

TIERS = ("unit", "data", "process")
DATA_FIXTURES = frozenset({"data_dir", "loaded_warehouse", "signal_warehouse", "market", "fresh_signal_warehouse"})
PROCESS_FIXTURES = frozenset({"prefect_harness", "external_cluster", "installed", "server"})
# A skip fails the run unless its reason matches one of these (what the machine cannot offer,
# not what CI forgot to install). Each entry: (pattern, why it may skip).
ALLOWED_SKIPS = (
    (r"^this machine does not allow a private mount namespace", "containers without CAP_SYS_ADMIN"),
    (r"^unshare \(util-linux\) is not installed", "a minimal image without util-linux"),
)


_TIER = pytest.StashKey[str]()
COLLECTED = pytest.StashKey[dict[str, set[str]]]()  # every collected test (before `-m`) → its tier markers


def tier_of(item: pytest.Item) -> str:
    """The item's one tier: its explicit marker, else inferred from its markers and fixture
    closure. Two explicit tiers on one test (e.g. a module's ``pytestmark`` and the function's)
    are refused: a test is in exactly one tier."""
    explicit = sorted({m.name for m in item.iter_markers() if m.name in TIERS})
    if len(explicit) > 1:
        raise pytest.UsageError(f"{item.nodeid} is marked with several tiers {explicit}: keep one")
    if explicit:
        return explicit[0]
    names = set(getattr(item, "fixturenames", ()))
    if item.get_closest_marker("flow") is not None or names & PROCESS_FIXTURES:
        return "process"
    if names & DATA_FIXTURES:
        return "data"
    return "unit"


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        tier = tier_of(item)
        if item.get_closest_marker(tier) is None:
            item.add_marker(getattr(pytest.mark, tier))
        item.stash[_TIER] = tier
    config.stash[COLLECTED] = {item.nodeid: {m.name for m in item.iter_markers() if m.name in TIERS} for item in items}


def skip_allowed(reason: str) -> bool:
    return any(re.search(pattern, reason) for pattern, _ in ALLOWED_SKIPS)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> pytest.TestReport:
    """A skip that is not on ``ALLOWED_SKIPS`` is a failure: CI never goes green on a test that
    did not run (e.g. the browser test when Chromium could not be installed)."""
    rep: pytest.TestReport = yield
    if rep.skipped and not hasattr(rep, "wasxfail"):
        reason = rep.longrepr[2] if isinstance(rep.longrepr, tuple) else str(rep.longrepr)
        reason = reason.removeprefix("Skipped: ")
        if not skip_allowed(reason):
            rep.outcome = "failed"
            rep.longrepr = (
                f"skipped, and the reason is not on the allow-list (tests/conftest.py ALLOWED_SKIPS), so this "
                f"fails the run: {reason}"
            )
    return rep


@pytest.fixture(autouse=True)
def _unit_tests_start_no_process(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A unit-tier test that starts a process is misfiled: it fails, asking for the marker."""
    if request.node.stash.get(_TIER, None) != "unit":
        return

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(
            f"{request.node.nodeid} is in the unit tier but starts a process: mark it @pytest.mark.process"
        )

    execute_child = subprocess.Popen._execute_child  # type: ignore[attr-defined]

    def checked(self: subprocess.Popen[bytes], args: object, *rest: object, **kwargs: object) -> None:
        # platform.architecture() runs `file -b <python>` (croniter calls it at import): a library's
        # probe, not the test starting a process
        if isinstance(args, list | tuple) and list(args[:2]) == ["file", "-b"]:
            return execute_child(self, args, *rest, **kwargs)  # type: ignore[no-any-return]
        refuse()

    monkeypatch.setattr(subprocess.Popen, "_execute_child", checked)
    monkeypatch.setattr(os, "fork", refuse)
    monkeypatch.setattr(os, "posix_spawn", refuse)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not DATA.is_dir():
        pytest.fail(f"the shared data folder is missing at {DATA}")
    return DATA


def _sigterm_as_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """Prefect's test harness: its API server is a child process of this test process. It is
    stopped on interrupt too: SIGTERM (a CI timeout) becomes KeyboardInterrupt, so the harness's
    exit runs; and the server is started through ``alvh.pipeline.server_guard``, so it exits by
    itself when this process dies without cleaning up (SIGKILL)."""
    from prefect.testing.utilities import prefect_test_harness

    from alvh.pipeline.server_guard import bind_ephemeral_server

    bind_ephemeral_server()
    previous = signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    try:
        with prefect_test_harness(server_startup_timeout=120):
            yield
    finally:
        signal.signal(signal.SIGTERM, previous)


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
