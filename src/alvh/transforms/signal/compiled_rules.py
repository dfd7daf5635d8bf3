"""The method's arithmetic, written once and compiled (ALVH_METHOD.md §5–§6): sizing (r*, N*,
the largest remainder, the steward carry cap), which rule decides each layer and what it does, and
the execution split — small numba functions over numbers, called by both engines.

The readable engine (:mod:`.sizing`, :mod:`.rules`, :mod:`.execution`, :mod:`.book`) wraps them in
its objects and writes the reasons in plain words; the compiled loop
(:mod:`alvh.transforms.backtest.kernel`) calls them per session on arrays. A rule is changed here,
in one place, and both engines follow.

Conventions: the hedge settings arrive as the record ``kp`` (:func:`settings_record`: one float per
slot, the slots generated from :data:`KERNEL_FIELDS`); regimes, actions and rule outcomes are the
named integer constants below. Quantities are contracts; ratios hedge vega ÷ |V_ic|; h_i and
|V_ic| in dollars per VIX (vol) point; carry in dollars per month; prices in VIX points."""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import numba as nb
import numpy as np

from alvh.transforms.signal.params import CARRY_DAYS, OPTION_MULTIPLIER

# ---- actions, as order rows name them -------------------------------------------------------------
ACTIONS = ("SETTLE", "ROLL", "OPEN", "HARVEST", "ADD", "TRIM", "HOLD")
A_SETTLE, A_ROLL, A_OPEN, A_HARVEST, A_ADD, A_TRIM, A_HOLD = range(7)

# ---- regimes (``marts.indicators_daily.regime``; None → R_NONE, an unknown name → R_OTHER) --------
REGIMES = {"calm": 1, "fading": 2, "spike": 3, "elevated": 4}
R_NONE, R_CALM, R_FADING, R_SPIKE, R_ELEVATED, R_OTHER = range(6)


def regime_code(regime: str | None) -> int:
    """The regime's code, as both engines compare it."""
    return R_NONE if regime is None else REGIMES.get(regime, R_OTHER)


# ---- the settings record ---------------------------------------------------------------------------
# Every HedgeParams field is either here, in the prepared inputs (``backtest.prep.PREPARED_FIELDS``)
# or a mart setting (``backtest.kernel.MART_FIELDS``): a test holds the three to the dataclass, so a
# new setting cannot be forgotten. ``weights`` takes three slots, ``mode`` its code in MODES, a bool 0/1.
MODES = {"steward": 0, "fixed": 1}  # any other mode: the breadth ratio without a cap
MODE_STEWARD, MODE_FIXED = 0, 1
KERNEL_FIELDS = (
    "weights",
    "band",
    "min_trade_contracts",
    "min_trade_fraction",
    "mode",
    "fixed_ratio",
    "carry_budget",
    "ratio_base",
    "ratio_span",
    "ratio_min",
    "ratio_max",
    "rsi_center",
    "rsi_scale",
    "macd_tilt",
    "harvest_multiple",
    "harvest_b_multiple",
    "harvest_b_vix",
    "hold_before_events",
)
SLOTS = ("weights0", "weights1", "weights2", *KERNEL_FIELDS[1:])
(
    K_W0,
    K_W1,
    K_W2,
    K_BAND,
    K_MTC,
    K_MTF,
    K_MODE,
    K_FIXED,
    K_BUDGET,
    K_RBASE,
    K_RSPAN,
    K_RMIN,
    K_RMAX,
    K_RSI_C,
    K_RSI_S,
    K_TILT,
    K_HARV,
    K_HARV_B,
    K_HARV_VIX,
    K_HOLD_EVE,
) = range(len(SLOTS))
N_KP = len(SLOTS)


@lru_cache(maxsize=256)
def settings_record(p: Any) -> np.ndarray:
    """The hedge settings of ``p`` (a :class:`~alvh.transforms.signal.params.HedgeParams`) as the
    record ``kp`` both engines read, one float per slot of :data:`SLOTS`. Cached per settings
    object: callers must not write into it."""
    values: list[float] = []
    for name in KERNEL_FIELDS:
        v = getattr(p, name)
        if name == "weights":
            values.extend(float(w) for w in v)
        elif name == "mode":
            values.append(float(MODES.get(v, 2)))
        else:
            values.append(float(v))
    kp = np.array(values, dtype=np.float64)
    assert kp.size == N_KP
    return kp


# ---- sizing (§5) -----------------------------------------------------------------------------------
@nb.njit(cache=True)
def base_ratio(rsi: float, kp: np.ndarray) -> float:
    """r_b = base + span·clip((center − RSI)/scale, −1, 1); fixed mode: ``fixed_ratio``."""
    if kp[K_MODE] == MODE_FIXED:
        return kp[K_FIXED]
    return kp[K_RBASE] + kp[K_RSPAN] * min(1.0, max(-1.0, (kp[K_RSI_C] - rsi) / kp[K_RSI_S]))


@nb.njit(cache=True)
def target_ratio(rsi: float, hist: float, kp: np.ndarray) -> float:
    """r* before the steward cap: clip(r_b + tilt·sign(hist), ratio_min, ratio_max) (a NaN or zero
    histogram has no sign); fixed mode: ``fixed_ratio``."""
    if kp[K_MODE] == MODE_FIXED:
        return kp[K_FIXED]
    sign = 0.0 if (hist != hist or hist == 0) else math.copysign(1.0, hist)
    return min(kp[K_RMAX], max(kp[K_RMIN], base_ratio(rsi, kp) + kp[K_TILT] * sign))


@nb.njit(cache=True)
def largest_remainder(total: int, w: np.ndarray, out: np.ndarray) -> None:
    """Split ``total`` contracts by weights ``w`` into integers (``out``) summing to ``total``;
    the remainder goes to the largest fractions (ties: the earlier layer)."""
    n = w.shape[0]
    if total <= 0:
        out[:] = 0
        return
    wsum = 0.0
    for j in range(n):
        wsum += w[j]
    frac = np.empty(n)
    s = 0
    for j in range(n):
        raw = total * w[j] / wsum
        b = math.floor(raw)
        out[j] = b
        frac[j] = raw - b
        s += b
    used = np.zeros(n, dtype=np.bool_)
    for _ in range(total - s):
        best = -1
        for j in range(n):
            if not used[j] and (best < 0 or frac[j] > frac[best]):
                best = j
        used[best] = True
        out[best] += 1


@nb.njit(cache=True)
def ladder_denominator(h: np.ndarray, w: np.ndarray) -> float:
    """Σ w_i h_i: dollars per VIX point of one weighted unit of the ladder."""
    d = 0.0
    for j in range(w.shape[0]):
        d += w[j] * h[j]
    return d


@nb.njit(cache=True)
def size_ladder(ratio: float, vega_ic: float, h: np.ndarray, w: np.ndarray, q: np.ndarray) -> float:
    """N* = r·|V_ic| / Σ w_i h_i (returned) and the layer quantities ``q`` (largest remainder of
    round(N*))."""
    denom = ladder_denominator(h, w)
    n_star = ratio * abs(vega_ic) / denom if denom > 0 else 0.0
    largest_remainder(int(np.rint(n_star)), w, q)
    return n_star


@nb.njit(cache=True)
def monthly_carry(q: np.ndarray, theta: np.ndarray) -> float:
    """Expected carry of holding ``q`` for a month, dollars: Σ q_i |θ_i| × 30 × $100."""
    c = 0.0
    for j in range(q.shape[0]):
        c += q[j] * abs(theta[j]) * CARRY_DAYS * OPTION_MULTIPLIER
    return c


@nb.njit(cache=True)
def capped_ratio(
    r_star: float, vega_ic: float, h: np.ndarray, theta: np.ndarray, w: np.ndarray, budget: float, r_min: float
) -> float:
    """The steward cap's r*: the largest ladder (total contracts N, from round(N*) at ``r_star``
    down to the floor's) whose monthly carry fits ``budget``, as the ratio that sizes exactly N —
    never below ``r_min``, which it returns when even the floor's ladder does not fit."""
    denom = ladder_denominator(h, w)
    if denom <= 0 or vega_ic == 0:
        return r_min
    trial = np.zeros(w.shape[0], dtype=np.int64)
    for n in range(int(np.rint(r_star * abs(vega_ic) / denom)), int(np.rint(r_min * abs(vega_ic) / denom)), -1):
        largest_remainder(n, w, trial)
        if monthly_carry(trial, theta) <= budget:
            return max(r_min, n * denom / abs(vega_ic))
    return r_min


@nb.njit(cache=True)
def steward_sizing(
    r_star: float, vega_ic: float, h: np.ndarray, theta: np.ndarray, credit: float, kp: np.ndarray, q: np.ndarray
) -> tuple[float, float, bool]:
    """Size the ladder into ``q`` at r*, lowered by the steward cap until the monthly carry fits
    ``carry_budget`` × the IC ``credit`` (dollars) — never below ``ratio_min``. Returns (r* after
    the cap, N*, whether the carry exceeded the budget at r*). Fixed mode, the uncapped mode and
    a book without credit are never capped."""
    w = kp[K_W0 : K_W2 + 1]
    n_star = size_ladder(r_star, vega_ic, h, w, q)
    if kp[K_MODE] != MODE_STEWARD or credit <= 0:
        return r_star, n_star, False
    budget = kp[K_BUDGET] * credit
    if monthly_carry(q, theta) <= budget:
        return r_star, n_star, False
    if r_star <= kp[K_RMIN]:
        return r_star, n_star, True
    ratio = capped_ratio(r_star, vega_ic, h, theta, w, budget, kp[K_RMIN])
    return ratio, size_ladder(ratio, vega_ic, h, w, q), True


@nb.njit(cache=True)
def min_trade(target: int, kp: np.ndarray) -> float:
    """Smallest ADD/TRIM of a layer, contracts: max(min_trade_contracts, fraction × target)."""
    return max(kp[K_MTC], kp[K_MTF] * target)


# ---- the rules (§6) --------------------------------------------------------------------------------
# What decided a layer, and why: each outcome has one action and one target (OUTCOME_ACTION,
# OUTCOME_HOLDS); the readable engine writes one reason per outcome.
(
    O_ROLL,  # a roll brings the layer to target
    O_ROLL_HELD,  # a roll keeps a surplus: no convexity is sold in a spike/elevated market
    O_OPEN,  # an empty book opens the ladder
    O_TAKE_PROFIT,  # HARVEST (a): a rich line, R above the band, the layer above target
    O_HARVEST_B,  # HARVEST (b): the −1 cross with VIX high and layer 1 worth its multiple: replace
    O_UP_ADD,  # the +1 cross adds a short layer up to target
    O_UP_SMALL,  # the +1 cross, but the gap is below the minimum trade: hold
    O_UNDEFINED,  # |V_ic| = 0: the ratio is undefined, hold
    O_BELOW_AT_TARGET,  # R below the band, but the layer is at or above its target: hold
    O_BELOW_SMALL,  # R below the band, the gap below the minimum trade: hold
    O_ADD,  # R below the band: add to target
    O_ABOVE_AT_TARGET,  # R above the band, but the layer is at or below its target: hold
    O_CONVEX,  # R above the band in a spike/elevated market: the surplus is held
    O_ABOVE_SMALL,  # R above the band, the surplus below the minimum trade: hold
    O_QUIET,  # R above the band, a release affects the next session: hold
    O_TRIM,  # R above the band in calm/fading: trim to target
    O_IN_BAND,  # R within r* ± band: hold
) = range(17)
N_OUTCOMES = 17
OUTCOME_ACTION = np.full(N_OUTCOMES, A_HOLD, dtype=np.int64)  # every other outcome holds
OUTCOME_ACTION[[O_ROLL, O_ROLL_HELD]] = A_ROLL
OUTCOME_ACTION[O_OPEN] = A_OPEN
OUTCOME_ACTION[[O_TAKE_PROFIT, O_HARVEST_B]] = A_HARVEST
OUTCOME_ACTION[[O_UP_ADD, O_ADD]] = A_ADD
OUTCOME_ACTION[O_TRIM] = A_TRIM
OUTCOME_HOLDS = OUTCOME_ACTION == A_HOLD  # the layer ends the day where it is (else: at its target q_j)
OUTCOME_HOLDS[O_ROLL_HELD] = True


@nb.njit(cache=True)
def band_side(has_ratio: bool, ratio: float, r_star: float, kp: np.ndarray) -> int:
    """−1 when R < r* − band, +1 when R > r* + band, 0 within (or when R is undefined)."""
    if not has_ratio:
        return 0
    if ratio > r_star + kp[K_BAND]:
        return 1
    if ratio < r_star - kp[K_BAND]:
        return -1
    return 0


@nb.njit(cache=True)
def is_rich(price: float, cost: float, kp: np.ndarray) -> bool:
    """A held line worth at least ``harvest_multiple`` × its average cost (VIX points)."""
    return cost > 0 and price >= kp[K_HARV] * cost


@nb.njit(cache=True)
def is_quiet(event_next_session: bool, kp: np.ndarray) -> bool:
    """``hold_before_events`` and a scheduled release affects the next session: no sales today."""
    return kp[K_HOLD_EVE] > 0 and event_next_session


@nb.njit(cache=True)
def roll_outcome(have: int, want: int, regime: int) -> int:
    """ROLL: every layer goes to target, except that a layer above target keeps its surplus unless
    the regime is calm or fading (a roll never sells convexity in a spike/elevated market)."""
    if have > want and regime not in (R_CALM, R_FADING):
        return O_ROLL_HELD
    return O_ROLL


@nb.njit(cache=True)
def takes_profit(have: int, want: int, rich: bool, side: int, quiet: bool) -> bool:
    """HARVEST (a): a rich line while R > r* + band trims a layer above its target, any regime."""
    return rich and side > 0 and have > want and not quiet


@nb.njit(cache=True)
def harvests_layer1(cross: int, vix: float, l1_value: float, l1_cost: float, quiet: bool, kp: np.ndarray) -> bool:
    """HARVEST (b): a −1 MACD cross with VIX ≥ ``harvest_b_vix`` and layer 1 worth ≥
    ``harvest_b_multiple`` × its cost (Σ qty × price vs Σ qty × cost, VIX points)."""
    if cross != -1 or vix != vix or vix < kp[K_HARV_VIX] or quiet:
        return False
    return l1_cost > 0 and not (l1_value < kp[K_HARV_B] * l1_cost)


@nb.njit(cache=True)
def upcross_outcome(have: int, want: int, cross: int, kp: np.ndarray) -> int:
    """ADD on a +1 cross for a layer below target (a gap below the minimum trade holds); −1 when
    the rule does not apply (no +1 cross, or the layer is at or above target)."""
    gap = want - have
    if cross != 1 or gap <= 0:
        return -1
    return O_UP_SMALL if gap < min_trade(want, kp) else O_UP_ADD


@nb.njit(cache=True)
def rebalance_outcome(
    have: int, want: int, has_ratio: bool, side: int, regime: int, quiet: bool, kp: np.ndarray
) -> int:
    """REBALANCE: R below the band adds to target, above it trims to target in calm/fading and
    holds the surplus in spike/elevated; within it holds — each hold with its own reason."""
    gap = want - have
    small = abs(gap) < min_trade(want, kp)
    if not has_ratio:
        return O_UNDEFINED
    if side < 0:
        if gap <= 0:
            return O_BELOW_AT_TARGET
        return O_BELOW_SMALL if small else O_ADD
    if side > 0:
        if gap >= 0:
            return O_ABOVE_AT_TARGET
        if regime in (R_SPIKE, R_ELEVATED):
            return O_CONVEX
        if small:
            return O_ABOVE_SMALL
        return O_QUIET if quiet else O_TRIM
    return O_IN_BAND


@nb.njit(cache=True)
def layer_outcome(
    j: int,
    rolled: bool,
    book_empty: bool,
    have: int,
    want: int,
    rich: bool,
    side: int,
    has_ratio: bool,
    cross: int,
    vix: float,
    l1_value: float,
    l1_cost: float,
    regime: int,
    quiet: bool,
    kp: np.ndarray,
) -> int:
    """Which rule decides layer ``j`` (0-based) today, by precedence (§6): ROLL on a roll day, OPEN
    on an empty book, else the take-profit (a layer above target), the −1-cross harvest (layer 1),
    the +1-cross ADD, and REBALANCE — a rule that would trade nothing leaves the layer to the next."""
    if rolled:
        return roll_outcome(have, want, regime)
    if book_empty:
        return O_OPEN
    if takes_profit(have, want, rich, side, quiet):
        return O_TAKE_PROFIT
    if j == 0 and harvests_layer1(cross, vix, l1_value, l1_cost, quiet, kp):
        return O_HARVEST_B
    up = upcross_outcome(have, want, cross, kp)
    if up >= 0:
        return up
    return rebalance_outcome(have, want, has_ratio, side, regime, quiet, kp)


@nb.njit(cache=True)
def outcome_target(outcome: int, have: int, want: int) -> int:
    """The contracts the layer holds after today."""
    return have if OUTCOME_HOLDS[outcome] else want


@nb.njit(cache=True)
def outcome_action(outcome: int, have: int, want: int) -> int:
    """The outcome's action; an OPEN or HARVEST that leaves the layer where it is (and replaces
    nothing) trades nothing, so it is a HOLD (a roll stays ROLL: the roll day is named)."""
    act = OUTCOME_ACTION[outcome]
    if act in (A_OPEN, A_HARVEST) and outcome != O_HARVEST_B and outcome_target(outcome, have, want) == have:
        return A_HOLD
    return act


# ---- execution (§6) --------------------------------------------------------------------------------
@nb.njit(cache=True)
def layer_trade(have: int, target: int, replace: bool) -> tuple[int, int]:
    """(contracts to buy at the target strike, contracts to sell, lowest strikes first) that take a
    layer holding ``have`` to ``target``; a replacing decision sells every line first (those sales
    are not counted here)."""
    start = 0 if replace else have
    return max(target - start, 0), max(start - target, 0)


@nb.njit(cache=True)
def average_cost(cost: float, qty: int, price: float, bought: int) -> float:
    """A line's average cost after buying ``bought`` more at ``price`` (VIX points): the price
    itself when the line held none (a line sold out earlier the same session included)."""
    if qty == 0:
        return price
    return (cost * qty + price * bought) / (qty + bought)
