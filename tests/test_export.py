"""Exports: formula neutralisation, snapshot switch, and no rewrite when nothing changed."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import polars as pl

from alvh.warehouse.connection import open_warehouse
from alvh.warehouse.export import export_marts, neutralise_formulas


def test_formula_like_text_is_neutralised() -> None:
    f = pl.DataFrame(
        {"reason": ['=HYPERLINK("x")', "+1", "-2 contracts", "@SUM(A1)", "hold", None], "n": [1, 2, 3, 4, 5, 6]}
    )
    out = neutralise_formulas(f)["reason"].to_list()
    assert out == ['\'=HYPERLINK("x")', "'+1", "'-2 contracts", "'@SUM(A1)", "hold", None]


def test_snapshots_switch_atomically_and_skip_when_unchanged(fresh_signal_warehouse: Path, tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    with open_warehouse(fresh_signal_warehouse) as con:
        assert export_marts(con, exports) is True
        first = os.readlink(exports / "current")
        files = sorted(p.name for p in (exports / "current").iterdir())
        assert "indicators_daily.csv" in files and "parquet" in files
        assert export_marts(con, exports) is False  # unchanged: nothing written
        assert os.readlink(exports / "current") == first
        con.execute("DELETE FROM marts.indicators_daily WHERE session_date < DATE '1991-01-01'")
        assert export_marts(con, exports) is True
        second = os.readlink(exports / "current")
    assert second != first
    assert [p.name for p in (exports / "snapshots").iterdir()] == [second.split("/")[1]]  # old one cleaned
    back = pl.read_csv(exports / "current" / "indicators_daily.csv", try_parse_dates=True)
    assert back["session_date"].min().year == 1991


def test_snapshots_are_readable_as_the_umask_allows(fresh_signal_warehouse: Path, tmp_path: Path) -> None:
    """Issue: snapshot folders were 0700, so a BI service account could not read them."""
    old = os.umask(0o022)
    try:
        with open_warehouse(fresh_signal_warehouse) as con:
            export_marts(con, tmp_path / "exp")
    finally:
        os.umask(old)
    snap = (tmp_path / "exp" / "current").resolve()
    assert snap.stat().st_mode & 0o777 == 0o755
    assert (snap / "indicators_daily.csv").stat().st_mode & 0o044 == 0o044


def test_signals_show_explains_what_is_published_and_a_missing_warehouse(
    fresh_signal_warehouse: Path, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from alvh.cli import app

    res = CliRunner().invoke(
        app, ["signals", "show", "--date", "2019-05-01", "--warehouse", str(fresh_signal_warehouse)]
    )
    assert res.exit_code == 1
    assert "nothing is published yet" in res.output and "alvh backfill --start 2019-05-01" in res.output
    # backfill is suggested only where it can give a signal (issue, QA: also for weekends and the future)
    for day, why in (
        ("2019-05-04", "2019-05-04 is not an NYSE session"),
        ("2099-01-02", "2099-01-02 is in the future"),
        ("1995-01-03", "the warehouse has no complete data for 1995-01-03"),
    ):
        res = CliRunner().invoke(app, ["signals", "show", "--date", day, "--warehouse", str(fresh_signal_warehouse)])
        text = " ".join(res.output.split())
        assert res.exit_code == 1 and why in text and "alvh backfill" not in text, text
    res = CliRunner().invoke(app, ["signals", "show", "--warehouse", str(tmp_path / "missing.duckdb")])
    assert res.exit_code == 1 and "no warehouse at" in res.output and "alvh run" in res.output


def test_snapshot_database_serves_readers_without_blocking_the_writer(
    fresh_signal_warehouse: Path, tmp_path: Path
) -> None:
    """Readers that must never delay a run open ``current/signals.duckdb``: the marts as
    published, in a file the next export replaces atomically while the reader keeps its own."""
    import subprocess
    import sys

    import duckdb

    exports = tmp_path / "exports"
    with open_warehouse(fresh_signal_warehouse) as con:
        export_marts(con, exports)
        published = con.sql("SELECT * FROM marts.indicators_daily ORDER BY session_date").pl()
    snap_db = exports / "current" / "signals.duckdb"
    with duckdb.connect(str(snap_db), read_only=True) as reader:
        assert reader.sql("SELECT * FROM marts.indicators_daily ORDER BY session_date").pl().equals(published)
    code = (
        "import duckdb, sys, time\n"
        f"con = duckdb.connect({str(snap_db)!r}, read_only=True)\n"
        "print(con.execute('SELECT count(*) FROM marts.indicators_daily').fetchone()[0], flush=True)\n"
        "sys.stdin.readline()\n"
        "print(con.execute('SELECT count(*) FROM marts.indicators_daily').fetchone()[0], flush=True)\n"
    )
    reader_proc = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert reader_proc.stdout is not None and reader_proc.stdin is not None
    before = int(reader_proc.stdout.readline())
    with open_warehouse(fresh_signal_warehouse) as con:  # the writer is not blocked by that reader
        con.execute("DELETE FROM marts.indicators_daily WHERE session_date < DATE '1991-01-01'")
        assert export_marts(con, exports) is True
        after_rows = con.execute("SELECT count(*) FROM marts.indicators_daily").fetchone()
    reader_proc.stdin.write("\n")
    reader_proc.stdin.flush()
    assert int(reader_proc.stdout.readline()) == before  # the reader kept its consistent snapshot
    reader_proc.wait(timeout=30)
    with duckdb.connect(str(exports / "current" / "signals.duckdb"), read_only=True) as reader:
        assert reader.execute("SELECT count(*) FROM marts.indicators_daily").fetchone() == after_rows


def test_the_plan_prints_reasons_as_text_never_as_markup() -> None:
    """Issue (QA): a reason with [brackets] lost them on the terminal (rich read them as markup)."""
    from rich.console import Console

    from alvh.cli.render import signal_panel

    signal = {
        "session_date": date(2026, 1, 7), "vix_close": 15.38, "regime": "elevated", "ratio_current": 0.0,
        "ratio_target": 0.6, "ic_short_vega_usd": 7025.0, "breakeven_low": 6609.0, "breakeven_high": 7046.0,
        "stale": False, "stale_reason": None, "breadth_missing": False, "positions_note": "imported [10 × 19C]",
    }  # fmt: skip
    layer = {
        "layer": 3, "contract_expiry": date(2026, 3, 18), "strike": 24.0, "current_qty": 0, "model_target_qty": 76,
        "target_qty": 76, "trade_qty": 76, "action": "OPEN", "reason": "held beyond M3: [bold]2026-06-17[/bold]",
    }  # fmt: skip
    console = Console(record=True, width=300)
    console.print(signal_panel(signal, [layer]))
    text = console.export_text()
    assert "held beyond M3: [bold]2026-06-17[/bold]" in text and "positions: imported [10 × 19C]" in text
