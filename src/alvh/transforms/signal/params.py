"""The engine's parameters (ALVH_METHOD.md §4–§6) and its method version.

Every number is a setting (``alvh/core/settings.py`` is where each default is defined for users;
these dataclass defaults are the method's, for tests and library use)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from alvh.transforms.ic_book import IcParams

METHOD_VERSION = "ALVH-2026.2"
LAYERS = (1, 2, 3)

CARRY_DAYS = 30.0  # calendar days in the steward's "monthly" carry (theta per day × 30)
CAP_STEP = 0.01  # the steward cap lowers r* in steps of this until the carry fits
OPTION_MULTIPLIER = 100.0  # dollars per VIX-option point


@dataclass(frozen=True)
class HedgeParams:
    """Every number of §4–§6 (defaults are the method's; all are settings)."""

    weights: tuple[float, float, float] = (0.4, 0.4, 0.2)
    target_delta: float = 0.30
    band: float = 0.15
    min_trade_contracts: int = 2
    min_trade_fraction: float = 0.10
    mode: str = "steward"  # or "fixed"
    fixed_ratio: float = 0.9
    carry_budget: float = 0.35
    ratio_base: float = 0.9
    ratio_span: float = 0.3
    ratio_min: float = 0.6
    ratio_max: float = 1.2
    rsi_center: float = 50.0
    rsi_scale: float = 20.0
    macd_tilt: float = 0.1
    harvest_multiple: float = 3.0
    harvest_b_multiple: float = 2.0
    harvest_b_vix: float = 25.0
    roll_tdte: int = 5
    vvix_ref_days: float = 30.0
    vvix_exponent: float = 0.30
    default_rate: float = 0.04
    ic: IcParams = field(default_factory=IcParams)


def rate_of(row: dict[str, Any], default: float) -> float:
    """The session's risk-free rate (decimal): DTB3 from the mart row, else ``default``."""
    pct = row.get("tbill_3m_pct")
    return float(pct) / 100.0 if pct is not None else default


def fmt_strike(k: float) -> str:
    """A VIX call strike as traders write it: ``17C``, ``12.5C``."""
    return f"{k:g}C"


def fmt_expiry(d: date) -> str:
    return d.isoformat()
