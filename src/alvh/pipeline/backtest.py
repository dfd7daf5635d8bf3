"""The backtest's plain steps: strategies from the settings and sweep-style specs, and the
window a backtest can run over (the last session with complete data). The flows that run it are
``alvh.flows.backtest``, ``alvh.flows.sweep``, ``alvh.flows.walk_forward`` and
``alvh.flows.timing_luck``."""

from __future__ import annotations

from datetime import date
from typing import Any

from alvh.core.errors import ConfigError
from alvh.core.settings import Settings, setting_names
from alvh.pipeline.backtest_sweep import config_from
from alvh.pipeline.params import hedge_params
from alvh.transforms.backtest.readable import Costs, Market, Strategy, default_strategies, first_cycle_start


def strategy_from(spec: dict[str, Any], settings: Settings, dump: dict[str, Any] | None = None) -> Strategy:
    """A named configuration of the ``backtest_strategies`` setting: ``kind`` (alvh | calls |
    unhedged) plus hedge or IC settings, e.g. ``{name = "steward_50", kind = "alvh",
    carry_budget = 0.5}``, validated like a sweep configuration. Costs are the backtest's own, one
    set for every strategy (``alvh backtest --sweep`` compares costs)."""
    if "name" not in spec or "kind" not in spec:
        raise ConfigError("a strategy needs a name and a kind (alvh, calls or unhedged)", value=str(spec))
    costly = sorted(setting_names(Costs) & set(spec))
    if costly:
        raise ConfigError(
            f"strategy {spec['name']!r}: {costly} apply to the whole backtest, not to one strategy",
            expected="the setting itself, or `alvh backtest --sweep` to compare costs",
        )
    return config_from(spec, settings, dump).strategy


def strategies_for(settings: Settings, names: list[str] | None) -> list[Strategy]:
    dump = settings.model_dump()
    own = [strategy_from(s, settings, dump) for s in settings.backtest_strategies]
    all_ = default_strategies(hedge_params(settings)) + own
    if not names:
        return all_
    by_name = {s.name: s for s in all_}
    missing = [n for n in names if n not in by_name]
    if missing:
        raise ConfigError(f"unknown strategy {missing}", expected=", ".join(by_name))
    chosen = [by_name[n] for n in names]
    if "unhedged" not in names:  # the event study compares against it
        chosen.insert(0, by_name["unhedged"])
    return chosen


def complete_sessions(market: Market) -> list[date]:
    """Sessions with a complete curve: SPX, VIX and VVIX closes and a forward for each of M1–M3
    (settle or interpolated, §3)."""
    return [
        r["session_date"]
        for r in market.rows
        if all(r.get(c) is not None for c in ("spx_close", "vix_close", "vvix_close"))
        and all(market.settle_of(r["session_date"], r[f"m{i}_expiry"]) is not None for i in (1, 2, 3))
    ]


def last_complete_session(market: Market) -> date:
    """The last session with a complete curve. Past it the hedge could be neither marked nor
    settled, so the backtest's default end is this session."""
    days = complete_sessions(market)
    if not days:
        raise ConfigError("the warehouse has no session with SPX, VIX, VVIX and a VX curve: run `alvh ingest` first")
    return days[-1]


def backtest_window(market: Market, start: date, end: date | None) -> date:
    """The last session of a replay from ``start`` (``market`` read up to ``end``): ``end``, or
    the last session with a complete curve if earlier. Refuses a reversed window, one with no
    complete session, and one with no SPX monthly expiry (where an IC cycle starts) before its end."""
    if end is not None and end < start:
        raise ConfigError(f"--end {end} is before --start {start}")
    days = complete_sessions(market)
    if not days:
        upto = f" up to --end {end}" if end is not None else ""
        raise ConfigError(
            f"no session with SPX, VIX, VVIX and a VX curve{upto} (VVIX starts in 2007): give a later --end, "
            "or run `alvh ingest`"
        )
    last = min(end or date.max, days[-1])
    try:
        first = first_cycle_start(start, [d for d in days if d <= last])
    except ValueError:
        first = None
    if first is None or first > last:
        raise ConfigError(
            f"no SPX monthly expiry between --start {start} and {last} (the last session with complete data in "
            "the window), where an IC cycle starts: give an earlier --start"
        )
    return last
