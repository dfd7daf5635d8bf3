"""The VIX expiration rule against every monthly contract in the CFE files, and the named
holiday cases. Expected dates come from the files (names and final trade dates), never from the
rule under test."""

from __future__ import annotations

import csv
import re
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest

from alvh.core.calendar import (
    is_session,
    sessions_between,
    spx_monthly_expiration,
    trading_days_to,
    vix_expiration,
)

MONTHS = {
    m: i for i, m in enumerate(["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1)
}
LABEL = re.compile(r"^[A-Z] \((\w{3}) (\d{2,4})\)$")
# Monthly expiries absent from cfe_current (PROVENANCE.md §3a: the uploader guessed dates).
MISSING_CURRENT = {
    "2013-02-13",
    "2013-05-22",
    "2014-01-22",
    "2014-03-18",
    "2014-10-22",
    "2015-07-22",
    "2017-03-22",
    "2018-02-14",
    "2018-08-22",
    "2019-02-13",
    "2019-03-19",
    "2019-05-22",
    "2022-03-15",
    "2024-06-18",
    "2025-03-18",
    "2026-05-19",
}


def label_month(label: str) -> tuple[int, int]:
    m = LABEL.match(label.strip())
    assert m, label
    year = int(m.group(2))
    return (year + 2000 if year < 100 else year), MONTHS[m.group(1)]


@pytest.mark.parametrize(
    ("year", "month", "expected"),
    [
        (2014, 3, date(2014, 3, 18)),  # Good Friday 2014-04-18 → Tuesday before the Wednesday
        (2022, 3, date(2022, 3, 15)),  # Good Friday 2022-04-15
        (2024, 6, date(2024, 6, 18)),  # Juneteenth 2024-06-19 is the Wednesday itself
        (2020, 3, date(2020, 3, 18)),
        (2018, 2, date(2018, 2, 14)),
    ],
)
def test_named_expiries(year: int, month: int, expected: date) -> None:
    assert vix_expiration(year, month) == expected


def test_legacy_files_final_trade_date_is_the_rule(data_dir: Path) -> None:
    """A legacy contract file ends on its final settlement day: that day is the expiry."""
    checked = 0
    for f in sorted((data_dir / "cboe/vx_futures/cfe_legacy_2008_2015").glob("CFE_*_VX.csv")):
        rows = [r for r in csv.reader(f.read_text().splitlines()) if r and re.match(r"\d{1,2}/\d{1,2}/\d{4}", r[0])]
        last = max(datetime.strptime(r[0], "%m/%d/%Y").date() for r in rows)
        year, month = label_month(rows[0][1])
        if last < date(2015, 4, 1):  # files end 2015-04-01: later expiries have no final row
            assert vix_expiration(year, month) == last, f.name
            checked += 1
    assert checked >= 80


def test_current_files_monthly_expiries_follow_the_rule(data_dir: Path) -> None:
    folder = data_dir / "cboe/vx_futures/cfe_current"
    names = {f.name[3:13] for f in folder.glob("VX_*.csv")}
    monthly_by_label: dict[tuple[int, int], list[str]] = {}
    for f in folder.glob("VX_*.csv"):
        with f.open(newline="") as fh:
            rows = list(csv.reader(fh))[1:]
        monthly_by_label.setdefault(label_month(rows[0][1]), []).append(f.name[3:13])
        # every file with a long life (≥ 100 rows) is a monthly contract: its date is the rule's
        if len(rows) >= 100:
            assert vix_expiration(*label_month(rows[0][1])).isoformat() == f.name[3:13], f.name
    for y in range(2013, 2027):
        for m in range(1, 13):
            if (y, m) > (2026, 9):
                continue
            e = vix_expiration(y, m).isoformat()
            assert e in names or e in MISSING_CURRENT, f"{y}-{m:02d}: {e} not in the CFE files"
    for e in MISSING_CURRENT:
        assert e not in names


def test_reconstructed_files_are_monthly_by_the_rule(data_dir: Path) -> None:
    for f in (data_dir / "cboe/vx_futures/reconstructed").glob("VX_*.csv"):
        with f.open(newline="") as fh:
            label = list(csv.reader(fh))[1][1]
        assert vix_expiration(*label_month(label)).isoformat() == f.name[3:13]


def test_sessions_and_holidays() -> None:
    assert not is_session(date(2024, 6, 19))  # Juneteenth
    assert not is_session(date(2025, 1, 9))  # national day of mourning (Carter)
    assert len(sessions_between(date(2024, 1, 1), date(2024, 12, 31))) == 252
    assert spx_monthly_expiration(2024, 3) == date(2024, 3, 15)
    assert spx_monthly_expiration(2014, 4) == date(2014, 4, 17)  # Good Friday → Thursday


def test_trading_days_to_expiry() -> None:
    td = pl.Series([date(2020, 3, 16), date(2020, 3, 18), date(2024, 6, 17)])
    ex = pl.Series([date(2020, 3, 18), date(2020, 3, 18), date(2024, 6, 21)])
    assert trading_days_to(td, ex).to_list() == [2, 0, 3]  # 2024-06-19 is a holiday


@pytest.mark.parametrize(
    ("year", "month", "expiry"),
    [
        (2008, 3, date(2008, 3, 20)),
        (2019, 4, date(2019, 4, 18)),
        (2022, 4, date(2022, 4, 14)),
        (2025, 4, date(2025, 4, 17)),
    ],
)
def test_spx_expiry_before_a_holiday_friday(year: int, month: int, expiry: date) -> None:
    """§2 (ALVH-2026.2): the Good Fridays the method names → the trading day before."""
    assert spx_monthly_expiration(year, month) == expiry


def test_next_session_skips_weekends_and_holidays() -> None:
    from alvh.core.calendar import next_session

    assert next_session(date(2018, 3, 2)) == date(2018, 3, 5)  # Friday → Monday
    assert next_session(date(2018, 3, 3), inclusive=True) == date(2018, 3, 5)  # a Saturday
    assert next_session(date(2018, 3, 5), inclusive=True) == date(2018, 3, 5)  # a session itself
    assert next_session(date(2018, 3, 29)) == date(2018, 4, 2)  # Good Friday 2018-03-30 closed


def test_the_recorded_closures_are_exchange_calendars_own() -> None:
    """The calendar loads from closures recorded from exchange_calendars (no pandas on the read-only
    commands' path): for the installed version they give exactly its sessions, and they are used.
    On failure: ``python -m tests.support.xnys_closures --write`` after an exchange_calendars upgrade."""
    from importlib.metadata import version

    import numpy as np

    from alvh.core import calendar
    from alvh.core.xnys_closures import EXCHANGE_CALENDARS_VERSION
    from tests.support.xnys_closures import module_text, xcals_sessions

    assert version("exchange-calendars") == EXCHANGE_CALENDARS_VERSION, "regenerate the recorded closures"
    assert calendar._recorded_closures() is not None
    assert np.array_equal(calendar._session_array(), xcals_sessions())
    assert module_text() == (Path(calendar.__file__).parent / "xnys_closures.py").read_text(encoding="utf-8")


def test_another_exchange_calendars_version_is_asked_directly(monkeypatch: pytest.MonkeyPatch) -> None:
    from alvh.core import calendar

    monkeypatch.setattr("alvh.core.xnys_closures.EXCHANGE_CALENDARS_VERSION", "0.0.0")
    assert calendar._recorded_closures() is None
