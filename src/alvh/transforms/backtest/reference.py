"""A slow, obvious reference for the backtest's daily P&L: a plain Python loop over days and
positions with scalar pricing. The fast accounting in :mod:`alvh.transforms.backtest.readable` must agree with
it to the cent (tests, and the benchmark's baseline)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from typing import Any

from alvh.transforms.backtest.readable import Costs, Market, Trades
from alvh.transforms.ic_book import IcBook
from alvh.transforms.pricing import bs_scalar, smile_scalar
from alvh.transforms.signal import HedgeParams
from alvh.transforms.signal.params import rate_of
from alvh.transforms.vix_surface import call_on_surface


def reference_equity(
    market: Market, sessions: Sequence[date], ics: dict[date, IcBook], trades: Trades, p: HedgeParams, costs: Costs
) -> list[dict[str, Any]]:
    """Equity (gross, net) per session, recomputed day by day."""
    orders_by_day: dict[date, list[dict[str, Any]]] = {}
    for o in trades.orders:
        orders_by_day.setdefault(o["session_date"], []).append(o)
    positions_by_day: dict[date, list[dict[str, Any]]] = {}
    for x in trades.positions:
        positions_by_day.setdefault(x["session_date"], []).append(x)
    cycles = list({x.opened: x for x in ics.values()}.values())
    cash = 0.0
    paid = 0.0
    last_price: dict[tuple[date, float], float] = {}
    opened_seen: set[date] = set()
    out = []
    for d in sessions:
        row = market.by_date[d]
        r = rate_of(row, p.default_rate)
        # IC: settle the cycle expiring today at the open, open today's cycle at the close
        for ic in cycles:
            if ic.expiry == d and ic.opened in opened_seen:
                s_open = market.spx_open.get(d, row["spx_close"])
                for leg in ic.legs:
                    value = max(s_open - leg.strike, 0.0) if leg.is_call else max(leg.strike - s_open, 0.0)
                    cash += leg.qty * value * 100.0
            if ic.opened == d and d not in opened_seen:
                opened_seen.add(d)
                for leg in ic.legs:
                    cash -= leg.qty * leg.entry_price * 100.0
                    paid += abs(leg.qty) * (costs.commission + 100.0 * costs.spx_half_spread)
        ic_mark = 0.0
        for ic in cycles:
            if ic.opened in opened_seen and ic.opened <= d < ic.expiry:
                t = (ic.expiry - d).days / 365.0
                for leg in ic.legs:
                    sig = smile_scalar(
                        row["spx_close"],
                        leg.strike,
                        t,
                        row["vix_close"],
                        p.ic.smile_a,
                        p.ic.smile_b_put,
                        p.ic.smile_b_call,
                        p.ic.smile_floor,
                    )
                    px = bs_scalar(row["spx_close"], leg.strike, t, r, sig, leg.is_call, p.ic.dividend_yield)
                    ic_mark += leg.qty * px * 100.0
        # hedge: today's tickets, then the mark of what is held after them
        for o in orders_by_day.get(d, []):
            sign = 1 if o["side"] == "BUY" else -1
            cash -= sign * o["qty"] * o["model_price"] * 100.0
            if o["contract_expiry"] > d:
                paid += o["qty"] * (costs.commission + 100.0 * _half_spread(costs, o, market))
        hedge_mark = 0.0
        for x in positions_by_day.get(d, []):
            key = (x["contract_expiry"], x["strike"])
            f = market.settle_of(d, x["contract_expiry"])
            dte = (x["contract_expiry"] - d).days
            vvix = row.get("vvix_close")
            if f is None or vvix is None or dte <= 0:
                price = last_price.get(key, 0.0)
            else:
                price = call_on_surface(float(vvix), f, x["strike"], float(dte), r, p.surface)[0]
            last_price[key] = price
            hedge_mark += x["qty"] * price * 100.0
        gross = cash + ic_mark + hedge_mark
        out.append({"session_date": d, "equity_gross": gross, "equity_net": gross - paid})
        assert math.isfinite(gross)
    return out


def _half_spread(costs: Costs, fill: dict[str, Any], market: Market) -> float:
    """The half-spread of a fill, by the spread model's formula written out (VIX points)."""
    if costs.vix_spread_model == "constant" or "decision_date" not in fill:
        return costs.vix_half_spread * (costs.vix_spread_scale if "decision_date" in fill else 1.0)
    vvix = market.by_date[fill["session_date"]].get("vvix_close")
    vvix = vvix if vvix is not None else market.by_date[fill["decision_date"]].get("vvix_close")
    widen = max(1.0, (vvix or 0.0) / costs.vix_spread_vvix_ref) ** costs.vix_spread_vvix_power
    base = max(costs.vix_spread_floor, costs.vix_spread_base + costs.vix_spread_slope * fill["model_price"])
    return base * widen * costs.vix_spread_scale
