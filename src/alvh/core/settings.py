"""The one typed settings object of alvh.

Resolution order (highest wins): explicit arguments (CLI flags) > environment variables ``ALVH_*``
> the TOML file (``alvh.toml`` in the working directory, or the path in ``ALVH_CONFIG``) > the
defaults below. Settings are resolved once at the entry point and passed down; transforms never
read them. Every default is documented in the README's configuration table.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import logging
import math
import os
import re
import tomllib
from contextvars import ContextVar
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from alvh.core.paths import CONFIG_FILE, DEFAULT_EXPORT_DIR, DEFAULT_WAREHOUSE, absolute_path, default_home

_DEFAULT_CRON = "30 17 * * 1-5"
_CHECK_ALERTS: ContextVar[bool] = ContextVar("alvh_check_alerts", default=True)


def cron_problem(expr: str) -> str | None:
    """Why ``expr`` is not a valid 5-field cron expression (None when it is), read by cronsim —
    the parser of Prefect's scheduler stack, without importing Prefect."""
    from cronsim import CronSim, CronSimError

    if any(f.casefold() in ("r", "h") or f.startswith(("H(", "R(")) for f in expr.split()):
        return "random and hashed fields are not supported"
    try:
        CronSim(expr, datetime(2026, 1, 1))
    except CronSimError as exc:
        return str(exc).lower() or "not a cron expression"
    return None


class Settings(BaseSettings):
    """Configuration of the pipeline (see README, "Configuration")."""

    model_config = SettingsConfigDict(env_prefix="ALVH_", extra="forbid", toml_file="alvh.toml")

    # --- storage -------------------------------------------------------------------------------
    home: Path = Field(
        default_factory=lambda: default_home(),
        description="folder the default `warehouse`, `export_dir` and `backtest_out` live in",
        json_schema_extra={"default_text": "the project root in a checkout, else `~/.alvh`"},
    )
    warehouse: Path = Field(DEFAULT_WAREHOUSE, description="DuckDB warehouse file")
    export_dir: Path = Field(DEFAULT_EXPORT_DIR, description="where CSV/Parquet exports are written")
    page_keep_sessions: int = Field(
        0,
        ge=0,
        le=100_000,
        description="daily pages kept in <export_dir>/pages: the newest N sessions and the page just written "
        "(0 keeps all; a page is ~50–120 KB beside one shared plotly.js; "
        "alvh page --date D rebuilds any published session)",
    )

    # --- where data comes from ----------------------------------------------------------------
    source_dir: Path | None = Field(
        None,
        description="read every source file from this folder instead of over HTTP",
        json_schema_extra={"default_text": "none (HTTP)"},
    )
    cboe_index_base_url: str = Field(
        "https://cdn.cboe.com/api/global/us_indices/daily_prices", description="CBOE index histories"
    )
    cfe_vx_base_url: str = Field(
        "https://cdn.cboe.com/data/us/futures/market_statistics/historical_data/VX",
        description="CFE per-contract files",
    )
    cfe_legacy_base_url: str = Field(
        "https://cdn.cboe.com/resources/futures/archive/volume-and-price", description="CFE legacy archive"
    )
    unicorn_base_url: str = Field("http://unicorn.us.com/advdec", description="Unicorn breadth archive (plain HTTP)")
    fred_base_url: str = Field("https://fred.stlouisfed.org/graph/fredgraph.csv", description="FRED CSV endpoint")
    vendor_breadth_url: str | None = Field(None, description="URL or path of a vendor breadth CSV")
    vendor_breadth_name: str = Field("tv_nyse_adv_decl_daily.csv", description="its file name when reading a folder")
    vendor_breadth_provider: str = Field("tradingview", description="provider name stored with its rows")
    vendor_breadth_date_column: str = Field("date", description="its date column")
    vendor_breadth_adv_column: str = Field("adv_close", description="its advancing-issues column")
    vendor_breadth_decl_column: str = Field("decl_close", description="its declining-issues column")
    vendor_breadth_date_format: str = Field("%Y-%m-%d", description="its date format (strftime)")
    events_macro_url: str | None = Field(
        "https://raw.githubusercontent.com/mslade50/New_Seasonals/a0fe2c71c2dcd2c15335eeb1265e348a8110c99e/data/"
        "macro_events.csv",
        description="macro calendar (CPI, PPI, NFP, FOMC…) stored as macro_events.csv; pinned to the commit "
        "described in PROVENANCE §14 (a branch URL takes updates, through the revision guard); empty = not loaded",
    )
    events_fomc_url: str | None = Field(
        "https://raw.githubusercontent.com/margaret2931/"
        "Partial-Replication-Market-Based-Monetary-Policy-Uncertainty/d841e44146b26860788e871f1f6dbbffae9d8dcf/"
        "data/fomc_dates.csv",
        description="FOMC dates with the fed-funds-futures surprise MP1, stored as fomc_dates.csv; empty = not loaded",
    )

    index_symbols: list[str] = Field(
        ["VIX", "VIX9D", "VIX3M", "VIX6M", "VVIX", "SKEW", "SPX"], description="CBOE index files to load"
    )
    fred_series: list[str] = Field(["DTB3"], description="FRED series to load")
    unicorn_series: list[str] = Field(
        ["advn", "decln", "unchn", "advv", "declv", "unchv"], description="Unicorn files to load"
    )
    vx_first_expiry: date = Field(
        date(2013, 1, 1), description="first monthly expiry requested from the current CFE files"
    )
    vx_months_ahead: int = Field(9, ge=1, le=24, description="months of future expiries requested past today")
    vx_legacy_first_year: int = Field(2004, description="first year requested from the legacy archive")
    vx_legacy_last_year: int = Field(2015, description="last year requested from the legacy archive")
    breadth_precedence: list[str] = Field(
        ["unicorn", "tradingview"], description="breadth providers, highest priority first"
    )
    breadth_glitch_fraction: float = Field(
        0.5,
        gt=0,
        lt=1,
        allow_inf_nan=False,
        description="adv + dec below this × trailing median is a glitch day",
    )
    breadth_glitch_window: int = Field(20, ge=2, le=500, description="sessions in that trailing median")

    # --- what gets in (README, "Data rules a user can rely on") --------------------------------
    revision_max_rows: int = Field(
        5, ge=0, le=1_000_000, description="a file revising more stored rows than this is refused whole"
    )
    revision_max_share: float = Field(
        0.01,
        ge=0,
        le=1,
        allow_inf_nan=False,
        description="… or more than this share of the rows already stored from that file (from 2 rows on)",
    )
    revision_max_age_sessions: int = Field(
        10, ge=0, le=10_000, description="… or changing a value more than this many sessions old (before the run date)"
    )
    revision_tolerance: float = Field(
        0.001,
        ge=0,
        le=1,
        allow_inf_nan=False,
        description="… by more than this relative change (0.001 = 0.1 %)",
    )
    bad_date_max_share: float = Field(
        0.01,
        ge=0,
        le=1,
        allow_inf_nan=False,
        description="a file with more unparseable dates than this share is refused whole",
    )
    bounds_vix: tuple[float, float] = Field(
        (1.0, 250.0), description="plausible VIX, VIX9D, VIX3M, VIX6M values, index points"
    )
    bounds_vvix: tuple[float, float] = Field((10.0, 500.0), description="plausible VVIX values, index points")
    bounds_skew: tuple[float, float] = Field((50.0, 300.0), description="plausible SKEW values, index points")
    bounds_spx: tuple[float, float] = Field((1.0, 100_000.0), description="plausible SPX values, index points")
    bounds_index_other: tuple[float, float] = Field(
        (0.01, 1_000_000.0), description="plausible values of any other index symbol, index points"
    )
    bounds_vx: tuple[float, float] = Field(
        (0.0, 250.0), description="plausible VX futures prices and settles (after ÷10), index points"
    )
    bounds_breadth_issues: tuple[float, float] = Field(
        (0.0, 20_000.0), description="plausible advancing/declining/unchanged issue counts"
    )
    bounds_breadth_volume: tuple[float, float] = Field(
        (0.0, 1e12), description="plausible advancing/declining/unchanged volume, shares (or thousands)"
    )
    bounds_rate: tuple[float, float] = Field((-5.0, 30.0), description="plausible rates, percent per annum")
    bounds_mp1: tuple[float, float] = Field(
        (-5.0, 5.0), description="plausible fed-funds-futures surprises of an FOMC announcement, percentage points"
    )

    # --- indicators (ALVH_METHOD.md §3) ---------------------------------------------------------
    macd_fast: int = Field(12, ge=2, le=200, description="MACD fast EMA period, sessions")
    macd_slow: int = Field(26, ge=2, le=400, description="MACD slow EMA period, sessions")
    macd_signal: int = Field(9, ge=1, le=200, description="MACD signal EMA period, sessions")
    rsi_period: int = Field(14, ge=2, le=200, description="RSI period on the A/D line, sessions")
    roll_tdte: int = Field(
        5, ge=0, le=20, description="M1 is the nearest monthly contract with more than this many trading days left"
    )
    beta_window: int = Field(
        252, ge=20, le=2520, description="valid daily (ΔF, ΔVIX) pairs in the futures-beta regression"
    )
    beta_defaults: tuple[float, float, float] = Field(
        (0.70, 0.50, 0.40), description="betas of M1–M3 before `beta_window` pairs exist"
    )
    beta_clip: tuple[float, float] = Field((0.1, 1.0), description="betas are clipped to this range")
    regime_fading_window: int = Field(10, ge=1, le=100, description="sessions a −1 MACD cross counts as recent")
    regime_fading_vix: float = Field(
        20.0, gt=0, le=200, allow_inf_nan=False, description="`fading` needs VIX at or above this"
    )
    regime_spike_vix: float = Field(
        30.0, gt=0, le=200, allow_inf_nan=False, description="`spike` when VIX is at or above this (or M1 > M2)"
    )
    regime_elevated_vix: float = Field(
        20.0, gt=0, le=200, allow_inf_nan=False, description="`elevated` when VIX is at or above this (or hist > 0)"
    )

    # --- hedge sizing and actions (ALVH_METHOD.md §5–§6) -------------------------------------
    hedge_mode: Literal["steward", "fixed"] = Field(
        "steward", description="steward (carry cap) or fixed (r* = fixed_ratio)"
    )
    layer_weights: tuple[float, float, float] = Field((0.4, 0.4, 0.2), description="the 4/4/2 ladder")
    target_delta: float = Field(
        0.30, gt=0, lt=1, allow_inf_nan=False, description="new VIX calls: Black-76 delta nearest this"
    )
    rebalance_band: float = Field(0.15, ge=0, le=5, allow_inf_nan=False, description="hysteresis band around r*")
    min_trade_contracts: int = Field(2, ge=0, le=10_000, description="smallest ADD/TRIM, contracts")
    min_trade_fraction: float = Field(
        0.10, ge=0, le=1, allow_inf_nan=False, description="smallest ADD/TRIM as a fraction of target"
    )
    fixed_ratio: float = Field(0.9, gt=0, le=10, allow_inf_nan=False, description="r* in fixed mode")
    carry_budget: float = Field(
        0.35, gt=0, le=10, allow_inf_nan=False, description="steward: monthly carry ≤ this × IC credit"
    )
    ratio_base: float = Field(0.9, gt=0, le=10, allow_inf_nan=False, description="r_b at RSI 50")
    ratio_span: float = Field(
        0.3, ge=0, le=10, allow_inf_nan=False, description="r_b moves ± this across the RSI range"
    )
    ratio_min: float = Field(0.6, gt=0, le=10, allow_inf_nan=False, description="lowest r*")
    ratio_max: float = Field(1.2, gt=0, le=10, allow_inf_nan=False, description="highest r*")
    rsi_center: float = Field(50.0, ge=0, le=100, allow_inf_nan=False, description="neutral A/D RSI")
    rsi_scale: float = Field(20.0, gt=0, le=100, allow_inf_nan=False, description="RSI points for a full r_b move")
    macd_tilt: float = Field(
        0.1, ge=0, le=5, allow_inf_nan=False, description="r* tilt by the sign of the MACD histogram"
    )
    harvest_multiple: float = Field(
        3.0, gt=1, le=1000, allow_inf_nan=False, description="take profit when a contract is worth this × cost"
    )
    harvest_b_multiple: float = Field(
        2.0, gt=1, le=1000, allow_inf_nan=False, description="-1 cross harvest: L1 worth this × cost"
    )
    harvest_b_vix: float = Field(
        25.0, ge=0, le=200, allow_inf_nan=False, description="-1 cross harvest needs VIX at or above this"
    )
    hold_before_events: bool = Field(
        False,
        description="research: no take-profit, harvest or trim the session before a scheduled FOMC/CPI/PPI release",
    )
    vvix_ref_days: float = Field(
        30.0, gt=0, le=365, allow_inf_nan=False, description="VVIX term scaling reference, calendar days"
    )
    vvix_exponent: float = Field(
        0.30, ge=0, le=2, allow_inf_nan=False, description="legacy VIX-call vol: σ_i = VVIX/100 × (ref/dte)^exponent"
    )
    vix_vol_model: Literal["smile", "legacy"] = Field(
        "smile",
        description="VIX-call vol: the ALVH-2026.3 smile surface, or ALVH-2026.2's legacy term formula (comparison)",
    )
    smile_atm_level: float = Field(
        0.976, gt=0, le=5, allow_inf_nan=False, description="surface: at-the-money σ / VVIX at ref_days (30 d)"
    )
    smile_atm_slope: float = Field(
        0.100, ge=-1, le=1, allow_inf_nan=False, description="surface: ATM term factor exp(slope·ln τ − curvature·ln²τ)"
    )
    smile_atm_curvature: float = Field(
        0.126, ge=0, le=1, allow_inf_nan=False, description="surface: ATM term hump curvature (≥ 0)"
    )
    smile_skew: float = Field(
        1.356,
        ge=0,
        le=10,
        allow_inf_nan=False,
        description="surface: call skew at 30 d, dσ/σ_atm per unit x = ln(K/F)/√τ",
    )
    smile_skew_decay: float = Field(
        0.283, ge=0, le=2, allow_inf_nan=False, description="surface: skew falls as τ^(−decay) with tenor"
    )
    smile_skew_cap: float = Field(
        0.377,
        gt=0,
        le=5,
        allow_inf_nan=False,
        description="surface: skew bends to a plateau at |x| ≈ this (c·tanh(x/c))",
    )
    smile_skew_vvix_pivot: float = Field(
        120.0,
        gt=0,
        le=1000,
        allow_inf_nan=False,
        description="surface: above this VVIX the skew in vol points stops growing",
    )
    smile_min_days: float = Field(
        14.0,
        gt=0,
        le=365,
        allow_inf_nan=False,
        description="surface: level and skew held flat below this dte, calendar days",
    )
    quote_error_max_pct: float = Field(
        15.0,
        gt=0,
        le=1000,
        allow_inf_nan=False,
        description="doctor: attention when the surface misprices a held quoted VIX call by more than this % of mid",
    )
    default_rate: float = Field(
        0.04, ge=-0.05, le=0.5, allow_inf_nan=False, description="risk-free rate when DTB3 is absent (decimal)"
    )

    # --- the IC book (ALVH_METHOD.md §4) ------------------------------------------------------
    positions_max_qty: int = Field(
        100_000, ge=1, le=10_000_000, description="largest quantity accepted on one line of a positions import"
    )
    positions_max_bytes: int = Field(
        5_000_000,
        ge=1_000,
        le=10_000_000_000,
        description="largest positions file `alvh positions import` reads, bytes (a book is a few KB)",
    )
    positions_file: Path | None = Field(None, description="CSV/TOML of the user's SPX legs (else the model IC)")
    order_limit_offset: float = Field(
        0.05,
        ge=0,
        le=10,
        allow_inf_nan=False,
        description="orders export: limit = model price + this (BUY) or − this (SELL), VIX points, on the 0.05 tick",
    )
    ic_contracts: int = Field(10, ge=1, le=100_000, description="model IC size, contracts per leg")
    ic_short_delta: float = Field(
        0.20, gt=0, lt=0.5, allow_inf_nan=False, description="model IC short strikes' |delta|"
    )
    ic_wing_delta: float = Field(0.05, gt=0, lt=0.5, allow_inf_nan=False, description="model IC wings' |delta|")
    ic_strike_step: float = Field(5.0, gt=0, le=100, allow_inf_nan=False, description="SPX strike grid, points")
    dividend_yield: float = Field(0.018, ge=0, le=0.2, allow_inf_nan=False, description="SPX dividend yield (decimal)")
    smile_a: float = Field(0.80, gt=0, le=5, allow_inf_nan=False, description="ATM SPX vol = a × VIX")
    smile_b_put: float = Field(0.80, ge=0, le=10, allow_inf_nan=False, description="smile slope for puts")
    smile_b_call: float = Field(0.15, ge=0, le=10, allow_inf_nan=False, description="smile slope for calls")
    smile_floor: float = Field(0.05, gt=0, le=5, allow_inf_nan=False, description="lowest SPX vol")
    program_dte: int = Field(30, ge=1, le=365, description="program vega: legs re-priced at this many days")

    # --- backtest (ALVH_METHOD.md §9) ---------------------------------------------------------
    commission_usd: float = Field(
        0.65, ge=0, le=100, allow_inf_nan=False, description="commission per option contract, dollars"
    )
    vix_half_spread: float = Field(
        0.05, ge=0, le=10, allow_inf_nan=False, description="half bid-ask of VIX options, VIX points"
    )
    spx_half_spread: float = Field(
        0.30, ge=0, le=100, allow_inf_nan=False, description="half bid-ask of SPX options, SPX points"
    )
    vix_spread_model: Literal["fitted", "constant"] = Field(
        "fitted",
        description="VIX-option half-spread: 'fitted' (price and VVIX, fitted to Cboe's 2016-06-01 chain) "
        "or 'constant' (vix_half_spread, ALVH-2026.2)",
    )
    vix_spread_base: float = Field(
        0.0285, ge=0, le=10, allow_inf_nan=False, description="fitted half-spread: intercept, VIX points"
    )
    vix_spread_slope: float = Field(
        0.0163, ge=0, le=1, allow_inf_nan=False, description="fitted half-spread: VIX points per point of price"
    )
    vix_spread_floor: float = Field(
        0.025, ge=0, le=10, allow_inf_nan=False, description="fitted half-spread: least value (half the 0.05 tick)"
    )
    vix_spread_vvix_ref: float = Field(
        79.0, gt=0, le=1000, allow_inf_nan=False, description="fitted half-spread: VVIX of the fitted chain"
    )
    vix_spread_vvix_power: float = Field(
        1.0,
        ge=0,
        le=5,
        allow_inf_nan=False,
        description="fitted half-spread widens by (VVIX / vix_spread_vvix_ref)^power above the reference",
    )
    vix_spread_scale: float = Field(
        1.0, ge=0, le=100, allow_inf_nan=False, description="multiplier on the VIX half-spread (either model)"
    )
    fill_lag_sessions: int = Field(
        1,
        ge=0,
        le=5,
        description="backtest: an order decided at a session's close fills this many sessions later, "
        "at that session's close price plus the spread (0: at the signal's own close, the method's comparison)",
    )
    backtest_start: date = Field(date(2007, 1, 3), description="first session (VVIX unreliable before 2007)")
    backtest_strategies: list[dict[str, Any]] = Field(
        [], description="extra named strategies: {name, kind, tenor, qty, <any hedge or IC setting>}"
    )
    backtest_out: Path = Field(Path("reports/backtest"), description="report and exports of alvh backtest")
    dask_address: str | None = Field(
        None,
        pattern=r"^(tcp|tls|inproc|ucx)://[^\s]+$",
        description="scheduler of an existing Dask cluster for sweeps and walk-forward studies, "
        "e.g. `tcp://10.0.0.5:8786` (else a local cluster on this machine)",
    )
    sweep_workers: int = Field(
        2, ge=1, le=512, description="worker processes of the local Dask cluster (and of a process-pool sweep)"
    )

    gx_validation: bool = Field(True, description="also validate published marts with the GX suite")
    lock_timeout_s: float = Field(
        60.0,
        ge=0,
        le=86_400,
        allow_inf_nan=False,
        description="a writing job waits this long (seconds) for another job, or for readers, to free the warehouse",
    )
    late_data_retries: int = Field(
        3, ge=0, le=20, description="further tries of the ingest when today's data is not out yet"
    )
    late_data_delay_s: float = Field(
        600.0,
        ge=0,
        le=86_400,
        allow_inf_nan=False,
        description="seconds between those tries (a rescheduled run, or a task retry)",
    )

    # --- alerts -------------------------------------------------------------------------------
    alert_url: SecretStr | None = Field(
        None,
        description="Apprise URL(s) for alerts, space/comma separated: slack://, discord://, msteams://, "
        "mailto(s)://, tgram://, json(s):// (a secret)",
    )
    alert_url_block: str | None = Field(None, description="or: name of a Prefect Secret block holding them")

    # --- schedule -----------------------------------------------------------------------------
    daily_cron: str = Field(_DEFAULT_CRON, description="when the daily run starts")
    schedule_timezone: str = Field("America/New_York", description="time zone of daily_cron")

    # --- HTTP ----------------------------------------------------------------------------------
    http_connect_timeout_s: float = Field(
        5.0, gt=0, le=600, allow_inf_nan=False, description="connect timeout, seconds"
    )
    http_read_timeout_s: float = Field(30.0, gt=0, le=3600, allow_inf_nan=False, description="read timeout, seconds")
    http_retries: int = Field(3, ge=0, le=20, description="retries on 429/5xx/connection errors/cut bodies")
    http_backoff_s: float = Field(
        1.0,
        ge=0,
        le=600,
        allow_inf_nan=False,
        description="first retry delay, seconds; doubles each retry (plus up to 50 % jitter)",
    )
    http_max_bytes: int = Field(50_000_000, ge=1_000, le=10_000_000_000, description="largest response accepted, bytes")
    http_user_agent: str = Field("alvh/0.1", description="User-Agent header")
    http_retry_after_max_s: float = Field(
        120.0, ge=0, le=3600, allow_inf_nan=False, description="longest Retry-After honoured, seconds"
    )
    http_concurrency: int = Field(4, ge=1, le=64, description="parallel downloads")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_path = Path(os.environ.get("ALVH_CONFIG", CONFIG_FILE))
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=toml_path),
        )

    @model_validator(mode="after")
    def _cross_field_rules(self) -> Settings:
        """Rules between settings; each message names the settings at fault."""
        problems = []
        if not self.ratio_min <= self.ratio_max:
            problems.append(f"ratio_min {self.ratio_min} must be ≤ ratio_max {self.ratio_max}")
        if not self.ratio_min <= self.fixed_ratio <= self.ratio_max:
            problems.append(
                f"fixed_ratio {self.fixed_ratio} must lie within "
                f"ratio_min {self.ratio_min} … ratio_max {self.ratio_max}"
            )
        w = self.layer_weights
        if not all(math.isfinite(x) and x > 0 for x in w) or abs(sum(w) - 1.0) > 1e-6:
            problems.append(f"layer_weights {list(w)} must be three positive numbers summing to 1")
        lo, hi = self.beta_clip
        if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo < hi):
            problems.append(f"beta_clip {[lo, hi]} must be [low, high] with 0 < low < high")
        if not all(math.isfinite(b) and b > 0 for b in self.beta_defaults):
            problems.append(f"beta_defaults {list(self.beta_defaults)} must be positive numbers")
        if not self.macd_fast < self.macd_slow:
            problems.append(f"macd_fast {self.macd_fast} must be < macd_slow {self.macd_slow}")
        for name in _BOUNDS_FIELDS:
            lo, hi = getattr(self, name)
            if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
                problems.append(f"{name} {[lo, hi]} must be [low, high] with finite low < high")
        floor_slope = self.smile_skew * (self.smile_min_days / self.vvix_ref_days) ** (-self.smile_skew_decay)
        if floor_slope * self.smile_skew_cap >= 0.95:
            problems.append(
                f"smile_skew × smile_skew_cap × (smile_min_days/vvix_ref_days)^(−smile_skew_decay) = "
                f"{floor_slope * self.smile_skew_cap:.3f} must be < 0.95 (else deep in-the-money calls get σ ≤ 0)"
            )
        if 2 * self.smile_atm_slope + 1 < 4 * self.smile_atm_curvature * math.log(270 / self.vvix_ref_days):
            problems.append(
                "smile_atm_slope / smile_atm_curvature let at-the-money total variance fall with tenor before "
                "270 days, the longest listed VIX option (need 2·slope + 1 ≥ 4·curvature·ln(270/vvix_ref_days))"
            )
        if not self.ic_wing_delta < self.ic_short_delta:
            problems.append(f"ic_wing_delta {self.ic_wing_delta} must be < ic_short_delta {self.ic_short_delta}")
        try:
            ZoneInfo(self.schedule_timezone)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(f"schedule_timezone {self.schedule_timezone!r} is not an IANA time zone")
        if len(self.daily_cron.split()) != 5:
            problems.append(f"daily_cron {self.daily_cron!r} must be a 5-field cron expression, e.g. '30 17 * * 1-5'")
        elif self.daily_cron != _DEFAULT_CRON:
            why = cron_problem(self.daily_cron)
            if why:
                problems.append(f"daily_cron {self.daily_cron!r} is not a valid cron expression ({why})")
        if self.alert_url is not None and _CHECK_ALERTS.get():
            bad = [f"channel {i} ({scheme})" for i, scheme, ok in alert_channels(self) if not ok]
            if bad:
                problems.append(
                    f"alert_url: {', '.join(bad)} is not a URL Apprise can send to, so its alerts would be lost; "
                    "fix its form (e.g. mailto://user:password@smtp.example.com:587?to=you@example.com, "
                    "slack://…, json://host/path) — `alvh settings` lists each channel"
                )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @field_validator("home", "warehouse", "export_dir", "source_dir", "positions_file", "backtest_out", mode="before")
    @classmethod
    def _no_empty_path(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            raise ValueError("is empty, which would mean the current folder: give a path, or unset it for the default")
        return value

    @model_validator(mode="after")
    def _absolute_paths(self) -> Settings:
        """Every path becomes absolute: defaults under ``home``, user-given ones against the
        current directory (as any command-line path), so a run does not depend on where it starts."""
        self.home = self.home.expanduser().resolve()
        for name in _PATH_FIELDS:
            value = getattr(self, name)
            if value is None:
                continue
            setattr(self, name, absolute_path(value, given=name in self.model_fields_set, home=self.home))
        return self


def _default_text(name: str) -> str:
    f = Settings.model_fields[name]
    extra = f.json_schema_extra if isinstance(f.json_schema_extra, dict) else {}
    if "default_text" in extra:
        return str(extra["default_text"])
    value = f.get_default(call_default_factory=True)
    if value is None:
        return "none"
    if name in _PATH_FIELDS:
        return f"`{value}` (under `home`)"
    if isinstance(value, list | tuple):
        return (
            "`"
            + json.dumps(list(value), separators=(",", ":") if value and isinstance(value[0], str) else (", ", ": "))
            + "`"
        )
    return f"`{value}`"


def settings_markdown() -> str:
    """The README's configuration table, generated from the settings model (name, environment
    variable, default, description) so it cannot drift from the code."""
    lines = ["| setting | environment | default | meaning |", "|---|---|---|---|"]
    for name, f in Settings.model_fields.items():
        lines.append(f"| `{name}` | `ALVH_{name.upper()}` | {_default_text(name)} | {f.description} |")
    return "\n".join(lines) + "\n"


def setting_default(name: str) -> Any:
    """The default of one setting: the one place each default is defined (parameter dataclasses
    of the method take theirs from here)."""
    f = Settings.model_fields[name]
    value = f.get_default(call_default_factory=True)
    return tuple(value) if isinstance(value, list) else value


P = TypeVar("P")


def params_from(cls: type[P], settings: Settings, **nested: Any) -> P:
    """A parameter dataclass filled from ``settings`` by construction: each field takes the
    setting of the same name, or the one its class maps it to in ``SETTING_NAMES``; ``nested``
    gives fields that are themselves parameter objects."""
    renames: dict[str, str] = getattr(cls, "SETTING_NAMES", {})
    values: dict[str, Any] = dict(nested)
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        name = renames.get(f.name, f.name)
        if f.name not in values and name in Settings.model_fields:
            value = getattr(settings, name)
            values[f.name] = tuple(value) if isinstance(value, list) else value
    return cls(**values)


def setting_names(cls: type) -> frozenset[str]:
    """The settings a parameter dataclass reads through ``params_from`` (its own fields only)."""
    renames: dict[str, str] = getattr(cls, "SETTING_NAMES", {})
    names = (renames.get(f.name, f.name) for f in dataclasses.fields(cls))
    return frozenset(n for n in names if n in Settings.model_fields)


_BOUNDS_FIELDS = (
    "bounds_vix",
    "bounds_vvix",
    "bounds_skew",
    "bounds_spx",
    "bounds_index_other",
    "bounds_vx",
    "bounds_breadth_issues",
    "bounds_breadth_volume",
    "bounds_rate",
    "bounds_mp1",
)
_PATH_FIELDS = ("warehouse", "export_dir", "source_dir", "positions_file", "backtest_out")


RENAMED = {  # old environment variable → the setting that replaced it (still honoured)
    "ALVH_ALERT_WEBHOOK_URL": "alert_url",
    "ALVH_ALERT_WEBHOOK_BLOCK": "alert_url_block",
}


def warn_unknown_variables(environ: dict[str, str] | None = None) -> list[str]:
    """Warn (log ``alvh.settings``, shown on stderr) about ``ALVH_*`` variables that name no
    setting, with the closest valid name; returns them."""
    env = os.environ if environ is None else environ
    known = {f"ALVH_{name.upper()}" for name in Settings.model_fields} | {"ALVH_CONFIG"} | set(RENAMED)
    unknown = sorted(k for k in env if k.upper().startswith("ALVH_") and k.upper() not in known)
    for key in unknown:
        close = difflib.get_close_matches(key.upper(), sorted(known), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close else ""
        logging.getLogger("alvh.settings").warning("warning: %s is not an alvh setting and is ignored%s", key, hint)
    return unknown


def alert_channels(settings: Settings) -> list[tuple[int, str, bool]]:
    """(position from 1, scheme, usable) of each URL in ``alert_url`` — a channel is named by its
    scheme only, never by the URL (a secret). Usable: Apprise reads it (a bare ``http(s)://`` URL it
    does not recognise is posted as JSON, as the alert sender does)."""
    if settings.alert_url is None:
        return []
    import apprise

    out = []
    urls = [u for u in re.split(r"[\s,]+", settings.alert_url.get_secret_value()) if u]
    quiet = logging.getLogger("apprise")  # Apprise logs the URL (the secret) of one it cannot load
    was = quiet.disabled
    quiet.disabled = True
    try:
        for i, url in enumerate(urls, start=1):
            scheme = url.split("://", 1)[0].lower() if "://" in url else "unknown"
            ok = apprise.Apprise.instantiate(url) is not None
            if not ok and url.lower().startswith(("http://", "https://")):
                ok = apprise.Apprise.instantiate("json" + url[4:]) is not None
            out.append((i, scheme, ok))
    finally:
        quiet.disabled = was
    return out


def check_config_file(path: Path) -> None:
    """Refuse, in one line naming the file and the line, a config file that is not UTF-8 text or
    not valid TOML (pydantic-settings would raise a bare decode error)."""
    from alvh.core.errors import ConfigError

    if not path.is_file():
        return
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"config file {path}, line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x}) — a binary file? "
            "alvh reads a TOML file of settings: fix it, or point ALVH_CONFIG at the right file"
        ) from None
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
        where = f", line {m.group(1)}, column {m.group(2)}" if m else ""
        why = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", msg)
        raise ConfigError(
            f"config file {path}{where}: not valid TOML ({why}); expected `name = value` lines "
            "(see `alvh settings --markdown`)"
        ) from None


def _env_parse_error(exc: SettingsError) -> str:
    """One line for a variable whose value pydantic-settings cannot parse (a list or tuple setting
    takes JSON): the variable, its value and the form expected."""
    m = re.search(r'field "(\w+)"', str(exc))
    if m is None or m.group(1) not in Settings.model_fields:
        return f"a setting from the environment cannot be parsed ({str(exc).splitlines()[0]})"
    name = m.group(1)
    var = next((k for k in os.environ if k.upper() == f"ALVH_{name.upper()}"), f"ALVH_{name.upper()}")
    default = Settings.model_fields[name].get_default(call_default_factory=True)
    example = json.dumps(list(default)) if isinstance(default, list | tuple) else json.dumps(default, default=str)
    return (
        f"{var}={os.environ.get(var, '')!r} is not valid JSON for setting {name}; expected JSON like {example} "
        "(quote it in the shell: export " + f"{var}='{example}')"
    )


def load_settings(**overrides: Any) -> Settings:
    """Resolve settings once; ``None`` overrides are ignored so CLI flags only win when given.
    ``check_alerts=False`` (``alvh settings``, ``alvh doctor``) loads a bad alert URL so it can
    be shown as such instead of refusing.

    Raises ``ConfigError`` naming each setting at fault (its environment variable, what it got,
    what is expected), a config file that is not valid TOML (its path and line), a variable that
    does not parse — never a pydantic traceback."""
    from alvh.core.errors import ConfigError

    check_alerts = bool(overrides.pop("check_alerts", True))
    config = os.environ.get("ALVH_CONFIG")
    if config and not Path(config).expanduser().is_file():
        raise ConfigError(f"ALVH_CONFIG names {config}, which is not a file; create it or unset ALVH_CONFIG")
    check_config_file(Path(config).expanduser() if config else CONFIG_FILE)
    warn_unknown_variables()
    given = {k: v for k, v in overrides.items() if v is not None}
    for old_name, new_name in RENAMED.items():  # older installs keep alerting after an upgrade
        if os.environ.get(old_name) and f"ALVH_{new_name.upper()}" not in os.environ and new_name not in given:
            logging.getLogger("alvh.settings").warning(
                "warning: %s is now ALVH_%s; using its value (rename it)", old_name, new_name.upper()
            )
            given[new_name] = os.environ[old_name]
    token = _CHECK_ALERTS.set(check_alerts)
    try:
        return Settings(**given)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
    except SettingsError as exc:
        raise ConfigError(_env_parse_error(exc)) from None
    finally:
        _CHECK_ALERTS.reset(token)


def _describe(exc: ValidationError) -> str:
    """One line per invalid setting: name, environment variable, the value and the rule."""
    parts = []
    for err in exc.errors():
        loc = [str(x) for x in err["loc"] if not isinstance(x, int)]
        msg = err["msg"].removeprefix("Value error, ")
        if loc:
            name = loc[0]
            got = err.get("input")
            got_text = f" (got {got!r})" if not isinstance(got, dict) else ""
            parts.append(f"setting {name} (ALVH_{name.upper()}): {msg}{got_text}")
        else:
            parts.append(f"settings: {msg}")
    return "invalid configuration — " + "; ".join(parts)
