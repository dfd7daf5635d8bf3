"""The ALVH signal engine: layer sizing and daily actions (ALVH_METHOD.md §5–§7).

One pure day-step, replayed over any range of sessions, used by the daily run, the backfill and
the backtest alike. Inputs are rows of ``marts.indicators_daily`` plus the VX settles of held
contracts; the state is the hedge book (contract expiry, strike → contracts, average cost).

Units: VIX, futures, strikes and option prices in index points; money in dollars (VIX options
×$100); quantities in contracts (integers ≥ 0); ``dte`` calendar days, ``tdte`` XNYS sessions.

Rules, in order of precedence per layer (§6): ROLL (the contract held as layer 1 has
``tdte ≤ roll_tdte``: sell it, the ladder shifts, every layer to target); HARVEST (a) take-profit
(any held contract worth ≥ ``harvest_multiple`` × its cost and R > r* + band → trim every layer to
target), (b) on a −1 MACD cross with VIX ≥ ``harvest_b_vix`` and layer 1 worth ≥
``harvest_b_multiple`` × its cost → sell layer 1 and re-buy it at the target strike; ADD (a +1
cross: every layer up to target); REBALANCE (R < r* − band: add up to target; R > r* + band: trim
to target in ``calm``/``fading``, hold the surplus in ``spike``/``elevated``); else HOLD. ADD and
REBALANCE trade only when the change is at least ``max(min_trade_contracts, min_trade_fraction ×
target)``; ROLL and HARVEST always execute. New contracts are bought at the listed strike whose
Black-76 delta is nearest ``target_delta``; sales take the highest-value (lowest) strikes first.
A session with a stale or missing required input publishes ``stale = true`` and trades nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from transforms.calendar import trading_days_between
from transforms.ic_book import IcBook, IcParams, ic_cycle, mark_ic, open_model_ic
from transforms.pricing import b76_scalar, strike_by_target_delta
from transforms.stress import grid_shocks, historical_shocks, stress_rows

METHOD_VERSION = "ALVH-2026.1"
LAYERS = (1, 2, 3)


@dataclass(frozen=True)
class HedgeParams:
    """Every number of §5–§6 (defaults are the method's; all are settings)."""

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


@dataclass
class Lot:
    qty: int
    cost: float  # average entry price per unit, index points


Book = dict[tuple[date, float], Lot]  # (contract expiry, strike) → lot


@dataclass
class DayResult:
    signal: dict[str, Any]
    layers: list[dict[str, Any]]
    orders: list[dict[str, Any]]
    positions: list[dict[str, Any]]
    book: Book
    ic: IcBook | None


# --- sizing (stateless) ------------------------------------------------------------------------


def target_ratio(rsi: float, hist: float | None, p: HedgeParams) -> tuple[float, float]:
    """(r_b, r*) before the steward cap: ``r_b = base + span·clip((center − RSI)/scale, −1, 1)``,
    ``r* = clip(r_b + tilt·sign(hist), min, max)``."""
    r_b = p.ratio_base + p.ratio_span * min(1.0, max(-1.0, (p.rsi_center - rsi) / p.rsi_scale))
    sign = 0.0 if hist is None or hist == 0 else math.copysign(1.0, hist)
    return r_b, min(p.ratio_max, max(p.ratio_min, r_b + p.macd_tilt * sign))


def largest_remainder(total: int, weights: Sequence[float]) -> list[int]:
    """Split ``total`` contracts by ``weights`` into integers summing to ``total`` (ties: the
    earlier layer)."""
    if total <= 0:
        return [0] * len(weights)
    wsum = sum(weights)
    raw = [total * w / wsum for w in weights]
    base = [math.floor(x) for x in raw]
    rest = total - sum(base)
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - base[i]), i))
    for i in order[:rest]:
        base[i] += 1
    return base


def size_ladder(ratio: float, vega_ic: float, h: Sequence[float], p: HedgeParams) -> tuple[float, list[int]]:
    """``N* = r·|V_ic| / Σ w_i h_i`` and the layer quantities (largest remainder of round(N*))."""
    denom = sum(w * hi for w, hi in zip(p.weights, h, strict=True))
    n_star = ratio * abs(vega_ic) / denom if denom > 0 else 0.0
    return n_star, largest_remainder(round(n_star), p.weights)


def min_trade(target: int, p: HedgeParams) -> float:
    return max(float(p.min_trade_contracts), p.min_trade_fraction * target)


# --- the day step ------------------------------------------------------------------------------


def _sigma(vvix: float, dte: int, p: HedgeParams) -> float:
    return vvix / 100.0 * (p.vvix_ref_days / max(dte, 1)) ** p.vvix_exponent


def stale_reason(row: dict[str, Any]) -> str | None:
    """Why a session cannot be signalled, in plain words (None if every input is there)."""
    causes = []
    for col, name in (("vix_close", "VIX"), ("vvix_close", "VVIX"), ("spx_close", "SPX")):
        if row.get(col) is None:
            causes.append(f"{name} has no close for this session")
    missing = [f"M{i} ({row[f'm{i}_expiry']})" for i in LAYERS if row.get(f"m{i}_settle") is None]
    if missing:
        causes.append("VX futures settle missing for " + ", ".join(missing))
    return "; ".join(causes) or None


def _fmt_strike(k: float) -> str:
    return f"{k:g}C"


def step(
    row: dict[str, Any],
    book: Book,
    ic: IcBook,
    settle_of: Callable[[date, date], float | None],
    p: HedgeParams,
    hedge_spend: float,
) -> tuple[DayResult, float]:
    """Signal one session. ``row`` is a ``marts.indicators_daily`` row; ``book`` the hedge held
    after the previous session; ``settle_of(trade_date, expiry)`` the VX settle of any contract;
    ``hedge_spend`` the net premium paid for the hedge in the current IC cycle (dollars).
    Returns the day's rows and the updated hedge spend."""
    d: date = row["session_date"]
    rsi_raw = row.get("ad_rsi")
    breadth_missing = bool(row.get("breadth_missing")) or rsi_raw is None
    rsi = p.rsi_center if rsi_raw is None else float(rsi_raw)
    hist = row.get("macd_hist")
    r_b, r_star = target_ratio(rsi, hist, p) if p.mode == "steward" else (p.fixed_ratio, p.fixed_ratio)
    base_signal: dict[str, Any] = {
        "session_date": d,
        "breadth_missing": breadth_missing,
        "vix_close": row.get("vix_close"),
        "macd_hist": hist,
        "macd_cross": row.get("macd_cross"),
        "ad_rsi": rsi_raw,
        "regime": row.get("regime"),
        "ratio_breadth": r_b,
        "ic_expiry": ic.expiry,
        "ic_contracts": ic.contracts,
        "ic_credit_usd": ic.credit_usd,
        "short_put": ic.short_put,
        "short_call": ic.short_call,
        "method_version": METHOD_VERSION,
    }
    stale = stale_reason(row)
    expiries = [row[f"m{i}_expiry"] for i in LAYERS]
    # prices of held contracts (needed for R, harvest and the roll sale)
    held_px: dict[tuple[date, float], tuple[float, float]] = {}
    expired: dict[date, float] = {}
    if stale is None:
        r = row["tbill_3m_pct"] / 100.0 if row.get("tbill_3m_pct") is not None else p.default_rate
        vvix = float(row["vvix_close"])
        for (exp, k), lot in sorted(book.items()):
            if lot.qty <= 0:
                continue
            if exp <= d:  # expired (cash-settled): worth its intrinsic value at the final settlement
                final = settle_of(exp, exp)
                if final is None:
                    stale = f"no final settlement for the expired contract {exp}; cannot settle it"
                    break
                held_px[(exp, k)] = (max(final - k, 0.0), 0.0)
                expired[exp] = final
                continue
            f = settle_of(d, exp) if exp not in expiries else row[f"m{expiries.index(exp) + 1}_settle"]
            if f is None:
                stale = f"no VX settle for the held contract {exp} on {d}; cannot price it"
                break
            dte = (exp - d).days
            price, delta, _ = b76_scalar(f, k, dte / 365.0, r, _sigma(vvix, dte, p), True)
            held_px[(exp, k)] = (price, delta)
    if stale is not None:
        return _stale_day(row, book, ic, base_signal, stale, r_star, p), hedge_spend

    # --- today's model: target strikes, h_i, |V_ic| (program vega), r*, N*, q_i -------------
    spx, vix = float(row["spx_close"]), float(row["vix_close"])
    mark = mark_ic(ic, d, spx, vix, r, p.ic)
    # |V_ic|: the book's short program vega. A book that is net long vega at 30 days (spot far
    # inside a wing) has nothing to hedge, so the magnitude is floored at zero, not mirrored.
    vega_ic = max(-mark["program_vega_usd"], 0.0)
    layer_model = []
    for i in LAYERS:
        f = float(row[f"m{i}_settle"])
        dte = int(row[f"m{i}_dte"])
        sig = _sigma(vvix, dte, p)
        k = float(strike_by_target_delta(f, dte / 365.0, r, sig, p.target_delta))
        price, delta, theta = b76_scalar(f, k, dte / 365.0, r, sig, True)
        beta = float(row[f"beta_{i}"])
        layer_model.append(
            {
                "f": f,
                "dte": dte,
                "tdte": int(row[f"m{i}_tdte"]),
                "sigma": sig,
                "strike": k,
                "price": price,
                "delta": delta,
                "theta": theta,
                "beta": beta,
                "h": 100.0 * delta * beta,
            }
        )
    h = [lm["h"] for lm in layer_model]
    n_star, q = size_ladder(r_star, vega_ic, h, p)
    capped = False
    if p.mode == "steward" and ic.credit_usd > 0:
        carry = sum(qi * abs(lm["theta"]) * 30.0 * 100.0 for qi, lm in zip(q, layer_model, strict=True))
        budget = p.carry_budget * ic.credit_usd
        if carry > budget and r_star > p.ratio_min:
            capped = True
            ratio = max(p.ratio_min, r_star * budget / carry)
            n_star, q = size_ladder(ratio, vega_ic, h, p)
            while (
                ratio > p.ratio_min
                and sum(qi * abs(lm["theta"]) * 3000.0 for qi, lm in zip(q, layer_model, strict=True)) > budget
            ):
                ratio = max(p.ratio_min, ratio - 0.01)
                n_star, q = size_ladder(ratio, vega_ic, h, p)
            r_star = ratio

    # --- current hedge ratio R (contracts actually held) -----------------------------------
    current = [0, 0, 0]
    hedge_vega_now = 0.0
    for (exp, k), lot in sorted(book.items()):
        if exp in expiries and lot.qty > 0:
            i = expiries.index(exp)
            current[i] += lot.qty
            hedge_vega_now += lot.qty * 100.0 * held_px[(exp, k)][1] * layer_model[i]["beta"]
    ratio_now = hedge_vega_now / vega_ic if vega_ic > 0 else 0.0
    hi_band, lo_band = r_star + p.band, r_star - p.band

    # --- actions ------------------------------------------------------------------------------
    orders: list[dict[str, Any]] = []
    new_book: Book = {key: Lot(lot.qty, lot.cost) for key, lot in sorted(book.items()) if lot.qty > 0}
    expiring = [(key, lot) for key, lot in new_book.items() if key[0] < expiries[0]]
    others = [key for key in new_book if key[0] > expiries[2]]
    is_empty = not any(lot.qty > 0 for lot in book.values())
    targets = list(current)
    actions = ["HOLD"] * 3
    reasons = [""] * 3
    breadth_note = " (breadth missing: RSI taken as 50)" if breadth_missing else ""
    cap_note = f"; steward cap lowered r* to {r_star:.2f} (carry ≤ {p.carry_budget:.0%} of IC credit)" if capped else ""

    def add_order(exp: date, k: float, side: str, qty: int, price: float, layer: int, action: str, why: str) -> None:
        if qty <= 0:
            return
        orders.append(
            {
                "session_date": d,
                "contract_expiry": exp,
                "strike": k,
                "side": side,
                "qty": qty,
                "model_price": price,
                "layer": layer,
                "action": action,
                "reason": why,
            }
        )
        lot = new_book.get((exp, k))
        if side == "BUY":
            if lot is None:
                new_book[(exp, k)] = Lot(qty, price)
            else:
                lot.cost = (lot.cost * lot.qty + price * qty) / (lot.qty + qty)
                lot.qty += qty
        else:
            assert lot is not None and lot.qty >= qty, "selling more than held"
            lot.qty -= qty
            if lot.qty == 0:
                del new_book[(exp, k)]

    def price_of(exp: date, k: float) -> float:
        if (exp, k) in held_px:
            return held_px[(exp, k)][0]
        i = expiries.index(exp)
        lm = layer_model[i]
        return b76_scalar(lm["f"], k, lm["dte"] / 365.0, r, lm["sigma"], True)[0]

    def move_layer(i: int, target: int, action: str, why: str) -> None:
        """Orders that take layer i from its holdings to ``target`` contracts."""
        exp = expiries[i]
        have = current[i]
        if target > have:
            add_order(
                exp,
                layer_model[i]["strike"],
                "BUY",
                target - have,
                layer_model[i]["price"],
                i + 1,
                action,
                why,
            )
        elif target < have:
            left = have - target
            for key in sorted((key for key in new_book if key[0] == exp), key=lambda key: key[1]):
                if left == 0:
                    break
                n = min(left, new_book[key].qty)
                add_order(exp, key[1], "SELL", n, price_of(*key), i + 1, action, why)
                left -= n
        targets[i] = target

    # 1. ROLL ---------------------------------------------------------------------------------
    if expiring:
        for (exp, k), lot in sorted(expiring):
            if exp in expired:
                why = (
                    f"expired on {exp}: settled at the final settlement {expired[exp]:g} ({lot.qty} × {_fmt_strike(k)})"
                )
            else:
                why = (
                    f"roll: {exp} has {trading_days_between(d, exp)} trading days left (≤ {p.roll_tdte}); "
                    f"sold {lot.qty} × {_fmt_strike(k)}"
                )
            add_order(exp, k, "SELL", lot.qty, held_px[(exp, k)][0], 1, "ROLL", why)
        for i in LAYERS:
            j = i - 1
            old = sorted({key[0] for key, _ in expiring})[0]
            left_old = max(trading_days_between(d, old), 0)
            why = (
                f"roll: {old} reached {left_old} trading days left; the ladder shifts "
                f"(layer {i} is now {expiries[j]}); brought to target "
                f"{q[j]} at r* = {r_star:.2f}{cap_note}{breadth_note}"
            )
            move_layer(j, q[j], "ROLL", why)
            actions[j], reasons[j] = "ROLL", why
    elif is_empty:
        for j in range(3):
            why = (
                f"opening the ladder: buy {q[j]} × {_fmt_strike(layer_model[j]['strike'])} "
                f"({p.target_delta:.0%}-delta) for r* = {r_star:.2f} of |V_ic| ${vega_ic:,.0f}/pt"
                f"{cap_note}{breadth_note}"
            )
            move_layer(j, q[j], "OPEN", why)
            actions[j], reasons[j] = ("OPEN" if q[j] > 0 else "HOLD"), why
    else:
        # 2. HARVEST ----------------------------------------------------------------------------
        rich = [
            (key, held_px[key][0] / lot.cost)
            for key, lot in sorted(book.items())
            if lot.qty > 0 and key in held_px and lot.cost > 0 and held_px[key][0] >= p.harvest_multiple * lot.cost
        ]
        harvest_a = bool(rich) and ratio_now > hi_band
        done = [False, False, False]
        if harvest_a:
            (rk, mult) = max(rich, key=lambda x: x[1])
            for j in range(3):
                tgt = min(current[j], q[j])
                why = (
                    f"take profit: {rk[0]} {_fmt_strike(rk[1])} is worth {mult:.1f}× its cost and the hedge "
                    f"ratio {ratio_now:.2f} exceeds r* {r_star:.2f} + {p.band:.2f}; trim to target {tgt}{cap_note}"
                )
                move_layer(j, tgt, "HARVEST", why)
                actions[j], reasons[j], done[j] = ("HARVEST" if tgt != current[j] else "HOLD"), why, True
        l1_cost = sum(lot.qty * lot.cost for key, lot in sorted(book.items()) if key[0] == expiries[0] and lot.qty > 0)
        l1_value = sum(
            lot.qty * held_px[key][0] for key, lot in sorted(book.items()) if key[0] == expiries[0] and lot.qty > 0
        )
        if (
            not done[0]
            and row.get("macd_cross") == -1
            and vix >= p.harvest_b_vix
            and l1_cost > 0
            and l1_value >= p.harvest_b_multiple * l1_cost
        ):
            why = (
                f"harvest: MACD turned down (−1 cross) with VIX {vix:.2f} ≥ {p.harvest_b_vix:g} and layer 1 worth "
                f"{l1_value / l1_cost:.1f}× its cost: sold layer 1, re-bought {q[0]} × "
                f"{_fmt_strike(layer_model[0]['strike'])}"
            )
            for key in sorted(k for k in new_book if k[0] == expiries[0]):
                add_order(key[0], key[1], "SELL", new_book[key].qty, price_of(*key), 1, "HARVEST", why)
            current_l1 = current[0]
            current[0] = 0
            move_layer(0, q[0], "HARVEST", why)
            current[0] = current_l1
            actions[0], reasons[0], done[0] = "HARVEST", why, True
        for j in range(3):
            if done[j]:
                continue
            gap = q[j] - current[j]
            small = abs(gap) < min_trade(q[j], p)
            # 3. ADD on a +1 cross --------------------------------------------------------------
            if row.get("macd_cross") == 1 and gap > 0:
                if small:
                    reasons[j] = (
                        f"+1 MACD cross, but the layer is {gap} short of target {q[j]}: below the minimum trade"
                    )
                else:
                    why = (
                        f"MACD turned up (+1 cross): add {gap} to reach target {q[j]} at r* = {r_star:.2f}"
                        f"{cap_note}{breadth_note}"
                    )
                    move_layer(j, q[j], "ADD", why)
                    actions[j], reasons[j] = "ADD", why
                continue
            # 4. REBALANCE ---------------------------------------------------------------------
            if ratio_now < lo_band and gap > 0:
                if small:
                    reasons[j] = (
                        f"hedge ratio {ratio_now:.2f} < {lo_band:.2f}, but {gap} contracts is below the minimum trade"
                    )
                else:
                    why = (
                        f"under-hedged: ratio {ratio_now:.2f} < r* {r_star:.2f} − {p.band:.2f}; add {gap} to target "
                        f"{q[j]}{cap_note}{breadth_note}"
                    )
                    move_layer(j, q[j], "ADD", why)
                    actions[j], reasons[j] = "ADD", why
            elif ratio_now > hi_band and gap < 0:
                regime = row.get("regime")
                if regime in ("spike", "elevated"):
                    reasons[j] = (
                        f"over-hedged (ratio {ratio_now:.2f} > {hi_band:.2f}) but the regime is {regime}: "
                        f"the surplus of {-gap} is the ladder's convexity at work and is held"
                    )
                elif small:
                    reasons[j] = f"over-hedged by {-gap}, below the minimum trade"
                else:
                    why = (
                        f"over-hedged: ratio {ratio_now:.2f} > r* {r_star:.2f} + {p.band:.2f} in a {regime} regime; "
                        f"trim {-gap} to target {q[j]}{cap_note}"
                    )
                    move_layer(j, q[j], "TRIM", why)
                    actions[j], reasons[j] = "TRIM", why
            if not reasons[j]:
                reasons[j] = f"hold: hedge ratio {ratio_now:.2f} within r* {r_star:.2f} ± {p.band:.2f}{breadth_note}"
    # --- publishable rows ---------------------------------------------------------------------
    for j in range(3):
        if (
            actions[j] in ("ROLL", "HARVEST", "OPEN")
            and targets[j] == current[j]
            and not any(o["layer"] == j + 1 for o in orders)
        ):
            actions[j] = "HOLD" if actions[j] != "ROLL" else "ROLL"
    spend_today = sum((o["qty"] if o["side"] == "BUY" else -o["qty"]) * o["model_price"] * 100.0 for o in orders)
    hedge_spend += spend_today
    hedge_vega_after = 0.0
    positions = []
    for (exp, k), lot in sorted(new_book.items()):
        positions.append({"session_date": d, "contract_expiry": exp, "strike": k, "qty": lot.qty, "avg_cost": lot.cost})
        if exp in expiries:
            i = expiries.index(exp)
            delta = (
                held_px[(exp, k)][1]
                if (exp, k) in held_px
                else b76_scalar(
                    layer_model[i]["f"], k, layer_model[i]["dte"] / 365.0, r, layer_model[i]["sigma"], True
                )[1]
            )
            hedge_vega_after += lot.qty * 100.0 * delta * layer_model[i]["beta"]
    unrecovered = max(hedge_spend, 0.0) / (100.0 * ic.contracts) if ic.contracts else 0.0
    net_credit = ic.credit_per_ic - unrecovered
    layers = []
    for j in range(3):
        lm = layer_model[j]
        layers.append(
            {
                "session_date": d,
                "layer": j + 1,
                "contract_expiry": expiries[j],
                "dte": lm["dte"],
                "tdte": lm["tdte"],
                "future_settle": lm["f"],
                "strike": lm["strike"],
                "model_price": lm["price"],
                "delta": lm["delta"],
                "hedge_vega_per_contract_usd": lm["h"],
                "current_qty": current[j],
                "model_target_qty": q[j],
                "target_qty": targets[j],
                "trade_qty": targets[j] - current[j],
                "action": actions[j],
                "reason": reasons[j],
            }
        )
    if others:
        layers[2]["reason"] += f"; note: contracts beyond M3 are held and left alone ({sorted({k[0] for k in others})})"
    summary = "; ".join(
        f"L{x['layer']} {x['action']}"
        + (f" {x['trade_qty']:+d} × {_fmt_strike(x['strike'])}" if x["trade_qty"] else "")
        for x in layers
    )
    if expiring:
        summary = f"sell expiring {sorted({k[0] for k, _ in expiring})[0]}; " + summary
    signal = base_signal | {
        "stale": False,
        "stale_reason": None,
        "ic_short_vega_usd": vega_ic,
        "ic_live_vega_usd": abs(mark["vega_usd"]),
        "ic_value_usd": mark["value_usd"],
        "hedge_vega_usd": hedge_vega_after,
        "ratio_current": ratio_now,
        "ratio_target": r_star,
        "steward_capped": capped,
        "contracts_target": sum(q),
        "contracts_model": n_star,
        "breakeven_low": (ic.short_put - net_credit) if ic.short_put is not None else None,
        "breakeven_high": (ic.short_call + net_credit) if ic.short_call is not None else None,
        "hedge_spend_usd": hedge_spend,
        "actions_summary": summary,
    }
    return DayResult(signal, layers, orders, positions, new_book, ic), hedge_spend


def _stale_day(
    row: dict[str, Any],
    book: Book,
    ic: IcBook,
    base: dict[str, Any],
    cause: str,
    r_star: float,
    p: HedgeParams,
) -> DayResult:
    d = row["session_date"]
    expiries = [row[f"m{i}_expiry"] for i in LAYERS]
    layers = []
    for i in LAYERS:
        exp = expiries[i - 1]
        held = sum(lot.qty for (e, _), lot in book.items() if e == exp)
        layers.append(
            {
                "session_date": d,
                "layer": i,
                "contract_expiry": exp,
                "dte": row.get(f"m{i}_dte"),
                "tdte": row.get(f"m{i}_tdte"),
                "future_settle": row.get(f"m{i}_settle"),
                "strike": None,
                "model_price": None,
                "delta": None,
                "hedge_vega_per_contract_usd": None,
                "current_qty": held,
                "model_target_qty": None,
                "target_qty": held,
                "trade_qty": 0,
                "action": "HOLD",
                "reason": f"stale input, no trades: {cause}",
            }
        )
    positions = [
        {"session_date": d, "contract_expiry": e, "strike": k, "qty": lot.qty, "avg_cost": lot.cost}
        for (e, k), lot in sorted(book.items())
        if lot.qty > 0
    ]
    signal = base | {
        "stale": True,
        "stale_reason": cause,
        "ic_short_vega_usd": None,
        "ic_live_vega_usd": None,
        "ic_value_usd": None,
        "hedge_vega_usd": None,
        "ratio_current": None,
        "ratio_target": r_star,
        "steward_capped": False,
        "contracts_target": None,
        "contracts_model": None,
        "breakeven_low": None,
        "breakeven_high": None,
        "hedge_spend_usd": None,
        "actions_summary": f"STALE — no trades: {cause}",
    }
    return DayResult(signal, layers, [], positions, {k: Lot(v.qty, v.cost) for k, v in book.items() if v.qty > 0}, ic)


def model_ic_for(
    d: date,
    rows_by_date: dict[date, dict[str, Any]],
    p: HedgeParams,
    cache: dict[date, IcBook | None] | None = None,
) -> IcBook | None:
    """The model IC in force on ``d``, opened with the close data of its opening session."""
    opened, expiry = ic_cycle(d)
    if cache is not None:
        if opened not in cache:
            cache[opened] = model_ic_for(d, rows_by_date, p)
        return cache[opened]
    row = rows_by_date.get(opened)
    if row is None or row.get("spx_close") is None or row.get("vix_close") is None:
        return None
    r = row["tbill_3m_pct"] / 100.0 if row.get("tbill_3m_pct") is not None else p.default_rate
    return open_model_ic(opened, expiry, float(row["spx_close"]), float(row["vix_close"]), r, p.ic)


@dataclass
class Replay:
    """Every day's rows of a replay, ready to validate and publish."""

    signals: list[dict[str, Any]] = field(default_factory=list)
    layers: list[dict[str, Any]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)
    positions: list[dict[str, Any]] = field(default_factory=list)
    stress: list[dict[str, Any]] = field(default_factory=list)
    books: dict[date, Book] = field(default_factory=dict)
    ics: dict[date, IcBook] = field(default_factory=dict)


def replay(
    rows: Sequence[dict[str, Any]],
    sessions: Sequence[date],
    start_book: Book,
    settle_of: Callable[[date, date], float | None],
    p: HedgeParams,
    user_ic: IcBook | None = None,
    start_spend: float = 0.0,
    progress: Callable[[int, int], None] | None = None,
) -> Replay:
    """Run the day step over ``sessions`` (ascending), starting from ``start_book``.

    ``rows`` are ``marts.indicators_daily`` rows covering the sessions and the IC opening
    sessions before them. With ``user_ic`` the user's book is hedged instead of the model IC.
    """
    by_date = {r["session_date"]: r for r in rows}
    out = Replay()
    book = {k: Lot(v.qty, v.cost) for k, v in start_book.items()}
    spend = start_spend
    cycle: date | None = None
    ic_cache: dict[date, IcBook | None] = {}
    hist = historical_shocks(by_date)
    total = len(sessions)
    for n, d in enumerate(sessions, start=1):
        row = by_date.get(d)
        if row is None:
            raise ValueError(f"no indicators row for session {d}: build marts.indicators_daily first")
        ic = user_ic or model_ic_for(d, by_date, p, ic_cache)
        opened = ic.opened if ic is not None else None
        if n == 1:
            cycle = opened  # start_spend belongs to the cycle in force on the first session
        elif opened != cycle:
            spend, cycle = 0.0, opened
        if ic is None:
            ic_missing = IcBook(opened=d, expiry=ic_cycle(d)[1], legs=())
            res = _stale_day(
                row,
                book,
                ic_missing,
                {
                    "session_date": d,
                    "breadth_missing": bool(row.get("breadth_missing")),
                    "vix_close": row.get("vix_close"),
                    "macd_hist": row.get("macd_hist"),
                    "macd_cross": row.get("macd_cross"),
                    "ad_rsi": row.get("ad_rsi"),
                    "regime": row.get("regime"),
                    "ratio_breadth": None,
                    "ic_expiry": ic_missing.expiry,
                    "ic_contracts": 0,
                    "ic_credit_usd": None,
                    "short_put": None,
                    "short_call": None,
                    "method_version": METHOD_VERSION,
                },
                "; ".join(
                    c for c in (stale_reason(row), f"the IC opening session {ic_cycle(d)[0]} has no SPX/VIX close") if c
                ),
                float("nan"),
                p,
            )
            res.signal["ratio_target"] = None
        else:
            res, spend = step(row, book, ic, settle_of, p, spend)
            if not res.signal["stale"]:
                rate = row["tbill_3m_pct"] / 100.0 if row.get("tbill_3m_pct") is not None else p.default_rate
                # historical shocks that had happened by this session (none from its future)
                shocks = grid_shocks([row[f"beta_{i}"] for i in LAYERS]) + [h for h in hist if h.on <= d]
                held = [(e, k, lot.qty) for (e, k), lot in res.book.items()]
                out.stress += stress_rows(d, row, ic, held, shocks, p.ic, rate, p.vvix_ref_days, p.vvix_exponent)
        book = res.book
        out.signals.append(res.signal)
        out.layers += res.layers
        out.orders += res.orders
        out.positions += res.positions
        out.books[d] = book
        if res.ic is not None:
            out.ics[d] = res.ic
        if progress is not None and (n % 50 == 0 or n == total):
            progress(n, total)
    return out


def book_from_positions(rows: Sequence[dict[str, Any]]) -> Book:
    """A hedge book from ``marts.hedge_position`` rows of one session."""
    book = {
        (r["contract_expiry"], float(r["strike"])): Lot(int(r["qty"]), float(r.get("avg_cost") or 0.0))
        for r in rows
        if r["qty"] > 0
    }
    return dict(sorted(book.items()))  # a fixed order: sums over the book do not depend on how it was read
