"""Method parameters from the settings object (transforms never read settings), and the hash
of those parameters recorded with every published row."""

from __future__ import annotations

import dataclasses
import hashlib
import json

from alvh.core.errors import AlvhError
from alvh.core.settings import Settings
from alvh.transforms.ic_book import IcBook, IcParams
from alvh.transforms.indicators_daily import IndicatorParams
from alvh.transforms.signal import HedgeParams
from alvh.transforms.term_structure import TermStructureParams


def indicator_params(settings: Settings) -> IndicatorParams:
    return IndicatorParams(
        macd_fast=settings.macd_fast,
        macd_slow=settings.macd_slow,
        macd_signal=settings.macd_signal,
        rsi_period=settings.rsi_period,
        fading_window=settings.regime_fading_window,
        fading_vix=settings.regime_fading_vix,
        spike_vix=settings.regime_spike_vix,
        elevated_vix=settings.regime_elevated_vix,
        term=TermStructureParams(
            roll_tdte=settings.roll_tdte,
            beta_window=settings.beta_window,
            beta_defaults=settings.beta_defaults,
            beta_clip=settings.beta_clip,
        ),
    )


def hedge_params(settings: Settings) -> HedgeParams:
    return HedgeParams(
        weights=settings.layer_weights,
        target_delta=settings.target_delta,
        band=settings.rebalance_band,
        min_trade_contracts=settings.min_trade_contracts,
        min_trade_fraction=settings.min_trade_fraction,
        mode=settings.hedge_mode,
        fixed_ratio=settings.fixed_ratio,
        carry_budget=settings.carry_budget,
        ratio_base=settings.ratio_base,
        ratio_span=settings.ratio_span,
        ratio_min=settings.ratio_min,
        ratio_max=settings.ratio_max,
        rsi_center=settings.rsi_center,
        rsi_scale=settings.rsi_scale,
        macd_tilt=settings.macd_tilt,
        harvest_multiple=settings.harvest_multiple,
        harvest_b_multiple=settings.harvest_b_multiple,
        harvest_b_vix=settings.harvest_b_vix,
        roll_tdte=settings.roll_tdte,
        vvix_ref_days=settings.vvix_ref_days,
        vvix_exponent=settings.vvix_exponent,
        default_rate=settings.default_rate,
        ic=IcParams(
            contracts=settings.ic_contracts,
            short_delta=settings.ic_short_delta,
            wing_delta=settings.ic_wing_delta,
            strike_step=settings.ic_strike_step,
            dividend_yield=settings.dividend_yield,
            smile_a=settings.smile_a,
            smile_b_put=settings.smile_b_put,
            smile_b_call=settings.smile_b_call,
            smile_floor=settings.smile_floor,
            program_dte=settings.program_dte,
            default_rate=settings.default_rate,
        ),
    )


def method_hash(settings: Settings) -> str:
    """sha256 (16 hex) of every method parameter: equal hashes ⇒ the same rules produced the rows."""
    payload = {
        "indicators": dataclasses.asdict(indicator_params(settings)),
        "hedge": dataclasses.asdict(hedge_params(settings)),
        "positions_file": str(settings.positions_file) if settings.positions_file else None,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]


def load_user_ic(settings: Settings) -> IcBook | None:
    if settings.positions_file is None:
        return None
    from alvh.transforms.ic_book import read_positions_file

    path = settings.positions_file
    kind = "toml" if path.suffix.lower() == ".toml" else "csv"
    try:
        return read_positions_file(path.read_text(), kind)
    except (OSError, ValueError) as exc:
        raise AlvhError(f"cannot read the positions file: {exc}", file=str(path)) from exc
