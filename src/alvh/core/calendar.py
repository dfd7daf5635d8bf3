"""Exchange calendars: XNYS sessions, VIX and SPX monthly expirations, days to expiry.

Conventions
-----------
- A *session* is an NYSE (XNYS) trading day from ``exchange-calendars``.
- ``dte`` is calendar days to expiry; ``tdte`` is XNYS sessions strictly after the trade date up to
  and including the expiry date (so ``tdte == 0`` on the expiry day itself).
- VIX monthly expiration (ALVH_METHOD.md §2): the Wednesday 30 calendar days before the third
  Friday of the following calendar month; if that Wednesday, or that Friday, is not a session, the
  session before that Wednesday.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    import exchange_calendars as xcals
    import numpy as np
    import polars as pl

NEW_YORK = ZoneInfo("America/New_York")


def today_new_york() -> date:
    """The calendar date in New York now (the exchange's day)."""
    return datetime.now(NEW_YORK).date()


CALENDAR_START = date(1900, 1, 2)
CALENDAR_END = date(2035, 12, 31)


@lru_cache(maxsize=1)
def _xnys() -> xcals.ExchangeCalendar:
    import exchange_calendars as xcals  # pandas with it: loaded when a calendar is first needed

    return xcals.get_calendar("XNYS", start=CALENDAR_START.isoformat(), end=CALENDAR_END.isoformat())


def _recorded_closures() -> np.ndarray | None:
    """The weekday closures recorded from the installed exchange_calendars version
    (``alvh.core.xnys_closures``), as ``datetime64[D]``; None when another version is installed."""
    from importlib.metadata import PackageNotFoundError, version

    import numpy as np

    from alvh.core.xnys_closures import CLOSURES, EXCHANGE_CALENDARS_VERSION

    try:
        installed = version("exchange-calendars")
    except PackageNotFoundError:
        return None
    if installed != EXCHANGE_CALENDARS_VERSION:
        return None
    return np.array(CLOSURES.split(), dtype="datetime64[D]")


@lru_cache(maxsize=1)
def _session_array() -> np.ndarray:
    """All XNYS sessions in the calendar's bounds as ``datetime64[D]``, sorted: the weekdays less
    the closures recorded for the installed exchange_calendars (no pandas import), else the
    sessions exchange_calendars itself gives."""
    import numpy as np  # loaded with the first calendar question, not on import

    closures = _recorded_closures()
    if closures is not None:
        days = np.arange(np.datetime64(CALENDAR_START, "D"), np.datetime64(CALENDAR_END, "D") + 1)
        return days[np.is_busday(days, holidays=closures)]
    sessions = _xnys().sessions
    if sessions.tz is not None:
        sessions = sessions.tz_convert(None)
    return np.asarray(sessions.to_numpy().astype("datetime64[D]"))


@lru_cache(maxsize=1)
def _session_set() -> frozenset[date]:
    return frozenset(_session_array().astype(object))


def _check_bounds(d: date) -> None:
    if not CALENDAR_START <= d <= CALENDAR_END:
        raise ValueError(f"date {d} is outside the XNYS calendar loaded by alvh ({CALENDAR_START} .. {CALENDAR_END})")


def is_session(d: date) -> bool:
    """True if ``d`` is an XNYS trading day."""
    _check_bounds(d)
    return d in _session_set()


def sessions_between(start: date, end: date) -> list[date]:
    """XNYS sessions with ``start <= session <= end`` (calendar dates, inclusive)."""
    import numpy as np

    arr = _session_array()
    lo = np.searchsorted(arr, np.datetime64(start, "D"), side="left")
    hi = np.searchsorted(arr, np.datetime64(end, "D"), side="right")
    return [d.item() for d in arr[lo:hi]]


def previous_session(d: date) -> date:
    """The last XNYS session strictly before ``d``."""
    import numpy as np

    arr = _session_array()
    i = np.searchsorted(arr, np.datetime64(d, "D"), side="left")
    if i == 0:
        raise ValueError(f"no XNYS session before {d} in the loaded calendar")
    result: date = arr[i - 1].item()
    return result


def next_session(d: date, *, inclusive: bool = False) -> date:
    """The first XNYS session after ``d`` (on or after it when ``inclusive``)."""
    import numpy as np

    arr = _session_array()
    i = np.searchsorted(arr, np.datetime64(d, "D"), side="left" if inclusive else "right")
    if i == len(arr):
        raise ValueError(f"no XNYS session after {d} in the loaded calendar")
    result: date = arr[i].item()
    return result


def session_offset(d: date, n: int) -> date:
    """The XNYS session ``n`` sessions after the first session on or after ``d`` (``n`` may be
    negative; 0 gives that session itself)."""
    import numpy as np

    arr = _session_array()
    i = int(np.searchsorted(arr, np.datetime64(d, "D"), side="left")) + n
    if not 0 <= i < len(arr):
        raise ValueError(f"{n:+d} sessions from {d} falls outside the loaded XNYS calendar")
    result: date = arr[i].item()
    return result


def third_friday(year: int, month: int) -> date:
    """The third Friday of a calendar month."""
    first = date(year, month, 1)
    offset = (4 - first.weekday()) % 7  # Friday is weekday 4
    return first + timedelta(days=offset + 14)


def vix_expiration(year: int, month: int) -> date:
    """Expiry date of the monthly VIX future/option contract expiring in ``year``-``month``.

    Parameters
    ----------
    year, month
        The calendar month in which the contract expires (the month of its CFE label,
        e.g. ``H (Mar 2020)`` → 2020, 3).

    Returns
    -------
    datetime.date
        The Wednesday 30 calendar days before the third Friday of the *following* month; if that
        Wednesday or that Friday is an exchange holiday, the XNYS session before the Wednesday
        (e.g. 2014-03-18, 2022-03-15, 2024-06-18).
    """
    nxt_year, nxt_month = (year + 1, 1) if month == 12 else (year, month + 1)
    friday = third_friday(nxt_year, nxt_month)
    wednesday = friday - timedelta(days=30)
    if not is_session(wednesday) or not is_session(friday):
        return previous_session(wednesday)
    return wednesday


def spx_monthly_expiration(year: int, month: int) -> date:
    """Standard SPX monthly option expiry: the third Friday, or the session before it if the
    Friday is a holiday (AM-settled on that day's open)."""
    friday = third_friday(year, month)
    return friday if is_session(friday) else previous_session(friday)


def vix_monthly_expirations(first: date, last: date) -> list[date]:
    """Every VIX monthly expiration falling in ``[first, last]``, ascending."""
    out: list[date] = []
    y, m = first.year, first.month
    while (y, m) <= (last.year, last.month):
        e = vix_expiration(y, m)
        if first <= e <= last:
            out.append(e)
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def trading_days_between(start: date, end: date) -> int:
    """XNYS sessions in ``(start, end]`` (negative if ``end < start``)."""
    import numpy as np

    arr = _session_array()
    return int(
        np.searchsorted(arr, np.datetime64(end, "D"), side="right")
        - np.searchsorted(arr, np.datetime64(start, "D"), side="right")
    )


def trading_days_to(trade_dates: pl.Series, expiries: pl.Series) -> pl.Series:
    """``tdte``: XNYS sessions in ``(trade_date, expiry]`` for each pair, vectorised (Int32).

    Negative when the trade date is after the expiry (a data error callers should reject).
    """
    import numpy as np
    import polars as pl

    arr = _session_array()
    td = trade_dates.cast(pl.Date).to_numpy().astype("datetime64[D]")
    ex = expiries.cast(pl.Date).to_numpy().astype("datetime64[D]")
    n = np.searchsorted(arr, ex, side="right") - np.searchsorted(arr, td, side="right")
    return pl.Series("tdte", n.astype(np.int32))


def session_mask(dates: pl.Series) -> pl.Series:
    """Boolean Series: is each date an XNYS session?"""
    import numpy as np
    import polars as pl

    arr = _session_array()
    d = dates.cast(pl.Date).to_numpy().astype("datetime64[D]")
    idx = np.clip(np.searchsorted(arr, d, side="left"), 0, len(arr) - 1)
    return pl.Series("is_session", arr[idx] == d)
