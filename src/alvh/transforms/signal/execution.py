"""From decisions to tickets, and the settlement of expired contracts (ALVH_METHOD.md §6).

Buys go in at today's target strike and model price; sales take the lowest strikes (the most
valuable) first, at their model prices. Prices in VIX points; quantities in contracts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from alvh.transforms.signal import compiled_rules as cr
from alvh.transforms.signal.book import Book, Order
from alvh.transforms.signal.inputs import Quotes
from alvh.transforms.signal.params import fmt_strike
from alvh.transforms.signal.rules import Decision
from alvh.transforms.signal.sizing import LayerModel

PriceOf = Callable[[date, float], float]  # (expiry, strike) → model price of a held or listed call


def layer_orders(
    j: int, decision: Decision, book: Book, expiry: date, model: LayerModel, price_of: PriceOf
) -> list[Order]:
    """Tickets that take layer ``j`` (contract ``expiry``) from its holdings in ``book`` to
    ``decision.target`` contracts."""
    lines = sorted((k, lot.qty) for (e, k), lot in book.items() if e == expiry and lot.qty > 0)
    have = sum(q for _, q in lines)
    layer, act, why = j + 1, decision.action, decision.reason
    orders = []
    if decision.replace:
        orders += [Order(expiry, k, "SELL", q, price_of(expiry, k), layer, act, why) for k, q in lines]
        lines = []
    buy, left = cr.layer_trade(have, decision.target, decision.replace)
    if buy > 0:
        orders.append(Order(expiry, model.strike, "BUY", int(buy), model.price, layer, act, why))
    for k, q in lines:
        if left <= 0:
            break
        n = min(left, q)
        orders.append(Order(expiry, k, "SELL", n, price_of(expiry, k), layer, act, why))
        left -= n
    return orders


def settle_expired(book: Book, session: date, quotes: Quotes) -> tuple[list[Order], list[str]]:
    """SETTLE tickets for every line whose contract expired on or before ``session``: cash at the
    intrinsic value of its final settlement (settlement is not a decision, so it happens on stale
    days too). Returns the tickets and the expiries with no final settlement at all."""
    orders: list[Order] = []
    unknown: list[str] = []
    for (exp, k), lot in sorted(book.items()):
        if exp > session or lot.qty <= 0:
            continue
        final = quotes.final_settlement(exp)
        if final is None:
            unknown.append(str(exp))
            continue
        value, source = final
        orders.append(
            Order(
                exp,
                k,
                "SELL",
                lot.qty,
                max(value - k, 0.0),
                1,
                "SETTLE",
                f"expired on {exp}: cash-settled at the {source} {value:g} ({lot.qty} × {fmt_strike(k)})",
            )
        )
    return orders, unknown
