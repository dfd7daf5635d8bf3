"""Upstream revisions recomputed and republished with the revision named; late data retried,
then published stale rather than not at all."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from alvh.flows.daily import signal_sessions
from tests.support.cboe_server import INDEX_PATH, DataServer

pytestmark = pytest.mark.flow


def test_signal_sessions() -> None:
    d = date
    assert signal_sessions(None, d(2018, 2, 6)) == [d(2018, 2, 6)]
    assert signal_sessions(d(2018, 2, 6), d(2018, 2, 8)) == [d(2018, 2, 7), d(2018, 2, 8)]
    assert signal_sessions(d(2018, 2, 8), d(2018, 2, 7)) == [d(2018, 2, 7), d(2018, 2, 8)]
    # a revision on 02-05, before the first published session 02-06: recompute from 02-06
    assert signal_sessions(d(2018, 2, 8), d(2018, 2, 9), d(2018, 2, 5), d(2018, 2, 6))[0] == d(2018, 2, 6)
    assert signal_sessions(d(2018, 2, 8), d(2018, 2, 9), d(2018, 2, 7), d(2018, 2, 6)) == [
        d(2018, 2, 7),
        d(2018, 2, 8),
        d(2018, 2, 9),
    ]


def rows_before(body: bytes, day: date) -> bytes:
    """A CBOE history as it looked before ``day``'s close was published."""
    from datetime import datetime

    lines = body.decode().splitlines(keepends=True)
    keep = [lines[0]] + [ln for ln in lines[1:] if datetime.strptime(ln.split(",")[0], "%m/%d/%Y").date() < day]
    return "".join(keep).encode()


def copy_sources(data_dir: Path, target: Path) -> Path:
    """The files the pipeline reads, copied so a test can revise one (never into the project)."""
    shutil.copytree(data_dir, target, ignore=shutil.ignore_patterns("continuous", "legacy", "*.md", "MANIFEST*"))
    return target


def test_upstream_revision_is_recorded_recomputed_and_named(
    prefect_harness: None, data_dir: Path, fresh_signal_warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A revised close is recorded in meta.revision, the sessions it touched are recomputed and
    republished, and their summaries and reasons name it. The runs start from a copy of the
    session's loaded warehouse (the folder already ingested, nothing published; its first run finds
    every file unchanged): the revision is found by the third run's own ingest."""
    from alvh.flows.daily import daily_flow

    src = copy_sources(data_dir, tmp_path / "src")
    db, exports = fresh_signal_warehouse, tmp_path / "exports"
    kw = {"source": str(src), "warehouse": str(db), "export_dir": str(exports)}
    daily_flow(as_of=date(2018, 2, 6), **kw)
    daily_flow(as_of=date(2018, 2, 8), **kw)
    with duckdb.connect(str(db), read_only=True) as con:
        before = con.sql(
            "SELECT session_date, vix_close, actions_summary FROM marts.hedge_signal_daily ORDER BY 1"
        ).fetchall()
    assert [r[0] for r in before] == [date(2018, 2, 6), date(2018, 2, 7), date(2018, 2, 8)]
    vix = src / "cboe" / "indices" / "VIX_History.csv"
    text = vix.read_text()
    assert "02/07/2018,27.860000" in text or "02/07/2018," in text
    lines = [
        ",".join([*ln.split(",")[:4], "31.000000"]) if ln.startswith("02/07/2018,") else ln for ln in text.splitlines()
    ]
    vix.write_text("\n".join(lines) + "\n")
    summary = daily_flow(as_of=date(2018, 2, 9), **kw)
    assert summary.sessions == [date(2018, 2, 7), date(2018, 2, 8), date(2018, 2, 9)]
    with duckdb.connect(str(db), read_only=True) as con:
        rev = con.sql("SELECT table_name, row_key, column_name, new_value FROM meta.revision").fetchall()
        assert ("raw.cboe_index", "symbol=VIX, date=2018-02-07", "close", "31.0") in rev
        # the revised row's date travels as a typed column, not parsed back from the key text
        dated = con.sql("SELECT DISTINCT row_date FROM meta.revision WHERE column_name = 'close'").fetchall()
        assert (date(2018, 2, 7),) in dated
        after = dict(con.sql("SELECT session_date, vix_close FROM marts.hedge_signal_daily").fetchall())
        assert after[date(2018, 2, 7)] == 31.0
        summaries = dict(con.sql("SELECT session_date, actions_summary FROM marts.hedge_signal_daily").fetchall())
        assert "upstream revision" in summaries[date(2018, 2, 7)] and "2018-02-07" in summaries[date(2018, 2, 7)]
        assert "upstream revision" not in summaries[date(2018, 2, 6)]
        reasons = [
            r[0]
            for r in con.sql(
                "SELECT reason FROM marts.layer_adjustment WHERE session_date = DATE '2018-02-08'"
            ).fetchall()
        ]
        assert all("recomputed after upstream revision" in r for r in reasons)
        macd = dict(
            con.sql(
                "SELECT session_date, macd FROM marts.indicators_daily WHERE session_date "
                "BETWEEN DATE '2018-02-06' AND DATE '2018-02-07'"
            ).fetchall()
        )
        assert macd[date(2018, 2, 7)] is not None


def test_a_revision_loaded_by_alvh_ingest_is_republished_by_the_next_run(
    prefect_harness: None, data_dir: Path, fresh_signal_warehouse: Path, tmp_path: Path
) -> None:
    """Issue: a revision loaded by `alvh ingest` updated the indicators, but the signals already
    published were not recomputed. Doctor sees the disagreement; the next run republishes from
    the revised session, and then they agree again. (The runs start from a copy of the session's
    loaded warehouse, as in the test above; the revision is loaded by the `alvh ingest` flow.)"""
    from alvh.core.settings import load_settings
    from alvh.flows.daily import daily_flow
    from alvh.flows.ingest import ingest_flow
    from alvh.warehouse.doctor import signals_disagreeing_with_inputs

    src = copy_sources(data_dir, tmp_path / "src")
    db, exports = fresh_signal_warehouse, tmp_path / "exports"
    kw = {"source": str(src), "warehouse": str(db), "export_dir": str(exports)}
    daily_flow(as_of=date(2018, 2, 6), **kw)
    daily_flow(as_of=date(2018, 2, 8), **kw)
    vix = src / "cboe" / "indices" / "VIX_History.csv"
    lines = [
        ",".join([*ln.split(",")[:4], "31.000000"]) if ln.startswith("02/07/2018,") else ln
        for ln in vix.read_text().splitlines()
    ]
    vix.write_text("\n".join(lines) + "\n")
    ingest_flow(source=str(src), end=date(2018, 2, 8), settings=load_settings(warehouse=db))
    with duckdb.connect(str(db), read_only=True) as con:
        drift = signals_disagreeing_with_inputs(con)
    assert drift and min(d[0] for d in drift) == date(2018, 2, 7)
    assert any(d[0] == date(2018, 2, 7) and d[1] == "vix_close" and d[3] == 31.0 for d in drift)
    summary = daily_flow(as_of=date(2018, 2, 8), **kw)
    assert summary.sessions == [date(2018, 2, 7), date(2018, 2, 8)]
    with duckdb.connect(str(db), read_only=True) as con:
        assert signals_disagreeing_with_inputs(con) == []
        vix_close = dict(con.sql("SELECT session_date, vix_close FROM marts.hedge_signal_daily").fetchall())
        assert vix_close[date(2018, 2, 7)] == 31.0
        note = con.sql(
            "SELECT actions_summary FROM marts.hedge_signal_daily WHERE session_date = DATE '2018-02-07'"
        ).fetchall()[0][0]
    assert "2018-02-07" in note


LATE_DAY = date(2024, 8, 5)  # the evening of the late-data tests: VIX's close of that day is late


@pytest.fixture(scope="module")
def before_late_vix(prefect_harness: None, data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse that an ``alvh ingest`` over HTTP (its own local server) filled the evening
    before: every served file, VIX's history as it looked before 2024-08-05's close was published.
    The late-data tests start each warehouse from a copy: their runs still fetch every file over
    HTTP and ingest today's VIX (late, then out) themselves, but do not parse and load the whole
    history again; what they assert (the tries, the requests of VIX, the signal) is unchanged."""
    from alvh.flows.ingest import ingest_flow

    server = DataServer(data_dir)
    server.start()
    try:
        full = (server.root / "cboe/indices/VIX_History.csv").read_bytes()
        server.bodies[INDEX_PATH + "/VIX_History.csv"] = [rows_before(full, LATE_DAY)]
        db = tmp_path_factory.mktemp("late") / "alvh.duckdb"
        with pytest.MonkeyPatch.context() as mp:
            for key, value in server.settings_overrides().items():
                mp.setenv(f"ALVH_{key.upper()}", value)
            mp.delenv("ALVH_SOURCE_DIR", raising=False)
            summary = ingest_flow(source="http", end=LATE_DAY, warehouse=str(db))
        assert not summary.failed and server.hits[INDEX_PATH + "/VIX_History.csv"] == 1
    finally:
        server.stop()
    return db


def test_late_data_is_retried_then_published(
    prefect_harness: None,
    before_late_vix: Path,
    data_server: DataServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Today's VIX close is not out at the first try: Prefect retries the ingest task, and the
    signal is published once it is out; never out, the last try publishes stale. (Each run starts
    from a copy of ``before_late_vix``.)"""
    from alvh.flows.daily import daily_flow

    for key, value in data_server.settings_overrides().items():
        monkeypatch.setenv(f"ALVH_{key.upper()}", value)
    monkeypatch.setenv("ALVH_LATE_DATA_RETRIES", "2")
    monkeypatch.setenv("ALVH_LATE_DATA_DELAY_S", "0.05")
    import alvh.flows.daily as daily_module

    day = date(2024, 8, 5)
    clock = {"today": day}  # the run happens on that evening: only today's data can still be late
    monkeypatch.setattr(daily_module, "today_new_york", lambda: clock["today"])
    early = rows_before((data_server.root / "cboe/indices/VIX_History.csv").read_bytes(), day)
    data_server.bodies[INDEX_PATH + "/VIX_History.csv"] = [early]  # the first request: not out yet
    w = shutil.copy(before_late_vix, tmp_path / "w.duckdb")
    summary = daily_flow(as_of=day, source="http", warehouse=str(w), export_dir=str(tmp_path / "e"))
    assert data_server.hits[INDEX_PATH + "/VIX_History.csv"] == 2
    assert summary.signal is not None and not summary.signal["stale"]

    # never published: after the retries the run publishes a stale signal rather than none
    later = date(2024, 8, 6)
    clock["today"] = later
    data_server.bodies[INDEX_PATH + "/VIX_History.csv"] = [
        rows_before((data_server.root / "cboe/indices/VIX_History.csv").read_bytes(), later)
    ] * 3
    state = daily_flow(
        as_of=later,
        source="http",
        warehouse=str(shutil.copy(before_late_vix, tmp_path / "w2.duckdb")),
        export_dir=str(tmp_path / "e2"),
        return_state=True,
    )
    summary2 = state.result()
    # the waiting is Prefect's: one task run, tried 3 times, with AwaitingRetry states between
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id]))
        )
        (check,) = [r for r in runs if r.name.startswith("ingest-todays-data")]
        assert check.run_count == 3 and check.state.is_completed()
        history = [s.name for s in client.read_task_run_states(check.id)]
    assert history.count("AwaitingRetry") == 2
    assert (
        summary2.signal is not None
        and summary2.signal["stale"]
        and "VIX has no close" in summary2.signal["stale_reason"]
    )
    assert data_server.hits[INDEX_PATH + "/VIX_History.csv"] == 2 + 3  # the first try and 2 retries


def test_a_scheduled_run_waits_for_late_data_by_rescheduling_not_sleeping(
    prefect_harness: None,
    before_late_vix: Path,
    data_server: DataServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A deployment run that finds today's data not out yet schedules the next try of the same
    deployment `late_data_delay_s` later and ends (no worker slot held while waiting); that try
    publishes once the data is out; the last try publishes stale rather than nothing. (Each
    warehouse starts from a copy of ``before_late_vix``.)"""
    from datetime import UTC, datetime, timedelta

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
    from prefect.flow_engine import run_flow

    import alvh.flows.daily as daily_module
    from alvh.flows.daily import daily_flow

    for key, value in data_server.settings_overrides().items():
        monkeypatch.setenv(f"ALVH_{key.upper()}", value)
    monkeypatch.setenv("ALVH_LATE_DATA_RETRIES", "2")
    monkeypatch.setenv("ALVH_LATE_DATA_DELAY_S", "1800")
    day = date(2024, 8, 5)
    monkeypatch.setattr(daily_module, "today_new_york", lambda: day)
    vix_path = INDEX_PATH + "/VIX_History.csv"
    full = (data_server.root / "cboe/indices/VIX_History.csv").read_bytes()
    data_server.bodies[vix_path] = [rows_before(full, day)]  # not out yet at the first try
    dep_id = daily_flow.to_deployment(name="late-data-test").apply()
    params = {
        "as_of": day,
        "source": "http",
        "warehouse": str(shutil.copy(before_late_vix, tmp_path / "w.duckdb")),
        "export_dir": str(tmp_path / "e"),
    }

    def run_from_deployment(parameters: dict[str, object]) -> object:
        with get_client(sync_client=True) as client:
            fr = client.create_flow_run_from_deployment(dep_id, parameters=parameters)
        return run_flow(daily_flow, flow_run=fr, parameters=parameters, return_type="result")

    def scheduled_runs() -> list[object]:
        with get_client(sync_client=True) as client:
            runs = client.read_flow_runs(deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[dep_id])))
        return [r for r in runs if r.state is not None and r.state.is_scheduled()]

    t0 = datetime.now(UTC)
    first = run_from_deployment(params)
    assert first.status == "rescheduled" and first.signal is None  # type: ignore[attr-defined]
    assert data_server.hits[vix_path] == 1  # one try, no retry inside the run
    (nxt,) = scheduled_runs()
    assert nxt.parameters["attempt"] == 2 and nxt.parameters["as_of"] == "2024-08-05"  # type: ignore[attr-defined]
    start = nxt.expected_start_time  # type: ignore[attr-defined]
    assert t0 + timedelta(seconds=1790) <= start <= datetime.now(UTC) + timedelta(seconds=1810)

    # the worker picks it up at its time (here: at once); the data is out now
    data_server.bodies.pop(vix_path)
    second = run_from_deployment({**params, "attempt": 2})
    assert second.status == "published" and second.signal is not None and not second.signal["stale"]  # type: ignore[attr-defined]

    # the last try (attempt 3 of 3) with the data still late publishes stale and schedules nothing more
    later = date(2024, 8, 6)
    monkeypatch.setattr(daily_module, "today_new_york", lambda: later)
    data_server.bodies[vix_path] = [rows_before(full, later)]
    before = len(scheduled_runs())
    w3 = shutil.copy(before_late_vix, tmp_path / "w3.duckdb")
    fresh = {"warehouse": str(w3), "export_dir": str(tmp_path / "e3")}  # 08-06 never loaded
    last = run_from_deployment({**params, **fresh, "as_of": later, "attempt": 3})
    assert last.status == "published" and last.signal is not None and last.signal["stale"]  # type: ignore[attr-defined]
    assert len(scheduled_runs()) == before
