"""Backtest metrics per strategy and the volatility-spike event study (ALVH_METHOD.md §9).

Money in dollars. Returns are on the IC's **risk capital**: per IC cycle, (widest wing − credit)
per share × $100 × contracts; the average over the run's cycles is the capital base. Annualised
figures use 252 sessions a year.

Event study (§9): every window runs from its **start** (the last close before the jump) to its
end; P&L over the window is measured from the start's close. Two named ratios are measured from
the start's close to the VIX closing **peak**:

- ``static_capture`` — a static 4/4/2 ladder of 10 calls (the strike whose Black-76 delta is
  nearest the target delta, on M1/M2/M3 of the start session) bought at the start's close and
  marked at the peak close: its P&L ÷ (10 × $100 × VIX rise). The ladder's convexity alone,
  gross of costs, the same for every strategy.
- ``loss_offset`` — the strategy as traded: hedge P&L ÷ (−IC P&L), start close → peak close
  (gross of costs; null when the IC did not lose).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

import numpy as np
import polars as pl

from alvh.core.calendar import spx_monthly_expiration
from alvh.transforms.ic_book import IcBook
from alvh.transforms.signal.params import rate_of
from alvh.transforms.vix_surface import STRIKES, VixSurface, call_on_surface, target_delta_strike

# (name, start = the last close before the jump, VIX closing peak, window end) — the start and
# peak are fixed by ALVH_METHOD.md §9 and shared by every implementation.
NAMED_WINDOWS: tuple[tuple[str, date, date, date], ...] = (
    ("2008-09/11", date(2008, 9, 12), date(2008, 11, 20), date(2008, 11, 28)),
    ("2010-05", date(2010, 5, 5), date(2010, 5, 20), date(2010, 5, 28)),
    ("2011-08", date(2011, 7, 22), date(2011, 8, 8), date(2011, 8, 31)),
    ("2015-08", date(2015, 8, 18), date(2015, 8, 24), date(2015, 8, 31)),
    ("2018-02", date(2018, 2, 1), date(2018, 2, 5), date(2018, 2, 28)),
    ("2018-12", date(2018, 12, 3), date(2018, 12, 24), date(2018, 12, 31)),
    ("2020-03", date(2020, 2, 21), date(2020, 3, 16), date(2020, 3, 31)),
    ("2022-01/10", date(2022, 1, 3), date(2022, 3, 7), date(2022, 10, 31)),
    ("2024-08", date(2024, 7, 31), date(2024, 8, 5), date(2024, 8, 30)),
    ("2025-04", date(2025, 4, 2), date(2025, 4, 8), date(2025, 4, 30)),
)

STATIC_LADDER_CONTRACTS = 10
OPTION_MULTIPLIER = 100.0


def risk_capital(ics: Sequence[IcBook]) -> float:
    """Average over cycles of (widest wing − credit per share) × $100 × contracts."""
    caps = []
    for ic in ics:
        puts = sorted(leg.strike for leg in ic.legs if not leg.is_call)
        calls = sorted(leg.strike for leg in ic.legs if leg.is_call)
        width = max(puts[-1] - puts[0] if len(puts) > 1 else 0.0, calls[-1] - calls[0] if len(calls) > 1 else 0.0)
        caps.append(max(width - ic.credit_per_ic, 0.0) * 100.0 * ic.contracts)
    return float(np.mean(caps)) if caps else float("nan")


def max_drawdown(equity: pl.Series, days: pl.Series) -> tuple[float, date | None, date | None]:
    """(worst peak-to-trough fall in dollars (≤ 0), peak date, trough date)."""
    if equity.is_empty():
        return 0.0, None, None
    eq = equity.to_numpy()
    peaks = np.maximum.accumulate(eq)
    dd = eq - peaks
    i = int(np.argmin(dd))
    j = int(np.argmax(eq[: i + 1])) if i > 0 else 0
    return float(dd[i]), days[j], days[i]


def summary_metrics(daily: pl.DataFrame, capital: float, regimes: pl.DataFrame) -> pl.DataFrame:
    """One row per strategy with returns, risk and cost figures, gross and net."""
    out = []
    calm_months = (
        regimes.with_columns(pl.col("session_date").dt.truncate("1mo").alias("month"))
        .group_by("month")
        .agg((pl.col("regime") == "calm").mean().alias("calm_share"))
        .filter(pl.col("calm_share") >= 0.5)["month"]
    )
    for (name,), g in daily.sort("session_date").group_by(["strategy"], maintain_order=True):
        days = g["session_date"]
        years = max(len(days) / 252.0, 1e-9)
        row: dict[str, object] = {"strategy": name, "sessions": len(days), "risk_capital_usd": capital}
        for kind in ("gross", "net"):
            eq = g[f"equity_{kind}"]
            pnl = eq.diff().fill_null(eq[0])
            total = float(eq[-1])
            dd, peak, trough = max_drawdown(eq, days)
            ann = total / capital / years
            row |= {
                f"total_pnl_{kind}_usd": total,
                f"total_return_{kind}": total / capital,
                f"annual_return_{kind}": ann,
                f"volatility_{kind}": float(pnl.std() or 0.0) / capital * np.sqrt(252.0),  # type: ignore[arg-type]
                f"max_drawdown_{kind}_usd": dd,
                f"calmar_{kind}": ann / (abs(dd) / capital) if dd < 0 else None,
            }
            if kind == "net":
                row |= {"max_drawdown_peak": peak, "max_drawdown_trough": trough}
        monthly = (
            g.with_columns(pl.col("session_date").dt.truncate("1mo").alias("month"))
            .group_by("month")
            .agg(pl.col("net_pnl").sum(), pl.col("hedge_pnl").sum())
        )
        worst = monthly.sort("net_pnl").head(1).to_dicts()
        calm = monthly.filter(pl.col("month").is_in(calm_months.implode()))
        row |= {
            "worst_month": worst[0]["month"] if worst else None,
            "worst_month_usd": worst[0]["net_pnl"] if worst else None,
            "hedge_carry_per_calm_month_usd": float(calm["hedge_pnl"].mean()) if calm.height else None,  # type: ignore[arg-type]
            "hedge_pnl_usd": float(g["hedge_equity"][-1]),
            "ic_pnl_usd": float(g["ic_equity"][-1]),
            "costs_usd": float(g["costs_cum"][-1]),
            "contracts_traded": int(g["contracts_traded"].sum()),
        }
        out.append(row)
    return pl.DataFrame(out, infer_schema_length=None)


def detect_spikes(vix: pl.DataFrame, ratio: float = 1.5, floor: float = 20.0, lookback: int = 20) -> pl.DataFrame:
    """Spike events (§9). A **trigger** is a session whose VIX close is ≥ ``ratio`` × its trailing
    ``lookback``-session minimum (the sessions before) and ≥ ``floor``; its **trigger level** is
    ``max(ratio × that minimum, floor)``. Triggers within ``lookback`` sessions of each other
    merge into one event.

    ``start`` = the session before the event's first trigger; ``peak`` = the highest close from
    the first trigger until VIX first closes back below its trigger level (the *fall*; to the last
    session if it never does) — a merged trigger after the fall moves the fall to that trigger's
    own; ``end`` = 10 sessions after the last trigger, never before the peak; ``trigger_level`` is
    the first trigger's."""
    v = vix.sort("session_date").filter(pl.col("vix_close").is_not_null())
    v = v.with_row_index("i").with_columns(
        pl.col("vix_close").shift(1).rolling_min(lookback, min_samples=lookback).alias("_min")
    )
    trig = v.filter((pl.col("vix_close") >= ratio * pl.col("_min")) & (pl.col("vix_close") >= floor))
    days = v["session_date"].to_list()
    close = v["vix_close"].to_list()
    mins = v["_min"].to_list()
    n = len(days)

    def fall_after(i: int, level: float) -> int:
        return next((j for j in range(i + 1, n) if close[j] < level), n)

    events: list[dict[str, Any]] = []
    for i in trig["i"].to_list():
        level = max(ratio * mins[i], floor)
        if events and i - events[-1]["last"] <= lookback:
            ev = events[-1]
            ev["last"] = i
            if i >= ev["fall"]:
                ev["fall"] = fall_after(i, level)
            continue
        events.append({"first": i, "last": i, "fall": fall_after(i, level), "level": level})
    rows = []
    for ev in events:
        first = ev["first"]
        start = first - 1  # a trigger has `lookback` sessions before it, so first ≥ 1
        peak = first + int(np.argmax(close[first : ev["fall"]]))
        end = max(min(ev["last"] + 10, n - 1), peak)
        rows.append(
            {
                "event": f"spike {days[first]}",
                "kind": "detected",
                "start": days[start],
                "first_trigger": days[first],
                "trigger_level": ev["level"],
                "peak": days[peak],
                "end": days[end],
                "vix_start": close[start],
                "vix_peak": close[peak],
            }
        )
    return pl.DataFrame(rows, infer_schema_length=None)


def named_windows(vix: pl.DataFrame) -> pl.DataFrame:
    """The method's named windows with the start and peak dates fixed by §9 and their VIX closes
    (a window is skipped where the data has no VIX close on its start or its peak)."""
    v = vix.sort("session_date").filter(pl.col("vix_close").is_not_null())
    closes = dict(zip(v["session_date"].to_list(), v["vix_close"].to_list(), strict=True))
    last = v["session_date"][-1] if v.height else None
    rows = []
    for name, start, peak, end in NAMED_WINDOWS:
        if start not in closes or peak not in closes or last is None:
            continue
        rows.append(
            {
                "event": name,
                "kind": "named",
                "start": start,
                "first_trigger": None,
                "peak": peak,
                "end": min(end, last),
                "vix_start": closes[start],
                "vix_peak": closes[peak],
            }
        )
    return pl.DataFrame(rows, infer_schema_length=None)


# --- the static ladder (§9 "static capture") ---------------------------------------------------


class LadderParams(Protocol):
    """The hedge settings the static ladder reads (``HedgeParams`` satisfies it)."""

    @property
    def weights(self) -> tuple[float, ...]: ...
    @property
    def target_delta(self) -> float: ...
    @property
    def surface(self) -> VixSurface: ...
    @property
    def default_rate(self) -> float: ...


@dataclass(frozen=True)
class LadderLeg:
    layer: int
    expiry: date
    qty: int
    strike: float
    forward: float  # at the start close, index points
    cost: float  # Black-76 price at the start close, index points
    value: float | None  # at the peak close (intrinsic at the final settlement if expired); None if unpriceable


@dataclass(frozen=True)
class StaticLadder:
    legs: tuple[LadderLeg, ...]
    vix_rise: float
    pnl_usd: float | None  # Σ qty × (value − cost) × $100; None if a leg cannot be valued at the peak
    capture: float | None  # pnl ÷ (contracts × $100 × VIX rise); None if no P&L or the rise is ≤ 0


def split_contracts(total: int, weights: Sequence[float]) -> list[int]:
    """``total`` contracts split by ``weights`` with the largest-remainder method (ties: the
    earlier layer) — 10 by (0.4, 0.4, 0.2) gives 4/4/2."""
    wsum = sum(weights)
    raw = [total * w / wsum for w in weights]
    out = [math.floor(x) for x in raw]
    for i in sorted(range(len(raw)), key=lambda j: (-(raw[j] - out[j]), j))[: total - sum(out)]:
        out[i] += 1
    return out


def _num(row: Mapping[str, Any], col: str) -> float | None:
    v = row.get(col)
    if v is None:
        return None
    f = float(v)
    return None if math.isnan(f) else f


def _rate(row: Mapping[str, Any], params: LadderParams) -> float:
    return rate_of(dict(row), params.default_rate)


def forward_on(row: Mapping[str, Any], expiry: date, settles: Mapping[tuple[date, date], float]) -> float | None:
    """The forward of the VX contract ``expiry`` at ``row``'s close: the row's ``m{i}_forward``
    (when the indicators mart has it) or ``m{i}_settle`` of the tenor with that expiry, else the
    contract's settle that session; None when none exists."""
    for i in (1, 2, 3):
        if row.get(f"m{i}_expiry") == expiry:
            for col in (f"m{i}_forward", f"m{i}_settle"):
                f = _num(row, col)
                if f is not None:
                    return f
    s = settles.get((row["session_date"], expiry))
    return None if s is None else float(s)


def static_ladder(
    start_row: Mapping[str, Any],
    peak_row: Mapping[str, Any],
    settles: Mapping[tuple[date, date], float],
    params: LadderParams,
    contracts: int = STATIC_LADDER_CONTRACTS,
) -> StaticLadder | None:
    """The §9 static ladder: ``contracts`` calls split by ``params.weights`` over M1/M2/M3 of
    ``start_row`` (rows of ``marts.indicators_daily``), each at the listed strike whose Black-76
    delta is nearest ``params.target_delta``, bought at the start close at the model price
    (F = the tenor's forward, σ_i(K) from the surface (§4), r = DTB3 else the default, T =
    dte_i/365) and marked at the peak close on its own contract's settle that day with that day's
    VVIX, rate and dte; a contract expired by the peak is worth its intrinsic value at its final
    settlement (its settle on its expiry day). ``settles`` maps (trade date, expiry) → settle.
    None when the ladder cannot be bought (no VIX, VVIX or forward at the start)."""
    d0, d1 = start_row["session_date"], peak_row["session_date"]
    vix0, vix1, vvix0 = _num(start_row, "vix_close"), _num(peak_row, "vix_close"), _num(start_row, "vvix_close")
    if vix0 is None or vix1 is None or vvix0 is None or d1 < d0:
        return None
    r0, r1, vvix1 = _rate(start_row, params), _rate(peak_row, params), _num(peak_row, "vvix_close")
    legs = []
    for layer, qty in enumerate(split_contracts(contracts, params.weights), start=1):
        expiry = start_row[f"m{layer}_expiry"]
        f0 = forward_on(start_row, expiry, settles)
        dte0 = (expiry - d0).days
        if f0 is None or dte0 <= 0:
            return None
        surface = params.surface
        strike = target_delta_strike(vvix0, f0, float(dte0), r0, params.target_delta, STRIKES, surface)
        cost = call_on_surface(vvix0, f0, strike, float(dte0), r0, surface)[0]
        value: float | None
        if expiry <= d1:
            final = settles.get((expiry, expiry))
            value = None if final is None else max(float(final) - strike, 0.0)
        else:
            f1 = forward_on(peak_row, expiry, settles)
            dte1 = (expiry - d1).days
            if f1 is None or vvix1 is None:
                value = None
            else:
                value = call_on_surface(vvix1, f1, strike, float(dte1), r1, surface)[0]
        legs.append(LadderLeg(layer, expiry, qty, strike, f0, cost, value))
    rise = vix1 - vix0
    values = [leg.value for leg in legs]
    pnl = (
        None
        if any(v is None for v in values)
        else sum(leg.qty * (float(leg.value or 0.0) - leg.cost) * OPTION_MULTIPLIER for leg in legs)
    )
    n = sum(leg.qty for leg in legs)
    capture = pnl / (n * OPTION_MULTIPLIER * rise) if pnl is not None and n and rise > 0 else None
    return StaticLadder(tuple(legs), rise, pnl, capture)


def static_ladder_capture(
    start_row: Mapping[str, Any],
    peak_row: Mapping[str, Any],
    settles: Mapping[tuple[date, date], float],
    params: LadderParams,
) -> float | None:
    """§9 static capture: the static ladder's P&L, start close → peak close, ÷ (10 × $100 × VIX
    rise); None when a price is missing or VIX did not rise."""
    ladder = static_ladder(start_row, peak_row, settles, params)
    return None if ladder is None else ladder.capture


def loss_offset(hedge_pnl: float | None, ic_pnl: float | None) -> float | None:
    """§9 loss offset: hedge P&L ÷ (−IC P&L); None when the IC did not lose (IC P&L ≥ 0)."""
    if hedge_pnl is None or ic_pnl is None or ic_pnl >= 0:
        return None
    return hedge_pnl / -ic_pnl


# --- the event study ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EventInputs:
    daily: pl.DataFrame  # all strategies
    flags: pl.DataFrame  # session_date, breadth_missing, term_structure_complete[, spx_open_suspect]
    rows: Mapping[date, Mapping[str, Any]]  # marts.indicators_daily rows by session
    settles: Mapping[tuple[date, date], float]  # (trade date, expiry) → VX settle (final on expiry)
    params: LadderParams  # the hedge settings of the run (weights, target delta, σ term scaling, rate)


def event_study(events: pl.DataFrame, inp: EventInputs) -> pl.DataFrame:
    """Per event and strategy: VIX rise, IC/hedge/net P&L over the window (from the start's
    close), drawdown hedged vs unhedged, IC and hedge P&L from the start's close to the peak
    close, the §9 ratios ``static_capture`` and ``loss_offset``, sessions to recover, and the
    data gaps inside the window."""
    rows = []
    unhedged = inp.daily.filter(pl.col("strategy") == "unhedged")
    for ev in events.to_dicts():
        a, pk, e = ev["start"], ev["peak"], ev["end"]
        fl = inp.flags.filter(pl.col("session_date").is_between(a, e))
        gaps = []
        if fl["breadth_missing"].any():
            gaps.append("breadth missing")
        if (~fl["term_structure_complete"]).any():
            gaps.append("VX settle missing (forward interpolated)")
        if "spx_open_suspect" in fl.columns:
            suspect = fl.filter(pl.col("spx_open_suspect"))
            if suspect.height:
                days = ", ".join(str(d) for d in suspect["session_date"])
                gaps.append(f"IC settled on an SPX open equal to the prior close ({days})")
        rise = ev["vix_peak"] - ev["vix_start"]
        base_dd = _window_dd(unhedged, a, e)
        start_row, peak_row = inp.rows.get(a), inp.rows.get(pk)
        static = (
            static_ladder_capture(start_row, peak_row, inp.settles, inp.params)
            if start_row is not None and peak_row is not None
            else None
        )
        for (name,), g in inp.daily.group_by(["strategy"], maintain_order=True):
            g = g.sort("session_date")
            w = g.filter(pl.col("session_date").is_between(a, e))
            if w.height < 2:
                continue
            base = g.filter(pl.col("session_date") <= a).tail(1)  # the start's close
            eq0 = float(base["equity_net"][0]) if base.height else 0.0
            ic0 = float(base["ic_equity"][0]) if base.height else 0.0
            put0 = float(base["ic_put_equity"][0]) if base.height else 0.0
            h0 = float(base["hedge_equity"][0]) if base.height else 0.0
            at_a = g.filter(pl.col("session_date") == a)
            at_pk = g.filter(pl.col("session_date") == pk)
            ic_peak = hedge_peak = None
            if at_a.height and at_pk.height:
                ic_peak = float(at_pk["ic_equity"][0]) - float(at_a["ic_equity"][0])
                hedge_peak = float(at_pk["hedge_equity"][0]) - float(at_a["hedge_equity"][0])
            after = g.filter(pl.col("session_date") >= a)
            trough_i = int(np.argmin(after["equity_net"].head(w.height).to_numpy()))
            rec = after.with_row_index("k").filter((pl.col("k") > trough_i) & (pl.col("equity_net") >= eq0))
            rows.append(
                {
                    "event": ev["event"],
                    "kind": ev["kind"],
                    "strategy": name,
                    "window_start": a,
                    "peak_date": pk,
                    "window_end": e,
                    "vix_start": ev["vix_start"],
                    "vix_peak": ev["vix_peak"],
                    "vix_rise": rise,
                    "ic_pnl_usd": float(w["ic_equity"][-1]) - ic0,
                    "ic_put_pnl_usd": float(w["ic_put_equity"][-1]) - put0,
                    "ic_call_pnl_usd": (float(w["ic_equity"][-1]) - ic0) - (float(w["ic_put_equity"][-1]) - put0),
                    "hedge_pnl_usd": float(w["hedge_equity"][-1]) - h0,
                    "net_pnl_usd": float(w["equity_net"][-1]) - eq0,
                    "max_drawdown_usd": _window_dd(g, a, e),
                    "max_drawdown_unhedged_usd": base_dd,
                    "contracts_held_at_start": int(w["contracts_held"][0]),
                    "ic_pnl_to_peak_usd": ic_peak,
                    "hedge_pnl_to_peak_usd": hedge_peak,
                    "static_capture": static,
                    "loss_offset": loss_offset(hedge_peak, ic_peak),
                    "sessions_to_recover": int(rec["k"][0]) if rec.height else None,
                    "data_gaps": ", ".join(gaps) or None,
                }
            )
    return pl.DataFrame(rows, infer_schema_length=None)


def _window_dd(g: pl.DataFrame, a: date, e: date) -> float:
    w = g.filter(pl.col("session_date").is_between(a, e)).sort("session_date")
    if w.is_empty():
        return 0.0
    return max_drawdown(w["equity_net"], w["session_date"])[0]


# --- the IC's loss by side ----------------------------------------------------------------------


def ic_side_cycles(daily: pl.DataFrame) -> pl.DataFrame:
    """The IC program's P&L per cycle split into its put side (short put spread) and call side
    (short call spread), dollars, from one strategy's daily rows (the IC is the same in every
    strategy). A cycle runs from one SPX monthly expiry's close to the next: the new IC's credit
    and its mark at the opening close cancel, so the change of equity between two expiry closes is
    the settled cycle's P&L (before costs)."""
    d = daily.sort("session_date")
    days = d["session_date"].to_list()
    cycle_ends = [x for x in days if x == spx_monthly_expiration(x.year, x.month)]
    ic = dict(zip(days, d["ic_equity"].to_list(), strict=True))
    put = dict(zip(days, d["ic_put_equity"].to_list(), strict=True))
    rows = []
    for a, b in itertools.pairwise(cycle_ends):
        p = put[b] - put[a]
        total = ic[b] - ic[a]
        rows.append({"opened": a, "expiry": b, "ic_pnl_usd": total, "put_pnl_usd": p, "call_pnl_usd": total - p})
    schema = {
        "opened": pl.Date,
        "expiry": pl.Date,
        "ic_pnl_usd": pl.Float64,
        "put_pnl_usd": pl.Float64,
        "call_pnl_usd": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema)
