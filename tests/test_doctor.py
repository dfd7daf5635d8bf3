"""``alvh doctor``: one table of checks, exit code 1 when anything needs attention."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from typer.testing import CliRunner

from alvh.cli import app
from alvh.pipeline.signals import run_batch
from alvh.transforms.signal import HedgeParams
from alvh.warehouse.connection import open_warehouse

runner = CliRunner()


def test_doctor_on_a_current_warehouse(fresh_signal_warehouse: Path) -> None:
    with open_warehouse(fresh_signal_warehouse) as con:
        run_batch(con, [date(2026, 1, 6), date(2026, 1, 7)], HedgeParams(), "d", "h", use_gx=False)
    res = runner.invoke(app, ["doctor", "--warehouse", str(fresh_signal_warehouse), "--as-of", "2026-01-07"])
    out = res.stdout
    for name in (
        "VIX close",
        "VX futures",
        "NYSE breadth",
        "published signal",
        "quarantine",
        "revisions",
        "warehouse",
        "deployment",
    ):
        assert name in out
    assert "last 2026-01-07, expected 2026-01-07" in out  # VX futures and the published signal
    assert "keys unique" in out
    # the loaded warehouse has no flow_run row (it was loaded by plain functions): attention
    assert res.exit_code == 1 and "no run recorded" in out


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
