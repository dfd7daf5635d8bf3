"""One session of the engine: settle, price, size, decide, execute, publish (ALVH_METHOD.md §4–§8).

``step`` composes the small rules of :mod:`alvh.transforms.signal.rules`; it mutates nothing it is
given and returns the day's publishable rows with the book held after them."""

from __future__ import annotations

from datetime import date
from typing import Any

from alvh.core.calendar import trading_days_between
from alvh.transforms.ic_book import IcBook
from alvh.transforms.signal import compiled_rules as cr
from alvh.transforms.signal.book import Book, Order, apply_orders, held_in, position_rows
from alvh.transforms.signal.execution import layer_orders, settle_expired
from alvh.transforms.signal.inputs import DayInputs, Quotes, chain_at, day_inputs, stale_reason
from alvh.transforms.signal.option_quotes import MODEL, QUOTE, Chain
from alvh.transforms.signal.params import HedgeParams, fmt_strike
from alvh.transforms.signal.publish import DayResult, layer_rows, signal_row, stale_day
from alvh.transforms.signal.rules import Situation, decide
from alvh.transforms.signal.sizing import layer_models, steward_sizing, target_ratio
from alvh.transforms.signal.vega import program_vega
from alvh.transforms.vix_surface import call_on_surface

HeldPrices = dict[tuple[date, float], tuple[float, float]]  # (expiry, strike) → (price, delta)
Chains = dict[date, Chain]  # contract expiry → imported quotes by strike


def session_chains(day: DayInputs, book: Book, quotes: Quotes) -> Chains:
    """The imported quotes of M1–M3 and of every other held contract that has a forward today."""
    out: Chains = {x.expiry: x.chain for x in day.layers}
    for exp in sorted({e for e, _ in book} - set(out)):
        fwd = quotes.forward(day.session, exp)
        out[exp] = chain_at(quotes, day.session, exp, fwd, (exp - day.session).days, day.rate)
    return out


def price_book(
    book: Book, day: DayInputs, quotes: Quotes, p: HedgeParams, chains: Chains
) -> tuple[HeldPrices, str | None]:
    """(price, delta) of every held line: its imported quote's mid and delta, else Black-76 on the
    surface (§4) on its own contract's forward (settle or interpolated); or the reason one cannot
    be priced."""
    out: HeldPrices = {}
    assert day.vvix is not None
    for (exp, k), _lot in book.items():
        q = chains.get(exp, {}).get(k)
        if q is not None:
            out[(exp, k)] = (q.mid, q.delta)
            continue
        j = day.layer_of(exp)
        fwd = day.layers[j].forward if j is not None else getattr(quotes.forward(day.session, exp), "value", None)
        if fwd is None:
            return out, f"no VX settle and no bracketing contracts for the held contract {exp}; cannot price it"
        dte = (exp - day.session).days
        price, delta, _ = call_on_surface(day.vvix, float(fwd), k, float(dte), day.rate, p.surface)
        out[(exp, k)] = (price, delta)
    return out, None


def with_price_source(rows: list[dict[str, Any]], chains: Chains) -> list[dict[str, Any]]:
    """Order or position rows with ``price_source`` (``quote`` where the contract has an imported
    two-sided quote, else ``model``) and, on quoted orders, the quote's ``bid`` and ``ask``."""
    out = []
    for r in rows:
        q = chains.get(r["contract_expiry"], {}).get(float(r["strike"]))
        if r.get("action") == "SETTLE":
            out.append(r | {"price_source": None, "bid": None, "ask": None})
        elif q is None:
            out.append(r | {"price_source": MODEL, "bid": None, "ask": None})
        else:
            out.append(r | {"price_source": QUOTE, "bid": q.bid, "ask": q.ask})
    return out


def situation(
    day: DayInputs, book: Book, ic: IcBook, px: HeldPrices, p: HedgeParams
) -> tuple[Situation, dict[str, float]]:
    """Today's sizing and holdings as the rules see them, plus the live IC mark."""
    models = layer_models(day, p)
    vega_ic, live = program_vega(ic, day, p)
    _, r0 = target_ratio(day.rsi, day.hist, p)
    sizing = steward_sizing(r0, vega_ic, models, ic.credit_usd, p)
    current = [held_in(book, e) for e in day.expiries]
    hedge_vega = sum(
        lot.qty * 100.0 * px[(e, k)][1] * models[j].beta
        for (e, k), lot in book.items()
        if (j := day.layer_of(e)) is not None
    )
    l1 = [(lot, px[key][0]) for key, lot in book.items() if key[0] == day.expiries[0]]
    kp = cr.settings_record(p)
    rich = [(key, px[key][0] / lot.cost) for key, lot in book.items() if cr.is_rich(px[key][0], lot.cost, kp)]
    s = Situation(
        day=day,
        p=p,
        models=models,
        sizing=sizing,
        current=current,
        ratio=hedge_vega / vega_ic if vega_ic > 0 else None,
        vega_ic=vega_ic,
        rich=rich,
        l1_value=sum(lot.qty * price for lot, price in l1),
        l1_cost=sum(lot.qty * lot.cost for lot, _ in l1),
        notes=sizing.note,
    )
    return s, live


def step(
    row: dict[str, Any], book: Book, ic: IcBook, quotes: Quotes, p: HedgeParams, hedge_spend: float
) -> tuple[DayResult, float]:
    """Signal one session. ``row`` is a ``marts.indicators_daily`` row, ``book`` the hedge held
    after the previous session, ``hedge_spend`` the net premium paid for the hedge in the current
    IC cycle (dollars). Returns the day's rows and the updated hedge spend."""
    day = day_inputs(row, quotes, p)
    settles, unknown = settle_expired(book, day.session, quotes)  # even on stale days
    book = apply_orders(book, settles)
    missing = stale_reason(day)
    chains = {} if missing else session_chains(day, book, quotes)
    px, unpriced = ({}, None) if missing else price_book(book, day, quotes, p, chains)
    cause = "; ".join(c for c in (missing, unpriced) if c)
    if unknown:
        cause = "; ".join(
            c for c in (cause, f"no final settlement for the expired contract(s) {', '.join(unknown)}") if c
        )
    spend = hedge_spend + _cash(settles)
    if cause:
        return stale_day(row, day, book, ic, settles, cause, p), spend

    s, live = situation(day, book, ic, px, p)
    m1 = day.expiries[0]
    expiring = sorted(key for key in book if key[0] < m1)  # the old layer 1 reached its roll point
    rolled = min({e for e, _ in expiring} | {o.contract_expiry for o in settles}, default=None)
    roll_left = max(trading_days_between(day.session, rolled), 0) if rolled is not None else 0
    roll_sales = [
        Order(e, k, "SELL", book[(e, k)].qty, px[(e, k)][0], 1, "ROLL", _roll_why(e, k, book, roll_left, p))
        for e, k in expiring
    ]
    after_roll = apply_orders(book, roll_sales)
    decisions = decide(s, rolled, roll_left, book_empty=not book)

    def price_of(e: date, k: float) -> float:
        return px[(e, k)][0]

    orders = settles + roll_sales
    for j, dec in enumerate(decisions):
        orders += layer_orders(j, dec, after_roll, day.expiries[j], s.models[j], price_of)
    new_book = apply_orders(book, orders[len(settles) :])
    spend += _cash(orders[len(settles) :])
    layers = layer_rows(day, s, decisions, orders, beyond=sorted({e for e, _ in new_book if e > day.expiries[2]}))
    signal = signal_row(row, day, s, ic, live, layers, new_book, px, spend, rolled, p)
    rows = with_price_source([event_noted(o.as_row(day.session), day) for o in orders], chains)
    marks = with_price_source(position_rows(day.session, new_book), chains)
    positions = [{c: v for c, v in r.items() if c not in ("bid", "ask")} for r in marks]
    return DayResult(signal, layers, rows, positions, new_book, ic, day), spend


def event_noted(row: dict[str, Any], day: DayInputs) -> dict[str, Any]:
    """An order row whose reason says it is traded the session before a scheduled FOMC/CPI/PPI
    release (a settlement is not a trade: left as it is). Information only."""
    if row["action"] == "SETTLE" or day.next_event is None:
        return row
    return row | {"reason": row["reason"] + day.next_event.trade_note()}


def _roll_why(e: date, k: float, book: Book, left: int, p: HedgeParams) -> str:
    return f"roll: {e} has {left} trading days left (≤ {p.roll_tdte}); sold {book[(e, k)].qty} × {fmt_strike(k)}"


def _cash(orders: list[Order]) -> float:
    """Net premium paid for ``orders``, dollars (sales and settlements negative)."""
    return sum((o.qty if o.side == "BUY" else -o.qty) * o.price * 100.0 for o in orders)
