"""``alvh doctor``: one table of checks, exit code 1 when anything needs attention."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alvh.cli import app
from alvh.pipeline.signals import run_batch
from alvh.transforms.signal import HedgeParams
from alvh.warehouse.connection import open_warehouse

runner = CliRunner()


def checks_of(out: str) -> dict[str, str]:
    """check name → status, from the doctor's table (rows whose first cell is a check name)."""
    found = {}
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip("│┃ ").split("│")]
        if len(cells) >= 2 and cells[1] in ("ok", "attention", "info"):
            found[cells[0]] = cells[1]
    return found


@pytest.mark.flow
def test_doctor_passes_on_a_healthy_warehouse(prefect_harness: None, data_dir: Path, tmp_path: Path) -> None:
    """The main job's warehouse after two evenings (`alvh run --as-of 2026-01-06`, then 2026-01-07,
    from the shared data as it was known on 2026-01-07): every check is ok (or only informative),
    exit 0."""
    from alvh.flows.daily import daily_flow
    from tests.support.truncate import truncate_tree

    source, db, exports = tmp_path / "src", tmp_path / "alvh.duckdb", tmp_path / "exports"
    truncate_tree(data_dir, source, date(2026, 1, 7))  # rows dated later would be "a day that has not happened"
    for day in (date(2026, 1, 6), date(2026, 1, 7)):  # the second evening: the real files' glitch lines
        # were quarantined the first (doctor flags new quarantine rows), and unchanged files are not re-read
        summary = daily_flow(as_of=day, source=str(source), warehouse=str(db), export_dir=str(exports))
        assert summary.status == "published"
    res = runner.invoke(app, ["doctor", "--warehouse", str(db), "--export-dir", str(exports), "--as-of", "2026-01-07"])
    checks = checks_of(res.stdout)
    assert {"VIX close", "VX futures", "NYSE breadth", "published signal", "last ingest run", "warehouse"} <= set(
        checks
    ), res.stdout
    assert [name for name, status in checks.items() if status == "attention"] == [], res.stdout
    assert res.exit_code == 0, res.stdout
    text = " ".join(res.stdout.split())
    assert "last 2026-01-07, expected 2026-01-07" in text


def test_doctor_names_a_warehouse_without_a_recorded_run(fresh_signal_warehouse: Path, tmp_path: Path) -> None:
    """A warehouse loaded by plain functions (no flow, so no meta.flow_run row) with two sessions
    published: VX futures and the signal are current and the keys unique, but no run is recorded
    (attention, exit 1). (Its index rows run past 2026-01-07, flagged too.)"""
    with open_warehouse(fresh_signal_warehouse) as con:
        run_batch(con, [date(2026, 1, 6), date(2026, 1, 7)], HedgeParams(), "d", "h", use_gx=False)
    res = runner.invoke(
        app,
        [
            "doctor",
            "--warehouse",
            str(fresh_signal_warehouse),
            "--export-dir",
            str(tmp_path / "exports"),
            "--as-of",
            "2026-01-07",
        ],
    )
    checks = checks_of(res.stdout)
    assert checks["last ingest run"] == "attention" and "no run recorded" in res.stdout, res.stdout
    assert checks["VX futures"] == checks["published signal"] == checks["warehouse"] == "ok", res.stdout
    assert checks["export snapshot"] == "info"  # no exports yet
    assert res.exit_code == 1
    assert "last 2026-01-07, expected 2026-01-07" in " ".join(res.stdout.split())  # VX futures and the signal


def test_doctor_flags_stale_sources(fresh_signal_warehouse: Path) -> None:
    res = runner.invoke(app, ["doctor", "--warehouse", str(fresh_signal_warehouse), "--as-of", "2026-11-27"])
    assert res.exit_code == 1
    assert "session(s) behind" in res.stdout


def test_doctor_flags_rows_dated_after_today(fresh_signal_warehouse: Path) -> None:
    """Issue (QA): a signal published for 2027-06-01 was reported "ok" on 2026-11-30."""
    res = runner.invoke(app, ["doctor", "--warehouse", str(fresh_signal_warehouse), "--as-of", "2018-01-05"])
    assert res.exit_code == 1
    text = " ".join(res.stdout.split())
    assert "is after 2018-01-05: rows for a day that has not happened" in text


def test_doctor_without_a_warehouse(tmp_path: Path) -> None:
    res = runner.invoke(app, ["doctor", "--warehouse", str(tmp_path / "none.duckdb")])
    assert res.exit_code == 1 and "does not exist" in res.stdout


def test_doctor_detects_signals_that_disagree_with_inputs_and_a_broken_carry(fresh_signal_warehouse: Path) -> None:
    """Issue (first hour): a revision loaded by `alvh ingest` left 15 published rows disagreeing
    with the mart, and a middle backfill with other settings broke the carry — doctor saw neither."""
    from datetime import date

    import duckdb

    from alvh.core.calendar import sessions_between
    from alvh.pipeline.signals import run_batch
    from alvh.transforms.signal import HedgeParams
    from alvh.warehouse.connection import open_warehouse
    from alvh.warehouse.doctor import published_history_checks

    with open_warehouse(fresh_signal_warehouse) as con:
        run_batch(con, sessions_between(date(2018, 1, 2), date(2018, 2, 28)), HedgeParams(), "r", "h", use_gx=False)
        assert [c.status for c in published_history_checks(con)] == ["ok", "ok"]
    with duckdb.connect(str(fresh_signal_warehouse)) as con:
        con.execute("UPDATE marts.indicators_daily SET vix_close = vix_close + 2 WHERE session_date = '2018-02-06'")
        con.execute(
            "UPDATE marts.hedge_position SET qty = qty + 7 WHERE session_date = '2018-02-12' "
            "AND strike = (SELECT min(strike) FROM marts.hedge_position WHERE session_date = '2018-02-12')"
        )
        inputs, carry = published_history_checks(con)
    assert inputs.status == "attention" and "signals disagree with their inputs" in inputs.detail
    assert "2018-02-06 vix_close" in inputs.detail and "alvh backfill --start 2018-02-06" in inputs.detail
    assert carry.status == "attention" and "2018-02-13" in carry.detail
