"""§9 settlement flags: an SPX expiry whose opening print equals the previous close exactly (a
repeated print in the SPX source) still settles the IC, flagged in the backtest's daily table and
in the event table's data gaps."""

from __future__ import annotations

from datetime import date

import polars as pl

from alvh.core.calendar import spx_monthly_expiration
from alvh.transforms.backtest.readable import Costs, Market, ic_cycles, ic_daily
from alvh.transforms.signal import HedgeParams

REPEATED = [
    date(2007, 3, 16),
    date(2007, 6, 15),
    date(2007, 9, 21),
    date(2010, 8, 20),
    date(2011, 7, 15),
    date(2011, 10, 21),
    date(2012, 7, 20),
    date(2012, 10, 19),
    date(2013, 2, 15),
    date(2013, 4, 19),
]


def test_literal_market() -> None:
    rows = [
        {"session_date": date(2024, 1, 18), "spx_close": 4780.94},
        {"session_date": date(2024, 1, 19), "spx_close": 4839.81},
    ]
    m = Market(rows, {}, {}, {date(2024, 1, 19): 4780.94})
    assert m.spx_open_suspect(date(2024, 1, 19))
    assert not Market(rows, {}, {}, {date(2024, 1, 19): 4796.28}).spx_open_suspect(date(2024, 1, 19))
    assert not m.spx_open_suspect(date(2024, 1, 18))  # no open that day


def test_the_repeated_prints_of_2007_2025(market: Market) -> None:
    expiries = [spx_monthly_expiration(y, mo) for y in range(2007, 2026) for mo in range(1, 13)]
    expiries = [e for e in expiries if e in market.by_date]
    assert len(expiries) == 228
    assert [e for e in expiries if market.spx_open_suspect(e)] == REPEATED


def test_flagged_in_the_daily_table(market: Market) -> None:
    sessions = [d for d in sorted(market.by_date) if date(2007, 1, 19) <= d <= date(2007, 12, 31)]
    p = HedgeParams()
    ic = ic_daily(market, sessions, ic_cycles(market, sessions, p), p, Costs())
    flagged = ic.filter(pl.col("ic_settle_open_suspect"))["session_date"].to_list()
    assert flagged == [date(2007, 3, 16), date(2007, 6, 15), date(2007, 9, 21)]
