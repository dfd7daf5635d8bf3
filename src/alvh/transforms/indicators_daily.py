"""Build ``marts.indicators_daily``: one row per XNYS session (ALVH_METHOD.md §3).

Inputs are staging frames; the output is validated by ``alvh.schemas.marts.IndicatorsDaily``.

- MACD(12,26,9) on the VIX close series (the sessions that have a VIX close, in order), with
  TA-Lib's seeding; ``macd_cross`` from the histogram's sign changes.
- A/D line and RSI(14, Wilder) over the sessions that have breadth; a session without breadth
  has null ``advances/declines/ad_line/ad_rsi`` and ``breadth_missing = true``.
- Term structure and betas from :mod:`alvh.transforms.term_structure`; ``m{i}_forward`` is the settle
  or, for a contract missing from the data, the forward interpolated between the contracts that
  bracket it (:mod:`alvh.transforms.forwards`), with its source and basis.
- Regime, decided in order: ``fading`` if a −1 cross happened within the last
  ``fading_window`` sessions (today included) and VIX ≥ ``fading_vix``; ``spike`` if VIX ≥
  ``spike_vix`` or M1 > M2 forwards (backwardation); ``elevated`` if VIX ≥ ``elevated_vix`` or hist > 0;
  else ``calm``. Null when the session has no VIX close.
- Also carried for the signal engine: SPX and VVIX closes, and the latest 3-month T-bill rate on
  or before the session (percent) with the date it was observed.
- The next scheduled FOMC decision, CPI or PPI release after the session's close
  (:mod:`alvh.transforms.events`): what, when (date, time ET), the session it affects and how many
  sessions away, and a second one affecting that same session. Information only: no rule reads it.

Every column on a session depends only on data up to that session (no look-ahead) — except the
event columns, which read the published calendar of releases ahead, as a trader would.

A session the data does not reach yet gets :func:`placeholder_row`: the contracts the roll rule
expects and every input missing, so the signal engine publishes it stale.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar

import polars as pl

from alvh.core.settings import setting_default
from alvh.transforms.events import NEXT_EVENT_COLUMNS, next_events
from alvh.transforms.indicators import ad_line, add_macd, add_rsi, macd_cross
from alvh.transforms.term_structure import (
    FORWARD_COLUMNS,
    TermStructureParams,
    build_term_structure,
    expected_contracts,
)


@dataclass(frozen=True)
class IndicatorParams:
    """§3's periods and regime thresholds; defaults from the settings (``SETTING_NAMES``: renames)."""

    SETTING_NAMES: ClassVar[dict[str, str]] = {
        "fading_window": "regime_fading_window",
        "fading_vix": "regime_fading_vix",
        "spike_vix": "regime_spike_vix",
        "elevated_vix": "regime_elevated_vix",
    }

    macd_fast: int = setting_default("macd_fast")
    macd_slow: int = setting_default("macd_slow")
    macd_signal: int = setting_default("macd_signal")
    rsi_period: int = setting_default("rsi_period")
    fading_window: int = setting_default("regime_fading_window")
    fading_vix: float = setting_default("regime_fading_vix")
    spike_vix: float = setting_default("regime_spike_vix")
    elevated_vix: float = setting_default("regime_elevated_vix")
    term: TermStructureParams = field(default_factory=TermStructureParams)


def _close(index_daily: pl.DataFrame, symbol: str, name: str) -> pl.DataFrame:
    return index_daily.filter(pl.col("symbol") == symbol).select("session_date", pl.col("close").alias(name))


def build_indicators_daily(
    sessions: pl.Series,
    index_daily: pl.DataFrame,
    vx: pl.DataFrame,
    breadth: pl.DataFrame,
    rates: pl.DataFrame,
    params: IndicatorParams | None = None,
    events: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """One row per session in ``sessions`` (XNYS, ascending) with every indicator column;
    ``events``: ``staging.macro_event`` rows (none: the event columns are null)."""
    p = params or IndicatorParams()
    base = pl.DataFrame({"session_date": sessions.cast(pl.Date)}).sort("session_date")
    vix = _close(index_daily, "VIX", "vix_close").join(base, on="session_date", how="semi").sort("session_date")
    macd = add_macd(vix, "vix_close", fast=p.macd_fast, slow=p.macd_slow, signal=p.macd_signal).with_columns(
        macd_cross(pl.col("macd_hist")).alias("macd_cross")
    )
    ad = (
        breadth.join(base, on="session_date", how="semi")
        .sort("session_date")
        .select(
            "session_date",
            "advances",
            "declines",
            ad_line(pl.col("advances"), pl.col("declines")).alias("ad_line"),
        )
    )
    ad = add_rsi(
        ad.with_columns(pl.col("ad_line").cast(pl.Float64).alias("_ad")),
        "_ad",
        period=p.rsi_period,
        name="ad_rsi",
    ).drop("_ad")
    term = build_term_structure(base["session_date"], vx, vix, p.term)
    tbill = (
        rates.filter(pl.col("series") == "DTB3")
        .select(pl.col("date").alias("tbill_3m_date"), pl.col("value").alias("tbill_3m_pct"))
        .sort("tbill_3m_date")
    )
    frame = (
        base.join(macd, on="session_date", how="left")
        .join(ad, on="session_date", how="left")
        .join(term, on="session_date", how="left")
        .join(_close(index_daily, "SPX", "spx_close"), on="session_date", how="left")
        .join(_close(index_daily, "VVIX", "vvix_close"), on="session_date", how="left")
        .sort("session_date")
        .join_asof(tbill, left_on="session_date", right_on="tbill_3m_date", strategy="backward")
    )
    vixc, hist = pl.col("vix_close"), pl.col("macd_hist")
    recent_down = (
        (pl.col("macd_cross") == -1).fill_null(False).cast(pl.Int32).rolling_max(p.fading_window, min_samples=1)
    )
    backwardation = (pl.col("m1_forward") > pl.col("m2_forward")).fill_null(False)
    regime = (
        pl.when(vixc.is_null())
        .then(None)
        .when((recent_down == 1) & (vixc >= p.fading_vix))
        .then(pl.lit("fading"))
        .when((vixc >= p.spike_vix) | backwardation)
        .then(pl.lit("spike"))
        .when((vixc >= p.elevated_vix) | (hist > 0).fill_null(False))
        .then(pl.lit("elevated"))
        .otherwise(pl.lit("calm"))
    )
    calendar = events if events is not None else pl.DataFrame(schema=EVENTS_SCHEMA)
    upcoming = next_events(base["session_date"], calendar)
    return (
        frame.with_columns(
            regime.alias("regime"),
            pl.col("advances").is_null().alias("breadth_missing"),
        )
        .join(upcoming, on="session_date", how="left")
        .select(COLUMNS)
    )


EVENTS_SCHEMA = {
    "event": pl.String,
    "release_date": pl.Date,
    "time_et": pl.String,
    "session_date": pl.Date,
    "scheduled": pl.Boolean,
}


COLUMNS = [
    "session_date",
    "vix_close",
    "macd",
    "macd_signal",
    "macd_hist",
    "macd_cross",
    "advances",
    "declines",
    "ad_line",
    "ad_rsi",
    "m1_expiry",
    "m1_settle",
    "m1_dte",
    "m1_tdte",
    "m2_expiry",
    "m2_settle",
    "m2_dte",
    "m2_tdte",
    "m3_expiry",
    "m3_settle",
    "m3_dte",
    "m3_tdte",
    "contango",
    "basis",
    "beta_1",
    "beta_2",
    "beta_3",
    "regime",
    "term_structure_complete",
    "breadth_missing",
    "spx_close",
    "vvix_close",
    "tbill_3m_pct",
    "tbill_3m_date",
    *FORWARD_COLUMNS,  # appended after the first columns, so that a migrated warehouse has the same order
    *NEXT_EVENT_COLUMNS,  # appended last for the same reason
]


def placeholder_row(d: date, roll_tdte: int) -> dict[str, Any]:
    """A mart row for a session the data does not reach yet: every input missing (→ stale)."""
    exp = expected_contracts(pl.Series([d], dtype=pl.Date), roll_tdte).to_dicts()[0]
    return exp | {
        "vix_close": None,
        "vvix_close": None,
        "spx_close": None,
        "macd_hist": None,
        "macd_cross": None,
        "ad_rsi": None,
        "breadth_missing": True,
        "regime": None,
        "tbill_3m_pct": None,
        "m1_settle": None,
        "m2_settle": None,
        "m3_settle": None,
        "beta_1": None,
        "beta_2": None,
        "beta_3": None,
    }
