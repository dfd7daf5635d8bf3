"""The rules' one compiled form (``alvh.transforms.signal.compiled_rules``) on literal numbers:
which rule decides a layer, by precedence, and what it does — the outcome both engines read. (The
sizing functions are held to the method's worked example through the readable engine's wrappers
in ``tests/test_engine_rules.py``.)"""

from __future__ import annotations

import math

import pytest

from alvh.transforms.signal import HedgeParams
from alvh.transforms.signal import compiled_rules as cr

KP = cr.settings_record(HedgeParams())  # band 0.15, min trade max(2, 10 % of target), harvest (b) VIX ≥ 25 at 2×
CALM, SPIKE = cr.R_CALM, cr.R_SPIKE


def outcome(
    j: int = 1, *, rolled: bool = False, empty: bool = False, have: int = 40, want: int = 40, **kw: object
) -> int:
    """``layer_outcome`` with a quiet default day: R within the band, no cross, VIX 18, calm."""
    a = dict(rich=False, side=0, has_ratio=True, cross=0, vix=18.0, l1_value=0.0, l1_cost=0.0, regime=CALM, quiet=False)
    a.update(kw)
    return int(
        cr.layer_outcome(
            j, rolled, empty, have, want, a["rich"], a["side"], a["has_ratio"], a["cross"], a["vix"],
            a["l1_value"], a["l1_cost"], a["regime"], a["quiet"], KP,
        )
    )  # fmt: skip


def test_a_roll_decides_every_layer_and_keeps_a_surplus_only_outside_calm_and_fading() -> None:
    assert outcome(rolled=True, have=57, want=56, regime=SPIKE, side=1, rich=True) == cr.O_ROLL_HELD
    assert outcome(rolled=True, have=57, want=56, regime=CALM) == cr.O_ROLL
    assert outcome(rolled=True, have=10, want=40, regime=SPIKE) == cr.O_ROLL
    assert cr.outcome_target(cr.O_ROLL_HELD, 57, 56) == 57 and cr.outcome_target(cr.O_ROLL, 57, 56) == 56


def test_an_empty_book_opens_and_an_open_of_nothing_is_a_hold() -> None:
    assert outcome(empty=True, have=0, want=42, side=-1, cross=1) == cr.O_OPEN
    assert cr.ACTIONS[cr.outcome_action(cr.O_OPEN, 0, 42)] == "OPEN"
    assert cr.ACTIONS[cr.outcome_action(cr.O_OPEN, 0, 0)] == "HOLD"  # nothing to buy: nothing traded


def test_take_profit_comes_before_the_harvest_and_the_crosses() -> None:
    rich_day = dict(rich=True, side=1, cross=-1, vix=40.0, l1_value=300.0, l1_cost=100.0)
    assert outcome(0, have=60, want=40, **rich_day) == cr.O_TAKE_PROFIT
    assert outcome(0, have=40, want=40, **rich_day) == cr.O_HARVEST_B  # at target: the take-profit does not claim it
    assert outcome(1, have=40, want=40, **rich_day) == cr.O_ABOVE_AT_TARGET  # harvest (b) is layer 1's only
    assert outcome(0, have=60, want=40, **(rich_day | {"quiet": True})) == cr.O_QUIET  # nothing sold before a release


def test_the_downcross_harvest_needs_vix_and_twice_the_cost() -> None:
    day = dict(cross=-1, vix=25.0, l1_value=200.0, l1_cost=100.0)
    assert outcome(0, **day) == cr.O_HARVEST_B  # VIX 25 ≥ 25, worth 2.0× ≥ 2×
    assert outcome(0, **(day | {"vix": 24.99})) == cr.O_IN_BAND
    assert outcome(0, **(day | {"l1_value": 199.0})) == cr.O_IN_BAND
    assert outcome(0, **(day | {"vix": math.nan})) == cr.O_IN_BAND
    assert cr.outcome_target(cr.O_HARVEST_B, 40, 36) == 36
    assert cr.ACTIONS[cr.outcome_action(cr.O_HARVEST_B, 36, 36)] == "HARVEST"  # it replaces: always a trade


def test_the_upcross_adds_from_the_minimum_trade_up() -> None:
    assert outcome(have=39, want=40, cross=1) == cr.O_UP_SMALL  # 1 < max(2, 4.0)
    assert outcome(have=36, want=40, cross=1) == cr.O_UP_ADD  # 4 ≥ 4.0
    assert outcome(have=44, want=40, cross=1) == cr.O_IN_BAND  # above target: falls through to REBALANCE


@pytest.mark.parametrize(
    ("have", "want", "side", "regime", "expected"),
    [
        (20, 40, -1, CALM, cr.O_ADD),
        (39, 40, -1, CALM, cr.O_BELOW_SMALL),
        (40, 40, -1, CALM, cr.O_BELOW_AT_TARGET),
        (60, 40, 1, CALM, cr.O_TRIM),
        (60, 40, 1, SPIKE, cr.O_CONVEX),
        (41, 40, 1, CALM, cr.O_ABOVE_SMALL),
        (40, 40, 1, CALM, cr.O_ABOVE_AT_TARGET),
        (60, 40, 0, CALM, cr.O_IN_BAND),
    ],
)
def test_rebalance_outcomes(have: int, want: int, side: int, regime: int, expected: int) -> None:
    assert outcome(have=have, want=want, side=side, regime=regime) == expected
    holds = expected not in (cr.O_ADD, cr.O_TRIM)
    assert cr.outcome_target(expected, have, want) == (have if holds else want)


def test_an_undefined_ratio_holds() -> None:
    assert outcome(have=10, want=40, has_ratio=False) == cr.O_UNDEFINED


def test_the_band_and_the_split() -> None:
    assert [cr.band_side(True, r, 0.9, KP) for r in (0.74, 0.75, 1.05, 1.06)] == [-1, 0, 0, 1]
    assert cr.band_side(False, 5.0, 0.9, KP) == 0
    assert cr.layer_trade(30, 40, False) == (10, 0) and cr.layer_trade(50, 40, False) == (0, 10)
    assert cr.layer_trade(50, 40, True) == (40, 0)  # a replace sold every line first
    assert cr.average_cost(2.0, 10, 3.0, 10) == 2.5


def test_a_line_that_held_none_costs_its_price_exactly() -> None:
    """A line sold out and bought again the same session (a replace at the same strike), or a new
    line: its cost is the fill price itself — (0 × old + 0.1 × 3) / 3 would be 0.10000000000000002."""
    assert (0.0 * 0 + 0.1 * 3) / 3 != 0.1  # why the rule does not divide
    assert cr.average_cost(7.25, 0, 0.1, 3) == 0.1
    assert cr.average_cost(0.0, 0, 1.15, 7) == 1.15
