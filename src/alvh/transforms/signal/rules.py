"""The daily rules (ALVH_METHOD.md §6), one function each, in order of precedence per layer.

Each rule reads a :class:`Situation` (today's inputs, sizing and holdings; nothing mutable) and
returns :class:`Decision` s — the action, the contracts the layer holds after today, and the reason
in plain words — or ``None`` when it does not apply. Turning decisions into tickets is
``alvh.transforms.signal.execution``; composing the rules is ``alvh.transforms.signal.step``.

Quantities are contracts (integers ≥ 0); R and r* are hedge vega ÷ |V_ic| (dimensionless)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from alvh.transforms.signal.inputs import DayInputs
from alvh.transforms.signal.params import HedgeParams, fmt_strike
from alvh.transforms.signal.sizing import LayerModel, Sizing, min_trade

CONVEX_REGIMES = ("spike", "elevated")  # surplus is held: the ladder's convexity at work
TRIM_REGIMES = ("calm", "fading")


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

    def above_band(self) -> bool:
        return self.ratio is not None and self.ratio > self.r_star + self.p.band

    def below_band(self) -> bool:
        return self.ratio is not None and self.ratio < self.r_star - self.p.band

    def quiet(self) -> bool:
        """``hold_before_events`` and a scheduled FOMC/CPI/PPI release affects the next session:
        the ladder sells nothing today (no take-profit, harvest or trim; a roll still rolls)."""
        e = self.day.next_event
        return self.p.hold_before_events and e is not None and e.sessions == 1


def roll_rule(s: Situation, rolled: date | None, left: int) -> list[Decision] | None:
    """ROLL: the contract held as layer 1 reached ``tdte ≤ roll_tdte`` (``rolled``, sold or settled
    by the caller) and the ladder shifts. Every layer below target is brought up to it; a layer
    above target is trimmed only in ``calm``/``fading`` — a roll never sells convexity in a
    ``spike``/``elevated`` market. Always executes (no minimum trade)."""
    if rolled is None:
        return None
    out = []
    regime = s.day.regime
    for j in range(3):
        head = (
            f"roll: {rolled} reached {left} trading days left; the ladder shifts (layer {j + 1} is now "
            f"{s.day.layers[j].expiry})"
        )
        have, want = s.current[j], s.q[j]
        if have > want and regime not in TRIM_REGIMES:
            out.append(
                Decision(
                    "ROLL",
                    have,
                    f"{head}; holds {have}, above target {want} at r* = {s.r_star:.2f}: a roll does not sell "
                    f"convexity in a {regime} market{s.notes}",
                )
            )
        else:
            out.append(Decision("ROLL", want, f"{head}; brought to target {want} at r* = {s.r_star:.2f}{s.notes}"))
    return out


def open_rule(s: Situation, book_empty: bool) -> list[Decision] | None:
    """OPEN: an empty book buys every layer's target at once."""
    if not book_empty:
        return None
    return [
        Decision(
            "OPEN",
            s.q[j],
            f"opening the ladder: buy {s.q[j]} × {fmt_strike(s.models[j].strike)} ({s.p.target_delta:.0%}-delta) "
            f"for r* = {s.r_star:.2f} of |V_ic| ${s.vega_ic:,.0f}/pt{s.notes}",
        )
        for j in range(3)
    ]


def take_profit_rule(s: Situation, j: int) -> Decision | None:
    """HARVEST (a): a held line worth ≥ ``harvest_multiple`` × its cost while R > r* + band trims
    layer ``j`` to target, in any regime — only a layer above its target: a rule that would trade
    nothing in a layer does not claim it (§6), the next rule decides that layer."""
    if not s.rich or not s.above_band() or s.current[j] <= s.q[j] or s.quiet():
        return None
    (exp, k), mult = max(s.rich, key=lambda x: x[1])
    assert s.ratio is not None
    return Decision(
        "HARVEST",
        s.q[j],
        f"take profit: {exp} {fmt_strike(k)} is worth {mult:.1f}× its cost and the hedge ratio "
        f"{s.ratio:.2f} exceeds r* {s.r_star:.2f} + {s.p.band:.2f}; trim {s.current[j] - s.q[j]} to target "
        f"{s.q[j]}{s.notes}",
    )


def downcross_harvest_rule(s: Situation) -> Decision | None:
    """HARVEST (b): on a −1 MACD cross with VIX ≥ ``harvest_b_vix`` and layer 1 worth ≥
    ``harvest_b_multiple`` × its cost: sell layer 1 and re-buy its target at the target strike."""
    p, vix = s.p, s.day.vix
    if s.day.cross != -1 or vix is None or vix < p.harvest_b_vix or s.quiet():
        return None
    if s.l1_cost <= 0 or s.l1_value < p.harvest_b_multiple * s.l1_cost:
        return None
    return Decision(
        "HARVEST",
        s.q[0],
        f"harvest: MACD turned down (−1 cross) with VIX {vix:.2f} ≥ {p.harvest_b_vix:g} and layer 1 worth "
        f"{s.l1_value / s.l1_cost:.1f}× its cost: sold layer 1, re-bought {s.q[0]} × "
        f"{fmt_strike(s.models[0].strike)}",
        replace=True,
    )


def upcross_add_rule(s: Situation, j: int) -> Decision | None:
    """ADD: on a +1 MACD cross, a layer below target is brought up to it (if the gap is at least
    the minimum trade; else it holds and says why). Layers at or above target fall through."""
    gap = s.q[j] - s.current[j]
    if s.day.cross != 1 or gap <= 0:
        return None
    if gap < min_trade(s.q[j], s.p):
        return Decision(
            "HOLD",
            s.current[j],
            f"+1 MACD cross, but the layer is {gap} short of target {s.q[j]}: below the minimum trade",
        )
    return Decision(
        "ADD", s.q[j], f"MACD turned up (+1 cross): add {gap} to reach target {s.q[j]} at r* = {s.r_star:.2f}{s.notes}"
    )


def rebalance_rule(s: Situation, j: int) -> Decision:
    """REBALANCE: R < r* − band adds up to target; R > r* + band trims to target in
    ``calm``/``fading`` and holds the surplus in ``spike``/``elevated``; else HOLD. Every HOLD says
    the true reason (never "within the band" when R is outside it)."""
    p, have, want = s.p, s.current[j], s.q[j]
    gap = want - have
    small = abs(gap) < min_trade(want, p)
    lo, hi = s.r_star - p.band, s.r_star + p.band
    if s.ratio is None:
        return Decision(
            "HOLD",
            have,
            "hold: |V_ic| = 0 — the IC book is net long vega at 30 days, so there is nothing new to hedge and "
            "the hedge ratio is undefined",
        )
    r = s.ratio
    if s.below_band():
        if gap <= 0:
            return Decision(
                "HOLD", have, f"hold: hedge ratio {r:.2f} < {lo:.2f}, but this layer holds {have} ≥ its target {want}"
            )
        if small:
            return Decision(
                "HOLD", have, f"hedge ratio {r:.2f} < {lo:.2f}, but {gap} contracts is below the minimum trade"
            )
        return Decision(
            "ADD",
            want,
            f"under-hedged: ratio {r:.2f} < r* {s.r_star:.2f} − {p.band:.2f}; add {gap} to target {want}{s.notes}",
        )
    if s.above_band():
        regime = s.day.regime
        if gap >= 0:
            return Decision(
                "HOLD", have, f"hold: hedge ratio {r:.2f} > {hi:.2f}, but this layer holds {have} ≤ its target {want}"
            )
        if regime in CONVEX_REGIMES:
            return Decision(
                "HOLD",
                have,
                f"over-hedged (ratio {r:.2f} > {hi:.2f}) but the regime is {regime}: the surplus of {-gap} is the "
                "ladder's convexity at work and is held",
            )
        if small:
            return Decision("HOLD", have, f"over-hedged by {-gap}, below the minimum trade")
        if s.quiet():
            return Decision(
                "HOLD",
                have,
                f"over-hedged by {-gap}, held: a scheduled release affects the next session (hold_before_events)",
            )
        return Decision(
            "TRIM",
            want,
            f"over-hedged: ratio {r:.2f} > r* {s.r_star:.2f} + {p.band:.2f} in a {regime} regime; trim {-gap} to "
            f"target {want}{s.notes}",
        )
    return Decision("HOLD", have, f"hold: hedge ratio {r:.2f} within r* {s.r_star:.2f} ± {p.band:.2f}")


def decide(s: Situation, rolled: date | None, roll_left: int, book_empty: bool) -> list[Decision]:
    """The three layers' decisions by precedence: ROLL decides all three on a roll day; an empty
    book OPENs; else per layer the take-profit (a layer above target), the −1-cross harvest
    (layer 1), the +1-cross ADD, and REBALANCE — a rule that would trade nothing in a layer leaves
    it to the next (§6)."""
    whole = roll_rule(s, rolled, roll_left) or open_rule(s, book_empty)
    if whole is not None:
        return [quiet_as_hold(s, j, d) for j, d in enumerate(whole)]
    out: list[Decision] = []
    for j in range(3):
        d = (
            take_profit_rule(s, j)
            or (downcross_harvest_rule(s) if j == 0 else None)
            or upcross_add_rule(s, j)
            or rebalance_rule(s, j)
        )
        out.append(quiet_as_hold(s, j, d))
    return out


def quiet_as_hold(s: Situation, j: int, d: Decision) -> Decision:
    """An OPEN or HARVEST that leaves layer ``j`` where it is (target = holdings, nothing
    replaced) is a HOLD: nothing is traded (a roll stays ROLL — the roll day is named)."""
    if d.action in ("OPEN", "HARVEST") and d.target == s.current[j] and not d.replace:
        return replace(d, action="HOLD")
    return d
