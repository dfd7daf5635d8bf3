"""The daily job end to end (Prefect, real files served over HTTP) and its deployment."""

from __future__ import annotations

import hashlib
import re
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from alvh.schemas.registry import TABLES
from tests.support.cboe_server import DataServer

pytestmark = pytest.mark.flow


def files_digest(folder: Path) -> dict[str, str]:
    """sha256 of every file under the export folder: CSV, Parquet, the snapshot DuckDB file and
    the GX Data Docs (rebuilt only when the published rows change)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    } | {"current ->": str((folder / "current").resolve())}


def marts(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {t: con.sql(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in TABLES if t.startswith("marts.")}


def test_daily_flow_publishes_and_reruns_identically(
    prefect_harness: None, http_env: DataServer, tmp_path: Path
) -> None:
    from alvh.flows.daily import daily_flow

    db, exports = tmp_path / "alvh.duckdb", tmp_path / "exports"
    day = date(2024, 8, 5)
    first = daily_flow(as_of=day, source="http", warehouse=str(db), export_dir=str(exports))
    assert first.status == "published" and first.sessions == [day]
    assert first.signal is not None and not first.signal["stale"] and first.signal["regime"] == "spike"
    assert [r["layer"] for r in first.layers] == [1, 2, 3]
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.sql("SELECT count(*) FROM marts.v_layer_plan").fetchall() == [(3,)]
        assert con.sql("SELECT count(*) FROM meta.validation_run WHERE NOT success").fetchall() == [(0,)]
        assert con.sql("SELECT count(DISTINCT engine) FROM meta.validation_run").fetchall() == [(3,)]
    for name in ("hedge_signal_daily", "layer_adjustment", "hedge_order", "hedge_position", "stress_scenario"):
        assert (exports / "current" / f"{name}.csv").exists()
        assert list((exports / "current" / "parquet" / name).glob("year=2024/*.parquet"))
    assert (exports / "data_docs" / "index.html").exists()
    pages = list((exports / "data_docs").rglob("*.html"))
    assert len(pages) > 1
    external = re.compile(r"<(script|link|img)[^>]*(src|href)=[\"']https?://", re.IGNORECASE)
    assert not [p for p in pages if external.search(p.read_text())], "Data Docs must load nothing from the network"
    assert first.page == (exports / "pages" / f"{day}.html").resolve() and first.page.is_file()
    assert (exports / "pages" / "index.html").is_file()
    before_marts, before_files = marts(db), files_digest(exports)
    again = daily_flow(as_of=day, source="http", warehouse=str(db), export_dir=str(exports))
    assert again.status == "unchanged"
    assert marts(db) == before_marts
    assert files_digest(exports) == before_files


def test_holiday_ends_early_with_no_session(prefect_harness: None, tmp_path: Path) -> None:
    from alvh.flows.daily import daily_flow

    summary = daily_flow(as_of=date(2024, 6, 19), warehouse=str(tmp_path / "w.duckdb"))  # Juneteenth
    assert summary.status == "no session" and summary.signal is None
    assert not (tmp_path / "w.duckdb").exists()  # nothing was touched


def test_deployment_definition(prefect_harness: None) -> None:
    from alvh.core.settings import load_settings
    from alvh.flows.deployment import daily_deployment

    dep = daily_deployment(load_settings())
    assert dep.name == "alvh-daily"
    schedule = dep.schedules[0].schedule
    assert schedule.cron == "30 17 * * 1-5" and schedule.timezone == "America/New_York"
    assert dep.concurrency_limit == 1
    assert not (Path(__file__).resolve().parents[1] / "prefect.yaml").exists()  # one definition: code


def test_prefect_yaml_is_generated_from_the_settings(prefect_harness: None, tmp_path: Path, monkeypatch) -> None:
    """`alvh deploy --write-yaml` writes prefect.yaml from the code's deployment; the cron and time
    zone come from the settings (ALVH_DAILY_CRON), and the entry point imports from anywhere."""
    from prefect.flows import load_flow_from_entrypoint
    from typer.testing import CliRunner

    from alvh.cli import app

    monkeypatch.setenv("ALVH_DAILY_CRON", "45 18 * * 1-5")
    out = tmp_path / "prefect.yaml"
    res = CliRunner().invoke(app, ["deploy", "--write-yaml", str(out), "--pool", "desk"])
    assert res.exit_code == 0, res.output
    d = yaml.safe_load(out.read_text())["deployments"][0]
    assert d["name"] == "alvh-daily" and d["concurrency_limit"] == 1 and d["work_pool"] == {"name": "desk"}
    assert d["schedules"] == [{"cron": "45 18 * * 1-5", "timezone": "America/New_York"}]
    monkeypatch.chdir(tmp_path)
    assert load_flow_from_entrypoint(d["entrypoint"]).name == "alvh-daily"


def test_settings_are_resolved_once_per_process(prefect_harness: None, tmp_path: Path, monkeypatch) -> None:
    """The CLI resolves the settings and passes the one object down to the flow (issue: one path)."""
    import shutil

    from typer.testing import CliRunner

    from alvh.cli import app
    from alvh.core import settings as settings_module

    data = (Path(__file__).resolve().parents[1] / ".." / "shared" / "data").resolve()
    folder = tmp_path / "data"
    folder.mkdir()
    shutil.copy(next(data.rglob("VIX_History.csv")), folder / "VIX_History.csv")
    calls = []
    original = settings_module.Settings.__init__

    def counted(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        calls.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(settings_module.Settings, "__init__", counted)
    res = CliRunner().invoke(app, ["ingest", "--source-dir", str(folder), "--warehouse", str(tmp_path / "w.duckdb")])
    assert "Traceback" not in res.output, res.output
    assert (tmp_path / "w.duckdb").is_file()
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("as_of", "message"),
    [
        (date(2099, 1, 2), "is in the future"),
        (date(2027, 6, 1), "is in the future"),
        (date(1900, 1, 2), "before the VIX history starts"),
        (date(1985, 1, 2), "before the VIX history starts"),
    ],
)
def test_as_of_that_no_data_can_reach_is_refused_at_once(
    prefect_harness: None, tmp_path: Path, as_of: date, message: str
) -> None:
    """Issue: --as-of 2027-06-01 slept 3 × 600 s then published 350 stale sessions; 1985 published
    5,550; 2099 and 1900 gave tracebacks. Now: refused before anything is touched."""
    from alvh.core.errors import ConfigError
    from alvh.flows.daily import daily_flow

    with pytest.raises(ConfigError, match=message):
        daily_flow(as_of=as_of, warehouse=str(tmp_path / "w.duckdb"))
    assert not (tmp_path / "w.duckdb").exists()


def test_as_of_after_the_data_ends_is_refused(
    prefect_harness: None, signal_warehouse: Path, data_dir: Path, tmp_path: Path
) -> None:
    """The shared data ends 2026-01-07: a past date after it can only be stale, so it is refused
    with the last date the data has; nothing is published."""
    import shutil

    from alvh.core.errors import ConfigError
    from alvh.core.settings import load_settings
    from alvh.flows.daily import daily_flow

    db = tmp_path / "w.duckdb"
    shutil.copy(signal_warehouse, db)
    settings = load_settings(warehouse=db, export_dir=tmp_path / "exp", source_dir=data_dir, late_data_delay_s=0.0)
    with pytest.raises(ConfigError, match=r"after the data ends \(2026-01-07: VX futures 2026-01-07\)"):
        daily_flow(as_of=date(2026, 3, 2), settings=settings)
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.sql("SELECT count(*) FROM marts.hedge_signal_daily").fetchall()[0][0] == 0


def test_run_as_of_after_the_data_ends_is_one_line_and_keeps_only_its_ingest_in_the_lineage(
    prefect_harness: None, fresh_signal_warehouse: Path, data_dir: Path, tmp_path: Path
) -> None:
    """`alvh run --as-of` a past date after the data ends, through the CLI: README ("--as-of that
    no data can reach is refused") — refused once the ingest has found where the data ends, before
    any signal is computed or published; that ingest run stays in the lineage (meta.flow_run,
    meta.ingest_run); the message names the end."""
    from typer.testing import CliRunner

    from alvh.cli import app

    db, exports = fresh_signal_warehouse, tmp_path / "exp"

    def lineage() -> dict[str, list[tuple[Any, ...]]]:
        with duckdb.connect(str(db), read_only=True) as con:
            return {
                t: con.sql(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
                for t in ("meta.flow_run", "meta.ingest_run", "meta.validation_run", "marts.hedge_signal_daily")
            }

    before = lineage()
    args = ["run", "--as-of", "2026-03-02", "--source-dir", str(data_dir), "--warehouse", str(db)]
    res = CliRunner().invoke(app, [*args, "--export-dir", str(exports)])
    assert res.exit_code == 1, res.output
    assert res.stdout == "" and "Traceback" not in res.output
    assert res.stderr.strip() == (
        "error: --as-of 2026-03-02 is after the data ends (2026-01-07: VX futures 2026-01-07): the sources have "
        "nothing for it; give a date up to 2026-01-07, or omit --as-of to signal today"
    )
    after = lineage()
    # nothing computed or published: no signal row, no validation of one, no exports
    assert after["marts.hedge_signal_daily"] == before["marts.hedge_signal_daily"] == []
    assert after["meta.validation_run"] == before["meta.validation_run"]
    assert not (exports / "current").exists()
    # the ingest that found where the data ends is in the lineage: one more flow run, completed,
    # whose files (all unchanged) are each recorded in meta.ingest_run under its run id
    assert len(after["meta.flow_run"]) == len(before["meta.flow_run"]) + 1
    with duckdb.connect(str(db), read_only=True) as con:
        run = con.sql(
            "SELECT run_id, status, files_loaded, files_unchanged, files_failed FROM meta.flow_run "
            "ORDER BY started_at DESC LIMIT 1"
        ).fetchall()[0]
        assert run[0] not in {r[0] for r in before["meta.flow_run"]}
        assert run[1:3] == ("completed", 0) and run[3] > 0 and run[4] == 0
        files = con.sql("SELECT status, count(*) FROM meta.ingest_run WHERE run_id = ? GROUP BY ALL", params=[run[0]])
        assert files.fetchall() == [("unchanged", run[3])]
    assert [r for r in after["meta.ingest_run"] if r[0] != run[0]] == before["meta.ingest_run"]


def test_today_with_data_sessions_behind_fails_at_once_instead_of_waiting(
    prefect_harness: None, signal_warehouse: Path, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue (QA): `alvh run` (today) on data that ends months earlier waited 4 × 600 s for "late"
    data. Only today's close can be late; data sessions behind is refused at once, naming the end."""
    import shutil

    import alvh.flows.daily as daily_module
    from alvh.core.errors import ConfigError
    from alvh.core.settings import load_settings
    from alvh.flows.daily import daily_flow

    monkeypatch.setattr(daily_module, "today_new_york", lambda: date(2026, 3, 2))
    db = tmp_path / "w.duckdb"
    shutil.copy(signal_warehouse, db)
    settings = load_settings(warehouse=db, export_dir=tmp_path / "exp", source_dir=data_dir, late_data_delay_s=600)
    waited: list[str] = []  # a wait for late data starts by raising LateData (Prefect retries the task)
    real_init = daily_module.LateData.__init__

    def spy(self: Exception, *args: object) -> None:
        waited.append(repr(args))
        real_init(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(daily_module.LateData, "__init__", spy)
    with pytest.raises(
        ConfigError, match=r"the data ends 2026-01-07 \(VX futures 2026-01-07\), 35 session\(s\) before"
    ):
        daily_flow(settings=settings)
    assert waited == []  # refused at once: no late-data wait was ever started
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.sql("SELECT count(*) FROM marts.hedge_signal_daily").fetchall()[0][0] == 0


def test_a_run_whose_ingest_partly_failed_prints_the_published_plan_then_the_error(
    prefect_harness: None, signal_warehouse: Path, data_dir: Path, tmp_path: Path
) -> None:
    """Issue (QA): the plan was published but not printed when some file failed to ingest."""
    import shutil

    from typer.testing import CliRunner

    from alvh.cli import app

    db = tmp_path / "w.duckdb"
    shutil.copy(signal_warehouse, db)
    src = tmp_path / "src"
    src.mkdir()
    for part in data_dir.iterdir():
        (src / part.name).symlink_to(part)
    (src / "extra").mkdir()
    (src / "extra" / "VX_2030-01-16.csv").write_text("foo,bar\n1,2\n")  # a broken download
    args = ["run", "--as-of", "2018-02-06", "--source-dir", str(src), "--warehouse", str(db)]
    res = CliRunner().invoke(app, [*args, "--export-dir", str(tmp_path / "exp")])
    text = " ".join(res.output.split())
    assert res.exit_code == 1, text
    assert "2018-02-06 VIX 29.98" in text and "OPEN" in text, text  # the plan
    assert "the signal was published, but ingest failed" in text and "VX_2030-01-16.csv" in text
    assert text.index("OPEN") < text.index("ingest failed")
