"""Research setting ``hold_before_events`` (issue 22, item 4): the session before a scheduled
FOMC/CPI/PPI release the ladder sells nothing — no take-profit, no −1-cross harvest, no trim —
in both engines; a roll still rolls. Off by default: the method does not adopt it."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from alvh.transforms.backtest.compiled import run_strategy_compiled
from alvh.transforms.backtest.readable import Costs, Market, default_strategies, ic_cycles, ic_daily, run_strategy
from alvh.transforms.events import NextEvent
from alvh.transforms.signal import HedgeParams
from alvh.transforms.signal.rules import decide
from tests.test_compiled_engine import first_divergence, order_key
from tests.test_engine_rules import E1, P, situation

CPI_TOMORROW = NextEvent("cpi", date(2025, 1, 3), "08:30", date(2025, 1, 3), 1)


def with_event(s, event):  # type: ignore[no-untyped-def]
    return replace(s, day=replace(s.day, next_event=event), p=replace(s.p, hold_before_events=True))


def test_no_sales_the_session_before_a_release() -> None:
    rich = situation([60, 50, 10], [40, 40, 20], 1.5, regime="calm", rich=[((E1, 19.0), 3.4)])
    assert [d.action for d in decide(rich, None, 0, book_empty=False)] == ["HARVEST", "HARVEST", "HOLD"]
    quiet = with_event(rich, CPI_TOMORROW)
    ds = decide(quiet, None, 0, book_empty=False)
    assert [d.action for d in ds[:2]] == ["HOLD", "HOLD"] and [d.target for d in ds[:2]] == [60, 50]
    assert "hold_before_events" in ds[0].reason
    harvest = situation([36, 36, 18], [40, 40, 20], 1.0, cross=-1, vix=60.0, l1=(900.0, 100.0))
    assert decide(harvest, None, 0, book_empty=False)[0].action == "HARVEST"
    assert decide(with_event(harvest, CPI_TOMORROW), None, 0, book_empty=False)[0].action != "HARVEST"
    # a release two sessions away, or the setting off, changes nothing
    later = replace(CPI_TOMORROW, sessions=2)
    assert [d.action for d in decide(with_event(rich, later), None, 0, book_empty=False)][:2] == ["HARVEST", "HARVEST"]
    assert P.hold_before_events is False


def test_both_engines_agree_with_the_setting_on(market: Market) -> None:
    p = HedgeParams(hold_before_events=True)
    sessions = [d for d in sorted(market.by_date) if date(2007, 1, 19) <= d <= date(2026, 1, 7)]
    ic = ic_daily(market, sessions, ic_cycles(market, sessions, p), p, Costs())
    for strategy in [s for s in default_strategies(p) if s.name == "alvh_steward"]:
        readable = run_strategy(strategy, market, sessions, ic, Costs())
        compiled = run_strategy_compiled(strategy, market, sessions, ic, Costs())
        assert first_divergence(readable, compiled) is None
        assert [order_key(o) for o in readable[1].orders] == [order_key(o) for o in compiled[1].orders]
        off = run_strategy(replace(strategy, hedge=replace(p, hold_before_events=False)), market, sessions, ic, Costs())
        assert [order_key(o) for o in off[1].orders] != [order_key(o) for o in readable[1].orders]  # it bites
        eves = {d for d in sessions if market.by_date[d].get("next_event_sessions") == 1}
        # the engine's decisions (its fills come a session later at the default fill_lag_sessions = 1)
        sells = [o for o in readable[1].decisions if o["session_date"] in eves and o["side"] == "SELL"]
        assert all(o["action"] in ("ROLL", "SETTLE") for o in sells)
