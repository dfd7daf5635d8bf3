"""The hedge book: VIX calls held, by (contract expiry, strike), at their average cost.

Quantities are contracts (integers ≥ 0); costs are VIX points per contract unit (× $100).
Every function returns a new book; none mutates its input."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from alvh.transforms.signal.compiled_rules import average_cost


@dataclass(frozen=True)
class Lot:
    qty: int
    cost: float  # average entry price, VIX points


Book = dict[tuple[date, float], Lot]  # (contract expiry, strike) → lot


@dataclass(frozen=True)
class Order:
    """One ticket of a session: BUY/SELL at the close at ``price`` (VIX points), or SETTLE (cash
    settlement of an expired contract at its intrinsic value; not a trading decision)."""

    contract_expiry: date
    strike: float
    side: str  # BUY or SELL
    qty: int
    price: float
    layer: int
    action: str
    reason: str

    def as_row(self, session: date) -> dict[str, Any]:
        return {
            "session_date": session,
            "contract_expiry": self.contract_expiry,
            "strike": self.strike,
            "side": self.side,
            "qty": self.qty,
            "model_price": self.price,
            "layer": self.layer,
            "action": self.action,
            "reason": self.reason,
        }


def normalized(book: Book) -> Book:
    """Only lots with contracts, in a fixed (expiry, strike) order."""
    return {key: lot for key, lot in sorted(book.items()) if lot.qty > 0}


def apply_orders(book: Book, orders: Iterable[Order]) -> Book:
    """The book after ``orders``: buys average into the cost; sells keep it. Selling more than
    is held is a bug in a rule and raises."""
    out = dict(book)
    for o in orders:
        key = (o.contract_expiry, o.strike)
        lot = out.get(key)
        if o.side == "BUY":
            if lot is None:
                out[key] = Lot(o.qty, o.price)
            else:
                out[key] = Lot(lot.qty + o.qty, average_cost(lot.cost, lot.qty, o.price, o.qty))
        else:
            if lot is None or lot.qty < o.qty:
                raise ValueError(f"selling {o.qty} × {key} but the book holds {lot.qty if lot else 0}")
            out[key] = Lot(lot.qty - o.qty, lot.cost)
    return normalized(out)


def held_in(book: Book, expiry: date) -> int:
    """Contracts held in one expiry."""
    return sum(lot.qty for (e, _), lot in book.items() if e == expiry)


def book_from_positions(rows: Sequence[dict[str, Any]]) -> Book:
    """A hedge book from ``marts.hedge_position`` rows of one session."""
    book = {
        (r["contract_expiry"], float(r["strike"])): Lot(int(r["qty"]), float(r.get("avg_cost") or 0.0))
        for r in rows
        if r["qty"] > 0
    }
    return normalized(book)  # a fixed order: sums over the book do not depend on how it was read


def position_rows(session: date, book: Book) -> list[dict[str, Any]]:
    return [
        {"session_date": session, "contract_expiry": e, "strike": k, "qty": lot.qty, "avg_cost": lot.cost}
        for (e, k), lot in sorted(book.items())
    ]
