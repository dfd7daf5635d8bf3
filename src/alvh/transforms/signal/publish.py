"""The publishable rows of one session (ALVH_METHOD.md §8): the signal, the three layer rows.

Money in dollars; vega in dollars per (vol or VIX) point; prices and strikes in VIX points."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from alvh.transforms.ic_book import IcBook
from alvh.transforms.signal.book import Book, Order, held_in, position_rows
from alvh.transforms.signal.inputs import DayInputs
from alvh.transforms.signal.params import LAYERS, HedgeParams, fmt_strike
from alvh.transforms.signal.rules import Decision, Situation
from alvh.transforms.signal.sizing import LayerModel, target_ratio

BREADTH_NOTE = " (breadth missing: RSI taken as 50)"


@dataclass
class DayResult:
    """One session's publishable rows and the book held after its orders."""

    signal: dict[str, Any]
    layers: list[dict[str, Any]]
    orders: list[dict[str, Any]]
    positions: list[dict[str, Any]]
    book: Book
    ic: IcBook | None
    day: DayInputs


def base_signal(row: dict[str, Any], day: DayInputs, ic: IcBook, p: HedgeParams) -> dict[str, Any]:
    """The columns every signal row has, stale or not."""
    r_b, _ = target_ratio(day.rsi, day.hist, p)
    return {
        "session_date": day.session,
        "breadth_missing": day.breadth_missing,
        "vix_close": day.vix,
        "macd_hist": day.hist,
        "macd_cross": day.cross,
        "ad_rsi": row.get("ad_rsi"),
        "regime": day.regime,
        "ratio_breadth": r_b,
        "ic_expiry": ic.expiry,
        "ic_contracts": ic.contracts,
        "ic_credit_usd": ic.credit_usd,
        "short_put": ic.short_put,
        "short_call": ic.short_call,
        "method_version": p.method_version,
        "next_event": day.next_event.sentence() if day.next_event is not None else None,
    }


def forward_note(day: DayInputs, j: int) -> str:
    """``""``, or the sentence naming the contracts an interpolated forward came from (§3)."""
    x = day.layers[j]
    if x.forward_source != "interpolated" or x.forward is None:
        return ""
    return f"; M{j + 1} forward {x.forward:.2f} {x.forward_basis or 'interpolated'} (no settle in the data)"


def layer_row(
    day: DayInputs,
    j: int,
    model: LayerModel | None,
    current: int,
    model_target: int | None,
    target: int,
    action: str,
    reason: str,
) -> dict[str, Any]:
    """A ``marts.layer_adjustment`` row of layer ``j`` (0-based); ``model`` is None on a stale day."""
    x = day.layers[j]
    return {
        "session_date": day.session,
        "layer": j + 1,
        "contract_expiry": x.expiry,
        "dte": x.dte,
        "tdte": x.tdte,
        "future_settle": x.forward,
        "forward_source": x.forward_source,
        "strike": None if model is None else model.strike,
        "model_price": None if model is None else model.price,
        "price_source": None if model is None else model.price_source,
        "delta": None if model is None else model.delta,
        "hedge_vega_per_contract_usd": None if model is None else model.h,
        "current_qty": current,
        "model_target_qty": model_target,
        "target_qty": target,
        "trade_qty": target - current,
        "action": action,
        "reason": reason,
    }


def layer_rows(
    day: DayInputs, s: Situation, decisions: list[Decision], orders: list[Order], beyond: list[date]
) -> list[dict[str, Any]]:
    """One row per layer: the model (strike, price, delta, h), holdings before and after, action
    and reason (an OPEN or HARVEST that changes nothing is already a HOLD: ``rules.quiet_as_hold``).
    A layer that trades the session before a scheduled FOMC/CPI/PPI release
    says so at the end of its reason (information only)."""
    rows: list[dict[str, Any]] = []
    for j, dec in enumerate(decisions):
        x = day.layers[j]
        traded = any(o.layer == j + 1 and o.contract_expiry == x.expiry for o in orders)
        action = dec.action
        reason = dec.reason + forward_note(day, j)
        if day.breadth_missing and "breadth missing" not in reason:
            reason += BREADTH_NOTE
        if (traded or dec.target != s.current[j]) and day.next_event is not None:
            reason += day.next_event.trade_note()
        rows.append(layer_row(day, j, s.models[j], s.current[j], s.q[j], dec.target, action, reason))
    if beyond:
        held = ", ".join(str(e) for e in beyond)
        rows[2]["reason"] = str(rows[2]["reason"]) + f"; note: contracts beyond M3 are held and left alone ({held})"
    return rows


def signal_row(
    row: dict[str, Any],
    day: DayInputs,
    s: Situation,
    ic: IcBook,
    live: dict[str, float],
    layers: list[dict[str, Any]],
    new_book: Book,
    px: dict[tuple[date, float], tuple[float, float]],
    spend: float,
    rolled: date | None,
    p: HedgeParams,
) -> dict[str, Any]:
    """The session's ``marts.hedge_signal_daily`` row (non-stale)."""
    hedge_vega_after = 0.0
    for (e, k), lot in new_book.items():
        j = day.layer_of(e)
        if j is None:
            continue
        delta = px[(e, k)][1] if (e, k) in px else s.models[j].price_of(k, day.rate)[1]
        hedge_vega_after += lot.qty * 100.0 * delta * s.models[j].beta
    unrecovered = max(spend, 0.0) / (100.0 * ic.contracts) if ic.contracts else 0.0
    net_credit = ic.credit_per_ic - unrecovered
    summary = "; ".join(
        f"L{x['layer']} {x['action']}" + (f" {x['trade_qty']:+d} × {fmt_strike(x['strike'])}" if x["trade_qty"] else "")
        for x in layers
    )
    if rolled is not None:
        summary = f"sell expiring {rolled}; " + summary
    return base_signal(row, day, ic, p) | {
        "stale": False,
        "stale_reason": None,
        "ic_short_vega_usd": s.vega_ic,
        "ic_live_vega_usd": abs(live["vega_usd"]),
        "ic_value_usd": live["value_usd"],
        "hedge_vega_usd": hedge_vega_after,
        "ratio_current": s.ratio,
        "ratio_target": s.r_star,
        "steward_capped": s.sizing.capped,
        "contracts_target": sum(s.q),
        "contracts_model": s.sizing.n_star,
        "breakeven_low": (ic.short_put - net_credit) if ic.short_put is not None else None,
        "breakeven_high": (ic.short_call + net_credit) if ic.short_call is not None else None,
        "hedge_spend_usd": spend,
        "actions_summary": summary,
    }


def stale_day(
    row: dict[str, Any], day: DayInputs, book: Book, ic: IcBook, settles: list[Order], cause: str, p: HedgeParams
) -> DayResult:
    """A stale session: no trades, but expired contracts were settled (``settles``) and the book
    published holds none of them."""
    layers = []
    for i in LAYERS:
        held = held_in(book, day.layers[i - 1].expiry)
        layers.append(layer_row(day, i - 1, None, held, None, held, "HOLD", f"stale input, no trades: {cause}"))
    settled = f"; settled expired {sorted({o.contract_expiry.isoformat() for o in settles})}" if settles else ""
    signal = base_signal(row, day, ic, p) | {
        "stale": True,
        "stale_reason": cause,
        "ic_short_vega_usd": None,
        "ic_live_vega_usd": None,
        "ic_value_usd": None,
        "hedge_vega_usd": None,
        "ratio_current": None,
        "ratio_target": target_ratio(day.rsi, day.hist, p)[1],
        "steward_capped": False,
        "contracts_target": None,
        "contracts_model": None,
        "breakeven_low": None,
        "breakeven_high": None,
        "hedge_spend_usd": None,
        "actions_summary": f"STALE — no trades: {cause}{settled}",
    }
    rows = [o.as_row(day.session) | {"price_source": None, "bid": None, "ask": None} for o in settles]
    positions = [r | {"price_source": None} for r in position_rows(day.session, book)]  # marks carried
    return DayResult(signal, layers, rows, positions, book, ic, day)
