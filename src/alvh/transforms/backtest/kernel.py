"""The compiled day-step: the readable engine's rules (ALVH_METHOD.md §5–§6, §9) on arrays.

Same rules, same order of floating-point operations as :mod:`alvh.transforms.signal` — settle
expired contracts (also on stale days), price the book, size (r*, N*, largest remainder, the
steward carry cap), decide per layer by precedence (ROLL, OPEN, take-profit, the −1-cross
harvest, the +1-cross ADD, REBALANCE with band, minimum trade and the regime hold), execute
(buys at the target strike, sales lowest strike first). :func:`account_kernel` is the compiled form
of the readable accounting (:func:`alvh.transforms.backtest.fills.execute` and
:func:`alvh.transforms.backtest.hedge_daily`: fills after the signal, costs with the spread model,
settlements, the daily mark with the previous mark carried when a contract has no price). Numbers
only: expiries are indices into :attr:`EngineArrays.expiries`, sides ±1, actions codes
(:data:`ACTIONS`). The readable engine stays the reference (tests compare the two session by
session) and the path that writes reasons.

Per-session inputs come prepared by :mod:`alvh.transforms.backtest.prep`; the hedge rules'
settings come in ``kp`` rows, one per session (see :func:`kernel_params`).
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from alvh.transforms.signal.params import CARRY_DAYS, OPTION_MULTIPLIER
from alvh.transforms.spread import SpreadModel, vix_half_spread
from alvh.transforms.vix_surface import VixSurface, call_on_surface

ACTIONS = ("SETTLE", "ROLL", "OPEN", "HARVEST", "ADD", "TRIM", "HOLD")
A_SETTLE, A_ROLL, A_OPEN, A_HARVEST, A_ADD, A_TRIM, A_HOLD = range(7)
MODES = {"steward": 0, "fixed": 1}  # any other mode: the breadth ratio without a cap
MAX_LINES = 128  # book lines (contract × strike) a day can hold

# kp: the hedge rules' settings, one row per session, in this order (``weights`` takes three
# slots, ``mode`` its code in MODES, a bool 0/1). Every HedgeParams field is either here, in the
# prepared inputs (``prep.PREPARED_FIELDS``) or a mart setting (``MART_FIELDS``): a test
# holds the three to the dataclass, so a new setting cannot be forgotten.
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
MART_FIELDS = ("roll_tdte",)  # decides which contracts are M1–M3 in the indicators mart
_SLOTS = ("weights0", "weights1", "weights2", *KERNEL_FIELDS[1:])
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
) = range(len(_SLOTS))
N_KP = len(_SLOTS)

# regimes as the prepared arrays code them (``prep.REGIMES``; 0: none, 5: any other)
R_CALM, R_FADING, R_SPIKE, R_ELEVATED = 1, 2, 3, 4


@nb.njit(cache=True)
def _largest_remainder(total: int, w: np.ndarray, out: np.ndarray) -> None:
    """``sizing.largest_remainder`` for three layers (ties: the earlier layer)."""
    if total <= 0:
        out[:] = 0
        return
    wsum = 0.0
    for j in range(3):
        wsum += w[j]
    frac = np.empty(3)
    s = 0
    for j in range(3):
        raw = total * w[j] / wsum
        b = math.floor(raw)
        out[j] = b
        frac[j] = raw - b
        s += b
    rest = total - s
    used = np.zeros(3, dtype=np.bool_)
    for _ in range(rest):
        best = -1
        for j in range(3):
            if not used[j] and (best < 0 or frac[j] > frac[best]):
                best = j
        used[best] = True
        out[best] += 1


@nb.njit(cache=True)
def _size(ratio: float, vega_ic: float, h: np.ndarray, w: np.ndarray, q: np.ndarray) -> None:
    """``sizing.size_ladder``: N* = r·|V_ic| / Σ w_i h_i, then q (largest remainder of round(N*))."""
    denom = 0.0
    for j in range(3):
        denom += w[j] * h[j]
    n_star = ratio * abs(vega_ic) / denom if denom > 0 else 0.0
    _largest_remainder(int(np.rint(n_star)), w, q)


@nb.njit(cache=True)
def _carry(q: np.ndarray, theta: np.ndarray) -> float:
    c = 0.0
    for j in range(3):
        c += q[j] * abs(theta[j]) * CARRY_DAYS * OPTION_MULTIPLIER
    return c


@nb.njit(cache=True)
def _sizing(
    r_star: float, vega_ic: float, h: np.ndarray, theta: np.ndarray, credit: float, kp: np.ndarray, q: np.ndarray
) -> float:
    """``sizing.steward_sizing``: fills ``q``, returns r* after the steward cap."""
    w = kp[K_W0 : K_W2 + 1]
    _size(r_star, vega_ic, h, w, q)
    if kp[K_MODE] != 0.0 or credit <= 0:
        return r_star
    budget = kp[K_BUDGET] * credit
    if _carry(q, theta) <= budget:
        return r_star
    rmin = kp[K_RMIN]
    if r_star <= rmin:
        return r_star
    ratio = rmin  # ``sizing.capped_ratio``: the largest ladder that fits, never below the floor
    denom = 0.0
    for j in range(3):
        denom += w[j] * h[j]
    if denom > 0 and vega_ic != 0:
        for n in range(int(np.rint(r_star * abs(vega_ic) / denom)), int(np.rint(rmin * abs(vega_ic) / denom)), -1):
            _largest_remainder(n, w, q)
            if _carry(q, theta) <= budget:
                ratio = max(rmin, n * denom / abs(vega_ic))
                break
    _size(ratio, vega_ic, h, w, q)
    return ratio


@nb.njit(cache=True)
def _target_ratio(rsi: float, hist: float, kp: np.ndarray) -> float:
    """``sizing.target_ratio``'s r* (before the cap)."""
    if kp[K_MODE] == 1.0:
        return kp[K_FIXED]
    x = (kp[K_RSI_C] - rsi) / kp[K_RSI_S]
    r_b = kp[K_RBASE] + kp[K_RSPAN] * min(1.0, max(-1.0, x))
    sign = 0.0 if (hist != hist or hist == 0) else math.copysign(1.0, hist)
    return min(kp[K_RMAX], max(kp[K_RMIN], r_b + kp[K_TILT] * sign))


@nb.njit(cache=True)
def _min_trade(target: int, kp: np.ndarray) -> float:
    return max(kp[K_MTC], kp[K_MTF] * target)


@nb.njit(cache=True)
def _forward_of(i: int, e: int, m_idx: np.ndarray, fwd: np.ndarray, win_base: np.ndarray, win_fwd: np.ndarray) -> float:
    """The forward of expiry ``e`` on session ``i``: M_j's when it is a layer, else the curve's."""
    for j in range(3):
        if m_idx[i, j] == e:
            return fwd[i, j]
    o = e - win_base[i]
    if 0 <= o < win_fwd.shape[1]:
        return win_fwd[i, o]
    return math.nan


@nb.njit(cache=True)
def _find(be: np.ndarray, bk: np.ndarray, n: int, e: int, k: float) -> int:
    for x in range(n):
        if be[x] == e and bk[x] == k:
            return x
    return -1


@nb.njit(cache=True)
def _normalize(be: np.ndarray, bk: np.ndarray, bq: np.ndarray, bv: np.ndarray, n: int) -> int:
    """Drop empty lines and sort by (expiry, strike) — ``book.normalized``; ``bv`` is the line's
    value (average cost in the engine's book, last mark in the ledger)."""
    m = 0
    for x in range(n):
        if bq[x] != 0:
            be[m], bk[m], bq[m], bv[m] = be[x], bk[x], bq[x], bv[x]
            m += 1
    for x in range(1, m):  # insertion sort (a handful of lines)
        y = x
        while y > 0 and (be[y - 1] > be[y] or (be[y - 1] == be[y] and bk[y - 1] > bk[y])):
            be[y - 1], be[y] = be[y], be[y - 1]
            bk[y - 1], bk[y] = bk[y], bk[y - 1]
            bq[y - 1], bq[y] = bq[y], bq[y - 1]
            bv[y - 1], bv[y] = bv[y], bv[y - 1]
            y -= 1
    return m


@nb.njit(cache=True)
def _emit(o: tuple, no: int, i: int, e: int, k: float, side: int, q: int, px: float, layer: int, act: int) -> int:
    """Write one order at slot ``no`` of the order arrays ``o`` (day, expiry, strike, side,
    quantity, price, layer, action); the next slot, or −1 when the arrays are full."""
    if no < 0 or no >= o[0].shape[0]:
        return -1
    o[0][no], o[1][no], o[2][no], o[3][no], o[4][no] = i, e, k, side, q
    o[5][no], o[6][no], o[7][no] = px, layer, act
    return no + 1


@nb.njit(cache=True)
def alvh_kernel(
    kp_rows: np.ndarray,
    surf: VixSurface,
    ordinal: np.ndarray,
    exp_ordinal: np.ndarray,
    vix: np.ndarray,
    vvix: np.ndarray,
    spx: np.ndarray,
    rate: np.ndarray,
    rsi_raw: np.ndarray,
    hist: np.ndarray,
    cross: np.ndarray,
    regime: np.ndarray,
    eve: np.ndarray,
    m_idx: np.ndarray,
    fwd: np.ndarray,
    beta: np.ndarray,
    strike: np.ndarray,
    price: np.ndarray,
    delta: np.ndarray,
    theta: np.ndarray,
    has_ic: np.ndarray,
    credit: np.ndarray,
    vega_ic_a: np.ndarray,
    win_base: np.ndarray,
    win_fwd: np.ndarray,
    final: np.ndarray,
    o: tuple,  # the order arrays, as ``_emit`` writes them
    d_stale: np.ndarray,
) -> int:
    """Replay the engine over every session (``kp_rows[i]``: the settings vector in force on
    session ``i``): its orders (``o_*``, at the decision session's model price) and stale
    flags. Returns the orders written, or −1 when an output array or the book ran out of room.
    The money is :func:`account_kernel`'s."""
    n = ordinal.shape[0]
    be = np.zeros(MAX_LINES, dtype=np.int64)
    bk = np.zeros(MAX_LINES)
    bq = np.zeros(MAX_LINES, dtype=np.int64)
    bc = np.zeros(MAX_LINES)
    bpx = np.zeros(MAX_LINES)  # today's model price of the line
    bdl = np.zeros(MAX_LINES)  # today's delta
    nb_ = 0
    no = 0
    q = np.zeros(3, dtype=np.int64)
    h = np.zeros(3)
    cur = np.zeros(3, dtype=np.int64)
    tgt = np.zeros(3, dtype=np.int64)
    repl = np.zeros(3, dtype=np.bool_)
    for i in range(n):
        day = ordinal[i]
        n_settles = 0
        unknown = False
        # 1. settle every line expired on or before today (stale days too)
        for x in range(nb_):
            e = be[x]
            if exp_ordinal[e] > day or bq[x] <= 0:
                continue
            fs = final[e]
            if fs != fs:
                unknown = True
                continue
            no = _emit(o, no, i, e, bk[x], -1, bq[x], max(fs - bk[x], 0.0), 1, A_SETTLE)
            n_settles += 1
            bq[x] = 0
        nb_ = _normalize(be, bk, bq, bc, nb_)
        # 2. stale?
        stale = (
            not has_ic[i]
            or unknown
            or vix[i] != vix[i]
            or vvix[i] != vvix[i]
            or spx[i] != spx[i]
            or beta[i, 0] != beta[i, 0]
            or beta[i, 1] != beta[i, 1]
            or beta[i, 2] != beta[i, 2]
            or fwd[i, 0] != fwd[i, 0]
            or fwd[i, 1] != fwd[i, 1]
            or fwd[i, 2] != fwd[i, 2]
        )
        r = rate[i]
        if not stale:  # price the book; a line with no forward makes the day stale
            for x in range(nb_):
                e = be[x]
                f = _forward_of(i, e, m_idx, fwd, win_base, win_fwd)
                if f != f:
                    stale = True
                    break
                dte = exp_ordinal[e] - day
                bpx[x], bdl[x], _ = call_on_surface(vvix[i], f, bk[x], float(dte), r, surf)
        d_stale[i] = stale
        if stale:
            continue
        kp = kp_rows[i]  # the hedge settings in force this session (a walk-forward path switches them)
        vega_ic = vega_ic_a[i]
        for j in range(3):
            h[j] = OPTION_MULTIPLIER * delta[i, j] * beta[i, j]
        rsi = rsi_raw[i] if rsi_raw[i] == rsi_raw[i] else kp[K_RSI_C]
        r0 = _target_ratio(rsi, hist[i], kp)
        r_star = _sizing(r0, vega_ic, h, theta[i], credit[i], kp, q)
        m1 = m_idx[i, 0]
        hedge_vega = 0.0
        l1_value = 0.0
        l1_cost = 0.0
        rich = False
        cur[:] = 0
        rolled = n_settles > 0
        for x in range(nb_):
            e = be[x]
            for j in range(3):
                if m_idx[i, j] == e:
                    cur[j] += bq[x]
                    hedge_vega += bq[x] * 100.0 * bdl[x] * beta[i, j]
                    break
            if e == m1:
                l1_value += bq[x] * bpx[x]
                l1_cost += bq[x] * bc[x]
            if bc[x] > 0 and bpx[x] >= kp[K_HARV] * bc[x]:
                rich = True
            if e < m1:
                rolled = True
        has_ratio = vega_ic > 0
        ratio = hedge_vega / vega_ic if has_ratio else 0.0
        band = kp[K_BAND]
        above = has_ratio and ratio > r_star + band
        below = has_ratio and ratio < r_star - band
        reg = regime[i]
        trim_ok = reg in (R_CALM, R_FADING)
        repl[:] = False
        acts = np.full(3, A_HOLD, dtype=np.int64)
        if rolled:
            for j in range(3):
                tgt[j] = cur[j] if (cur[j] > q[j] and not trim_ok) else q[j]
                acts[j] = A_ROLL
        elif nb_ == 0:
            for j in range(3):
                tgt[j] = q[j]
                acts[j] = A_OPEN
        else:  # per layer; a rule that would trade nothing in a layer leaves it to the next (§6)
            quiet = kp[K_HOLD_EVE] > 0 and eve[i]  # no sales the session before a release
            for j in range(3):
                gap = q[j] - cur[j]
                if rich and above and cur[j] > q[j] and not quiet:
                    tgt[j], acts[j] = q[j], A_HARVEST
                elif (
                    j == 0
                    and cross[i] == -1
                    and vix[i] >= kp[K_HARV_VIX]
                    and l1_cost > 0
                    and not (l1_value < kp[K_HARV_B] * l1_cost)
                    and not quiet
                ):
                    tgt[j], acts[j], repl[j] = q[0], A_HARVEST, True
                elif cross[i] == 1 and gap > 0:
                    if gap < _min_trade(q[j], kp):
                        tgt[j] = cur[j]
                    else:
                        tgt[j], acts[j] = q[j], A_ADD
                elif not has_ratio:
                    tgt[j] = cur[j]
                elif below:
                    if gap <= 0 or abs(gap) < _min_trade(q[j], kp):
                        tgt[j] = cur[j]
                    else:
                        tgt[j], acts[j] = q[j], A_ADD
                elif above:
                    if gap >= 0 or reg in (R_SPIKE, R_ELEVATED) or abs(gap) < _min_trade(q[j], kp) or quiet:
                        tgt[j] = cur[j]
                    else:
                        tgt[j], acts[j] = q[j], A_TRIM
                else:
                    tgt[j] = cur[j]
        # 3. roll sales: every line of a contract before M1, at its model price
        nb0 = nb_
        for x in range(nb0):
            if be[x] < m1 and bq[x] > 0:
                no = _emit(o, no, i, be[x], bk[x], -1, bq[x], bpx[x], 1, A_ROLL)
                bq[x] = 0
        # 4. each layer's tickets: replace sells all first; buys at the target strike; sales
        #    take the lowest strikes first (the book is sorted by strike within an expiry)
        for j in range(3):
            e = m_idx[i, j]
            have = 0
            for x in range(nb0):
                if be[x] == e and bq[x] > 0:
                    have += bq[x]
            if repl[j]:
                for x in range(nb0):
                    if be[x] == e and bq[x] > 0:
                        no = _emit(o, no, i, e, bk[x], -1, bq[x], bpx[x], j + 1, acts[j])
                        bq[x] = 0
                have = 0
            if tgt[j] > have:
                qty = tgt[j] - have
                k = strike[i, j]
                pb = price[i, j]
                x = _find(be, bk, nb_, e, k)
                if x < 0:
                    if nb_ >= MAX_LINES:
                        return -1
                    x = nb_
                    be[x], bk[x], bq[x], bc[x] = e, k, qty, pb
                    nb_ += 1
                else:
                    bc[x] = (bc[x] * bq[x] + pb * qty) / (bq[x] + qty)
                    bq[x] += qty
                no = _emit(o, no, i, e, k, 1, qty, pb, j + 1, acts[j])
            left = have - tgt[j]
            for x in range(nb0):
                if left <= 0:
                    break
                if be[x] == e and bq[x] > 0:
                    m = min(left, bq[x])
                    no = _emit(o, no, i, e, bk[x], -1, m, bpx[x], j + 1, acts[j])
                    bq[x] -= m
                    left -= m
        nb_ = _normalize(be, bk, bq, bc, nb_)
        if no < 0:
            return -1
    return no


@nb.njit(cache=True)
def calls_kernel(
    tenor: int,
    qty: int,
    surf: VixSurface,
    ordinal: np.ndarray,
    exp_ordinal: np.ndarray,
    vix: np.ndarray,
    vvix: np.ndarray,
    rate: np.ndarray,
    m_idx: np.ndarray,
    fwd: np.ndarray,
    strike: np.ndarray,
    price: np.ndarray,
    win_base: np.ndarray,
    win_fwd: np.ndarray,
    final: np.ndarray,
    o: tuple,  # the order arrays, as ``_emit`` writes them
    d_stale: np.ndarray,
) -> int:
    """``backtest._calls_trades``: hold ``qty`` calls of M_tenor at the target-delta strike; when
    the contract is no longer M_tenor, sell it (at its model price, or its settlement value once
    expired) and buy the new one. Stale days trade nothing. Returns the orders written (−1: full)."""
    n = ordinal.shape[0]
    j = tenor - 1
    held_e = -1
    held_k = 0.0
    no = 0
    for i in range(n):
        day = ordinal[i]
        if vix[i] != vix[i] or vvix[i] != vvix[i] or fwd[i, j] != fwd[i, j]:
            d_stale[i] = True
            continue
        e_new = m_idx[i, j]
        if held_e == e_new:
            continue
        if held_e >= 0:
            px = math.nan
            if exp_ordinal[held_e] <= day:
                if final[held_e] == final[held_e]:
                    px = max(final[held_e] - held_k, 0.0)
            else:
                f = _forward_of(i, held_e, m_idx, fwd, win_base, win_fwd)
                if f == f:
                    dte = exp_ordinal[held_e] - day
                    px = call_on_surface(vvix[i], f, held_k, float(dte), rate[i], surf)[0]
            if px != px:
                d_stale[i] = True
                continue
            no = _emit(o, no, i, held_e, held_k, -1, qty, px, tenor, A_ROLL)
        held_e, held_k = e_new, strike[i, j]
        no = _emit(o, no, i, held_e, held_k, 1, qty, price[i, j], tenor, A_OPEN)
    return no


@nb.njit(cache=True)
def account_kernel(
    lag: int,
    commission: float,
    spread: SpreadModel,
    surf: VixSurface,
    ordinal: np.ndarray,
    exp_ordinal: np.ndarray,
    vvix: np.ndarray,
    rate: np.ndarray,
    m_idx: np.ndarray,
    fwd: np.ndarray,
    win_base: np.ndarray,
    win_fwd: np.ndarray,
    final: np.ndarray,
    n_orders: int,
    o_day: np.ndarray,
    o_exp: np.ndarray,
    o_k: np.ndarray,
    o_side: np.ndarray,
    o_q: np.ndarray,
    o_px: np.ndarray,
    o_act: np.ndarray,
    f_day: np.ndarray,
    f_px: np.ndarray,
    f_hs: np.ndarray,
    s_day: np.ndarray,
    s_exp: np.ndarray,
    s_k: np.ndarray,
    s_q: np.ndarray,
    s_px: np.ndarray,
    p_day: np.ndarray,
    p_exp: np.ndarray,
    p_k: np.ndarray,
    p_q: np.ndarray,
    d_cash: np.ndarray,
    d_cost: np.ndarray,
    d_mark: np.ndarray,
    d_held: np.ndarray,
    d_traded: np.ndarray,
    d_carried: np.ndarray,
) -> tuple[int, int]:
    """``fills.execute`` + ``backtest.hedge_daily`` on arrays: the book as filled, ``lag``
    sessions after each decision (at the fill session's model price, the decision's own price
    when ``lag`` is 0 or the contract has no price then; a contract expired by its fill session
    is left to the settlement), each fill paying ``commission`` + the half-spread (× $100);
    every line settles at the first session on or after its expiry with a final value; marked
    at the close, the previous mark carried when there is no price. Fills (``f_*``) per order
    (``f_day`` −1: not filled); settlements (``s_*``) and positions (``p_*``) as rows. Returns
    (settlements, positions) written, or (−1, −1) when out of room."""
    n = ordinal.shape[0]
    be = np.zeros(MAX_LINES, dtype=np.int64)
    bk = np.zeros(MAX_LINES)
    bq = np.zeros(MAX_LINES, dtype=np.int64)
    bl = np.zeros(MAX_LINES)  # last mark of the line
    nb_ = 0
    ns = 0
    npos = 0
    ptr = 0
    f_day[:n_orders] = -1
    for i in range(n):
        day = ordinal[i]
        for x in range(nb_):  # 1. settlements
            e = be[x]
            if exp_ordinal[e] <= day and bq[x] != 0 and final[e] == final[e]:
                px = max(final[e] - bk[x], 0.0)
                if ns >= s_day.shape[0]:
                    return -1, -1
                s_day[ns], s_exp[ns], s_k[ns], s_q[ns], s_px[ns] = i, e, bk[x], bq[x], px
                ns += 1
                d_cash[i] += bq[x] * px * 100.0
                bq[x] = 0
        while ptr < n_orders and o_day[ptr] + lag <= i:  # 2. the fills due today
            t = ptr
            ptr += 1
            e = o_exp[t]
            if o_day[t] + lag < i or o_act[t] == A_SETTLE or exp_ordinal[e] <= day:
                continue
            px = o_px[t]
            if lag > 0:
                f = _forward_of(i, e, m_idx, fwd, win_base, win_fwd)
                if f == f and vvix[i] == vvix[i]:
                    px = call_on_surface(vvix[i], f, o_k[t], float(exp_ordinal[e] - day), rate[i], surf)[0]
            vv = vvix[i] if vvix[i] == vvix[i] else vvix[o_day[t]]
            hs = vix_half_spread(px, vv, spread)
            f_day[t], f_px[t], f_hs[t] = i, px, hs
            d_cash[i] -= o_side[t] * o_q[t] * px * 100.0
            d_cost[i] += o_q[t] * (commission + 100.0 * hs)
            d_traded[i] += o_q[t]
            x = _find(be, bk, nb_, e, o_k[t])
            if x < 0:
                if nb_ >= MAX_LINES:
                    return -1, -1
                x = nb_
                be[x], bk[x], bq[x], bl[x] = e, o_k[t], 0, px
                nb_ += 1
            bq[x] += o_side[t] * o_q[t]
        nb_ = _normalize(be, bk, bq, bl, nb_)
        r = rate[i]
        for x in range(nb_):  # 3. the mark of what is held after the fills
            e = be[x]
            dte = exp_ordinal[e] - day
            f = _forward_of(i, e, m_idx, fwd, win_base, win_fwd)
            if f == f and vvix[i] == vvix[i] and dte > 0:
                bl[x] = call_on_surface(vvix[i], f, bk[x], float(dte), r, surf)[0]
            else:
                d_carried[i] = True
            d_mark[i] += bq[x] * bl[x] * 100.0
            d_held[i] += bq[x]
            if npos >= p_day.shape[0]:
                return -1, -1
            p_day[npos], p_exp[npos], p_k[npos], p_q[npos] = i, e, bk[x], bq[x]
            npos += 1
    return ns, npos
