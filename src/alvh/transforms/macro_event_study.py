"""Do FOMC decisions, CPI and PPI releases move VIX and the front VX future more than other
sessions? (issue 22, item 3). Pure: frames in, a table out.

- **Windows.** A release affecting session S (``staging.macro_event.session_date``: S itself for a
  pre-open BLS release or a 14:00 FOMC decision, the next session for a weekend or after-close
  one) is measured from the close of the session before S — the last close before the release —
  to the close ``h`` sessions later: ``h = 1`` is S's own close, ``h = 5`` four sessions after it.
  ``VIX``: the change of the VIX close, index points. ``M1``: the change of the settle of the
  contract that was M1 (by the roll rule) at the close before S, so a roll never enters a change;
  a window whose start or end settle of that contract is missing is left out (counted).
- **Groups.** For each kind, the event sessions are the sessions its scheduled releases affect;
  the other sessions are those no FOMC decision, CPI or PPI release affects. A month in which the
  calendar lists no CPI (or no PPI) release — a release missing from the file (the January rows
  of 2000–2007 it dates a year early) or none that month (the 2025 shutdown) — leaves its sessions
  out of the other group: an unlisted release could be any of them.
- **Test.** For the mean change and the mean absolute change, the difference event − other is
  compared with ``permutations`` random relabellings of the pooled sessions (the same number of
  event labels drawn without replacement, NumPy ``default_rng(seed)``); the two-sided p-value is
  ``(1 + #{|permuted| ≥ |observed|}) / (1 + permutations)``. Five-session windows overlap and
  volatility clusters, so sessions are not independent: read the 5-session p-values as rough.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import polars as pl

KINDS = ("fomc_decision", "cpi", "ppi")
MONTHLY_KINDS = ("cpi", "ppi")
HORIZONS = (1, 5)
START = date(2007, 1, 3)  # the backtest's first session (VVIX reliable from 2007)
COLUMNS = (
    "kind",
    "series",
    "horizon",
    "n_event",
    "n_other",
    "mean_event",
    "mean_other",
    "median_event",
    "median_other",
    "mean_abs_event",
    "mean_abs_other",
    "p90_abs_event",
    "p90_abs_other",
    "share_up_event",
    "share_up_other",
    "p_mean",
    "p_abs",
)


@dataclass
class MacroEventStudy:
    """The table (one row per kind, series and horizon; ``COLUMNS``) and what was left out."""

    table: pl.DataFrame
    first: date
    last: date
    gap_months: list[str] = field(default_factory=list)  # YYYY-MM left out of the other group
    m1_missing: dict[int, int] = field(default_factory=dict)  # horizon → windows without both M1 settles


def window_changes(mart: pl.DataFrame, vx: pl.DataFrame, horizon: int) -> pl.DataFrame:
    """One row per session S of ``mart`` (``session_date, vix_close, m1_expiry``; consecutive XNYS
    sessions): ``vix_change`` = VIX(S + h − 1) − VIX(S − 1) and ``m1_change`` = the settle of the
    contract that was M1 at S − 1, at S + h − 1 minus at S − 1 (null where a value is missing).
    ``vx``: ``trade_date, contract_expiry, settle``."""
    m = mart.select("session_date", "vix_close", "m1_expiry").sort("session_date")
    w = m.with_columns(
        pl.col("session_date").shift(1).alias("_start"),
        pl.col("session_date").shift(-(horizon - 1)).alias("_end"),
        pl.col("vix_close").shift(1).alias("_vix0"),
        pl.col("vix_close").shift(-(horizon - 1)).alias("_vix1"),
        pl.col("m1_expiry").shift(1).alias("_contract"),
    )
    settles = vx.select("trade_date", "contract_expiry", "settle")
    w = w.join(
        settles.rename({"trade_date": "_start", "contract_expiry": "_contract", "settle": "_f0"}),
        on=["_start", "_contract"],
        how="left",
    ).join(
        settles.rename({"trade_date": "_end", "contract_expiry": "_contract", "settle": "_f1"}),
        on=["_end", "_contract"],
        how="left",
    )
    return (
        w.filter(pl.col("_start").is_not_null() & pl.col("_end").is_not_null())
        .select(
            "session_date",
            (pl.col("_vix1") - pl.col("_vix0")).alias("vix_change"),
            (pl.col("_f1") - pl.col("_f0")).alias("m1_change"),
        )
        .sort("session_date")
    )


def permutation_p(values: np.ndarray, is_event: np.ndarray, permutations: int, rng: np.random.Generator) -> float:
    """Two-sided permutation p-value of mean(event) − mean(other) over ``values``."""
    n, k = len(values), int(is_event.sum())
    if k == 0 or k == n:
        return float("nan")
    total = values.sum()

    def diff(event_sum: np.ndarray | float) -> np.ndarray | float:
        return event_sum / k - (total - event_sum) / (n - k)

    observed = abs(float(diff(values[is_event].sum())))
    sums = np.empty(permutations)
    for i in range(permutations):
        sums[i] = values[rng.choice(n, size=k, replace=False)].sum()
    permuted = np.abs(diff(sums))
    return float((1 + np.count_nonzero(permuted >= observed - 1e-12)) / (1 + permutations))


def _gap_months(calendar: pl.DataFrame, first: date, last: date) -> list[str]:
    months = pl.date_range(first.replace(day=1), last.replace(day=1), "1mo", eager=True).dt.strftime("%Y-%m").to_list()
    gaps: set[str] = set()
    for kind in MONTHLY_KINDS:
        listed = set(calendar.filter(pl.col("event") == kind)["session_date"].dt.strftime("%Y-%m").to_list())
        gaps |= {m for m in months if m not in listed}
    return sorted(gaps)


def macro_event_study(
    mart: pl.DataFrame,
    vx: pl.DataFrame,
    calendar: pl.DataFrame,
    *,
    start: date = START,
    end: date | None = None,
    horizons: Sequence[int] = HORIZONS,
    kinds: Sequence[str] = KINDS,
    permutations: int = 10_000,
    seed: int = 22,
) -> MacroEventStudy:
    """The study over the sessions S in ``[start, end]`` (default: the mart's last session) whose
    window ends within the data. ``mart``: ``marts.indicators_daily`` (``session_date, vix_close,
    m1_expiry``); ``vx``: ``staging.stg_vx_futures`` settles; ``calendar``: ``staging.macro_event``
    (``event, session_date, scheduled``)."""
    last_session = mart["session_date"].max()
    assert isinstance(last_session, date)
    last = end or last_session
    cal = calendar.filter(pl.col("scheduled") & pl.col("event").is_in(list(kinds)))
    gaps = _gap_months(cal, start, last)
    any_event = set(cal["session_date"].to_list())
    rng = np.random.default_rng(seed)
    rows = []
    missing: dict[int, int] = {}
    for h in horizons:
        changes = window_changes(mart, vx, h).filter(pl.col("session_date").is_between(start, last))
        changes = changes.with_columns(
            pl.col("session_date").is_in(list(any_event)).alias("_any"),
            pl.col("session_date").dt.strftime("%Y-%m").is_in(gaps).alias("_gap"),
        )
        missing[h] = changes.filter(pl.col("m1_change").is_null() & pl.col("vix_change").is_not_null()).height
        for kind in kinds:
            sessions = set(cal.filter(pl.col("event") == kind)["session_date"].to_list())
            labelled = changes.with_columns(pl.col("session_date").is_in(list(sessions)).alias("_event")).filter(
                pl.col("_event") | (~pl.col("_any") & ~pl.col("_gap"))
            )
            for series, col in (("VIX", "vix_change"), ("M1", "m1_change")):
                data = labelled.filter(pl.col(col).is_not_null())
                values = data[col].to_numpy().astype(float)
                is_event = data["_event"].to_numpy().astype(bool)
                ev, ot = values[is_event], values[~is_event]
                rows.append(
                    {
                        "kind": kind,
                        "series": series,
                        "horizon": h,
                        "n_event": len(ev),
                        "n_other": len(ot),
                        "mean_event": float(ev.mean()) if len(ev) else None,
                        "mean_other": float(ot.mean()) if len(ot) else None,
                        "median_event": float(np.median(ev)) if len(ev) else None,
                        "median_other": float(np.median(ot)) if len(ot) else None,
                        "mean_abs_event": float(np.abs(ev).mean()) if len(ev) else None,
                        "mean_abs_other": float(np.abs(ot).mean()) if len(ot) else None,
                        "p90_abs_event": float(np.quantile(np.abs(ev), 0.9)) if len(ev) else None,
                        "p90_abs_other": float(np.quantile(np.abs(ot), 0.9)) if len(ot) else None,
                        "share_up_event": float((ev > 0).mean()) if len(ev) else None,
                        "share_up_other": float((ot > 0).mean()) if len(ot) else None,
                        "p_mean": permutation_p(values, is_event, permutations, rng),
                        "p_abs": permutation_p(np.abs(values), is_event, permutations, rng),
                    }
                )
    table = pl.DataFrame(rows, infer_schema_length=None).select(COLUMNS)
    first_session = mart["session_date"].min()
    assert isinstance(first_session, date)
    return MacroEventStudy(table, max(start, first_session), last, gaps, missing)
