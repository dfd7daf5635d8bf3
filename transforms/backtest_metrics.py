"""Backtest metrics per strategy and the volatility-spike event study (ALVH_METHOD.md §9).

Money in dollars. Returns are on the IC's **risk capital**: per IC cycle, (widest wing − credit)
per share × $100 × contracts; the average over the run's cycles is the capital base. Annualised
figures use 252 sessions a year.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from transforms.ic_book import IcBook

NAMED_WINDOWS: tuple[tuple[str, date, date], ...] = (
    ("2008-09/11", date(2008, 9, 1), date(2008, 11, 28)),
    ("2010-05", date(2010, 5, 3), date(2010, 5, 28)),
    ("2011-08", date(2011, 8, 1), date(2011, 8, 31)),
    ("2015-08", date(2015, 8, 3), date(2015, 8, 31)),
    ("2018-02", date(2018, 2, 1), date(2018, 2, 28)),
    ("2018-12", date(2018, 12, 3), date(2018, 12, 31)),
    ("2020-03", date(2020, 2, 20), date(2020, 3, 31)),
    ("2022-01/10", date(2022, 1, 3), date(2022, 10, 31)),
    ("2024-08", date(2024, 7, 25), date(2024, 8, 30)),
    ("2025-04", date(2025, 3, 28), date(2025, 4, 30)),
)


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
    """Spike events: sessions where VIX closes ≥ ``ratio`` × its trailing ``lookback``-session
    minimum (the sessions before) and ≥ ``floor``; triggers within ``lookback`` sessions of each
    other merge into one event. Window: from the trailing-minimum session before the first
    trigger to 10 sessions after the last; ``peak`` is the highest close in it."""
    v = vix.sort("session_date").filter(pl.col("vix_close").is_not_null())
    v = v.with_row_index("i").with_columns(
        pl.col("vix_close").shift(1).rolling_min(lookback, min_samples=lookback).alias("_min")
    )
    trig = v.filter((pl.col("vix_close") >= ratio * pl.col("_min")) & (pl.col("vix_close") >= floor))
    idx = trig["i"].to_list()
    events: list[list[int]] = []
    for i in idx:
        if events and i - events[-1][-1] <= lookback:
            events[-1].append(i)
        else:
            events.append([i])
    days = v["session_date"].to_list()
    close = v["vix_close"].to_list()
    rows = []
    for ev in events:
        lo = max(ev[0] - lookback, 0)
        start = lo + int(np.argmin(close[lo : ev[0] + 1]))
        end = min(ev[-1] + 10, len(days) - 1)
        peak = start + int(np.argmax(close[start : end + 1]))
        rows.append(
            {
                "event": f"spike {days[ev[0]]}",
                "kind": "detected",
                "start": days[start],
                "first_trigger": days[ev[0]],
                "peak": days[peak],
                "end": days[end],
                "vix_start": close[start],
                "vix_peak": close[peak],
            }
        )
    return pl.DataFrame(rows, infer_schema_length=None)


def named_windows(vix: pl.DataFrame) -> pl.DataFrame:
    """The method's named windows, with their VIX start and peak (skipped where no data)."""
    rows = []
    v = vix.sort("session_date").filter(pl.col("vix_close").is_not_null())
    for name, a, b in NAMED_WINDOWS:
        w = v.filter(pl.col("session_date").is_between(a, b))
        if w.is_empty():
            continue
        peak = w.sort("vix_close", descending=True).row(0, named=True)
        rows.append(
            {
                "event": name,
                "kind": "named",
                "start": w["session_date"][0],
                "first_trigger": None,
                "peak": peak["session_date"],
                "end": w["session_date"][-1],
                "vix_start": w["vix_close"][0],
                "vix_peak": peak["vix_close"],
            }
        )
    return pl.DataFrame(rows, infer_schema_length=None)


@dataclass(frozen=True)
class EventInputs:
    daily: pl.DataFrame  # all strategies
    flags: pl.DataFrame  # session_date, breadth_missing, term_structure_complete


def event_study(events: pl.DataFrame, inp: EventInputs) -> pl.DataFrame:
    """Per event and strategy: VIX rise, IC/hedge/net P&L, drawdown hedged vs unhedged, share of
    the VIX rise captured, sessions to recover, and the data gaps inside the window."""
    rows = []
    unhedged = inp.daily.filter(pl.col("strategy") == "unhedged")
    for ev in events.to_dicts():
        a, e = ev["start"], ev["end"]
        fl = inp.flags.filter(pl.col("session_date").is_between(a, e))
        gaps = []
        if fl["breadth_missing"].any():
            gaps.append("breadth missing")
        if (~fl["term_structure_complete"]).any():
            gaps.append("VX contract missing")
        rise = ev["vix_peak"] - ev["vix_start"]
        base_dd = _window_dd(unhedged, a, e)
        for (name,), g in inp.daily.group_by(["strategy"], maintain_order=True):
            g = g.sort("session_date")
            w = g.filter(pl.col("session_date").is_between(a, e))
            if w.height < 2:
                continue
            before = g.filter(pl.col("session_date") < a).tail(1)
            eq0 = float(before["equity_net"][0]) if before.height else 0.0
            ic0 = float(before["ic_equity"][0]) if before.height else 0.0
            h0 = float(before["hedge_equity"][0]) if before.height else 0.0
            held0 = int(w["contracts_held"][0])
            hedge_pnl = float(w["hedge_equity"][-1]) - h0
            after = g.filter(pl.col("session_date") >= a)
            trough_i = int(np.argmin(after["equity_net"].head(w.height).to_numpy()))
            rec = after.with_row_index("k").filter((pl.col("k") > trough_i) & (pl.col("equity_net") >= eq0))
            rows.append(
                {
                    "event": ev["event"],
                    "kind": ev["kind"],
                    "strategy": name,
                    "window_start": a,
                    "peak_date": ev["peak"],
                    "window_end": e,
                    "vix_start": ev["vix_start"],
                    "vix_peak": ev["vix_peak"],
                    "vix_rise": rise,
                    "ic_pnl_usd": float(w["ic_equity"][-1]) - ic0,
                    "hedge_pnl_usd": hedge_pnl,
                    "net_pnl_usd": float(w["equity_net"][-1]) - eq0,
                    "max_drawdown_usd": _window_dd(g, a, e),
                    "max_drawdown_unhedged_usd": base_dd,
                    "contracts_held_at_start": held0,
                    "capture": hedge_pnl / (held0 * 100.0 * rise) if held0 and rise > 0 else None,
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
