"""The IC's loss by side (issue: the backtest a professional would sign, item 4): per cycle and
per event window the put side (short put spread) and the call side (short call spread), which
add up to the IC; a VIX-call hedge can offset only the put side's losses."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from alvh.transforms.backtest.metrics import ic_side_cycles
from alvh.transforms.backtest.readable import Costs, Market, Strategy
from alvh.transforms.backtest.run import run_backtest
from alvh.transforms.signal import HedgeParams


def test_cycles_by_hand() -> None:
    # SPX monthly expiries 2024-01-19, 2024-02-16, 2024-03-15 among the sessions
    days = [
        date(2024, 1, 18),
        date(2024, 1, 19),
        date(2024, 2, 1),
        date(2024, 2, 16),
        date(2024, 3, 1),
        date(2024, 3, 15),
    ]
    daily = pl.DataFrame(
        {
            "session_date": days,
            "ic_equity": [0.0, 100.0, -500.0, -900.0, 300.0, 1_100.0],
            "ic_put_equity": [0.0, 50.0, -700.0, -1_250.0, -200.0, 250.0],
        }
    )
    c = ic_side_cycles(daily)
    assert c["opened"].to_list() == [date(2024, 1, 19), date(2024, 2, 16)]
    assert c["ic_pnl_usd"].to_list() == [-1_000.0, 2_000.0]
    assert c["put_pnl_usd"].to_list() == [-1_300.0, 1_500.0]
    assert c["call_pnl_usd"].to_list() == [300.0, 500.0]


def test_sides_add_up_and_the_2020_crash_was_on_the_put_side(market: Market) -> None:
    p = HedgeParams()
    res = run_backtest(
        market, [Strategy("unhedged", "unhedged", p)], date(2019, 12, 20), date(2020, 6, 30), Costs(), "s"
    )
    d = res.daily
    # call side = IC − put side on every session, and the put side carries the crash
    assert (d["ic_equity"] - d["ic_put_equity"] - d["ic_call_equity"]).abs().max() < 1e-6
    march = res.ic_sides.filter(pl.col("expiry") == date(2020, 3, 20)).row(0, named=True)
    assert march["put_pnl_usd"] < -50_000 and march["put_pnl_usd"] < march["call_pnl_usd"]
    ev = res.events.filter(pl.col("event") == "2020-03").row(0, named=True)
    assert ev["ic_put_pnl_usd"] + ev["ic_call_pnl_usd"] == pytest.approx(ev["ic_pnl_usd"])
    assert ev["ic_put_pnl_usd"] < 0
    assert res.ic_sides.height == 6 and res.ic_sides["expiry"].is_sorted()  # Jan → Jun 2020
