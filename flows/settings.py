"""The one typed settings object of alvh.

Resolution order (highest wins): explicit arguments (CLI flags) > environment variables ``ALVH_*``
> the TOML file (``alvh.toml`` in the working directory, or the path in ``ALVH_CONFIG``) > the
defaults below. Settings are resolved once at the entry point and passed down; transforms never
read them. Every default is documented in the README's configuration table.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class Settings(BaseSettings):
    """Configuration of the pipeline (see README, "Configuration")."""

    model_config = SettingsConfigDict(env_prefix="ALVH_", extra="forbid", toml_file="alvh.toml")

    # --- storage -------------------------------------------------------------------------------
    warehouse: Path = Field(Path("warehouse/alvh.duckdb"), description="DuckDB warehouse file")
    export_dir: Path = Field(Path("exports"), description="where CSV/Parquet exports are written")

    # --- where data comes from ----------------------------------------------------------------
    source_dir: Path | None = Field(
        None, description="read every source file from this folder instead of over HTTP"
    )
    cboe_index_base_url: str = "https://cdn.cboe.com/api/global/us_indices/daily_prices"
    cfe_vx_base_url: str = "https://cdn.cboe.com/data/us/futures/market_statistics/historical_data/VX"
    cfe_legacy_base_url: str = "https://cdn.cboe.com/resources/futures/archive/volume-and-price"
    unicorn_base_url: str = "http://unicorn.us.com/advdec"
    fred_base_url: str = "https://fred.stlouisfed.org/graph/fredgraph.csv"
    vendor_breadth_url: str | None = Field(
        None, description="URL or path of a vendor breadth CSV (date, advancing, declining)"
    )
    vendor_breadth_name: str = Field(
        "tv_nyse_adv_decl_daily.csv", description="file name of the vendor breadth CSV in a folder"
    )
    vendor_breadth_provider: str = "tradingview"
    vendor_breadth_date_column: str = "date"
    vendor_breadth_adv_column: str = "adv_close"
    vendor_breadth_decl_column: str = "decl_close"
    vendor_breadth_date_format: str = "%Y-%m-%d"

    index_symbols: list[str] = ["VIX", "VIX9D", "VIX3M", "VIX6M", "VVIX", "SKEW", "SPX"]
    fred_series: list[str] = ["DTB3"]
    unicorn_series: list[str] = ["advn", "decln", "unchn", "advv", "declv", "unchv"]
    vx_first_expiry: date = Field(
        date(2013, 1, 1), description="first monthly VX expiry fetched from the current CFE files"
    )
    vx_months_ahead: int = Field(9, description="monthly VX expiries requested past today")
    vx_legacy_first_year: int = 2004
    vx_legacy_last_year: int = 2015
    breadth_precedence: list[str] = Field(
        ["unicorn", "tradingview"], description="breadth providers, highest priority first"
    )
    breadth_glitch_fraction: float = Field(
        0.5, description="adv+dec below this fraction of the trailing median is a glitch day"
    )
    breadth_glitch_window: int = Field(20, description="trailing sessions for the glitch median")

    # --- indicators (ALVH_METHOD.md §3) ---------------------------------------------------------
    macd_fast: int = Field(12, description="MACD fast EMA period (sessions)")
    macd_slow: int = Field(26, description="MACD slow EMA period (sessions)")
    macd_signal: int = Field(9, description="MACD signal EMA period (sessions)")
    rsi_period: int = Field(14, description="RSI period on the A/D line (sessions)")
    roll_tdte: int = Field(5, description="M1 is the nearest monthly with more trading days left")
    beta_window: int = Field(252, description="valid daily pairs in the futures-beta regression")
    beta_defaults: tuple[float, float, float] = Field(
        (0.70, 0.50, 0.40), description="betas of M1-M3 before beta_window pairs exist"
    )
    beta_clip: tuple[float, float] = Field((0.1, 1.0), description="betas are clipped to this range")
    regime_fading_window: int = Field(10, description="sessions a -1 MACD cross counts as recent")
    regime_fading_vix: float = Field(20.0, description="fading needs VIX at or above this")
    regime_spike_vix: float = Field(30.0, description="spike when VIX at or above this")
    regime_elevated_vix: float = Field(20.0, description="elevated when VIX at or above this")

    # --- HTTP ----------------------------------------------------------------------------------
    http_connect_timeout_s: float = 5.0
    http_read_timeout_s: float = 30.0
    http_retries: int = Field(3, description="retries on 429/5xx/connection errors")
    http_backoff_s: float = Field(1.0, description="first retry delay; doubles each retry")
    http_max_bytes: int = Field(50_000_000, description="largest response accepted, in bytes")
    http_user_agent: str = "alvh/0.1"
    http_concurrency: int = Field(4, description="parallel downloads")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_path = Path(os.environ.get("ALVH_CONFIG", "alvh.toml"))
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=toml_path),
        )

    def settings_hash(self) -> str:
        """Short sha256 of every setting, recorded with published rows."""
        payload = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


def load_settings(**overrides: Any) -> Settings:
    """Resolve settings once; ``None`` overrides are ignored so CLI flags only win when given."""
    given = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**given)
