"""Walk-forward research (pure): each fold picks the configuration that scored best on its
training window and evaluates it on the window that follows, against the default steward and
the unhedged IC program on the same windows.

Windows: fold ``k`` (from 1) trains on ``[start + (k−1)·M years, + N years)`` and tests on the
next ``M`` years (the last test window ends at ``end``). Training windows are independent
backtests: each starts at the first SPX monthly expiry on or after its first day, with a fresh
IC and an empty hedge book. Test windows come in two modes:

- ``path`` (the default): one backtest over the whole test span, the IC and the hedge book
  carried from fold to fold, the chosen settings switching at each fold's first test session
  (:func:`walk_forward_path`): the out-of-sample equity is one tradable series.
- ``restart``: each test window an independent backtest started flat (ALVH-2026.2's study; the
  sessions before each window's first SPX expiry are never tested, and each window ends marked
  to model with no exit cost).

Objectives (net of costs): ``net`` — the largest total P&L; ``calmar`` — the largest Calmar
ratio (a window without a drawdown ranks first); ``max_drawdown`` — the shallowest max drawdown;
the tail objectives a hedge is bought for: ``cvar`` — the least bad mean of the worst 5 % of
months; ``worst20`` — the least bad 20-session loss; ``crisis`` — the best P&L summed over the
§9 named crisis windows inside the window.
Ties keep the earlier configuration of the grid.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import numpy as np

from alvh.transforms.backtest.prep import PER_SESSION, EngineArrays
from alvh.transforms.backtest.readable import Market, first_cycle_start
from alvh.transforms.backtest.sweep import (
    Equity,
    SweepConfig,
    SweepGroup,
    equity,
    evaluate,
    group_key,
    metrics,
    prepare_group,
)
from alvh.transforms.signal.compiled_rules import settings_record

WALK_FORWARD_MODES = ("path", "restart")
OBJECTIVES = ("net", "calmar", "max_drawdown", "cvar", "worst20", "crisis")
TAIL_COLUMNS = {"cvar": "cvar5_monthly_net_usd", "worst20": "worst_20d_net_usd", "crisis": "crisis_pnl_net_usd"}


@dataclass(frozen=True)
class Fold:
    number: int
    train: list[date]  # sessions
    test: list[date]


def _years_later(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def folds(sessions: Sequence[date], start: date, end: date, train_years: int, test_years: int) -> list[Fold]:
    """The folds over ``[start, end]`` (``sessions``: every session of the market, ascending)."""
    if train_years < 1 or test_years < 1:
        raise ValueError("train and test windows are at least one year each")
    out = []
    k = 0
    while True:
        a = _years_later(start, k * test_years)
        b = _years_later(a, train_years)
        c = _years_later(b, test_years)
        if b > end:
            break
        train = _window(sessions, a, b)
        test = _window(sessions, b, min(c, _after(end)))
        if len(train) < 20 or len(test) < 20:
            break
        out.append(Fold(k + 1, train, test))
        k += 1
    if not out:
        raise ValueError(
            f"{start} → {end} is too short for a {train_years}-year training and {test_years}-year test window"
        )
    return out


def _after(d: date) -> date:
    return date.fromordinal(d.toordinal() + 1)


def _window(sessions: Sequence[date], a: date, b: date) -> list[date]:
    """Sessions from the first SPX monthly expiry on or after ``a`` up to (not including) ``b``."""
    inside = [d for d in sessions if a <= d < b]
    if not inside:
        return []
    try:
        first = first_cycle_start(a, inside)
    except ValueError:  # no SPX monthly expiry inside: the window cannot start
        return []
    return [d for d in inside if d >= first]


def score(row: dict[str, Any], objective: str) -> float:
    """Higher is better."""
    if objective == "net":
        return float(row["total_pnl_net_usd"])
    if objective == "calmar":
        c = row["calmar_net"]
        return float("inf") if c is None else float(c)
    if objective == "max_drawdown":
        return float(row["max_drawdown_net_usd"])
    if objective in TAIL_COLUMNS:
        return float(row[TAIL_COLUMNS[objective]])
    raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")


def choose(rows: Sequence[dict[str, Any]], objective: str) -> int:
    """Index of the best row (ties: the earliest)."""
    best = 0
    for i, r in enumerate(rows):
        if score(r, objective) > score(rows[best], objective):
            best = i
    return best


class Groups:
    """Prepared arrays per group key over the whole study, sliced per window."""

    def __init__(self, market: Market, sessions: Sequence[date]) -> None:
        self.market = market
        self.sessions = list(sessions)
        self._full: dict[tuple[Any, ...], EngineArrays] = {}
        self._windows: dict[tuple[Any, ...], SweepGroup] = {}

    def window(self, c: SweepConfig, window: Sequence[date]) -> SweepGroup:
        """The group of ``c`` over ``window`` (prepared once over the study, then sliced)."""
        key = group_key(c)
        wkey = (key, window[0], window[-1])
        if wkey not in self._windows:
            if key not in self._full:
                self._full[key] = prepare_group(self.market, self.sessions, c).arrays
            self._windows[wkey] = prepare_group(self.market, window, c, arrays=self._full[key])
        return self._windows[wkey]


def fold_rows(
    fold: Fold,
    chosen: SweepConfig,
    train_rows: dict[str, dict[str, Any]],
    baselines: Sequence[SweepConfig],
    groups: Groups,
    objective: str,
) -> list[dict[str, Any]]:
    """``backtest.walk_forward`` rows of one fold in ``restart`` mode: the chosen configuration,
    then the baselines (``default``, ``unhedged``), each in sample and out of sample, the test
    window an independent backtest started flat."""
    out = []
    for label, c in (("chosen", chosen), *((b.name, b) for b in baselines)):
        is_row = train_rows.get(c.name) or evaluate(groups.window(c, fold.train), c)
        oos = evaluate(groups.window(c, fold.test), c)
        out.append(_row(fold, fold.test, label, c, is_row, oos, objective))
    return out


def _row(
    fold: Fold,
    test: Sequence[date],
    label: str,
    c: SweepConfig,
    is_row: dict[str, Any],
    oos: dict[str, Any],
    objective: str,
) -> dict[str, Any]:
    return {
        "fold": fold.number,
        "strategy": label,
        "objective": objective,
        "train_start": fold.train[0],
        "train_end": fold.train[-1],
        "test_start": test[0],
        "test_end": test[-1],
        "settings": json.dumps(c.settings, sort_keys=True, default=list),
        "is_pnl_net_usd": is_row["total_pnl_net_usd"],
        "is_max_drawdown_net_usd": is_row["max_drawdown_net_usd"],
        "is_calmar_net": is_row["calmar_net"],
        "oos_pnl_net_usd": oos["total_pnl_net_usd"],
        "oos_pnl_gross_usd": oos["total_pnl_gross_usd"],
        "oos_max_drawdown_net_usd": oos["max_drawdown_net_usd"],
        "oos_calmar_net": oos["calmar_net"],
        "oos_costs_usd": oos["costs_usd"],
        "is_score": score(is_row, objective),
        "oos_cvar5_monthly_net_usd": oos["cvar5_monthly_net_usd"],
        "oos_worst_20d_net_usd": oos["worst_20d_net_usd"],
        "oos_crisis_pnl_net_usd": oos["crisis_pnl_net_usd"],
    }


@dataclass(frozen=True)
class OosPath:
    """The out-of-sample path of a ``path``-mode study: every session from the first fold's test
    start to the last fold's test end, and per strategy (``chosen``, ``default``, ``unhedged``)
    one equity series (dollars, net and gross of costs) with no restart."""

    sessions: list[date]
    starts: list[int]  # index of each fold's first session in ``sessions``
    net: dict[str, np.ndarray]
    gross: dict[str, np.ndarray]


def path_span(fs: Sequence[Fold], sessions: Sequence[date]) -> tuple[list[date], list[int]]:
    """Every session from the first fold's test start to the last fold's test end, and the index
    where each fold's settings take over (its first test session): contiguous, so the sessions a
    restarting study skips (before each window's first SPX expiry) belong to the fold before."""
    a, b = fs[0].test[0], fs[-1].test[-1]
    span = [d for d in sessions if a <= d <= b]
    return span, [span.index(f.test[0]) for f in fs]


def walk_forward_path(
    fs: Sequence[Fold],
    chosen: Sequence[SweepConfig],
    train_rows: Sequence[dict[str, dict[str, Any]]],
    baselines: Sequence[SweepConfig],
    groups: Groups,
    objective: str,
) -> tuple[list[dict[str, Any]], OosPath]:
    """``backtest.walk_forward`` rows in ``path`` mode, and the path: one backtest over the
    whole test span per strategy — the IC program and the hedge book carried from fold to fold —
    in which the chosen configuration's settings switch at each fold's first test session (the
    engine then trades toward the new targets: what switching costs). Costs are the default
    configuration's throughout; the prepared inputs (target delta, surface, IC settings) switch
    with the settings. Each fold's out-of-sample figures are its segment of the one path."""
    span, starts = path_span(fs, groups.sessions)
    owner = np.zeros(len(span), dtype=np.int64)
    for k, a in enumerate(starts):
        owner[a:] = k
    default = baselines[0]
    runs = {"chosen": _stitched_equity(chosen, owner, span, default, groups)}
    for b in baselines:
        g = groups.window(b, span)
        runs[b.name] = (equity(g, b), g.capital)
    rows = []
    for k, f in enumerate(fs):
        a, z = starts[k], (starts[k + 1] if k + 1 < len(fs) else len(span))
        for label, c in (("chosen", chosen[k]), *((b.name, b) for b in baselines)):
            e, capital = runs[label]
            is_row = train_rows[k].get(c.name) or evaluate(groups.window(c, f.train), c)
            rows.append(_row(f, span[a:z], label, c, is_row, _segment(e, capital, span, a, z), objective))
    path = OosPath(span, starts, {k: v[0].net for k, v in runs.items()}, {k: v[0].gross for k, v in runs.items()})
    return rows, path


def _stitched_equity(
    chosen: Sequence[SweepConfig], owner: np.ndarray, span: Sequence[date], default: SweepConfig, groups: Groups
) -> tuple[Equity, float]:
    """The chosen configurations as one run: session ``i`` uses ``chosen[owner[i]]``'s settings
    and prepared inputs (the IC's daily P&L and costs too), at the default's costs."""
    own = [groups.window(c, span) for c in chosen]
    first = own[0]
    assert all(g.arrays.expiries == first.arrays.expiries for g in own), "prepared over different expiries"
    picked = {f: np.stack([getattr(g.arrays, f) for g in own])[owner, np.arange(len(span))] for f in PER_SESSION}
    arrays = first.arrays._replace(**picked)
    ic_step = np.stack([np.diff(g.ic_equity, prepend=0.0) for g in own])[owner, np.arange(len(span))]
    cost_step = np.stack([np.diff(g.ic_costs_cum, prepend=0.0) for g in own])[owner, np.arange(len(span))]
    group = SweepGroup(arrays, np.cumsum(ic_step), np.cumsum(cost_step), first.capital)
    kp_rows = np.stack([settings_record(c.strategy.hedge) for c in chosen])[owner]
    carrier = replace(chosen[0], costs=default.costs)
    return equity(group, carrier, kp_rows), first.capital


def _segment(e: Equity, capital: float, span: Sequence[date], a: int, z: int) -> dict[str, Any]:
    """The metrics of sessions ``[a, z)`` of one path, from the close before ``a``."""
    g0 = e.gross[a - 1] if a > 0 else 0.0
    n0 = e.net[a - 1] if a > 0 else 0.0
    c0 = e.costs[a - 1] if a > 0 else 0.0
    return {
        **metrics(e.gross[a:z] - g0, e.net[a:z] - n0, capital, span[a:z]),
        "costs_usd": float(e.costs[z - 1] - c0),
    }


def verdict(rows: Sequence[dict[str, Any]]) -> str:
    """A plain statement: did the chosen settings beat the default steward (and the unhedged
    program) out of sample, net of costs, summed over the folds?"""
    total: dict[str, float] = {}
    wins = 0
    folds_seen: dict[int, dict[str, float]] = {}
    for r in rows:
        total[r["strategy"]] = total.get(r["strategy"], 0.0) + r["oos_pnl_net_usd"]
        folds_seen.setdefault(r["fold"], {})[r["strategy"]] = r["oos_pnl_net_usd"]
    for f in folds_seen.values():
        wins += f["chosen"] > f["default"]
    c, d, u = total["chosen"], total["default"], total["unhedged"]
    beat = "beat" if c > d else "did not beat"
    best = max(total, key=lambda k: total[k])
    return (
        f"Out of sample, summed over {len(folds_seen)} folds, net of costs: the settings chosen in sample {beat} the "
        f"default steward (${c:,.0f} vs ${d:,.0f}; better in {wins} of {len(folds_seen)} folds); unhedged made "
        f"${u:,.0f}. Best of the three out of sample: {best}."
    )
