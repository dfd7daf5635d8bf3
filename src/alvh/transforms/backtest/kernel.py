"""The compiled engine's loops (ALVH_METHOD.md §5–§6, §9): the book and the array plumbing around
the rules' one compiled form, :mod:`alvh.transforms.signal.compiled_rules`.

:func:`alvh_kernel` replays the day-step over every session — settle expired contracts (also on
stale days), price the book on the surface, then size, decide and split each layer's trade with the
same compiled functions the readable engine (:mod:`alvh.transforms.signal`) calls, so both take
the same decisions in the same floating-point order; :func:`account_kernel` is the compiled form of
the readable accounting (:func:`alvh.transforms.backtest.fills.execute` and
:func:`alvh.transforms.backtest.readable.hedge_daily`: fills after the signal, costs with the spread
model, settlements, the daily mark with the previous mark carried when a contract has no price).
Numbers only: expiries are indices into :attr:`EngineArrays.expiries`, sides ±1, actions the codes
of ``compiled_rules.ACTIONS``; the market is one :class:`~alvh.transforms.backtest.prep.EngineArrays`
(``a``), read by field name. The readable engine stays the reference (tests compare the two
session by session) and the path that writes reasons.

Per-session inputs come prepared by :mod:`alvh.transforms.backtest.prep`; the hedge settings come
as ``compiled_rules.settings_record`` rows, one per session.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from alvh.transforms.backtest.prep import WINDOW_BEFORE, EngineArrays
from alvh.transforms.signal import compiled_rules as cr
from alvh.transforms.spread import SpreadModel, vix_half_spread
from alvh.transforms.vix_surface import VixSurface, call_on_surface

MART_FIELDS = ("roll_tdte",)  # decides which contracts are M1–M3 in the indicators mart
MAX_LINES = 128  # book lines (contract × strike) a day can hold
ALL = 1 << 62  # "every contract" for ``_sell``


@nb.njit(cache=True)
def surface_of(r: np.ndarray) -> VixSurface:
    """A session's VIX-call surface from its row of ``EngineArrays.surface`` (``VixSurface``'s
    fields in order, the smile flag as 1.0 / 0.0)."""
    return VixSurface(r[0] != 0.0, r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10])


@nb.njit(cache=True)
def _line_price(i: int, e: int, k: float, a: EngineArrays) -> tuple[float, float]:
    """(price, delta) of the call (expiry ``e``, strike ``k``) at session ``i``'s close on the
    session's surface, on its contract's forward (``a.win_fwd``, which holds M1–M3 too); NaN
    when it has no forward or VVIX that day, or has expired."""
    o = e - a.m_idx[i, 0] + WINDOW_BEFORE
    f = a.win_fwd[i, o] if 0 <= o < a.win_fwd.shape[1] else math.nan
    dte = a.exp_ordinal[e] - a.ordinal[i]
    if f != f or a.vvix[i] != a.vvix[i] or dte <= 0:
        return math.nan, math.nan
    return call_on_surface(a.vvix[i], f, k, float(dte), a.rate[i], surface_of(a.surface[i]))[:2]


@nb.njit(cache=True)
def _empty_book() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Room for ``MAX_LINES`` book lines: expiry index, strike, quantity and a value per line."""
    return np.zeros(MAX_LINES, np.int64), np.zeros(MAX_LINES), np.zeros(MAX_LINES, np.int64), np.zeros(MAX_LINES)


@nb.njit(cache=True)
def _line(book: tuple, n: int, e: int, k: float, value: float) -> tuple[int, int]:
    """The index of the line (expiry ``e``, strike ``k``) among the first ``n`` of ``book``;
    when it has none, a new empty line at the end, of ``value``. Returns (index, lines), the
    index −1 when the book is full."""
    be, bk, bq, bv = book
    for x in range(n):
        if be[x] == e and bk[x] == k:
            return x, n
    if n >= MAX_LINES:
        return -1, n
    be[n], bk[n], bq[n], bv[n] = e, k, 0, value
    return n, n + 1


@nb.njit(cache=True)
def _normalize(be: np.ndarray, bk: np.ndarray, bq: np.ndarray, bv: np.ndarray, n: int) -> int:
    """Drop empty lines and sort by (expiry, strike) — ``book.normalized``; ``bv`` is the line's
    value (average cost in the engine's book, last mark in the ledger)."""
    m = 0
    for x in range(n):
        if bq[x] != 0:
            be[m], bk[m], bq[m], bv[m] = be[x], bk[x], bq[x], bv[x]
            m += 1
    for x in range(1, m):  # insertion sort (a handful of lines, new ones at the end)
        e, k, q, v = be[x], bk[x], bq[x], bv[x]
        y = x
        while y > 0 and (be[y - 1] > e or (be[y - 1] == e and bk[y - 1] > k)):
            be[y], bk[y], bq[y], bv[y] = be[y - 1], bk[y - 1], bq[y - 1], bv[y - 1]
            y -= 1
        be[y], bk[y], bq[y], bv[y] = e, k, q, v
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
def _sell(
    o: tuple, no: int, i: int, book: tuple, n: int, first: int, last: int, left: int, layer: int, act: int
) -> int:
    """Sell up to ``left`` contracts from the first ``n`` lines of ``book`` (expiry, strike,
    quantity, price arrays) whose expiry index is in ``first..last``, in the book's order (by
    expiry, then lowest strike first), each at its model price; the next order slot."""
    be, bk, bq, bpx = book
    for x in range(n):
        if left <= 0:
            break
        if first <= be[x] <= last and bq[x] > 0:
            m = min(left, bq[x])
            no = _emit(o, no, i, be[x], bk[x], -1, m, bpx[x], layer, act)
            bq[x] -= m
            left -= m
    return no


@nb.njit(cache=True)
def _settle(o: tuple, no: int, i: int, book: tuple, n: int, a: EngineArrays) -> tuple[int, bool]:
    """Settle every line of ``book`` expired on or before session ``i`` whose expiry has a final
    value: a SETTLE order (layer 1) at max(final − strike, 0) written at slot ``no`` of ``o``, the
    line's quantity zeroed. Returns the next order slot and whether an expired line has no final
    value yet (it stays held)."""
    be, bk, bq, _ = book
    unknown = False
    for x in range(n):
        e = be[x]
        if a.exp_ordinal[e] > a.ordinal[i] or bq[x] == 0:
            continue
        if a.final[e] != a.final[e]:
            unknown = True
            continue
        no = _emit(o, no, i, e, bk[x], -1, bq[x], max(a.final[e] - bk[x], 0.0), 1, cr.A_SETTLE)
        bq[x] = 0
    return no, unknown


@nb.njit(cache=True)
def alvh_kernel(kp_rows: np.ndarray, a: EngineArrays, o: tuple, d_stale: np.ndarray) -> int:
    """Replay the engine over every session (``kp_rows[i]``: the settings vector in force on
    session ``i``): its orders (at the decision session's model price) and stale flags.
    Returns the orders written, or −1 when an output array or the book ran out of room. The
    money is :func:`account_kernel`'s. ``o``: the order arrays, as ``_emit`` writes them."""
    be, bk, bq, bc = _empty_book()  # the book, ``bc`` each line's average cost
    bpx = np.zeros(MAX_LINES)  # today's model price of the line
    bdl = np.zeros(MAX_LINES)  # today's delta
    nb_ = no = 0
    q = np.zeros(3, dtype=np.int64)
    cur = np.zeros(3, dtype=np.int64)
    for i in range(a.ordinal.shape[0]):
        no0 = no
        no, unknown = _settle(o, no, i, (be, bk, bq, bc), nb_, a)  # 1. settle (stale days too)
        nb_ = _normalize(be, bk, bq, bc, nb_)
        # 2. stale? (an input missing, a settlement unknown)
        stale = not a.ready[i] or unknown
        for x in range(nb_):  # price the book; a line without a price makes the day stale
            bpx[x], bdl[x] = _line_price(i, be[x], bk[x], a)
            stale = stale or bpx[x] != bpx[x]
        d_stale[i] = stale
        if stale:
            continue
        kp = kp_rows[i]  # the hedge settings in force this session (a walk-forward path switches them)
        vega_ic, beta = a.vega_ic[i], a.beta[i]
        rsi = a.rsi[i] if a.rsi[i] == a.rsi[i] else kp[cr.K_RSI_C]
        target = cr.target_ratio(rsi, a.hist[i], kp)
        r_star = cr.steward_sizing(target, vega_ic, a.h[i], a.theta[i], a.credit[i], kp, q)[0]
        m1 = a.m_idx[i, 0]
        hedge_vega = l1_value = l1_cost = 0.0
        rich = False
        cur[:] = 0
        rolled = no > no0  # a contract settled today
        for x in range(nb_):
            e = be[x]
            for j in range(3):
                if a.m_idx[i, j] == e:
                    cur[j] += bq[x]
                    hedge_vega += bq[x] * 100.0 * bdl[x] * beta[j]
                    break
            if e == m1:
                l1_value += bq[x] * bpx[x]
                l1_cost += bq[x] * bc[x]
            rich = rich or cr.is_rich(bpx[x], bc[x], kp)
            rolled = rolled or e < m1
        has_ratio = vega_ic > 0
        side = cr.band_side(has_ratio, hedge_vega / vega_ic if has_ratio else 0.0, r_star, kp)
        # 3. roll sales: every line of a contract before M1, at its model price. The rules below
        #    read the book as it was before any ticket: ``cur`` and ``nb0``.
        nb0 = nb_
        book = (be, bk, bq, bpx)
        no = _sell(o, no, i, book, nb0, 0, m1 - 1, ALL, 1, cr.A_ROLL)
        # 4. each layer's rule (§6, both engines' one compiled form) and its tickets: a replace
        #    sells all first; buys at the target strike; sales take the lowest strikes first
        for j in range(3):
            out = cr.layer_outcome(
                j, rolled, nb0 == 0, cur[j], q[j], rich, side, has_ratio, a.cross[i], a.vix[i], l1_value, l1_cost,
                a.regime[i], cr.is_quiet(a.eve[i], kp), kp,
            )  # fmt: skip
            act = cr.outcome_action(out, cur[j], q[j])
            replace = out == cr.O_HARVEST_B
            e = a.m_idx[i, j]
            if replace:
                no = _sell(o, no, i, book, nb0, e, e, ALL, j + 1, act)
            qty, left = cr.layer_trade(cur[j], cr.outcome_target(out, cur[j], q[j]), replace)
            if qty > 0:
                k, pb = a.strike[i, j], a.price[i, j]
                x, nb_ = _line((be, bk, bq, bc), nb_, e, k, pb)
                if x < 0:
                    return -1
                bc[x] = cr.average_cost(bc[x], bq[x], pb, qty)
                bq[x] += qty
                no = _emit(o, no, i, e, k, 1, qty, pb, j + 1, act)
            no = _sell(o, no, i, book, nb0, e, e, left, j + 1, act)
        nb_ = _normalize(be, bk, bq, bc, nb_)
        if no < 0:
            return -1
    return no


@nb.njit(cache=True)
def calls_kernel(tenor: int, qty: int, a: EngineArrays, o: tuple, d_stale: np.ndarray) -> int:
    """``backtest._calls_trades``: hold ``qty`` calls of M_tenor at the target-delta strike; when
    the contract is no longer M_tenor, sell it (at its model price, or its settlement value once
    expired) and buy the new one. Stale days trade nothing. Returns the orders written (−1: full)."""
    j = tenor - 1
    held_e, held_k, no = -1, 0.0, 0  # the contract held (none yet) and its strike
    for i in range(a.ordinal.shape[0]):
        if a.vix[i] != a.vix[i] or a.vvix[i] != a.vvix[i] or a.fwd[i, j] != a.fwd[i, j]:
            d_stale[i] = True
            continue
        if held_e == a.m_idx[i, j]:
            continue
        if held_e >= 0:
            if a.exp_ordinal[held_e] <= a.ordinal[i]:
                px = max(a.final[held_e] - held_k, 0.0) if a.final[held_e] == a.final[held_e] else math.nan
            else:
                px = _line_price(i, held_e, held_k, a)[0]
            if px != px:
                d_stale[i] = True
                continue
            no = _emit(o, no, i, held_e, held_k, -1, qty, px, tenor, cr.A_ROLL)
        held_e, held_k = a.m_idx[i, j], a.strike[i, j]
        no = _emit(o, no, i, held_e, held_k, 1, qty, a.price[i, j], tenor, cr.A_OPEN)
    return no


@nb.njit(cache=True)
def account_kernel(
    lag: int, commission: float, spread: SpreadModel, a: EngineArrays, n_orders: int, o: tuple, out: tuple
) -> tuple[int, int]:
    """``fills.execute`` + ``backtest.hedge_daily`` on arrays: the book as filled, ``lag``
    sessions after each decision (at the fill session's model price, the decision's own price
    when ``lag`` is 0 or the contract has no price then; a contract expired by its fill session
    is left to the settlement), each fill paying ``commission`` + the half-spread (× $100);
    every line settles at the first session on or after its expiry with a final value; marked
    at the close, the previous mark carried when there is no price. Fills (``f_*``) per order
    (``f_day`` −1: not filled); settlements (``st``, as ``_emit`` writes orders) and positions
    (``p_*``) as rows. Returns (settlements, positions) written, or (−1, −1) when out of room.
    ``o``: the engine's order arrays; ``out``: the output arrays, as unpacked below."""
    o_day, o_exp, o_k, o_side, o_q, o_px, _, o_act = o
    (f_day, f_px, f_hs), st, (p_day, p_exp, p_k, p_q), (d_cash, d_cost, d_mark, d_held, d_traded, d_carried) = out
    be, bk, bq, bl = _empty_book()  # the book as filled, ``bl`` each line's last mark
    nb_ = ns = npos = ptr = 0  # lines held, settlements and positions written, next order to fill
    f_day[:n_orders] = -1
    for i in range(a.ordinal.shape[0]):
        day = a.ordinal[i]
        ns0 = ns  # 1. settlements (a full array makes ``ns`` −1 to the end: the run is retried)
        ns = _settle(st, ns, i, (be, bk, bq, bl), nb_, a)[0]
        for t in range(ns0, ns):
            d_cash[i] += st[4][t] * st[5][t] * 100.0  # quantity × settlement value × $100
        while ptr < n_orders and o_day[ptr] + lag <= i:  # 2. the fills due today
            t, ptr = ptr, ptr + 1
            e = o_exp[t]
            if o_day[t] + lag < i or o_act[t] == cr.A_SETTLE or a.exp_ordinal[e] <= day:
                continue
            px = o_px[t]
            if lag > 0:
                now = _line_price(i, e, o_k[t], a)[0]
                px = now if now == now else px
            vv = a.vvix[i] if a.vvix[i] == a.vvix[i] else a.vvix[o_day[t]]
            hs = vix_half_spread(px, vv, spread)
            f_day[t], f_px[t], f_hs[t] = i, px, hs
            d_cash[i] -= o_side[t] * o_q[t] * px * 100.0
            d_cost[i] += o_q[t] * (commission + 100.0 * hs)
            d_traded[i] += o_q[t]
            x, nb_ = _line((be, bk, bq, bl), nb_, e, o_k[t], px)
            if x < 0:
                return -1, -1
            bq[x] += o_side[t] * o_q[t]
        nb_ = _normalize(be, bk, bq, bl, nb_)
        for x in range(nb_):  # 3. the mark of what is held after the fills
            e = be[x]
            mark = _line_price(i, e, bk[x], a)[0]
            if mark == mark:
                bl[x] = mark
            else:
                d_carried[i] = True
            d_mark[i] += bq[x] * bl[x] * 100.0
            d_held[i] += bq[x]
            if npos >= p_day.shape[0]:
                return -1, -1
            p_day[npos], p_exp[npos], p_k[npos], p_q[npos] = i, e, bk[x], bq[x]
            npos += 1
    return ns, npos
