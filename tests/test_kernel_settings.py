"""The compiled engine's settings record (issue 19): every hedge setting is either a kernel slot,
a prepared input or a mart setting — a new setting cannot be forgotten — and the vector is
generated from the dataclass, slot by slot."""

from __future__ import annotations

from dataclasses import fields, replace

import numpy as np

from alvh.transforms.backtest.kernel import MART_FIELDS, surface_of
from alvh.transforms.backtest.prep import PREPARED_FIELDS, market_key
from alvh.transforms.signal import HedgeParams
from alvh.transforms.signal.compiled_rules import (
    K_BAND,
    K_HARV,
    K_HOLD_EVE,
    K_MODE,
    K_W0,
    K_W2,
    KERNEL_FIELDS,
    settings_record,
)
from alvh.transforms.vix_surface import VixSurface


def test_every_hedge_setting_has_exactly_one_home() -> None:
    names = [f.name for f in fields(HedgeParams)]
    homes = [*KERNEL_FIELDS, *PREPARED_FIELDS, *MART_FIELDS]
    assert sorted(homes) == sorted(names), "classify the new HedgeParams field: kernel, prepared or mart"
    assert len(set(homes)) == len(homes)


def test_prepared_fields_are_what_the_market_key_reads() -> None:
    """Changing a prepared field changes the market key (arrays are re-prepared); a kernel field
    does not."""
    base = HedgeParams()
    for name, value in (("target_delta", 0.25), ("smile_skew", 1.0), ("default_rate", 0.01)):
        assert market_key(replace(base, **{name: value})) != market_key(base), name
    for name, value in (("band", 0.3), ("carry_budget", 0.5), ("harvest_multiple", 4.0)):
        assert market_key(replace(base, **{name: value})) == market_key(base), name


def test_the_vector_is_the_settings_slot_by_slot() -> None:
    p = replace(HedgeParams(), weights=(0.5, 0.3, 0.2), band=0.2, mode="fixed", harvest_multiple=4.0)
    kp = settings_record(p)
    assert list(kp[K_W0 : K_W2 + 1]) == [0.5, 0.3, 0.2]
    assert (kp[K_BAND], kp[K_MODE], kp[K_HARV], kp[K_HOLD_EVE]) == (0.2, 1.0, 4.0, 0.0)
    assert settings_record(replace(p, hold_before_events=True))[K_HOLD_EVE] == 1.0


def test_every_surface_setting_reaches_the_kernel_in_its_own_slot() -> None:
    """The prepared surface row turns back into the same ``VixSurface`` inside the kernel: a field
    added to the surface and not read by ``surface_of`` fails here (distinct values everywhere)."""
    s = VixSurface(True, *(1.0 + 0.125 * n for n in range(len(VixSurface._fields) - 1)))
    row = np.array(s, dtype=np.float64)
    assert surface_of(row) == s
    assert surface_of(np.array(s._replace(smile=False), dtype=np.float64)) == s._replace(smile=False)
