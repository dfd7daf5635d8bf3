"""Nothing bad gets in: each bad download of issue 12, made from a copy of the real VIX file and
handed to a warehouse that already holds the real history, ends as the issue says — refused
whole, or the bad row quarantined and the rest loaded; the revision guard both ways."""

from __future__ import annotations

import hashlib
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from alvh.pipeline.load import IngestChecks, load_family
from alvh.sources.base import FetchedFile, FileRef
from alvh.sources.families import RowChecks
from alvh.sources.plausible import Plausibility
from alvh.transforms.revision_guard import RevisionGuard, old_before
from alvh.warehouse.connection import open_warehouse

AS_OF = date(2026, 7, 22)  # the last row of the real VIX file
CHECKS = IngestChecks(
    rows=RowChecks(Plausibility(latest=date(2026, 11, 30))),
    guard=RevisionGuard(old_before=old_before(AS_OF, 10)),
)
WRITTEN = ["raw.cboe_index", "meta.revision", "meta.quarantine"]


def vix_lines(data_dir: Path) -> list[str]:
    return (data_dir / "cboe/indices/VIX_History.csv").read_text().splitlines()


def fetched(lines: list[str], name: str = "VIX_History.csv", folder: str = "/copy") -> FetchedFile:
    return FetchedFile(FileRef("cboe_index", name, f"{folder}/{name}"), ("\n".join(lines) + "\n").encode())


@pytest.fixture(scope="module")
def vix_warehouse(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse holding the real VIX history (9,234 rows), loaded once."""
    db = tmp_path_factory.mktemp("vix") / "alvh.duckdb"
    with open_warehouse(db) as con:
        out = load_family(
            con,
            "cboe_index",
            [fetched(vix_lines(data_dir), folder=str(data_dir))],
            run_id="r0",
            source_kind="directory",
            checks=CHECKS,
        )
    assert out[0].rows_inserted == 9234
    return db


@pytest.fixture()
def wh(vix_warehouse: Path, tmp_path: Path) -> Path:
    db = tmp_path / "alvh.duckdb"
    shutil.copy(vix_warehouse, db)
    return db


def load(db: Path, lines: list[str], run: str = "r1", checks: IngestChecks = CHECKS) -> Any:
    with open_warehouse(db) as con:
        return load_family(con, "cboe_index", [fetched(lines)], run_id=run, source_kind="directory", checks=checks)[0]


def dump(db: Path, tables: list[str]) -> dict[str, list[tuple[Any, ...]]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {t: con.sql(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in tables}


def q(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.sql(sql).fetchall()


# --- the issue's table, row by row --------------------------------------------------------------


def test_date_price_header_is_refused(wh: Path, data_dir: Path) -> None:
    lines = vix_lines(data_dir)
    closes = ["Date,Price"] + [f"{ln.split(',')[0]},{ln.split(',')[4]}" for ln in lines[1:]]
    before = dump(wh, WRITTEN)
    out = load(wh, closes)
    assert out.status == "failed"
    assert "wrong header for VIX" in out.message and "DATE,OPEN,HIGH,LOW,CLOSE" in out.message
    assert "Date,Price" in out.message
    assert dump(wh, WRITTEN) == before


def test_day_first_file_is_refused_whole(wh: Path, data_dir: Path) -> None:
    lines = vix_lines(data_dir)
    swapped = [lines[0]]
    for ln in lines[1:]:
        m, d, y = ln.split(",")[0].split("/")
        swapped.append(f"{d}/{m}/{y}," + ln.split(",", 1)[1])
    assert swapped[1].startswith("02/01/1990,")
    before = dump(wh, WRITTEN)
    out = load(wh, swapped)
    assert out.status == "failed" and out.rows_quarantined == 0
    # 1990-01-15 is the first date whose day is above 12: line 11 of the file
    assert "dates are not month-first" in out.message and "line 11" in out.message and "15/01/1990" in out.message
    assert dump(wh, WRITTEN) == before


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("07/23/2026,987654.25,987654.25,987654.25,987654.25", "implausible open 987654.25: outside [1.0, 250.0]"),
        ("07/23/2026,17.1,17.9,16.8,NaN", "not a finite number in column 'close': NaN"),
        ("01/02/2099,17.1,17.9,16.8,17.5", "date 2099-01-02 is after the run date 2026-11-30"),
    ],
)
def test_bad_row_is_quarantined_and_the_rest_loads(wh: Path, data_dir: Path, row: str, reason: str) -> None:
    lines = vix_lines(data_dir)
    # a new session after the real history (07/24) loads beside the bad row
    out = load(wh, [*lines, row, "07/24/2026,17.2,18.0,16.9,17.45"])
    assert (out.status, out.rows_inserted, out.rows_updated, out.rows_quarantined) == ("loaded", 1, 0, 1)
    assert q(wh, "SELECT file, line_no, raw_text, reason FROM meta.quarantine") == [
        ("/copy/VIX_History.csv", 9236, row, reason)
    ]
    assert q(wh, "SELECT count(*), max(close) FROM raw.cboe_index") == [(9235, 82.69)]
    assert q(wh, "SELECT close FROM raw.cboe_index WHERE date = '2026-07-24'") == [(17.45,)]


# --- the revision guard ---------------------------------------------------------------------------


def revise(lines: list[str], dates: list[str], close: str) -> list[str]:
    """The real lines with the close of ``dates`` (MM/DD/YYYY) set to ``close``."""
    return [",".join([*ln.split(",")[:4], close]) if ln.split(",")[0] in dates else ln for ln in lines]


def test_many_revisions_refuse_the_file_and_write_nothing(wh: Path, data_dir: Path) -> None:
    lines = vix_lines(data_dir)
    # six recent sessions revised (limit 5): suspect by count alone
    days = ["07/15/2026", "07/16/2026", "07/17/2026", "07/20/2026", "07/21/2026", "07/22/2026"]
    before = dump(wh, WRITTEN)
    out = load(wh, revise(lines, days, "21.000000"))
    assert out.status == "failed" and out.rows_updated == 0
    assert "would revise 6 stored row(s)" in out.message and "more than revision_max_rows = 5" in out.message
    assert "symbol=VIX, date=2026-07-15 close 15.67 → 21.0" in out.message
    assert "--accept-revisions VIX_History.csv" in out.message
    assert dump(wh, WRITTEN) == before


def test_an_old_value_changed_beyond_tolerance_is_suspect(wh: Path, data_dir: Path) -> None:
    out = load(wh, revise(vix_lines(data_dir), ["02/05/2018"], "38.000000"))
    assert out.status == "failed"
    assert "1 of them older than 10 sessions (before 2026-07-08) changed by more than 0.1%" in out.message
    assert "date=2018-02-05 close 37.32 → 38.0" in out.message


def test_a_single_recent_revision_applies_and_is_recorded(wh: Path, data_dir: Path) -> None:
    out = load(wh, revise(vix_lines(data_dir), ["07/21/2026"], "17.500000"))
    assert (out.status, out.rows_updated, out.rows_inserted) == ("loaded", 1, 0)
    assert q(wh, "SELECT run_id, row_key, column_name, old_value, new_value, accepted_by FROM meta.revision") == [
        ("r1", "symbol=VIX, date=2026-07-21", "close", "17.05", "17.5", None)
    ]
    assert q(wh, "SELECT close FROM raw.cboe_index WHERE date = '2026-07-21'") == [(17.5,)]


def test_accepted_suspect_file_applies_and_records_who_and_when(wh: Path, data_dir: Path) -> None:
    import getpass

    days = ["07/15/2026", "07/16/2026", "07/17/2026", "07/20/2026", "07/21/2026", "07/22/2026"]
    checks = IngestChecks(
        rows=CHECKS.rows, guard=RevisionGuard(old_before=old_before(AS_OF, 10), accepted=frozenset({"VIX_History.csv"}))
    )
    out = load(wh, revise(vix_lines(data_dir), days, "21.000000"), checks=checks)
    assert (out.status, out.rows_updated) == ("loaded", 6)
    rev = q(wh, "SELECT count(*), min(accepted_by), max(accepted_by), count(accepted_at) FROM meta.revision")
    assert rev == [(6, getpass.getuser(), getpass.getuser(), 6)]


def test_old_before_counts_sessions() -> None:
    # 2026-07-22 (Wed): ten sessions back are 07-21 … 07-08; 07-03 (half day) is a session, 07-04 is not
    assert old_before(date(2026, 7, 22), 10) == date(2026, 7, 8)
    assert old_before(date(2026, 7, 22), 0) == date(2026, 7, 22)


# --- end to end: the CLI refuses, exits non-zero, leaves staging byte-identical; then accepts --------


def staging_digest(db: Path) -> dict[str, str]:
    tables = ["staging.stg_index_daily", "staging.stg_vx_futures", "staging.stg_breadth", "staging.stg_rates"]
    with duckdb.connect(str(db), read_only=True) as con:
        return {
            t: hashlib.sha256(con.sql(f"SELECT * FROM {t} ORDER BY ALL").pl().write_csv().encode()).hexdigest()
            for t in tables
        }


def lineage(db: Path) -> tuple[dict[str, str], set[tuple[str, date]]]:
    from alvh.warehouse.lineage import final_files, last_loaded_sha

    with duckdb.connect(str(db), read_only=True) as con:
        return last_loaded_sha(con, "cboe_index"), final_files(con, "cboe_index")


@pytest.mark.flow
def test_cli_refuses_a_suspect_file_then_accepts_it(
    prefect_harness: None, fresh_signal_warehouse: Path, data_dir: Path, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from alvh.cli import app

    db = fresh_signal_warehouse
    src = tmp_path / "src"
    src.mkdir()
    days = ["07/15/2026", "07/16/2026", "07/17/2026", "07/20/2026", "07/21/2026", "07/22/2026"]
    (src / "VIX_History.csv").write_text("\n".join(revise(vix_lines(data_dir), days, "21.000000")) + "\n")
    shutil.copy(data_dir / "cboe/indices/VVIX_History.csv", src / "VVIX_History.csv")  # unchanged: loads as such
    before_staging = staging_digest(db)
    before = dump(db, WRITTEN)
    before_lineage = lineage(db)
    args = ["ingest", "--source-dir", str(src), "--warehouse", str(db), "--end", "2026-07-22"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 1, res.output
    # the refused file is recorded as failed, never as the loaded version (the unchanged VVIX file is
    # recorded again, dated by this run: compare the refused file's own lineage, which a run that
    # crosses midnight UTC would otherwise break)
    after_sha, after_files = lineage(db)
    assert after_sha == before_lineage[0]
    assert {f for f in after_files if f[0] == "VIX_History.csv"} == {
        f for f in before_lineage[1] if f[0] == "VIX_History.csv"
    }
    text = " ".join(res.output.split())
    assert "VIX_History.csv" in text and "would revise 6 stored row(s)" in text and "15.67 → 21.0" in text
    assert staging_digest(db) == before_staging
    assert dump(db, WRITTEN) == before
    assert q(
        db,
        "SELECT file_name, status FROM meta.ingest_run WHERE run_id = "
        "(SELECT run_id FROM meta.flow_run ORDER BY started_at DESC LIMIT 1) ORDER BY 1",
    ) == [
        ("VIX_History.csv", "failed"),
        ("VVIX_History.csv", "unchanged"),
    ]

    res = CliRunner().invoke(app, [*args, "--accept-revisions", str(src / "VIX_History.csv")])
    assert res.exit_code == 0, res.output
    assert q(db, "SELECT count(*), count(accepted_by) FROM meta.revision") == [(6, 6)]
    assert q(db, "SELECT close FROM staging.stg_index_daily WHERE symbol = 'VIX' AND session_date = '2026-07-15'") == [
        (21.0,)
    ]


@pytest.mark.flow
def test_cli_prints_a_long_refusal_whole_count_first_example_and_command(
    prefect_harness: None, fresh_signal_warehouse: Path, data_dir: Path, tmp_path: Path
) -> None:
    """Issue 21: a re-ingest that would revise many published values, from a folder with a long
    path, is refused in one line that keeps the count, the first example and the
    `--accept-revisions` command whole (it was cut at 300 characters, mid-hint)."""
    from typer.testing import CliRunner

    from alvh.cli import app

    db = fresh_signal_warehouse
    src = tmp_path.joinpath("trading-desk-shared-drive", "market-data-downloads", "cboe-volatility-indices", "2026-07")
    src.mkdir(parents=True)
    lines = vix_lines(data_dir)
    days = [ln.split(",")[0] for ln in lines if ln.split(",")[0].endswith("/2024")][:100]  # old, far off
    (src / "VIX_History.csv").write_text("\n".join(revise(lines, days, "21.000000")) + "\n")
    before = dump(db, WRITTEN)
    res = CliRunner().invoke(app, ["ingest", "--source-dir", str(src), "--warehouse", str(db), "--end", "2026-07-22"])
    assert res.exit_code == 1 and "Traceback" not in res.output, res.output
    stored = q(db, "SELECT count(*) FROM raw.cboe_index WHERE source_file = 'VIX_History.csv'")[0][0]
    vix = src / "VIX_History.csv"
    first_close = next(ln for ln in lines if ln.startswith(days[0])).split(",")[4]
    error = [ln for ln in res.stderr.splitlines() if ln.startswith("error:")]  # the rest: progress bars
    assert error == [
        f"error: 1 file(s) could not be ingested (everything else was loaded): {vix}: file {vix}: suspect revision: "
        f"the file would revise 100 stored row(s) (more than revision_max_rows = 5; more than 1.0% of the {stored} "
        f"rows stored from it; 100 of them older than 10 sessions (before {old_before(AS_OF, 10)}) changed by more "
        f"than 0.1%), e.g. symbol=VIX, date=2024-01-02 close {float(first_close)} → 21.0 …; expected a few recent "
        "revisions; to apply it on purpose: alvh ingest --accept-revisions VIX_History.csv"
    ]
    assert len(error[0]) > 400 and dump(db, WRITTEN) == before  # refused whole: nothing of it written


# --- plausibility on every family -------------------------------------------------------------------

CFE = "Trade Date,Futures,Open,High,Low,Close,Settle,Change,Total Volume,EFP,Open Interest"


@pytest.mark.parametrize(
    ("family", "name", "text", "reason"),
    [
        (
            "vx_current",
            "VX_2020-03-18.csv",
            f"{CFE}\r\n2020-03-16,H (Mar 2020),0.0,0.0,0.0,0.0,726.25,0,0,0,0\r\n",
            "implausible settle 726.25: outside [0.0, 250.0]",
        ),
        (
            "vx_legacy",
            "CFE_H08_VX.csv",
            f"{CFE}\n03/19/2003,H (Mar 08),0,0,0,0,24.5,0,0,0,0\n",
            "date 2003-03-19 is before this family's plausible start 2004-03-26",
        ),
        ("unicorn", "NYSE_advn.csv", "20150824, 61000\n", "implausible value 61000: outside [0.0, 20000.0]"),
        (
            "fred",
            "DTB3.csv",
            "observation_date,DTB3\n2020-01-02,45.5\n",
            "implausible value 45.5: outside [-5.0, 30.0]",
        ),
    ],
)
def test_implausible_rows_of_every_family_are_quarantined(family: Any, name: str, text: str, reason: str) -> None:
    from alvh.sources.cfe import expiry_from_name
    from alvh.sources.families import parse_family

    expiry = expiry_from_name(name) if family.startswith("vx_") else None
    good = {
        "vx_current": "2020-03-13,H (Mar 2020),0.0,0.0,0.0,0.0,51.75,0,0,0,0\r\n",
        "vx_legacy": "03/19/2008,H (Mar 08),0,0,0,0,24.5,0,0,0,0\n",
        "unicorn": "20150825, 1500\n",
        "fred": "2020-01-03,1.52\n",
    }[family]
    f = FetchedFile(FileRef(family, name, name, expiry), (text + good).encode())
    out = parse_family(family, [f], checks=CHECKS.rows)
    assert out.parsed.rows.height == 1 and not out.failed
    assert out.parsed.quarantine.select("line_no", "raw_text", "reason").to_dicts() == [
        {"line_no": text.count("\n"), "raw_text": text.splitlines()[-1], "reason": reason}
    ]


def test_a_breadth_line_is_quarantined_whole() -> None:
    """One implausible count takes the line's other count with it (one line, one decision)."""
    from alvh.sources.families import parse_family

    text = "date,adv_close,decl_close\n2018-02-05,318,2747\n2018-02-06,31800,2747\n"
    f = FetchedFile(FileRef("vendor_breadth", "tv.csv", "tv.csv"), text.encode())
    out = parse_family("vendor_breadth", [f], checks=CHECKS.rows)
    assert sorted(out.parsed.rows["session_date"].unique().to_list()) == [date(2018, 2, 5)]
    assert out.parsed.quarantine.select("line_no", "raw_text").rows() == [(3, "2018-02-06,31800,2747")]


@pytest.mark.flow
def test_cli_the_issue_table_end_to_end(
    prefect_harness: None, fresh_signal_warehouse: Path, data_dir: Path, tmp_path: Path
) -> None:
    """The issue's bad downloads in one `alvh ingest --source-dir` on the real history: the
    Date,Price VIX file and a day-first VIX9D file are refused whole (exit 1, both named); in
    VIX3M the 987654.25, NaN and 2099 rows are quarantined with their lines while a good new row
    loads; VIX in staging is exactly as before."""
    from typer.testing import CliRunner

    from alvh.cli import app
    from alvh.core.calendar import today_new_york

    db = fresh_signal_warehouse
    src = tmp_path / "src"
    src.mkdir()
    vix = vix_lines(data_dir)
    (src / "VIX_History.csv").write_text(
        "\n".join(["Date,Price"] + [f"{ln.split(',')[0]},{ln.split(',')[4]}" for ln in vix[1:]]) + "\n"
    )
    nine = (data_dir / "cboe/indices/VIX9D_History.csv").read_text().splitlines()
    day_first = [nine[0]] + ["/".join([ln[3:5], ln[0:2], ln[6:]]) for ln in nine[1:]]
    (src / "VIX9D_History.csv").write_text("\n".join(day_first) + "\n")
    bad = [
        "07/23/2026,987654.25,987654.25,987654.25,987654.25",
        "07/24/2026,19.5,19.9,19.1,NaN",
        "01/02/2099,19.5,19.9,19.1,19.6",
    ]
    three = (data_dir / "cboe/indices/VIX3M_History.csv").read_text().splitlines()
    (src / "VIX3M_History.csv").write_text("\n".join([*three, *bad, "07/27/2026,19.6,20.1,19.2,19.85"]) + "\n")

    def vix_staging() -> list[tuple[Any, ...]]:
        return q(db, "SELECT * FROM staging.stg_index_daily WHERE symbol IN ('VIX', 'VIX9D') ORDER BY ALL")

    before = vix_staging()
    res = CliRunner().invoke(app, ["ingest", "--source-dir", str(src), "--warehouse", str(db), "--end", "2026-07-27"])
    assert res.exit_code == 1, res.output
    text = " ".join(res.output.split())
    assert "2 file(s) could not be ingested" in text
    assert "VIX_History.csv: file" in text and "wrong header for VIX" in text
    assert "VIX9D_History.csv" in text and "dates are not month-first" in text
    n = len(three)
    assert q(db, "SELECT line_no, raw_text, reason FROM meta.quarantine WHERE file LIKE '%VIX3M%' ORDER BY 1") == [
        (n + 1, bad[0], "implausible open 987654.25: outside [1.0, 250.0]"),
        (n + 2, bad[1], "not a finite number in column 'close': NaN"),
        (n + 3, bad[2], f"date 2099-01-02 is after the run date {today_new_york()}"),  # the later of --end, today
    ]
    assert q(
        db,
        "SELECT session_date, close FROM staging.stg_index_daily WHERE symbol = 'VIX3M' "
        "AND session_date > '2026-07-22'",
    ) == [(date(2026, 7, 27), 19.85)]
    assert vix_staging() == before
    assert q(db, "SELECT max(vix_close) FROM marts.indicators_daily") == [(82.69,)]


def test_a_warehouse_from_before_gains_the_new_columns(vix_warehouse: Path, tmp_path: Path, data_dir: Path) -> None:
    """meta.revision (accepted_by/at), meta.ingest_run (etag, last_modified) and raw.breadth
    (raw_text) are added to an existing file on open; its data stays and loads go on."""
    db = tmp_path / "old.duckdb"
    shutil.copy(vix_warehouse, db)
    new = [
        ("meta", "revision", "accepted_by"),
        ("meta", "revision", "accepted_at"),
        ("meta", "ingest_run", "etag"),
        ("meta", "ingest_run", "last_modified"),
        ("raw", "breadth", "raw_text"),
    ]
    with duckdb.connect(str(db)) as con:
        for schema, table, col in new:
            con.execute(f"ALTER TABLE {schema}.{table} DROP COLUMN {col}")
    out = load(db, revise(vix_lines(data_dir), ["07/21/2026"], "17.500000"))  # opens (migrates), then loads
    assert (out.status, out.rows_updated) == ("loaded", 1)
    cols = set(q(db, "SELECT table_schema, table_name, column_name FROM information_schema.columns"))
    assert set(new) <= cols
    assert q(db, "SELECT count(*) FROM raw.cboe_index") == [(9234,)]
