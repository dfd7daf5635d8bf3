"""`alvh quotes import` on Cboe DataShop's real Option EOD Summary sample (2016-06-01, the whole
^VIX chain): the plain Calcs CSV (LF) and Cboe's package as delivered (a ZIP of two ZIPs whose CSVs
have CRLF endings, plus a description). Every line is accounted for; tampered copies (written to
tmp_path, never beside the real files) are quarantined line by line or refused whole."""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from alvh.core.settings import load_settings
from alvh.pipeline.quotes import QuotesImport, import_quotes
from alvh.warehouse.connection import open_warehouse
from alvh.warehouse.option_quotes import read_option_quotes

DAY = date(2016, 6, 1)
CSV = "UnderlyingOptionsEODCalcs_2016-06-01.csv"
ZIP = "OptionEODSummary_Sample_2016-06-01.zip"
CALCS_MEMBER = f"{ZIP}::UnderlyingOptionsEODCalcs_2016-06-01.zip::{CSV}"
QUOTES_MEMBER = f"{ZIP}::UnderlyingOptionsEODQuotes_2016-06-01.zip::UnderlyingOptionsEODQuotes_2016-06-01.csv"
ROW_22C = "^VIX,2016-06-01,VIX,2016-07-20,22.000,C,"  # the July 22 call: bid 0.95, ask 1.05 at the close
LINES = 724  # data lines of each layout (725 with the header)
READER_COLUMNS = [
    "quote_date",
    "root",
    "expiration",
    "strike",
    "option_type",
    "underlying_symbol",
    "bid_eod",
    "ask_eod",
    "mid",
    "two_sided",
    "bid_size_eod",
    "ask_size_eod",
    "bid_1545",
    "ask_1545",
    "underlying_bid_eod",
    "underlying_ask_eod",
    "underlying_bid_1545",
    "underlying_ask_1545",
    "implied_underlying_1545",
    "iv_1545",
    "delta_1545",
    "gamma_1545",
    "theta_1545",
    "vega_1545",
    "open_interest",
    "trade_volume",
    "layout",
    "source_file",
    "run_id",
]
LINEAGE = ("source_file", "run_id")  # where a row came from: differs between the CSV and the ZIP
STORED = ["raw.option_quote", "staging.option_quote", "meta.quarantine", "meta.revision"]


@pytest.fixture()
def options(data_dir: Path) -> Path:
    return data_dir / "options"


def run(db: Path, *files: Path, accept: tuple[str, ...] = ()) -> QuotesImport:
    return import_quotes(load_settings(warehouse=db), list(files), accept, as_of=date(2026, 12, 3))


def q(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.sql(sql).fetchall()


def dump(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    return {t: q(db, f"SELECT * FROM {t} ORDER BY ALL") for t in STORED}


def staged(db: Path, roots: tuple[str, ...] = ("VIX", "VIXW")) -> Any:
    with duckdb.connect(str(db), read_only=True) as con:
        return read_option_quotes(con, DAY, roots)


def csv_lines(options: Path) -> list[str]:
    return (options / CSV).read_text().splitlines()


def write_copy(tmp_path: Path, lines: list[str], name: str = CSV) -> Path:
    f = tmp_path / "copy" / name
    f.parent.mkdir(exist_ok=True)
    f.write_text("\n".join(lines) + "\n")
    return f


def line_of(lines: list[str], prefix: str) -> int:
    """1-based line number of the line starting with ``prefix``."""
    return next(i for i, ln in enumerate(lines, start=1) if ln.startswith(prefix))


def with_field(line: str, column: int, value: str) -> str:
    parts = line.split(",")
    parts[column] = value
    return ",".join(parts)


# --- the real files ------------------------------------------------------------------------------


def test_the_calcs_csv_loads_every_line(options: Path, tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    lines = csv_lines(options)
    assert len(lines) - 1 == LINES
    res = run(db, options / CSV)
    (f,) = res.files
    (m,) = f.members
    assert (m.name, m.status, m.kept, m.quarantined, m.refused, m.inserted) == (CSV, "loaded", 724, 0, 0, 724)
    assert m.kept + m.quarantined == LINES and f.dates == [DAY] and res.staged_dates == [DAY]
    assert q(
        db, "SELECT layout, source_file, count(*), min(line_no), max(line_no) FROM raw.option_quote GROUP BY ALL"
    ) == [("calcs", CSV, 724, 2, 725)]
    assert q(db, "SELECT count(*) FROM meta.quarantine") == [(0,)]
    assert q(
        db, "SELECT file_name, status, rows_read, rows_inserted, rows_quarantined, sha256 FROM meta.ingest_run"
    ) == [(CSV, "loaded", 724, 724, 0, hashlib.sha256((options / CSV).read_bytes()).hexdigest())]
    # a raw row keeps its line exactly as read
    n = line_of(lines, ROW_22C)
    assert q(db, f"SELECT raw_text FROM raw.option_quote WHERE line_no = {n}") == [(lines[n - 1],)]


def test_the_july_22_call_as_in_the_file(options: Path, tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    run(db, options / CSV)
    frame = staged(db)
    assert frame.columns == READER_COLUMNS and frame.height == 724
    row = frame.filter(
        (frame["expiration"] == date(2016, 7, 20)) & (frame["strike"] == 22.0) & (frame["option_type"] == "C")
    ).to_dicts()
    assert len(row) == 1
    r = row[0]
    assert (r["bid_eod"], r["ask_eod"], r["mid"], r["two_sided"]) == (0.95, 1.05, pytest.approx(1.0), True)
    assert (r["bid_1545"], r["ask_1545"], r["bid_size_eod"], r["ask_size_eod"]) == (0.95, 1.0, 15096, 8994)
    assert (r["underlying_bid_eod"], r["underlying_ask_eod"]) == (14.2, 14.2)  # spot VIX at the close
    assert (r["implied_underlying_1545"], r["iv_1545"], r["delta_1545"], r["vega_1545"]) == (
        17.4437,
        0.931,
        0.3047,
        0.0223,
    )
    assert (r["open_interest"], r["trade_volume"], r["layout"], r["source_file"]) == (76150, 2384, "calcs", CSV)
    # zero bid and ask (the expiry of the day, 76 rows) are kept, not two-sided, no mid
    expiring = frame.filter(frame["expiration"] == DAY)
    assert expiring.height == 76 and not expiring["two_sided"].any() and expiring["mid"].null_count() == 76
    assert int(frame["two_sided"].sum()) == 527 and frame["mid"].null_count() == 197
    assert staged(db, ("SPX", "SPXW")).is_empty()


def test_the_package_zip_loads_both_layouts_and_the_description_is_accounted_for(options: Path, tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    res = run(db, options / ZIP)
    (f,) = res.files
    assert [(m.name, m.status, m.kept, m.quarantined, m.refused) for m in f.members] == [
        (CALCS_MEMBER, "loaded", 724, 0, 0),
        (QUOTES_MEMBER, "loaded", 724, 0, 0),
    ]
    assert f.ignored == [f"{ZIP}::OptionEODSummary_Sample_Description.txt (not a CSV: a description)"]
    assert f.dates == [DAY] and not res.refusals
    assert q(db, "SELECT layout, count(*) FROM raw.option_quote GROUP BY 1 ORDER BY 1") == [
        ("calcs", 724),
        ("quotes", 724),
    ]
    # lineage: each CSV member with its own sha256, and the package itself with the zip's
    outer = (options / ZIP).read_bytes()
    with (
        zipfile.ZipFile(io.BytesIO(outer)) as z,
        zipfile.ZipFile(io.BytesIO(z.read(CALCS_MEMBER.split("::")[1]))) as inner,
    ):
        calcs_csv = inner.read(CSV)
    assert b"\r\n" in calcs_csv and calcs_csv.replace(b"\r\n", b"\n") == (options / CSV).read_bytes()
    runs = dict(q(db, "SELECT file_name, sha256 FROM meta.ingest_run"))
    assert runs[CALCS_MEMBER] == hashlib.sha256(calcs_csv).hexdigest()
    assert runs[ZIP] == hashlib.sha256(outer).hexdigest()
    (msg,) = q(db, f"SELECT message FROM meta.ingest_run WHERE file_name = '{ZIP}'")[0]
    assert "OptionEODSummary_Sample_Description.txt (not a CSV: a description): ignored" in msg
    # the staging row takes the Calcs layout (the quote columns of both agree)
    frame = staged(db)
    assert frame.height == 724 and set(frame["layout"]) == {"calcs"} and frame["iv_1545"].null_count() == 0


def test_zip_and_csv_give_identical_staging(options: Path, tmp_path: Path) -> None:
    a, b = tmp_path / "csv.duckdb", tmp_path / "zip.duckdb"
    run(a, options / CSV)
    run(b, options / ZIP)
    from_csv, from_zip = staged(a), staged(b)
    assert from_csv.height == from_zip.height == 724
    assert from_csv.drop(LINEAGE).equals(from_zip.drop(LINEAGE))
    assert set(from_zip["source_file"]) == {CALCS_MEMBER}


def test_the_quotes_layout_alone_has_no_calcs(options: Path, tmp_path: Path) -> None:
    with (
        zipfile.ZipFile(options / ZIP) as z,
        zipfile.ZipFile(io.BytesIO(z.read(QUOTES_MEMBER.split("::")[1]))) as inner,
    ):
        body = inner.read(QUOTES_MEMBER.split("::")[2])
    f = tmp_path / "UnderlyingOptionsEODQuotes_2016-06-01.csv"
    f.write_bytes(body)
    db = tmp_path / "w.duckdb"
    (m,) = run(db, f).files[0].members
    assert (m.kept, m.quarantined) == (724, 0)
    frame = staged(db)
    calcs = ["implied_underlying_1545", "iv_1545", "delta_1545", "gamma_1545", "theta_1545", "vega_1545"]
    assert all(frame[c].null_count() == 724 for c in calcs) and set(frame["layout"]) == {"quotes"}
    full = staged_of(options, tmp_path)
    assert frame.drop([*calcs, "layout", *LINEAGE]).equals(full.drop([*calcs, "layout", *LINEAGE]))


def staged_of(options: Path, tmp_path: Path) -> Any:
    db = tmp_path / "full.duckdb"
    run(db, options / CSV)
    return staged(db)


def test_importing_again_changes_nothing(options: Path, tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    run(db, options / ZIP)
    before = dump(db)
    again = run(db, options / ZIP)
    assert [m.status for m in again.files[0].members] == ["unchanged", "unchanged"]
    assert [(m.kept, m.quarantined) for m in again.files[0].members] == [(724, 0), (724, 0)]  # what it holds
    assert again.staged_dates == [] and dump(db) == before
    # the plain CSV of the same day: its rows are already stored, nothing is revised
    csv = run(db, options / CSV)
    (m,) = csv.files[0].members
    assert (m.status, m.kept, m.inserted, m.updated) == ("loaded", 724, 0, 0)
    assert dump(db) == before


# --- tampered copies: quarantined line by line ---------------------------------------------------


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda ln: with_field(ln, 4, "abc"), "unparseable number in column 'strike': abc"),
        (lambda ln: ln.rsplit(",", 2)[0], "expected 34 fields, found 32"),
        (
            lambda ln: with_field(ln, 3, "2016-07-32"),
            "unparseable date in column 'expiration' (expected %Y-%m-%d): 2016-07-32",
        ),
        (lambda ln: with_field(ln, 26, "1.10"), "crossed quote: bid_eod 1.1 > ask_eod 1.05"),
        (lambda ln: with_field(ln, 28, "-1.05"), "negative price in column ask_eod"),
        (
            lambda ln: with_field(with_field(ln, 2, "AAPL"), 0, "AAPL"),
            "unknown root AAPL: alvh keeps VIX, VIXW, SPX, SPXW",
        ),
        (lambda ln: with_field(ln, 5, "X"), "option_type must be C or P: X"),
        (lambda ln: with_field(ln, 3, "2016-05-18"), "expiration 2016-05-18 is before the quote date 2016-06-01"),
    ],
    ids=["strike", "fields", "date", "crossed", "negative", "root", "type", "expired"],
)
def test_a_bad_line_is_quarantined_as_read_and_the_rest_loads(
    options: Path, tmp_path: Path, change: Any, reason: str
) -> None:
    lines = csv_lines(options)
    n = line_of(lines, ROW_22C)
    lines[n - 1] = change(lines[n - 1])
    f = write_copy(tmp_path, lines)
    db = tmp_path / "w.duckdb"
    (m,) = run(db, f).files[0].members
    assert (m.status, m.kept, m.quarantined, m.refused) == ("loaded", 723, 1, 0)
    assert m.kept + m.quarantined == LINES
    assert q(db, "SELECT source, file, line_no, raw_text, reason FROM meta.quarantine") == [
        ("option_eod", str(f), n, lines[n - 1], reason)
    ]
    assert q(db, "SELECT count(*) FROM raw.option_quote") == [(723,)]
    assert q(db, "SELECT count(*) FROM staging.option_quote") == [(723,)]


def test_vixw_is_kept_like_vix(options: Path, tmp_path: Path) -> None:
    lines = csv_lines(options)
    n = line_of(lines, "^VIX,2016-06-01,VIX,2016-06-08,15.000,C,")  # a weekly
    lines[n - 1] = with_field(lines[n - 1], 2, "VIXW")
    db = tmp_path / "w.duckdb"
    (m,) = run(db, write_copy(tmp_path, lines)).files[0].members
    assert (m.kept, m.quarantined) == (724, 0)
    assert staged(db).filter(staged(db)["root"] == "VIXW")["expiration"].to_list() == [date(2016, 6, 8)]
    assert staged(db, ("VIX",)).height == 723


def test_a_line_in_a_zip_member_is_quarantined_with_its_member_path(options: Path, tmp_path: Path) -> None:
    lines = csv_lines(options)
    n = line_of(lines, ROW_22C)
    lines[n - 1] = with_field(lines[n - 1], 26, "1.10")
    package = tmp_path / "package.zip"
    with zipfile.ZipFile(package, "w") as z:
        z.writestr("day/" + CSV, "\r\n".join(lines) + "\r\n")
        z.writestr("readme.txt", "description")
    db = tmp_path / "w.duckdb"
    f = run(db, package).files[0]
    assert [(m.name, m.kept, m.quarantined) for m in f.members] == [(f"package.zip::day/{CSV}", 723, 1)]
    assert q(db, "SELECT file, line_no, raw_text FROM meta.quarantine") == [
        (f"{package}::day/{CSV}", n, lines[n - 1])  # the line as read, without its CRLF
    ]


def test_quote_columns_that_disagree_between_layouts_leave_the_option_out(options: Path, tmp_path: Path) -> None:
    calcs = csv_lines(options)
    n = line_of(calcs, ROW_22C)
    with (
        zipfile.ZipFile(options / ZIP) as z,
        zipfile.ZipFile(io.BytesIO(z.read(QUOTES_MEMBER.split("::")[1]))) as inner,
    ):
        quotes = inner.read(QUOTES_MEMBER.split("::")[2]).decode().splitlines()
    assert quotes[n - 1].startswith(ROW_22C)
    quotes[n - 1] = with_field(quotes[n - 1], 20, "1.10")  # ask_eod 1.05 → 1.10 in the Quotes layout only
    package = tmp_path / "both.zip"
    with zipfile.ZipFile(package, "w") as z:
        z.writestr(CSV, "\n".join(calcs) + "\n")
        z.writestr("quotes.csv", "\n".join(quotes) + "\n")
    db = tmp_path / "w.duckdb"
    run(db, package)
    assert staged(db).height == 723
    rows = q(db, "SELECT source, file, line_no, reason FROM meta.quarantine ORDER BY file")
    assert [(s, f, ln) for s, f, ln, _ in rows] == [
        ("staging.option_quote", f"both.zip::{CSV}", n),
        ("staging.option_quote", "both.zip::quotes.csv", n),
    ]
    assert rows[0][3].endswith("2016-06-01 VIX 2016-07-20 22.0 C: ask_eod 1.05 vs 1.1")
    assert q(db, "SELECT rows_excluded FROM meta.staging_build") == [(1,)]


# --- refused whole -------------------------------------------------------------------------------


def test_a_wrong_header_is_refused_naming_the_file_and_the_others_load(options: Path, tmp_path: Path) -> None:
    lines = csv_lines(options)
    lines[0] = lines[0].replace("bid_eod", "bid_close")
    bad = write_copy(tmp_path, lines)
    db = tmp_path / "w.duckdb"
    res = run(db, bad, options / ZIP)
    (refused,) = res.refusals
    assert refused.status == "failed" and (refused.kept, refused.quarantined, refused.refused) == (0, 0, 724)
    msg = refused.message or ""
    assert f"file {bad}, line 1: wrong header: not a Cboe DataShop Option EOD Summary file" in msg
    assert "missing bid_eod" in msg and "unexpected bid_close" in msg and "the Calcs layout (34 columns" in msg
    assert [m.status for m in res.files[1].members] == ["loaded", "loaded"]  # the others still load
    assert q(db, "SELECT count(*) FROM raw.option_quote WHERE source_file LIKE 'Underlying%'") == [(0,)]
    assert q(db, f"SELECT status FROM meta.ingest_run WHERE locator = '{bad}'") == [("failed",)]


def test_a_wrong_header_inside_a_zip_refuses_that_member_only(options: Path, tmp_path: Path) -> None:
    package = tmp_path / "mixed.zip"
    with zipfile.ZipFile(package, "w") as z:
        z.writestr(CSV, (options / CSV).read_bytes())
        z.writestr("prices.csv", "date,close\n2016-06-01,14.2\n")
    db = tmp_path / "w.duckdb"
    res = run(db, package)
    assert [(m.name, m.status, m.kept, m.refused) for m in res.files[0].members] == [
        (f"mixed.zip::{CSV}", "loaded", 724, 0),
        ("mixed.zip::prices.csv", "failed", 0, 1),
    ]
    assert f"file {package}::prices.csv, line 1: wrong header" in (res.refusals[0].message or "")


# --- the revision guard --------------------------------------------------------------------------


def test_a_reimport_that_changes_stored_quotes_needs_accepting(options: Path, tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    run(db, options / CSV)
    before = dump(db)
    lines = csv_lines(options)
    n = line_of(lines, ROW_22C)
    lines[n - 1] = with_field(lines[n - 1], 28, "1.10")  # ask_eod 1.05 → 1.10, years after the day
    revised = write_copy(tmp_path, lines)  # same name as the loaded file
    (m,) = run(db, revised).files[0].members
    assert m.status == "failed"
    assert "suspect revision: the file would revise 1 stored row(s)" in (m.message or "")
    assert f"alvh quotes import {revised} --accept-revisions {CSV}" in (m.message or "")
    assert dump(db) == before  # nothing of it was written
    (m,) = run(db, revised, accept=(str(revised),)).files[0].members
    assert (m.status, m.updated) == ("loaded", 1)
    rev = q(
        db, "SELECT table_name, column_name, old_value, new_value, row_date, accepted_by IS NOT NULL FROM meta.revision"
    )
    assert rev == [("raw.option_quote", "ask_eod", "1.05", "1.1", DAY, True)]
    r = staged(db).filter((staged(db)["strike"] == 22.0) & (staged(db)["expiration"] == date(2016, 7, 20)))
    assert r.filter(r["option_type"] == "C")["ask_eod"].to_list() == [1.1]


# --- the command line ----------------------------------------------------------------------------


def test_the_command_imports_and_reports_per_file(options: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from alvh.cli import app

    db = tmp_path / "fresh.duckdb"
    lines = csv_lines(options)
    lines[0] = lines[0].replace("root", "symbol")
    bad = write_copy(tmp_path, lines, "bad.csv")
    res = CliRunner().invoke(
        app, ["quotes", "import", str(options / ZIP), str(options / CSV), str(bad), "--warehouse", str(db)]
    )
    out = " ".join(res.output.split())
    assert res.exit_code == 1, res.output
    assert f"{options / ZIP}: 1,448 rows kept, 0 quarantined, 0 refused; quote dates 2016-06-01" in out
    assert f"{CALCS_MEMBER} (loaded): 724 rows kept, 0 quarantined, 0 refused" in out
    assert "OptionEODSummary_Sample_Description.txt (not a CSV: a description): ignored" in out
    assert f"{options / CSV} (loaded): 724 rows kept, 0 quarantined, 0 refused; quote dates 2016-06-01" in out
    assert f"{bad} (refused): 0 rows kept, 0 quarantined, 724 refused; quote dates none" in out
    error = [ln for ln in res.output.splitlines() if ln.startswith("error:")]
    assert len(error) == 1 and f"file {bad}, line 1: wrong header" in error[0]
    with open_warehouse(db) as con:
        assert read_option_quotes(con, DAY).height == 724
    again = CliRunner().invoke(app, ["quotes", "import", str(options / CSV), "--warehouse", str(db)])
    assert again.exit_code == 0 and f"{options / CSV} (unchanged): 724 rows kept" in " ".join(again.output.split())
