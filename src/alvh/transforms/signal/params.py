"""The engine's parameters (ALVH_METHOD.md §4–§6) and its method version.

Every number is a setting; each default is defined once, in ``alvh.core.settings``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Any, ClassVar

from alvh.core.settings import setting_default
from alvh.transforms.ic_book import IcParams
from alvh.transforms.vix_surface import VixSurface

METHOD_VERSION = "ALVH-2026.3"  # the smile surface (§4) and §6's "a rule that trades nothing does not claim"
# vix_vol_model = "legacy": ALVH-2026.3's rules with ALVH-2026.2's VIX-call vol, for comparison
LEGACY_METHOD_VERSION = "ALVH-2026.3-legacy-vol"
LAYERS = (1, 2, 3)

CARRY_DAYS = 30.0  # calendar days in the steward's "monthly" carry (theta per day × 30)
OPTION_MULTIPLIER = 100.0  # dollars per VIX-option point


@dataclass(frozen=True)
class HedgeParams:
    """Every number of §4–§6. Defaults are the settings' (``alvh.core.settings``, the one place
    each is defined); ``SETTING_NAMES`` maps the fields whose setting has another name."""

    SETTING_NAMES: ClassVar[dict[str, str]] = {
        "weights": "layer_weights",
        "band": "rebalance_band",
        "mode": "hedge_mode",
    }

    weights: tuple[float, float, float] = setting_default("layer_weights")
    target_delta: float = setting_default("target_delta")
    band: float = setting_default("rebalance_band")
    min_trade_contracts: int = setting_default("min_trade_contracts")
    min_trade_fraction: float = setting_default("min_trade_fraction")
    mode: str = setting_default("hedge_mode")  # steward or fixed
    fixed_ratio: float = setting_default("fixed_ratio")
    carry_budget: float = setting_default("carry_budget")
    ratio_base: float = setting_default("ratio_base")
    ratio_span: float = setting_default("ratio_span")
    ratio_min: float = setting_default("ratio_min")
    ratio_max: float = setting_default("ratio_max")
    rsi_center: float = setting_default("rsi_center")
    rsi_scale: float = setting_default("rsi_scale")
    macd_tilt: float = setting_default("macd_tilt")
    harvest_multiple: float = setting_default("harvest_multiple")
    harvest_b_multiple: float = setting_default("harvest_b_multiple")
    harvest_b_vix: float = setting_default("harvest_b_vix")
    roll_tdte: int = setting_default("roll_tdte")
    hold_before_events: bool = setting_default("hold_before_events")  # research setting (issue 22)
    vvix_ref_days: float = setting_default("vvix_ref_days")
    vvix_exponent: float = setting_default("vvix_exponent")
    vix_vol_model: str = setting_default("vix_vol_model")  # smile or legacy
    smile_atm_level: float = setting_default("smile_atm_level")
    smile_atm_slope: float = setting_default("smile_atm_slope")
    smile_atm_curvature: float = setting_default("smile_atm_curvature")
    smile_skew: float = setting_default("smile_skew")
    smile_skew_decay: float = setting_default("smile_skew_decay")
    smile_skew_cap: float = setting_default("smile_skew_cap")
    smile_skew_vvix_pivot: float = setting_default("smile_skew_vvix_pivot")
    smile_min_days: float = setting_default("smile_min_days")
    default_rate: float = setting_default("default_rate")
    ic: IcParams = field(default_factory=IcParams)

    @cached_property
    def surface(self) -> VixSurface:
        """The VIX-call volatility surface these parameters describe (§4)."""
        return VixSurface.from_settings(self)

    @property
    def method_version(self) -> str:
        """ALVH-2026.3 on the smile surface; ``ALVH-2026.3-legacy-vol`` on ALVH-2026.2's formula (§4)."""
        return METHOD_VERSION if self.vix_vol_model == "smile" else LEGACY_METHOD_VERSION


def rate_of(row: dict[str, Any], default: float) -> float:
    """The session's risk-free rate (decimal): DTB3 from the mart row, else ``default``."""
    pct = row.get("tbill_3m_pct")
    return float(pct) / 100.0 if pct is not None else default


def fmt_strike(k: float) -> str:
    """A VIX call strike as traders write it: ``17C``, ``12.5C``."""
    return f"{k:g}C"


def fmt_expiry(d: date) -> str:
    return d.isoformat()
