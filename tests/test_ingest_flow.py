"""End to end: the real ``ingest_flow`` (Prefect) over HTTP from a local server and from the
folder, into a temporary DuckDB, checked against values read from the files themselves."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from alvh.schemas.registry import TABLES
from tests.support.cboe_server import INDEX_PATH, VX_PATH, DataServer

pytestmark = pytest.mark.flow
AS_OF = date(2026, 7, 22)  # the last date in the shared VIX file
GROWING = {"meta.ingest_run", "meta.flow_run", "meta.staging_build"}  # one row per run by design


def manifest(data_dir: Path, name: str) -> list[dict[str, str]]:
    with (data_dir / "cboe/vx_futures" / name).open(newline="") as fh:
        return list(csv.DictReader(fh))


def file_rows(path: Path) -> int:
    return sum(1 for line in path.read_text().splitlines()[1:] if line.strip())


def snapshot(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {t: con.sql(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in TABLES if t not in GROWING}


def q(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.sql(sql).fetchall()


def test_ingest_over_http_end_to_end(
    prefect_harness: None, http_env: DataServer, data_dir: Path, tmp_path: Path
) -> None:
    from alvh.flows.ingest import ingest_flow

    db = tmp_path / "alvh.duckdb"
    summary = ingest_flow(source="http", end=AS_OF, warehouse=str(db))
    assert not summary.failed

    # exact values from the real files
    vix = dict(
        q(
            db,
            "SELECT session_date, close FROM staging.stg_index_daily WHERE symbol='VIX' "
            "AND session_date IN ('2018-02-05','2020-03-16','2024-08-05')",
        )
    )
    assert vix == {date(2018, 2, 5): 37.32, date(2020, 3, 16): 82.69, date(2024, 8, 5): 38.57}
    assert q(
        db,
        "SELECT settle FROM staging.stg_vx_futures WHERE contract_expiry='2020-03-18' AND trade_date='2020-03-16'",
    ) == [(72.625,)]
    assert q(db, "SELECT count(*) FROM staging.stg_index_daily WHERE session_date='2024-06-19'") == [(0,)]
    assert q(db, "SELECT count(*) FROM raw.cboe_index WHERE date='2024-06-19' AND symbol='VIX'") == [(1,)]

    # breadth: vendor CSV after the Unicorn archive ends; the 2016-03-11 glitch is quarantined
    breadth = {
        r[0]: r[1:]
        for r in q(
            db,
            "SELECT session_date, advances, declines, provider FROM "
            "staging.stg_breadth WHERE session_date IN "
            "('2018-02-05','2020-03-16','2025-04-04','2016-03-11')",
        )
    }
    assert breadth[date(2018, 2, 5)] == (318, 2747, "tradingview")
    assert breadth[date(2020, 3, 16)] == (146, 2913, "tradingview")
    assert breadth[date(2025, 4, 4)] == (309, 2539, "tradingview")
    assert date(2016, 3, 11) not in breadth
    glitch = q(
        db,
        "SELECT file, line_no, raw_text, reason FROM meta.quarantine WHERE source='staging.stg_breadth' "
        "AND raw_text LIKE '2016-03-11,%'",
    )
    # the line exactly as read (line 3138 of the vendor file), not a summary of the counts
    vendor_lines = (data_dir / "breadth/tradingview_usi_pynecore/tv_nyse_adv_decl_daily.csv").read_text().splitlines()
    assert [g[:3] for g in glitch] == [("tv_nyse_adv_decl_daily.csv", 3138, vendor_lines[3137])]
    assert vendor_lines[3137] == "2016-03-11,1,38,1,38,1,7,1,7" and "glitch" in glitch[0][3]

    # row counts per source, computed from the files (and CBOE's manifests), not from our code
    for symbol in ["VIX", "VIX9D", "VIX3M", "VVIX", "SKEW"]:
        expected = file_rows(data_dir / f"cboe/indices/{symbol}_History.csv")
        assert q(db, f"SELECT count(*) FROM raw.cboe_index WHERE symbol='{symbol}'") == [(expected,)]
    vix6m = file_rows(data_dir / "cboe/indices/VIX6M_History.csv")
    assert q(db, "SELECT count(*) FROM raw.cboe_index WHERE symbol='VIX6M'") == [(vix6m - 1,)]  # 2019-07-05 High<Low
    spx = file_rows(data_dir / "spx/SPX_History_yfinance_GSPC.csv")
    assert q(db, "SELECT count(*) FROM raw.cboe_index WHERE symbol='SPX'") == [(spx,)]
    monthly = sum(
        int(r["rows"]) for r in manifest(data_dir, "MANIFEST_cfe_current.csv") if r["kind_computed"] == "monthly"
    )
    assert q(db, "SELECT count(*) FROM raw.vx_futures WHERE provider='cfe_current'") == [(monthly,)]
    legacy = sum(int(r["rows"]) for r in manifest(data_dir, "MANIFEST_cfe_legacy_2008_2015.csv"))
    assert q(db, "SELECT count(*) FROM raw.vx_futures WHERE provider='cfe_legacy'") == [(legacy,)]
    unicorn = 6 * file_rows(data_dir / "breadth/unicorn_nyse/NYSE_advn.csv") + 6  # no header line
    assert q(db, "SELECT count(*) FROM raw.breadth WHERE provider='unicorn'") == [(unicorn,)]
    assert q(db, "SELECT count(*) FROM raw.breadth WHERE provider='tradingview'") == [(2 * 5656,)]
    assert q(db, "SELECT count(*) FROM raw.rates WHERE series='DTB3'") == [(6804 - 283,)]

    # 404s are recorded as missing, not fatal; the one real conflict is recorded
    missing = {r[0] for r in q(db, "SELECT file_name FROM meta.ingest_run WHERE status='missing'")}
    assert {"VX_2022-03-15.csv", "VX_2024-06-18.csv", "VX_2025-03-18.csv"} <= missing
    assert q(
        db,
        "SELECT chosen_provider, chosen_settle, other_provider, other_settle FROM meta.vx_conflict "
        "WHERE trade_date='2013-05-28' AND contract_expiry='2014-02-19'",
    ) == [("cfe_current", 20.1, "cfe_legacy", 10.25)]

    # a second run fetches only what can have changed and changes nothing
    before = snapshot(db)
    old_contract = VX_PATH + "/VX_2020-03-18.csv"
    assert http_env.hits[old_contract] == 1
    again = ingest_flow(source="http", end=AS_OF, warehouse=str(db))
    assert again.rows_inserted == again.rows_updated == again.rows_quarantined == 0
    assert again.count("loaded") == 0 and again.not_fetched > 100
    assert http_env.hits[old_contract] == 1  # expired and already loaded: not requested again
    # files that can still change are asked for conditionally: the server answers 304, no body
    vix = INDEX_PATH + "/VIX_History.csv"
    assert http_env.hits[vix] == 2 and http_env.not_modified[vix] == 1
    assert q(db, "SELECT status FROM meta.ingest_run WHERE file_name = 'VIX_History.csv' ORDER BY started_at") == [
        ("loaded",),
        ("unchanged",),
    ]
    assert snapshot(db) == before


def test_ingest_from_folder_twice_is_idempotent(prefect_harness: None, data_dir: Path, tmp_path: Path) -> None:
    from alvh.flows.ingest import ingest_flow

    db = tmp_path / "alvh.duckdb"
    first = ingest_flow(source=str(data_dir), warehouse=str(db))
    assert first.count("loaded") == 7 + 388 + 96 + 32 + 6 + 1 + 1 + 2 and not first.failed  # … + the 2 event calendars
    # the Feb-2018 contract exists only as a reconstructed file; weeklies keep the monthly label
    assert q(
        db,
        "SELECT settle, provider FROM staging.stg_vx_futures WHERE contract_expiry='2018-02-14' "
        "AND trade_date='2018-02-05'",
    ) == [(33.225, "reconstructed")]
    assert q(
        db,
        "SELECT DISTINCT is_monthly, futures_label FROM staging.stg_vx_futures WHERE contract_expiry='2018-02-21'",
    ) == [(False, "G (Feb 2018)")]
    before = snapshot(db)
    second = ingest_flow(source=str(data_dir), warehouse=str(db))
    assert second.count("unchanged") == first.count("loaded")
    assert second.rows_inserted == second.rows_updated == 0
    assert snapshot(db) == before
    runs = q(db, "SELECT status, files_loaded, files_unchanged FROM meta.flow_run ORDER BY started_at")
    assert runs == [("completed", 533, 0), ("completed", 0, 533)]


def test_a_folder_with_no_source_file_is_an_error_not_silent_success(prefect_harness: None, tmp_path: Path) -> None:
    """Issue (QA): `alvh ingest --source-dir <empty folder>` printed nothing and exited 0."""
    from alvh.core.errors import SourceError
    from alvh.flows.ingest import ingest_flow

    empty, db = tmp_path / "downloads", tmp_path / "alvh.duckdb"
    (empty / "notes").mkdir(parents=True)
    (empty / "notes" / "readme.txt").write_text("not a source file")
    with pytest.raises(SourceError, match=r"no source file found under .*downloads: expected the CBOE"):
        ingest_flow(source=str(empty), warehouse=str(db))
    assert q(db, "SELECT status FROM meta.flow_run") == [("failed",)]


def test_many_failures_are_summed_up_in_a_short_error() -> None:
    """Issue (QA): offline, `alvh run` printed one 31,105-character line listing 86 URLs."""
    from datetime import UTC, datetime

    from alvh.flows.ingest import failures_in_brief
    from alvh.warehouse.load import FileOutcome

    now = datetime(2026, 1, 7, tzinfo=UTC)
    failed = [
        FileOutcome("r", "vx_current", "http", f"https://cdn.cboe.com/VX_{i}.csv", f"VX_{i}.csv", None, 0, 0, 0, 0, 0,
                    now, now, "failed", "NameResolutionError " + "x" * 1000)
        for i in range(86)
    ]  # fmt: skip
    text = failures_in_brief(failed)
    assert text.count("https://") == 3 and text.endswith(
        "; … and 83 more (all in meta.flow_run.message and the run's logs)"
    )
    assert len(text) < 1200
    assert failures_in_brief(failed[:2]).count("https://") == 2 and "more" not in failures_in_brief(failed[:2])
