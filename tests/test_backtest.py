"""Backtest: fast accounting vs a slow reference to the cent, no look-ahead, hand-checked
payoffs, the event detector, and a self-contained report."""

from __future__ import annotations

import base64
import csv
import re
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alvh.report.backtest import write_report
from alvh.transforms.backtest.metrics import detect_spikes
from alvh.transforms.backtest.readable import (
    Costs,
    Market,
    Trades,
    default_strategies,
    hedge_daily,
    ic_cycles,
    ic_daily,
    run_strategy,
)
from alvh.transforms.backtest.reference import reference_equity
from alvh.transforms.backtest.run import run_backtest
from alvh.transforms.signal import HedgeParams
from tests.support.hypothesis_profiles import examples
from tests.support.market import market_of, window

P = HedgeParams()
COSTS = Costs()


@pytest.fixture(scope="module")
def market(signal_warehouse: Path) -> Market:
    return market_of(signal_warehouse)


def test_fast_accounting_equals_slow_reference_to_the_cent(market: Market) -> None:
    sessions = window(market, date(2018, 1, 2), date(2018, 6, 29))
    ics = ic_cycles(market, sessions, P)
    ic = ic_daily(market, sessions, ics, P, COSTS)
    for strategy in default_strategies(P):
        eq, trades = run_strategy(strategy, market, sessions, ic, COSTS)
        ref = reference_equity(market, sessions, ics, trades, strategy.hedge, COSTS)
        assert [r["session_date"] for r in ref] == eq["session_date"].to_list()
        for r, fast_g, fast_n in zip(ref, eq["equity_gross"], eq["equity_net"], strict=True):
            assert abs(r["equity_gross"] - fast_g) < 0.005, (strategy.name, r["session_date"])
            assert abs(r["equity_net"] - fast_n) < 0.005, (strategy.name, r["session_date"])
        if strategy.kind != "unhedged":
            assert trades.orders, strategy.name


def truncated(market: Market, cut: date) -> Market:
    return Market(
        [r for r in market.rows if r["session_date"] <= cut],
        {k: v for k, v in market.settles.items() if k[0] <= cut},
        {d: v for d, v in market.vix_open.items() if d <= cut},
        {d: v for d, v in market.spx_open.items() if d <= cut},
    )


@settings(max_examples=examples(5), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(min_value=20, max_value=230))
def test_no_look_ahead(market: Market, offset: int) -> None:
    sessions = window(market, date(2018, 1, 2), date(2018, 12, 31))
    cut = sessions[offset]
    full = run_backtest(market, default_strategies(P), sessions[0], sessions[-1], COSTS, "full").daily
    part = run_backtest(truncated(market, cut), default_strategies(P), sessions[0], cut, COSTS, "part").daily
    cols = [c for c in full.columns if c != "run_id"]
    before_full = full.filter(pl.col("session_date") < cut).select(cols).sort("strategy", "session_date")
    before_part = part.filter(pl.col("session_date") < cut).select(cols).sort("strategy", "session_date")
    assert before_part.height == before_full.height > 0
    assert before_part.equals(before_full)


def cfe_settle(data_dir: Path, expiry: date, trade: date) -> float:
    with (data_dir / f"cboe/vx_futures/cfe_current/VX_{expiry}.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            if row["Trade Date"] == trade.isoformat():
                return float(row["Settle"])
    raise AssertionError("row not found")


def test_single_vix_call_held_to_expiry_pays_its_settlement(market: Market, data_dir: Path) -> None:
    expiry, bought = date(2018, 3, 21), date(2018, 2, 20)
    final = cfe_settle(data_dir, expiry, expiry)  # the final settlement, read from CBOE's file
    strike, qty, entry = 20.0, 1, 2.35
    sessions = [d for d in window(market, date(2018, 1, 2), date(2018, 4, 30)) if bought <= d <= expiry]
    trades = Trades(
        orders=[
            {
                "session_date": bought,
                "contract_expiry": expiry,
                "strike": strike,
                "side": "BUY",
                "qty": qty,
                "model_price": entry,
            },
            {
                "session_date": expiry,
                "contract_expiry": expiry,
                "strike": strike,
                "side": "SELL",
                "qty": qty,
                "model_price": market.final_settlement(expiry)[0] - strike
                if market.final_settlement(expiry)[0] > strike
                else 0.0,
            },
        ],
        positions=[
            {"session_date": d, "contract_expiry": expiry, "strike": strike, "qty": qty} for d in sessions if d < expiry
        ],
        stale_days=set(),
    )
    h = hedge_daily(market, sessions, trades, P, COSTS)
    total = float(h["hedge_cash"].sum()) + float(h["hedge_mark"][-1]) - float(h["hedge_costs"].sum())
    expected = (max(final - strike, 0.0) - entry) * 100 * qty - qty * (0.65 + 0.05 * 100)
    assert market.final_settlement(expiry) == (final, False)
    assert total == pytest.approx(expected, abs=1e-9)


def spx_open(data_dir: Path, d: date) -> float:
    with (data_dir / "spx/SPX_History_yfinance_GSPC.csv").open() as fh:
        for row in csv.DictReader(fh):
            if datetime.strptime(row["DATE"], "%m/%d/%Y").date() == d:
                return float(row["OPEN"])
    raise AssertionError("no SPX row")


def test_ic_held_to_expiry_pays_its_expiry_value(market: Market, data_dir: Path) -> None:
    sessions = window(market, date(2018, 1, 2), date(2018, 3, 31))
    ics = ic_cycles(market, sessions, P)
    ic = ics[sessions[0]]
    frame = ic_daily(market, sessions, ics, P, COSTS)
    life = frame.filter(pl.col("session_date").is_between(ic.opened, ic.expiry))
    s = spx_open(data_dir, ic.expiry)
    payoff = sum(leg.qty * (max(s - leg.strike, 0) if leg.is_call else max(leg.strike - s, 0)) for leg in ic.legs) * 100
    # cash over the cycle (credit at the opening close + settlement at the expiry open, minus the
    # next cycle's credit on the expiry day) = credit + expiry value
    nxt = ics[ic.expiry]
    cash = float(life["ic_cash"].sum()) - nxt.credit_usd
    assert cash == pytest.approx(ic.credit_usd + payoff, abs=1e-6)
    assert float(life.filter(pl.col("session_date") == ic.opened)["ic_costs"][0]) == pytest.approx(40 * (0.65 + 30.0))


def test_event_detector_finds_the_known_spikes(market: Market) -> None:
    vix = pl.DataFrame(market.rows, infer_schema_length=None).select("session_date", "vix_close")
    ev = detect_spikes(vix)
    assert date(2018, 2, 5) in ev["first_trigger"].to_list()
    for d in (date(2018, 2, 5), date(2020, 3, 16)):
        assert ev.filter((pl.col("start") <= d) & (pl.col("end") >= d)).height == 1, d


def test_backtest_tables_report_and_named_windows(market: Market, tmp_path: Path) -> None:
    res = run_backtest(market, default_strategies(P), date(2018, 1, 2), date(2018, 12, 31), COSTS, "r")
    names = set(res.events["event"])
    assert {"2018-02", "2018-12"} <= names
    assert res.events.filter(pl.col("event") == "2018-02").height == 5  # one row per strategy
    assert set(res.summary["strategy"]) == {"unhedged", "alvh_steward", "alvh_fixed", "calls_m1_10", "calls_m2_10"}
    path = write_report(res, tmp_path / "report.html")
    text = path.read_text()
    assert not re.search(r"(src|href)\s*=\s*['\"]?(https?:)?//", text)
    assert "http://" not in text and "https://" not in text
    images = re.findall(r"src='data:image/png;base64,([^']+)'", text)
    assert len(images) == 4
    for img in images:
        assert base64.b64decode(img)[:8] == b"\x89PNG\r\n\x1a\n"


def test_full_history_has_no_long_stale_run_and_never_holds_an_expired_call(market: Market) -> None:
    """ALVH-2026.2 done-when: over 2008 → 2025 the steward engine is stale only where an input is
    genuinely missing (2 sessions without VVIX), never for a stretch, and holds no expired call."""
    from alvh.transforms.backtest.readable import Strategy, hedge_trades

    sessions = window(market, date(2008, 1, 2), date(2025, 12, 31))
    trades = hedge_trades(Strategy("alvh_steward", "alvh", P), market, sessions)
    stale = sorted(trades.stale_days)
    assert stale == [date(2010, 11, 11), date(2013, 5, 13)]
    assert all(market.by_date[d].get("vvix_close") is None for d in stale)
    longest = run = 0
    for d in sessions:
        run = run + 1 if d in trades.stale_days else 0
        longest = max(longest, run)
    assert longest <= 5
    assert all(x["contract_expiry"] > x["session_date"] for x in trades.positions)
    # the three missing contracts were traded on interpolated forwards, not frozen
    bought = {o["contract_expiry"] for o in trades.orders if o["side"] == "BUY"}
    assert {date(2022, 3, 15), date(2024, 6, 18), date(2025, 3, 18)} <= bought
