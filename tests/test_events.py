"""The macro calendar (family ``events``, issue 22): the real files in place and tampered copies.

Expected values are computed here from the file text with the ``csv`` module (never from alvh's
parser), or are literal dates checked against the BLS / Federal Reserve calendars.
"""

from __future__ import annotations

import csv
import shutil
import uuid
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest

from alvh.core.settings import load_settings
from alvh.flows.ingest import ingest_checks
from alvh.pipeline.load import load_family
from alvh.pipeline.staging import build_staging
from alvh.pipeline.wiring import fetch_all, make_source
from alvh.warehouse.connection import open_warehouse
from alvh.warehouse.load import FileOutcome

AS_OF = date(2026, 7, 22)
BLS = ("cpi", "ppi", "nfp")
COMPUTED = ("opex", "quad_witching", "vix_expiry")


def q(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.sql(sql).fetchall()


def file_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def misdated(path: Path) -> list[tuple[int, str]]:
    """(line number, line) of every BLS row whose ref_period month is not before its release
    month, computed from the text alone."""
    out = []
    for n, line in enumerate(file_lines(path), start=1):
        if n == 1:
            continue
        row = next(csv.reader([line]))
        if row[1] in BLS:
            ref = datetime.strptime(row[3], "%B %Y").date()
            released = date.fromisoformat(row[0])
            if (ref.year, ref.month) >= (released.year, released.month):
                out.append((n, line))
    return out


def load(db: Path, folder: Path, accept: tuple[str, ...] = ()) -> list[FileOutcome]:
    """One ingest of the ``events`` family from ``folder`` (the checks of a run dated AS_OF),
    then staging."""
    settings = load_settings(source_dir=folder, warehouse=db)
    src = make_source(settings, AS_OF)
    files = fetch_all(src, src.list_files("events"), "events", 1)
    run_id = str(uuid.uuid4())
    with open_warehouse(db) as con:
        out = load_family(
            con,
            "events",
            files,
            run_id=run_id,
            source_kind="directory",
            checks=ingest_checks(settings, AS_OF, accept),
        )
        build_staging(con, run_id)
    return out


def snapshot(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    tables = ("raw.macro_event", "staging.macro_event", "meta.quarantine", "meta.revision")
    return {t: q(db, f"SELECT * EXCLUDE ({_volatile(t)}) FROM {t} ORDER BY ALL") for t in tables}


def _volatile(table: str) -> str:
    return {
        "raw.macro_event": "loaded_at",
        "staging.macro_event": "source_file",
        "meta.quarantine": "quarantined_at",
        "meta.revision": "revised_at",
    }[table]


@pytest.fixture(scope="module")
def events_db(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[FileOutcome]]:
    """A warehouse with the real calendars loaded once, from the shared folder in place."""
    db = tmp_path_factory.mktemp("events") / "alvh.duckdb"
    return db, load(db, data_dir / "events")


def test_the_real_calendars_load_and_exactly_the_20_misdated_rows_are_quarantined(
    data_dir: Path, events_db: tuple[Path, list[FileOutcome]]
) -> None:
    db, outcomes = events_db
    macro = data_dir / "events" / "macro_events.csv"
    lines = file_lines(macro)
    assert len(lines) - 1 == 2237  # PROVENANCE §14
    bad = misdated(macro)
    # the 20 January rows of 2000–2007 dated one year early: 8 CPI, 8 PPI, 4 NFP
    assert len(bad) == 20
    assert Counter(next(csv.reader([line]))[1] for _, line in bad) == {"cpi": 8, "ppi": 8, "nfp": 4}
    assert {line[:7] for _, line in bad} <= {f"{y}-01" for y in range(2000, 2008)}
    quarantined = q(db, "SELECT source, file, line_no, raw_text, reason FROM meta.quarantine ORDER BY line_no")
    assert [(r[2], r[3]) for r in quarantined] == bad  # each named with its line, exactly as read
    assert {(r[0], r[1]) for r in quarantined} == {("events", str(macro))}
    assert all(
        r[4].startswith(f"ref_period {next(csv.reader([r[3]]))[3]} is not before its release") for r in quarantined
    )
    assert quarantined[0][2:4] == (2, "2000-01-05,nfp,Employment Situation release,December 2000,08:30,bls:sched2000")

    computed = Counter(next(csv.reader([line]))[1] for line in lines[1:]) & Counter({e: 10**6 for e in COMPUTED})
    assert computed == {"opex": 336, "quad_witching": 112, "vix_expiry": 336}
    by_file = {o.file_name: o for o in outcomes}
    m, f = by_file["macro_events.csv"], by_file["fomc_dates.csv"]
    assert (m.status, m.rows_read, m.rows_inserted, m.rows_quarantined) == ("loaded", 2237 - 784, 2237 - 784 - 20, 20)
    # computed rows are skipped, not errors, and the run says so
    assert m.message == (
        "784 computed rows skipped (opex 336, quad_witching 112, vix_expiry 336): dates the file computes, "
        "not facts (alvh keeps its own expiration calendar)"
    )
    assert q(db, "SELECT message FROM meta.ingest_run WHERE file_name = 'macro_events.csv'") == [(m.message,)]
    fomc_rows = len(file_lines(data_dir / "events" / "fomc_dates.csv")) - 1
    assert fomc_rows == 275
    assert (f.status, f.rows_read, f.rows_inserted, f.rows_quarantined) == ("loaded", 275, 275, 0)
    assert f.message == "21 rows with MP1 = 1.00E+10 (missing) loaded with a null surprise"
    assert q(db, "SELECT calendar, count(*) FROM raw.macro_event GROUP BY 1 ORDER BY 1") == [
        ("fomc_dates", 275),
        ("macro_events", 1433),
    ]
    assert q(db, f"SELECT count(*) FROM raw.macro_event WHERE event IN {COMPUTED}") == [(0,)]
    # the lineage of every raw row points at its line as read
    row = q(db, "SELECT source_file, line_no, raw_text, period FROM raw.macro_event WHERE release_date = '2026-01-13'")
    assert row == [("macro_events.csv", 2125, lines[2124], "2025-12")]


def test_a_second_run_changes_nothing(data_dir: Path, tmp_path: Path) -> None:
    db = tmp_path / "alvh.duckdb"
    load(db, data_dir / "events")
    before = snapshot(db)
    again = load(db, data_dir / "events")
    assert [(o.status, o.rows_inserted, o.rows_updated) for o in again] == [("unchanged", 0, 0)] * 2
    assert snapshot(db) == before
    # the same bytes under another folder are parsed again: still nothing to write
    copy = tmp_path / "copy"
    shutil.copytree(data_dir / "events", copy)
    (copy / "macro_events.csv").write_bytes((data_dir / "events" / "macro_events.csv").read_bytes() + b"\n")
    third = load(db, copy)
    assert {o.file_name: (o.status, o.rows_inserted, o.rows_updated) for o in third} == {
        "fomc_dates.csv": ("unchanged", 0, 0),
        "macro_events.csv": ("loaded", 0, 0),
    }
    assert snapshot(db)["raw.macro_event"] == before["raw.macro_event"]
    assert snapshot(db)["meta.revision"] == []


def test_a_copy_with_one_fomc_date_moved_is_refused_by_the_revision_guard(data_dir: Path, tmp_path: Path) -> None:
    db = tmp_path / "alvh.duckdb"
    load(db, data_dir / "events")
    before = snapshot(db)
    tampered = tmp_path / "tampered"
    shutil.copytree(data_dir / "events", tampered)
    path = tampered / "macro_events.csv"
    text = path.read_text()
    line = "2019-01-30,fomc_decision,January 29-30 Meeting - 2019,,14:00,fed:fomchistorical2019"
    assert text.count(line) == 1
    path.write_text(text.replace(line, line.replace("2019-01-30", "2019-01-31", 1)))
    out = {o.file_name: o for o in load(db, tampered)}
    refused = out["macro_events.csv"]
    assert refused.status == "failed"
    assert refused.message is not None and "suspect revision" in refused.message
    assert "calendar=macro_events, event=fomc_decision, period=2019-01 release_date 2019-01-30 → 2019-01-31" in (
        refused.message
    )
    assert "--accept-revisions macro_events.csv" in refused.message
    assert snapshot(db) == before  # nothing of it was written
    # applied on purpose, it is a recorded revision of the stored date
    accepted = {o.file_name: o for o in load(db, tampered, accept=("macro_events.csv",))}
    assert accepted["macro_events.csv"].rows_updated == 1
    revision = q(db, "SELECT row_key, row_date, column_name, old_value, new_value, accepted_by FROM meta.revision")
    assert [r[:5] for r in revision] == [
        (
            "calendar=macro_events, event=fomc_decision, period=2019-01",
            date(2019, 1, 30),
            "release_date",
            "2019-01-30",
            "2019-01-31",
        )
    ]
    assert revision[0][5] is not None
    assert q(
        db, "SELECT release_date FROM staging.macro_event WHERE event = 'fomc_decision' AND period = '2019-01'"
    ) == [(date(2019, 1, 31),)]


def test_impossible_rows_of_a_tampered_copy_are_quarantined_as_read(data_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "events"
    shutil.copytree(data_dir / "events", folder)
    path = folder / "macro_events.csv"
    lines = file_lines(path)
    n = len(lines)
    extra = [
        "2026-03-12,cpi,Consumer Price Index release,February 2026,08:30,bls:typo",  # Feb CPI again, another day
        "2026-05-01,gdp,Gross Domestic Product,Q1 2026,08:30,bea",  # an event alvh does not know
        "2026-05-04,ppi,Producer Price Index release,May 2026,08:30,bls:typo",  # May's PPI before May ends
        "2026-05-05,cpi,Consumer Price Index release,April 2026,8.30,bls:typo",  # not HH:MM
    ]
    feb = next(i for i, line in enumerate(lines, start=1) if ",cpi," in line and "February 2026" in line)
    path.write_text("\n".join([*lines, *extra]) + "\n")
    db = tmp_path / "alvh.duckdb"
    out = {o.file_name: o for o in load(db, folder)}
    assert out["macro_events.csv"].rows_quarantined == 20 + 5
    rows = q(
        db,
        f"SELECT line_no, raw_text, reason FROM meta.quarantine WHERE line_no IN ({feb}, {n + 1}, {n + 2}, {n + 3}, {n + 4}) ORDER BY 1",
    )
    got = {r[0]: (r[1], r[2]) for r in rows}
    both = f"cpi 2026-02 on 2026-03-11 (line {feb}), 2026-03-12 (line {n + 1})"
    assert got[feb] == (lines[feb - 1], f"the same release appears more than once with different values: {both}")
    assert got[n + 1] == (extra[0], f"the same release appears more than once with different values: {both}")
    assert got[n + 2][0] == extra[1] and got[n + 2][1].startswith("unknown event gdp: alvh knows cpi, ppi, nfp")
    assert got[n + 3] == (
        extra[2],
        "ref_period May 2026 is not before its release on 2026-05-04: a release of a month comes after the month "
        "(this row is dated a year early, or its period is wrong)",
    )
    assert got[n + 4] == (extra[3], "time_et is not HH:MM (24-hour, New York): 8.30")
    # February's CPI is left out rather than guessed; March's is there
    assert q(db, "SELECT count(*) FROM staging.macro_event WHERE event = 'cpi' AND period = '2026-02'") == [(0,)]
    assert q(db, "SELECT release_date FROM staging.macro_event WHERE event = 'cpi' AND period = '2026-03'") == [
        (date(2026, 4, 10),)
    ]


def test_a_day_first_fomc_file_is_refused_whole(data_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "events"
    folder.mkdir()
    (folder / "fomc_dates.csv").write_text("Date,MP1,Unscheduled\n30/1/2019,0.01,0\n20/3/2019,0,0\n")
    db = tmp_path / "alvh.duckdb"
    (out,) = load(db, folder)
    assert out.status == "failed" and out.message is not None and "dates are not month-first" in out.message
    assert q(db, "SELECT count(*) FROM raw.macro_event") == [(0,)]


def file_releases(path: Path, kinds: tuple[str, ...], years: range) -> set[tuple[str, date, str]]:
    """(event, release date, time) of every row of ``kinds`` released in ``years``, the misdated
    rows excepted, from the text alone."""
    bad = {n for n, _ in misdated(path)}
    out = set()
    for n, line in enumerate(file_lines(path), start=1):
        if n == 1 or n in bad:
            continue
        row = next(csv.reader([line]))
        day = date.fromisoformat(row[0])
        if row[1] in kinds and day.year in years:
            out.add((row[1], day, row[4]))
    return out


def test_the_staging_calendar_equals_the_file_for_every_cpi_ppi_and_fomc_decision_2007_2026(
    data_dir: Path, events_db: tuple[Path, list[FileOutcome]]
) -> None:
    db, _ = events_db
    kinds = ("cpi", "ppi", "fomc_decision")
    expected = file_releases(data_dir / "events" / "macro_events.csv", kinds, range(2007, 2027))
    staged = {
        (e, d, t)
        for e, d, t in q(
            db,
            "SELECT event, release_date, time_et FROM staging.macro_event "
            f"WHERE event IN {kinds} AND year(release_date) BETWEEN 2007 AND 2026",
        )
    }
    assert staged == expected
    assert Counter(e for e, _, _ in staged) == {"cpi": 237, "ppi": 237, "fomc_decision": 159}
    # January 2007's CPI and PPI were dated a year early in the file: left out, not guessed
    assert q(db, "SELECT count(*) FROM staging.macro_event WHERE period = '2006-12' AND event IN ('cpi', 'ppi')") == [
        (0,)
    ]


@pytest.mark.parametrize(
    ("event", "release", "time_et", "session", "timing", "ref_period"),
    [
        # the 2025 shutdown: September's CPI on 2025-10-24, no October CPI, November's on 2025-12-18
        ("cpi", date(2025, 10, 24), "08:30", date(2025, 10, 24), "before_open", "September 2025"),
        ("cpi", date(2025, 12, 18), "08:30", date(2025, 12, 18), "before_open", "November 2025"),
        ("cpi", date(2026, 1, 13), "08:30", date(2026, 1, 13), "before_open", "December 2025"),
        ("ppi", date(2026, 1, 14), "08:30", date(2026, 1, 14), "before_open", "November 2025"),
        # FOMC decisions: 14:15 through 2012, 14:00 from 2013; they affect their own session
        ("fomc_decision", date(2008, 12, 16), "14:15", date(2008, 12, 16), "during_session", None),
        ("fomc_decision", date(2024, 6, 12), "14:00", date(2024, 6, 12), "during_session", None),
        ("fomc_decision", date(2026, 1, 28), "14:00", date(2026, 1, 28), "during_session", None),
        # the Sunday cut of 2020-03-15 affects Monday's session
        ("fomc_intermeeting", date(2020, 3, 15), None, date(2020, 3, 16), "no_session", None),
        # a Good Friday CPI affects the Monday after
        ("cpi", date(2017, 4, 14), "08:30", date(2017, 4, 17), "no_session", "March 2017"),
        # an election's results come after the close
        ("election", date(2024, 11, 5), None, date(2024, 11, 6), "after_close", None),
    ],
)
def test_releases_on_literal_dates(
    events_db: tuple[Path, list[FileOutcome]],
    event: str,
    release: date,
    time_et: str | None,
    session: date,
    timing: str,
    ref_period: str | None,
) -> None:
    db, _ = events_db
    rows = q(
        db,
        "SELECT time_et, session_date, timing, ref_period, scheduled FROM staging.macro_event "
        f"WHERE event = '{event}' AND release_date = '{release}'",
    )
    assert rows == [(time_et, session, timing, ref_period, event != "fomc_intermeeting")]


def test_no_october_2025_cpi_and_fomc_surprises_joined(events_db: tuple[Path, list[FileOutcome]]) -> None:
    db, _ = events_db
    assert q(db, "SELECT count(*) FROM staging.macro_event WHERE event = 'cpi' AND period = '2025-10'") == [(0,)]
    mp1 = dict(
        q(
            db,
            "SELECT release_date, mp1 FROM staging.macro_event WHERE event IN ('fomc_decision', 'fomc_intermeeting') "
            "AND release_date IN ('2008-01-22', '2015-12-16', '2019-01-30', '2020-03-15', '2024-06-12')",
        )
    )
    # fomc_dates.csv: 1/22/2008 -0.46501; 12/16/2015 0.02067; from 2018-08-01 the 1.00E+10 sentinel;
    # 3/16/2020 is the session the Sunday cut affects (sentinel); 2024 is after the file ends
    assert mp1 == {
        date(2008, 1, 22): -0.46501,
        date(2015, 12, 16): 0.02067,
        date(2019, 1, 30): None,
        date(2020, 3, 15): None,
        date(2024, 6, 12): None,
    }
    assert q(db, "SELECT count(*) FROM raw.macro_event WHERE calendar = 'fomc_dates' AND mp1 IS NULL") == [(21,)]


def test_the_calendars_over_http_from_a_local_server(
    data_server: Any, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The URL settings (the raw GitHub files by default) pointed at 127.0.0.1."""
    for key, value in data_server.settings_overrides().items():
        monkeypatch.setenv(f"ALVH_{key.upper()}", value)
    settings = load_settings(warehouse=tmp_path / "alvh.duckdb")
    assert settings.source_dir is None
    src = make_source(settings, AS_OF)
    refs = src.list_files("events")
    assert [(r.name, r.locator) for r in refs] == [
        ("macro_events.csv", data_server.base + "/events/macro_events.csv"),
        ("fomc_dates.csv", data_server.base + "/events/fomc_dates.csv"),
    ]
    files = fetch_all(src, refs, "events", 1)
    assert [f.content for f in files] == [(data_dir / "events" / r.name).read_bytes() for r in refs]
    with open_warehouse(tmp_path / "alvh.duckdb") as con:
        out = load_family(con, "events", files, run_id="h", source_kind="http")
    assert [(o.file_name, o.rows_inserted, o.rows_quarantined) for o in out] == [
        ("macro_events.csv", 1433, 20),
        ("fomc_dates.csv", 275, 0),
    ]


def test_the_default_urls_are_the_pinned_raw_files() -> None:
    from alvh.core.settings import setting_default

    assert setting_default("events_macro_url") == (
        "https://raw.githubusercontent.com/mslade50/New_Seasonals/a0fe2c71c2dcd2c15335eeb1265e348a8110c99e/"
        "data/macro_events.csv"
    )
    assert setting_default("events_fomc_url") == (
        "https://raw.githubusercontent.com/margaret2931/Partial-Replication-Market-Based-Monetary-Policy-Uncertainty/"
        "d841e44146b26860788e871f1f6dbbffae9d8dcf/data/fomc_dates.csv"
    )


# --- on the signal ------------------------------------------------------------------------------


def test_next_event_sentences() -> None:
    from alvh.transforms.events import NextEvent

    cpi = NextEvent("cpi", date(2026, 1, 13), "08:30", date(2026, 1, 13), 1)
    assert cpi.sentence() == "CPI before the next open (2026-01-13, 08:30 ET)"
    assert cpi.trade_note() == "; note: CPI before the next open (2026-01-13, 08:30 ET)"
    fomc = NextEvent("fomc_decision", date(2026, 1, 28), "14:00", date(2026, 1, 28), 1)
    assert fomc.sentence() == "FOMC decision during the next session (2026-01-28, 14:00 ET)"
    later = NextEvent("ppi", date(2026, 1, 30), "08:30", date(2026, 1, 30), 3)
    assert later.sentence() == "PPI in 3 sessions (2026-01-30, 08:30 ET)" and later.trade_note() == ""
    both = NextEvent("cpi", date(2024, 6, 12), "08:30", date(2024, 6, 12), 1, "FOMC decision (2024-06-12, 14:00 ET)")
    assert both.sentence() == (
        "CPI before the next open (2024-06-12, 08:30 ET); the same session: FOMC decision (2024-06-12, 14:00 ET)"
    )
    assert NextEvent.from_row({"session_date": date(2026, 1, 12)}) is None  # a row from before the columns


def test_the_indicators_mart_names_the_next_event(signal_warehouse: Path) -> None:
    cols = "next_event, next_event_date, next_event_time_et, next_event_session, next_event_sessions, next_event_also"
    rows = {
        r[0]: r[1:]
        for r in q(
            signal_warehouse,
            f"SELECT session_date, {cols} FROM marts.indicators_daily WHERE session_date IN "
            "('2026-01-09', '2026-01-12', '2026-01-13', '2026-01-27', '2024-06-11', '2020-03-13', '1999-06-01')",
        )
    }
    assert rows[date(2026, 1, 9)] == ("cpi", date(2026, 1, 13), "08:30", date(2026, 1, 13), 2, None)
    assert rows[date(2026, 1, 12)] == ("cpi", date(2026, 1, 13), "08:30", date(2026, 1, 13), 1, None)
    assert rows[date(2026, 1, 13)] == ("ppi", date(2026, 1, 14), "08:30", date(2026, 1, 14), 1, None)
    assert rows[date(2026, 1, 27)] == ("fomc_decision", date(2026, 1, 28), "14:00", date(2026, 1, 28), 1, None)
    assert rows[date(2024, 6, 11)] == (
        "cpi",
        date(2024, 6, 12),
        "08:30",
        date(2024, 6, 12),
        1,
        "FOMC decision (2024-06-12, 14:00 ET)",
    )
    # the scheduled 2020-03-18 meeting was replaced by the Sunday cut: next is the 2020-04-09 PPI
    assert rows[date(2020, 3, 13)] == ("ppi", date(2020, 4, 9), "08:30", date(2020, 4, 9), 19, None)
    assert rows[date(1999, 6, 1)] == (None,) * 6  # before the calendar covers every kind
    last = q(signal_warehouse, "SELECT max(session_date) FROM marts.indicators_daily WHERE next_event IS NOT NULL")
    assert last == [(q(signal_warehouse, "SELECT max(session_date) FROM marts.indicators_daily")[0][0],)]


def test_the_plan_for_2026_01_12_names_the_cpi_release_of_2026_01_13(fresh_signal_warehouse: Path) -> None:
    from rich.console import Console

    from alvh.cli.render import signal_panel
    from alvh.pipeline.signals import run_batch
    from alvh.report.page import PageData, render_page
    from alvh.transforms.signal import HedgeParams
    from alvh.warehouse.published import session_plan

    day = date(2026, 1, 12)
    with open_warehouse(fresh_signal_warehouse) as con:
        run_batch(con, [day], HedgeParams(), "ev", "h", use_gx=False)
        plan = session_plan(con, day)
    assert plan is not None
    signal, layers = plan
    assert signal["next_event"] == "CPI before the next open (2026-01-13, 08:30 ET)"
    console = Console(width=250, record=True)
    console.print(signal_panel(signal, layers))
    assert "next event: CPI before the next open (2026-01-13, 08:30 ET)" in console.export_text()
    page = render_page(PageData(session=day, signal=signal, layers=layers, freshness={}))
    assert '<p id="next-event">Next scheduled event: CPI before the next open (2026-01-13, 08:30 ET)</p>' in page


def test_every_trade_the_session_before_an_event_says_so(fresh_signal_warehouse: Path, tmp_path: Path) -> None:
    """2025-12-17, the session before November's CPI (2025-12-18, 08:30): the ladder opens; each
    layer's and each ticket's reason, the CSV tickets and the basket's OrderRef name the release.
    The trades themselves are those of the method (information only)."""
    from alvh.pipeline.orders import export_orders
    from alvh.pipeline.signals import run_batch
    from alvh.transforms.signal import HedgeParams

    day = date(2025, 12, 17)
    note = "; note: CPI before the next open (2025-12-18, 08:30 ET)"
    with open_warehouse(fresh_signal_warehouse) as con:
        run_batch(con, [day], HedgeParams(), "ev", "h", use_gx=False)
        basket, tickets = tmp_path / "basket.csv", tmp_path / "tickets.csv"
        n = export_orders(con, day, "ibkr-basket", basket, 0.05)
        export_orders(con, day, "csv", tickets, 0.05)
        layers = con.sql(
            f"SELECT action, trade_qty, reason FROM marts.layer_adjustment WHERE session_date = '{day}'"
        ).pl()
        orders = con.sql(f"SELECT action, reason FROM marts.hedge_order WHERE session_date = '{day}'").pl()
    assert layers["action"].to_list() == ["OPEN"] * 3 and (layers["trade_qty"] > 0).all()
    assert all(r.endswith(note) and r.count("note: CPI") == 1 for r in layers["reason"])
    assert orders.height == n == 3 and all(r.endswith(note) for r in orders["reason"])
    basket_rows = list(csv.DictReader(basket.open()))
    assert [r["OrderRef"] for r in basket_rows] == [
        f"alvh {day} #{i} L{i} OPEN for 2025-12-18; CPI before the next open (2025-12-18, 08:30 ET)" for i in (1, 2, 3)
    ]  # the limits are for the session after the deciding close
    plain = list(csv.DictReader(tickets.open()))
    assert {r["next_event"] for r in plain} == {"CPI before the next open (2025-12-18, 08:30 ET)"}
    # the same trades without the calendar: only the note differs
    with open_warehouse(fresh_signal_warehouse) as con:
        con.execute("UPDATE marts.indicators_daily SET next_event = NULL, next_event_sessions = NULL")
        run_batch(con, [day], HedgeParams(), "ev2", "h", use_gx=False)
        plain_layers = con.sql(
            f"SELECT action, trade_qty, reason FROM marts.layer_adjustment WHERE session_date = '{day}'"
        ).pl()
    assert plain_layers["trade_qty"].to_list() == layers["trade_qty"].to_list()
    assert plain_layers["reason"].to_list() == [r.removesuffix(note) for r in layers["reason"]]


def test_a_trade_further_from_an_event_carries_no_note(fresh_signal_warehouse: Path) -> None:
    from alvh.pipeline.signals import run_batch
    from alvh.transforms.signal import HedgeParams

    day = date(2025, 12, 16)  # CPI in 2 sessions
    with open_warehouse(fresh_signal_warehouse) as con:
        run_batch(con, [day], HedgeParams(), "ev", "h", use_gx=False)
        sig = con.sql(f"SELECT next_event FROM marts.hedge_signal_daily WHERE session_date = '{day}'").fetchall()
        reasons = con.sql(f"SELECT reason, trade_qty FROM marts.layer_adjustment WHERE session_date = '{day}'").pl()
    assert sig == [("CPI in 2 sessions (2025-12-18, 08:30 ET)",)]
    assert (reasons["trade_qty"] > 0).all() and not any("note: CPI" in r for r in reasons["reason"])


def test_the_loaded_fixture_has_the_calendar(loaded_warehouse: Path) -> None:
    """``loaded_warehouse`` loads every family in sources.catalog.FAMILIES: events included."""
    assert q(loaded_warehouse, "SELECT count(*) FROM staging.macro_event") == [(1433,)]
    frame = pl.DataFrame(q(loaded_warehouse, "SELECT count(*) FROM meta.quarantine WHERE source = 'events'"))
    assert frame.item() == 20


def test_an_older_warehouse_gets_the_event_columns_appended(tmp_path: Path) -> None:
    """A warehouse file from before the calendar: its marts lack the next-event columns and it
    has no event tables; opening it adds them (nullable, last), so the column order is the
    model's."""
    from alvh.schemas.columns import column_order
    from alvh.schemas.registry import TABLES

    db = tmp_path / "old.duckdb"
    with open_warehouse(db) as con:
        for col in ("next_event", "next_event_date", "next_event_time_et", "next_event_session"):
            con.execute(f"ALTER TABLE marts.indicators_daily DROP COLUMN {col}")
        con.execute("ALTER TABLE marts.indicators_daily DROP COLUMN next_event_sessions")
        con.execute("ALTER TABLE marts.indicators_daily DROP COLUMN next_event_also")
        con.execute("ALTER TABLE marts.hedge_signal_daily DROP COLUMN next_event")
        con.execute("DROP TABLE raw.macro_event")
        con.execute("DROP TABLE staging.macro_event")
    with open_warehouse(db) as con:
        for table in ("marts.indicators_daily", "marts.hedge_signal_daily", "raw.macro_event", "staging.macro_event"):
            schema, name = table.split(".")
            cols = [
                r[0]
                for r in con.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
                    "ORDER BY ordinal_position",
                    [schema, name],
                ).fetchall()
            ]
            assert cols == column_order(TABLES[table]), table
