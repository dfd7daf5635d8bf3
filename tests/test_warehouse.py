"""Loading into DuckDB: DDL from the models, idempotent upserts, revisions, unchanged-file skips,
quarantine rows, and files that fail writing nothing."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from alvh.core.errors import AlvhError, WarehouseLocked
from alvh.pipeline.load import load_family
from alvh.schemas.columns import column_order
from alvh.schemas.registry import TABLES
from alvh.sources.base import FetchedFile, FileRef
from alvh.warehouse.connection import connect, open_warehouse

HEADER = "DATE,OPEN,HIGH,LOW,CLOSE\n"
V1 = HEADER + "02/02/2018,13.5,17.4,13.1,17.31\n02/05/2018,17.42,38.8,16.8,37.32\n"


def vix(content: str, name: str = "VIX_History.csv") -> FetchedFile:
    return FetchedFile(FileRef("cboe_index", name, f"/data/{name}"), content.encode())


def load(con: duckdb.DuckDBPyConnection, *files: FetchedFile, run: str = "r1") -> list:
    return load_family(con, "cboe_index", list(files), run_id=run, source_kind="directory")


@pytest.fixture()
def con(tmp_path: Path):
    with open_warehouse(tmp_path / "w.duckdb") as c:
        yield c


def test_tables_follow_the_models(con: duckdb.DuckDBPyConnection) -> None:
    for table, model in TABLES.items():
        schema, name = table.split(".")
        cols = [
            r[0]
            for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema=? AND table_name=? "
                "ORDER BY ordinal_position",
                [schema, name],
            ).fetchall()
        ]
        assert cols == column_order(model), table


def test_insert_then_identical_reload_changes_nothing(con: duckdb.DuckDBPyConnection) -> None:
    out = load(con, vix(V1))
    assert (out[0].status, out[0].rows_inserted, out[0].rows_read) == ("loaded", 2, 2)
    before = con.sql("SELECT * FROM raw.cboe_index ORDER BY date").fetchall()
    again = load(con, vix(V1), run="r2")
    assert (again[0].status, again[0].rows_inserted) == ("unchanged", 0)
    assert con.sql("SELECT * FROM raw.cboe_index ORDER BY date").fetchall() == before
    runs = con.sql("SELECT run_id, status FROM meta.ingest_run ORDER BY run_id").fetchall()
    assert runs == [("r1", "loaded"), ("r2", "unchanged")]


def test_changed_past_value_is_applied_and_recorded(con: duckdb.DuckDBPyConnection) -> None:
    load(con, vix(V1))
    revised = V1.replace("37.32", "37.33") + "02/06/2018,37.3,50.3,22.4,29.98\n"
    out = load(con, vix(revised), run="r2")
    assert (out[0].rows_inserted, out[0].rows_updated) == (1, 1)
    rev = con.sql("SELECT run_id, table_name, row_key, column_name, old_value, new_value FROM meta.revision").fetchall()
    assert rev == [("r2", "raw.cboe_index", "symbol=VIX, date=2018-02-05", "close", "37.32", "37.33")]
    close = con.sql("SELECT close, run_id FROM raw.cboe_index WHERE date='2018-02-05'").fetchall()
    assert close == [(37.33, "r2")]
    untouched = con.sql("SELECT run_id FROM raw.cboe_index WHERE date='2018-02-02'").fetchall()
    assert untouched == [("r1",)]


def test_quarantined_rows_are_kept_with_location(con: duckdb.DuckDBPyConnection) -> None:
    bad = V1 + "02/06/2018,37.3,50.3,oops,29.98\n"
    out = load(con, vix(bad))
    assert (out[0].rows_inserted, out[0].rows_quarantined, out[0].rows_read) == (2, 1, 3)
    q = con.sql("SELECT source, file, line_no, raw_text, reason FROM meta.quarantine").fetchall()
    assert q == [
        (
            "cboe_index",
            "/data/VIX_History.csv",
            4,
            "02/06/2018,37.3,50.3,oops,29.98",
            "unparseable number in column 'low': oops",
        )
    ]
    load(con, vix(bad), run="r2")  # same file again: nothing duplicated
    assert con.sql("SELECT count(*) FROM meta.quarantine").fetchall() == [(1,)]


def test_bad_file_writes_nothing_and_keeps_earlier_rows(con: duckdb.DuckDBPyConnection) -> None:
    load(con, vix(V1))
    html = vix("<!DOCTYPE html><html><body>Service Unavailable</body></html>")
    truncated = vix(V1 + "02/06/2018,37.3,50.3", name="VVIX_History.csv")
    out = load(con, html, truncated, run="r2")
    assert [o.status for o in out] == ["failed", "failed"]
    assert "HTML" in (out[0].message or "") and "truncated" in (out[1].message or "")
    assert con.sql("SELECT count(*) FROM raw.cboe_index").fetchall() == [(2,)]
    assert con.sql("SELECT symbol FROM raw.cboe_index GROUP BY 1").fetchall() == [("VIX",)]
    failed = con.sql("SELECT file_name, status FROM meta.ingest_run WHERE run_id='r2' ORDER BY 1").fetchall()
    assert failed == [("VIX_History.csv", "failed"), ("VVIX_History.csv", "failed")]


@pytest.mark.process  # starts a process
def test_second_writer_gets_warehouse_locked(tmp_path: Path) -> None:
    from tests.support import waits

    path = tmp_path / "locked.duckdb"
    code = f"import duckdb, sys; c = duckdb.connect({str(path)!r}); print('ok', flush=True); sys.stdin.readline()"
    holder = waits.holder(code, "ok")  # holds the file until released: no timer to race
    try:
        with pytest.raises(WarehouseLocked) as err:
            connect(path)
        assert f"PID {holder.pid}" in str(err.value) and str(path) in str(err.value)
    finally:
        waits.kill(holder)


def test_an_older_warehouse_gets_new_backtest_columns_without_a_rebuild(tmp_path: Path) -> None:
    """A warehouse written before a backtest model gained a NOT NULL column (backtest.daily's
    ic_put_equity, ALVH-2026.3): the derived table gets the column (NULL on the earlier runs'
    rows, which predate it) instead of a demand to rebuild the warehouse; a marts table still
    refuses a NOT NULL column it cannot fill."""
    from alvh.warehouse.migrations import migrate

    db = tmp_path / "old.duckdb"
    with duckdb.connect(str(db)) as old:
        migrate(old)
        old.execute("ALTER TABLE backtest.daily DROP COLUMN ic_put_equity")
        old.execute("ALTER TABLE backtest.daily DROP COLUMN ic_call_equity")
    with duckdb.connect(str(db)) as again:
        migrate(again)
        cols = {
            r[0]
            for r in again.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'backtest' AND table_name = 'daily'"
            ).fetchall()
        }
        assert {"ic_put_equity", "ic_call_equity"} <= cols
        again.execute("ALTER TABLE marts.layer_adjustment DROP COLUMN action")
    with duckdb.connect(str(db)) as marts_changed, pytest.raises(AlvhError, match="NOT NULL column 'action'"):
        migrate(marts_changed)
