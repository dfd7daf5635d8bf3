"""The daily rules (ALVH_METHOD.md §6), one function each, in order of precedence per layer.

Each rule reads a :class:`Situation` (today's inputs, sizing and holdings; nothing mutable) and
returns :class:`Decision` s — the action, the contracts the layer holds after today, and the reason
in plain words — or ``None`` when it does not apply. What a rule decides (whether it applies, its
action and target, and which of its reasons) is the compiled function of
:mod:`alvh.transforms.signal.compiled_rules` that the compiled engine calls too; a rule here adds
the words. Turning decisions into tickets is ``alvh.transforms.signal.execution``; composing the
rules is ``alvh.transforms.signal.step``.

Quantities are contracts (integers ≥ 0); R and r* are hedge vega ÷ |V_ic| (dimensionless)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from functools import cached_property

import numpy as np

from alvh.transforms.signal import compiled_rules as cr
from alvh.transforms.signal.inputs import DayInputs
from alvh.transforms.signal.params import HedgeParams, fmt_strike
from alvh.transforms.signal.sizing import LayerModel, Sizing


@dataclass(frozen=True)
class Decision:
    """What one layer does today: end the day holding ``target`` contracts.

    ``replace``: sell every line of the layer first, then buy ``target`` at today's target strike
    (the −1-cross harvest). Otherwise the layer buys the difference at the target strike or sells
    its lowest strikes first."""

    action: str  # OPEN, ADD, TRIM, ROLL, HARVEST, HOLD
    target: int
    reason: str
    replace: bool = False


@dataclass(frozen=True)
class Situation:
    """Everything the rules read about one non-stale session, before its orders."""

    day: DayInputs
    p: HedgeParams
    models: list[LayerModel]
    sizing: Sizing
    current: list[int]  # contracts held per layer (M1, M2, M3)
    ratio: float | None  # R before orders; None when |V_ic| = 0 (undefined)
    vega_ic: float  # |V_ic|, $ per vol point
    rich: list[tuple[tuple[date, float], float]]  # lines worth ≥ harvest_multiple × cost: (key, multiple)
    l1_value: float  # Σ qty × price of layer 1's lines, VIX points
    l1_cost: float  # Σ qty × average cost of layer 1's lines, VIX points
    notes: str = ""  # appended to sizing reasons (steward cap, breadth)

    @property
    def q(self) -> list[int]:
        return self.sizing.q

    @property
    def r_star(self) -> float:
        return self.sizing.r_star

    @cached_property
    def kp(self) -> np.ndarray:
        """The hedge settings as the compiled rules read them (looked up once per session)."""
        return cr.settings_record(self.p)

    @property
    def regime(self) -> int:
        return cr.regime_code(self.day.regime)

    def side(self) -> int:
        """−1 below r* − band, +1 above r* + band, 0 within or undefined."""
        r = self.ratio
        return int(cr.band_side(r is not None, 0.0 if r is None else r, self.r_star, self.kp))

    def above_band(self) -> bool:
        return self.side() > 0

    def below_band(self) -> bool:
        return self.side() < 0

    def quiet(self) -> bool:
        """``hold_before_events`` and a scheduled FOMC/CPI/PPI release affects the next session:
        the ladder sells nothing today (no take-profit, harvest or trim; a roll still rolls)."""
        e = self.day.next_event
        return bool(cr.is_quiet(e is not None and e.sessions == 1, self.kp))

    def outcome(self, j: int, rolled: bool, book_empty: bool) -> int:
        """Which rule decides layer ``j`` today, and why (``compiled_rules.layer_outcome``)."""
        vix = math.nan if self.day.vix is None else float(self.day.vix)
        return int(
            cr.layer_outcome(
                j,
                rolled,
                book_empty,
                self.current[j],
                self.q[j],
                bool(self.rich),
                self.side(),
                self.ratio is not None,
                int(self.day.cross or 0),
                vix,
                self.l1_value,
                self.l1_cost,
                self.regime,
                self.quiet(),
                self.kp,
            )
        )

    def decision(self, j: int, outcome: int, reason: str, replace: bool = False) -> Decision:
        """Layer ``j``'s decision for ``outcome``: its action and target from the compiled rules."""
        have, want = self.current[j], self.q[j]
        action = cr.ACTIONS[cr.outcome_action(outcome, have, want)]
        return Decision(action, int(cr.outcome_target(outcome, have, want)), reason, replace)


def roll_rule(s: Situation, rolled: date | None, left: int) -> list[Decision] | None:
    """ROLL: the contract held as layer 1 reached ``tdte ≤ roll_tdte`` (``rolled``, sold or settled
    by the caller) and the ladder shifts. Every layer below target is brought up to it; a layer
    above target is trimmed only in ``calm``/``fading`` — a roll never sells convexity in a
    ``spike``/``elevated`` market. Always executes (no minimum trade)."""
    if rolled is None:
        return None
    out = []
    for j in range(3):
        head = (
            f"roll: {rolled} reached {left} trading days left; the ladder shifts (layer {j + 1} is now "
            f"{s.day.layers[j].expiry})"
        )
        have, want = s.current[j], s.q[j]
        o = cr.roll_outcome(have, want, s.regime)
        if o == cr.O_ROLL_HELD:
            why = (
                f"{head}; holds {have}, above target {want} at r* = {s.r_star:.2f}: a roll does not sell "
                f"convexity in a {s.day.regime} market{s.notes}"
            )
        else:
            why = f"{head}; brought to target {want} at r* = {s.r_star:.2f}{s.notes}"
        out.append(s.decision(j, o, why))
    return out


def open_rule(s: Situation, book_empty: bool) -> list[Decision] | None:
    """OPEN: an empty book buys every layer's target at once (a layer whose target is 0 holds)."""
    if not book_empty:
        return None
    return [
        s.decision(
            j,
            cr.O_OPEN,
            f"opening the ladder: buy {s.q[j]} × {fmt_strike(s.models[j].strike)} ({s.p.target_delta:.0%}-delta) "
            f"for r* = {s.r_star:.2f} of |V_ic| ${s.vega_ic:,.0f}/pt{s.notes}",
        )
        for j in range(3)
    ]


def take_profit_rule(s: Situation, j: int) -> Decision | None:
    """HARVEST (a): a held line worth ≥ ``harvest_multiple`` × its cost while R > r* + band trims
    layer ``j`` to target, in any regime — only a layer above its target: a rule that would trade
    nothing in a layer does not claim it (§6), the next rule decides that layer."""
    if not cr.takes_profit(s.current[j], s.q[j], bool(s.rich), s.side(), s.quiet()):
        return None
    (exp, k), mult = max(s.rich, key=lambda x: x[1])
    assert s.ratio is not None
    return s.decision(
        j,
        cr.O_TAKE_PROFIT,
        f"take profit: {exp} {fmt_strike(k)} is worth {mult:.1f}× its cost and the hedge ratio "
        f"{s.ratio:.2f} exceeds r* {s.r_star:.2f} + {s.p.band:.2f}; trim {s.current[j] - s.q[j]} to target "
        f"{s.q[j]}{s.notes}",
    )


def downcross_harvest_rule(s: Situation) -> Decision | None:
    """HARVEST (b): on a −1 MACD cross with VIX ≥ ``harvest_b_vix`` and layer 1 worth ≥
    ``harvest_b_multiple`` × its cost: sell layer 1 and re-buy its target at the target strike."""
    p, vix = s.p, s.day.vix
    cross = int(s.day.cross or 0)
    if vix is None or not cr.harvests_layer1(cross, float(vix), s.l1_value, s.l1_cost, s.quiet(), s.kp):
        return None
    return s.decision(
        0,
        cr.O_HARVEST_B,
        f"harvest: MACD turned down (−1 cross) with VIX {vix:.2f} ≥ {p.harvest_b_vix:g} and layer 1 worth "
        f"{s.l1_value / s.l1_cost:.1f}× its cost: sold layer 1, re-bought {s.q[0]} × "
        f"{fmt_strike(s.models[0].strike)}",
        replace=True,
    )


def upcross_add_rule(s: Situation, j: int) -> Decision | None:
    """ADD: on a +1 MACD cross, a layer below target is brought up to it (if the gap is at least
    the minimum trade; else it holds and says why). Layers at or above target fall through."""
    o = cr.upcross_outcome(s.current[j], s.q[j], int(s.day.cross or 0), s.kp)
    if o < 0:
        return None
    gap = s.q[j] - s.current[j]
    if o == cr.O_UP_SMALL:
        why = f"+1 MACD cross, but the layer is {gap} short of target {s.q[j]}: below the minimum trade"
    else:
        why = f"MACD turned up (+1 cross): add {gap} to reach target {s.q[j]} at r* = {s.r_star:.2f}{s.notes}"
    return s.decision(j, o, why)


def rebalance_rule(s: Situation, j: int) -> Decision:
    """REBALANCE: R < r* − band adds up to target; R > r* + band trims to target in
    ``calm``/``fading`` and holds the surplus in ``spike``/``elevated``; else HOLD. Every HOLD says
    the true reason (never "within the band" when R is outside it)."""
    p, have, want = s.p, s.current[j], s.q[j]
    gap = want - have
    lo, hi = s.r_star - p.band, s.r_star + p.band
    o = cr.rebalance_outcome(have, want, s.ratio is not None, s.side(), s.regime, s.quiet(), s.kp)
    r = s.ratio
    if o == cr.O_UNDEFINED:
        why = (
            "hold: |V_ic| = 0 — the IC book is net long vega at 30 days, so there is nothing new to hedge and "
            "the hedge ratio is undefined"
        )
    elif o == cr.O_BELOW_AT_TARGET:
        why = f"hold: hedge ratio {r:.2f} < {lo:.2f}, but this layer holds {have} ≥ its target {want}"
    elif o == cr.O_BELOW_SMALL:
        why = f"hedge ratio {r:.2f} < {lo:.2f}, but {gap} contracts is below the minimum trade"
    elif o == cr.O_ADD:
        why = f"under-hedged: ratio {r:.2f} < r* {s.r_star:.2f} − {p.band:.2f}; add {gap} to target {want}{s.notes}"
    elif o == cr.O_ABOVE_AT_TARGET:
        why = f"hold: hedge ratio {r:.2f} > {hi:.2f}, but this layer holds {have} ≤ its target {want}"
    elif o == cr.O_CONVEX:
        why = (
            f"over-hedged (ratio {r:.2f} > {hi:.2f}) but the regime is {s.day.regime}: the surplus of {-gap} is the "
            "ladder's convexity at work and is held"
        )
    elif o == cr.O_ABOVE_SMALL:
        why = f"over-hedged by {-gap}, below the minimum trade"
    elif o == cr.O_QUIET:
        why = f"over-hedged by {-gap}, held: a scheduled release affects the next session (hold_before_events)"
    elif o == cr.O_TRIM:
        why = (
            f"over-hedged: ratio {r:.2f} > r* {s.r_star:.2f} + {p.band:.2f} in a {s.day.regime} regime; trim {-gap} "
            f"to target {want}{s.notes}"
        )
    else:
        why = f"hold: hedge ratio {r:.2f} within r* {s.r_star:.2f} ± {p.band:.2f}"
    return s.decision(j, o, why)


def decide(s: Situation, rolled: date | None, roll_left: int, book_empty: bool) -> list[Decision]:
    """The three layers' decisions: the compiled ``layer_outcome`` picks the rule by precedence
    (ROLL on a roll day, OPEN on an empty book, else the take-profit, the −1-cross harvest, the
    +1-cross ADD, REBALANCE), and that rule writes the decision and its reason."""
    out: list[Decision] = []
    for j in range(3):
        o = s.outcome(j, rolled is not None, book_empty)
        d: Decision | None
        if o in (cr.O_ROLL, cr.O_ROLL_HELD):
            d = (roll_rule(s, rolled, roll_left) or [])[j]
        elif o == cr.O_OPEN:
            d = (open_rule(s, book_empty) or [])[j]
        elif o == cr.O_TAKE_PROFIT:
            d = take_profit_rule(s, j)
        elif o == cr.O_HARVEST_B:
            d = downcross_harvest_rule(s)
        elif o in (cr.O_UP_ADD, cr.O_UP_SMALL):
            d = upcross_add_rule(s, j)
        else:
            d = rebalance_rule(s, j)
        assert d is not None, f"layer {j + 1}: the rule of outcome {o} did not apply"
        out.append(d)
    return out
