"""The ladder's daily actions (ALVH_METHOD.md §4–§6, ALVH-2026.3) written out plainly for the
tests, separately from the engine (``alvh.transforms.signal``): no engine, pricing or IC code is
imported — Black-76 and Black-Scholes are written here with ``math``, the VIX-call surface is
``tests/support/surface_by_hand.py``, the calendar is ``exchange_calendars``. What it reads from
the warehouse is data: ``marts.indicators_daily`` (VIX, VVIX, SPX, MACD, A/D RSI, regime, M1–M3
forwards and betas, DTB3) and ``staging.stg_vx_futures`` (the settle of a held contract that is no
longer M1–M3). The numbers of the method are the settings' defaults.

It produces the per-layer answers recorded in ``tests/recorded/layer_actions_<window>.csv``: for
each session from an empty hedge book at the window's first session, each layer's contract,
strike bought at, action and quantities. Regenerate them (with the warehouse the tests build, or
any warehouse loaded from ``../shared/data`` with ``marts.indicators_daily`` built) with::

    .venv/bin/python -m tests.support.ladder_by_hand WAREHOUSE.duckdb

Reading of the method where it leaves a choice (each one stated where it is applied):

- the steward cap (§5) lowers r* "until it fits": the largest ladder (total contracts N) at or
  below r*'s that fits the carry budget, not below the 0.6 floor;
- the IC in force opens at the latest SPX monthly expiry on or before the session, with its
  opening session's close (§9 CNDR), and its credit is the steward's budget base;
- a +1 cross whose gap is below the minimum trade trades nothing, so (§6) REBALANCE decides the
  layer; both end the day at the same quantity.
"""

from __future__ import annotations

import csv
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
import exchange_calendars as xcals

from alvh.core.settings import setting_default
from tests.support.surface_by_hand import surface_sigma

RECORDED = Path(__file__).resolve().parents[1] / "recorded"
# window name → (first session of the replay, last session); the book is empty before the first
WINDOWS: dict[str, tuple[date, date]] = {
    "2018-02": (date(2018, 1, 2), date(2018, 2, 28)),
    "2020-03": (date(2020, 2, 3), date(2020, 3, 31)),
    "2024-08": (date(2024, 7, 1), date(2024, 8, 30)),
}
COLUMNS = (
    "session_date",
    "layer",
    "contract_expiry",
    "strike",
    "action",
    "current_qty",
    "model_target_qty",
    "target_qty",
    "trade_qty",
)

S = setting_default  # every number of the method is a setting; these are its defaults
WEIGHTS: tuple[float, float, float] = tuple(S("layer_weights"))  # type: ignore[assignment]
TARGET_DELTA = S("target_delta")
BAND = S("rebalance_band")
MIN_TRADE, MIN_TRADE_FRACTION = S("min_trade_contracts"), S("min_trade_fraction")
CARRY_BUDGET = S("carry_budget")
RATIO_MIN, RATIO_MAX = S("ratio_min"), S("ratio_max")
HARVEST_MULTIPLE, HARVEST_B_MULTIPLE, HARVEST_B_VIX = S("harvest_multiple"), S("harvest_b_multiple"), S("harvest_b_vix")
ROLL_TDTE = S("roll_tdte")
IC_CONTRACTS, SHORT_DELTA, WING_DELTA = S("ic_contracts"), S("ic_short_delta"), S("ic_wing_delta")
STRIKE_STEP, DIVIDEND, PROGRAM_DTE = S("ic_strike_step"), S("dividend_yield"), S("program_dte")
SMILE_A, SMILE_B_PUT, SMILE_B_CALL, SMILE_FLOOR = S("smile_a"), S("smile_b_put"), S("smile_b_call"), S("smile_floor")
DEFAULT_RATE = S("default_rate")
assert S("hedge_mode") == "steward" and S("vix_vol_model") == "smile" and not S("hold_before_events")
assert (S("ratio_base"), S("ratio_span"), S("rsi_center"), S("rsi_scale"), S("macd_tilt")) == (0.9, 0.3, 50, 20, 0.1)

XNYS = xcals.get_calendar("XNYS", start="2005-01-03", end="2027-12-31")


# --- calendar ------------------------------------------------------------------------------------


@cache
def sessions(a: date, b: date) -> list[date]:
    return [ts.date() for ts in XNYS.sessions_in_range(a.isoformat(), b.isoformat())]


def tdte(d: date, expiry: date) -> int:
    """Sessions in (d, expiry]."""
    return len([s for s in sessions(d, expiry) if s > d])


def spx_expiry(y: int, m: int) -> date:
    """Third Friday; the session before it when it is a holiday (§2)."""
    first = date(y, m, 1)
    friday = first + timedelta(days=(4 - first.weekday()) % 7 + 14)
    while not XNYS.is_session(friday.isoformat()):
        friday -= timedelta(days=1)
    return friday


def ic_opening(d: date) -> date:
    """The model IC in force on ``d`` opened at the latest SPX monthly expiry on or before it."""
    y, m = d.year, d.month
    e = spx_expiry(y, m)
    if d >= e:
        return e
    y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    return spx_expiry(y, m)


def ic_expiry_after(opened: date) -> date:
    y, m = (opened.year + 1, 1) if opened.month == 12 else (opened.year, opened.month + 1)
    return spx_expiry(y, m)


# --- pricing (§4), with math only ----------------------------------------------------------------


def n_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def n_pdf(x: float) -> float:
    return math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def black76(f: float, k: float, t: float, r: float, sigma: float, call: bool) -> dict[str, float]:
    """Price, delta (∂/∂F), vega (per 1.00 of σ) and theta (per calendar day) of an option on a
    future."""
    sd = sigma * math.sqrt(t)
    d1 = (math.log(f / k) + 0.5 * sd * sd) / sd
    d2 = d1 - sd
    disc = math.exp(-r * t)
    if call:
        price, delta = disc * (f * n_cdf(d1) - k * n_cdf(d2)), disc * n_cdf(d1)
    else:
        price, delta = disc * (k * n_cdf(-d2) - f * n_cdf(-d1)), -disc * n_cdf(-d1)
    vega = disc * f * n_pdf(d1) * math.sqrt(t)
    theta = (r * price - disc * f * n_pdf(d1) * sigma / (2.0 * math.sqrt(t))) / 365.0
    return {"price": price, "delta": delta, "vega": vega, "theta": theta}


def vix_call(vvix: float, f: float, k: float, dte: int, r: float) -> dict[str, float]:
    return black76(f, k, dte / 365.0, r, surface_sigma(vvix, f, k, float(dte)), True)


def vix_strikes() -> list[float]:
    """Listed VIX strikes from 5: 0.5 apart below 15, 1 apart to 200, 5 apart to 300."""
    return [x / 2 for x in range(10, 30)] + [float(x) for x in range(15, 201)] + [float(x) for x in range(205, 301, 5)]


def target_strike(vvix: float, f: float, dte: int, r: float) -> float:
    """The strike whose delta is nearest the target (0.30); the lower one on a tie."""
    best, gap = 0.0, math.inf
    for k in vix_strikes():
        g = abs(vix_call(vvix, f, k, dte, r)["delta"] - TARGET_DELTA)
        if g < gap:
            best, gap = k, g
    return best


def spx_option(s: float, k: float, t: float, r: float, vix: float, call: bool) -> dict[str, float]:
    """Black-Scholes (dividend yield q) on the sloped smile σ = max(floor, a·VIX/100 − b·m·√(30/dte))."""
    m = math.log(k / s)
    b = SMILE_B_PUT if m < 0 else SMILE_B_CALL
    sigma = max(SMILE_FLOOR, SMILE_A * vix / 100.0 - b * m * math.sqrt(30.0 / (365.0 * t)))
    growth = math.exp((r - DIVIDEND) * t)
    g = black76(s * growth, k, t, r, sigma, call)
    return g | {"delta": g["delta"] * growth}


def ic_legs(s: float, vix: float, r: float, days: int) -> list[tuple[float, bool, int, dict[str, float]]]:
    """The model IC of ``IC_CONTRACTS`` opened at ``s`` with ``days`` to expiry: short the puts and
    calls whose delta is nearest ∓0.20, long the ∓0.05 wings, on the SPX strike grid (out of the
    money); each leg (strike, is call, signed qty, greeks)."""
    t = days / 365.0
    lo, hi = math.floor(s * 0.5 / STRIKE_STEP), math.ceil(s * 1.5 / STRIKE_STEP)
    grid = [i * STRIKE_STEP for i in range(lo, hi + 1)]
    puts = [k for k in grid if k <= s]
    calls = [k for k in grid if k >= s]
    legs = []
    for strikes, call, target, qty in (
        (puts, False, -SHORT_DELTA, -IC_CONTRACTS),
        (calls, True, SHORT_DELTA, -IC_CONTRACTS),
        (puts, False, -WING_DELTA, IC_CONTRACTS),
        (calls, True, WING_DELTA, IC_CONTRACTS),
    ):
        greeks = [spx_option(s, k, t, r, vix, call) for k in strikes]
        i = min(range(len(strikes)), key=lambda j: (abs(greeks[j]["delta"] - target), j))
        legs.append((strikes[i], call, qty, greeks[i]))
    return legs


def model_ic(s: float, vix: float, r: float, days: int) -> tuple[float, float]:
    """(credit in dollars, vega in dollars per vol point, signed) of the model IC (``ic_legs``)."""
    legs = ic_legs(s, vix, r, days)
    return -sum(qty * g["price"] * 100.0 for _, _, qty, g in legs), sum(qty * g["vega"] for _, _, qty, g in legs)


def model_ic_legs(opening: dict[str, Any], days: int) -> list[tuple[float, bool, int]]:
    """(strike, is call, signed qty) of the model IC opened with ``opening``'s close (a
    ``marts.indicators_daily`` row) and ``days`` to expiry."""
    rate = opening["tbill_3m_pct"] / 100.0 if opening["tbill_3m_pct"] is not None else DEFAULT_RATE
    legs = ic_legs(float(opening["spx_close"]), float(opening["vix_close"]), rate, days)
    return [(k, call, qty) for k, call, qty, _ in legs]


# --- sizing (§5) ---------------------------------------------------------------------------------


def split(total: int) -> list[int]:
    """Largest remainder of ``total`` by the weights (ties: the earlier layer)."""
    if total <= 0:
        return [0, 0, 0]
    raw = [total * w / sum(WEIGHTS) for w in WEIGHTS]
    base = [math.floor(x) for x in raw]
    for i in sorted(range(3), key=lambda i: (-(raw[i] - base[i]), i))[: total - sum(base)]:
        base[i] += 1
    return base


@dataclass
class Layer:
    expiry: date
    forward: float
    dte: int
    beta: float
    strike: float = 0.0
    price: float = 0.0
    delta: float = 0.0
    theta: float = 0.0

    @property
    def h(self) -> float:
        return 100.0 * self.delta * self.beta


def target_quantities(rsi: float, hist: float | None, vega_ic: float, layers: list[Layer], credit: float) -> list[int]:
    r_b = 0.9 + 0.3 * max(-1.0, min(1.0, (50.0 - rsi) / 20.0))
    tilt = 0.0 if not hist else math.copysign(0.1, hist)
    r_star = max(RATIO_MIN, min(RATIO_MAX, r_b + tilt))
    per_unit = sum(w / sum(WEIGHTS) * x.h for w, x in zip(WEIGHTS, layers, strict=True))  # Σ w_i h_i

    def ladder(ratio: float) -> list[int]:
        return split(round(ratio * vega_ic / per_unit)) if per_unit > 0 else [0, 0, 0]

    def carry(q: list[int]) -> float:
        return sum(qi * abs(x.theta) * 30.0 * 100.0 for qi, x in zip(q, layers, strict=True))

    q = ladder(r_star)
    budget = CARRY_BUDGET * credit
    if credit <= 0 or carry(q) <= budget:
        return q
    # steward: the largest ladder at or below r*'s that fits, never below the floor's
    floor_n = round(RATIO_MIN * vega_ic / per_unit)
    for n in range(sum(q), floor_n - 1, -1):
        if carry(split(n)) <= budget:
            return split(n)
    return split(floor_n)


# --- the book and the rules (§6) -----------------------------------------------------------------


@dataclass
class Lot:
    qty: int
    cost: float


@dataclass
class Ladder:
    """The replay's state: the hedge book, (expiry, strike) → lot."""

    book: dict[tuple[date, float], Lot] = field(default_factory=dict)

    def held(self, expiry: date) -> int:
        return sum(lot.qty for (e, _), lot in self.book.items() if e == expiry)

    def buy(self, expiry: date, strike: float, qty: int, price: float) -> None:
        lot = self.book.get((expiry, strike))
        if lot is None:
            self.book[(expiry, strike)] = Lot(qty, price)
        else:
            self.book[(expiry, strike)] = Lot(lot.qty + qty, (lot.cost * lot.qty + price * qty) / (lot.qty + qty))

    def sell(self, expiry: date, qty: int) -> None:
        """Sell ``qty`` of ``expiry``, lowest strikes first."""
        for key in sorted(k for k in self.book if k[0] == expiry):
            n = min(qty, self.book[key].qty)
            self.book[key].qty -= n
            qty -= n
            if self.book[key].qty == 0:
                del self.book[key]
        assert qty == 0, "sold more than held"

    def go_to(self, layer: Layer, target: int) -> None:
        have = self.held(layer.expiry)
        if target > have:
            self.buy(layer.expiry, layer.strike, target - have, layer.price)
        elif target < have:
            self.sell(layer.expiry, have - target)


def min_trade(target: int) -> float:
    return max(float(MIN_TRADE), MIN_TRADE_FRACTION * target)


@dataclass
class Day:
    """One session's inputs, from its ``marts.indicators_daily`` row."""

    session: date
    vix: float
    vvix: float
    spx: float
    hist: float | None
    cross: int
    rsi: float
    regime: str
    rate: float
    layers: list[Layer]


def day_of(row: dict[str, Any]) -> Day:
    for c in ("vix_close", "vvix_close", "spx_close", "m1_forward", "m2_forward", "m3_forward"):
        if row[c] is None:
            raise ValueError(f"{row['session_date']}: {c} is missing (a stale session: not in the recorded windows)")
    rate = row["tbill_3m_pct"] / 100.0 if row["tbill_3m_pct"] is not None else DEFAULT_RATE
    layers = [
        Layer(row[f"m{i}_expiry"], float(row[f"m{i}_forward"]), int(row[f"m{i}_dte"]), float(row[f"beta_{i}"]))
        for i in (1, 2, 3)
    ]
    vvix = float(row["vvix_close"])
    for x in layers:
        x.strike = target_strike(vvix, x.forward, x.dte, rate)
        g = vix_call(vvix, x.forward, x.strike, x.dte, rate)
        x.price, x.delta, x.theta = g["price"], g["delta"], g["theta"]
    return Day(
        session=row["session_date"],
        vix=float(row["vix_close"]),
        vvix=vvix,
        spx=float(row["spx_close"]),
        hist=row["macd_hist"],
        cross=int(row["macd_cross"] or 0),
        rsi=50.0 if row["ad_rsi"] is None else float(row["ad_rsi"]),  # no breadth: RSI 50
        regime=row["regime"],
        rate=rate,
        layers=layers,
    )


def replay(
    rows: dict[date, dict[str, Any]], settles: dict[tuple[date, date], float], first: date, last: date
) -> list[dict[str, Any]]:
    """Each session's three layer rows (``COLUMNS``), from an empty book before ``first``."""
    ladder = Ladder()
    out: list[dict[str, Any]] = []
    for d in sessions(first, last):
        day = day_of(rows[d])
        m = day.layers
        assert all(e > d for e, _ in ladder.book), f"{d}: a held contract reached its expiry (no settlement here)"

        def price_of(expiry: date, strike: float, day: Day = day) -> tuple[float, float]:
            """(price, delta) of a held line on its own contract's forward."""
            layer = next((x for x in day.layers if x.expiry == expiry), None)
            fwd = layer.forward if layer is not None else settles[(day.session, expiry)]
            g = vix_call(day.vvix, fwd, strike, (expiry - day.session).days, day.rate)
            return g["price"], g["delta"]

        opened = ic_opening(d)
        o = rows[opened]
        o_rate = o["tbill_3m_pct"] / 100.0 if o["tbill_3m_pct"] is not None else DEFAULT_RATE
        credit, _ = model_ic(
            float(o["spx_close"]), float(o["vix_close"]), o_rate, (ic_expiry_after(opened) - opened).days
        )
        _, v = model_ic(day.spx, day.vix, day.rate, PROGRAM_DTE)  # the program: a fresh IC at 30 days
        vega_ic = max(-v, 0.0)
        q = target_quantities(day.rsi, day.hist, vega_ic, m, credit)
        before = [ladder.held(x.expiry) for x in m]
        prices = {key: price_of(*key) for key in ladder.book}
        hedge_vega = sum(
            lot.qty * 100.0 * prices[(e, k)][1] * x.beta
            for (e, k), lot in ladder.book.items()
            for x in m
            if x.expiry == e
        )
        ratio = hedge_vega / vega_ic if vega_ic > 0 else None
        r_star = _r_star_after_cap(day, vega_ic, m, credit, q)
        above = ratio is not None and ratio > r_star + BAND
        below = ratio is not None and ratio < r_star - BAND
        actions: list[tuple[str, int]] = []

        rolling = [key for key in ladder.book if tdte(d, key[0]) <= ROLL_TDTE]
        if rolling:
            # 1. ROLL decides all three layers: sell the old layer 1, bring every layer up to target;
            # above target, trim only in calm/fading
            for e in sorted({e for e, _ in rolling}):
                ladder.sell(e, ladder.held(e))
            for j, x in enumerate(m):
                have = ladder.held(x.expiry)
                want = have if have > q[j] and day.regime not in ("calm", "fading") else q[j]
                actions.append(("ROLL", want))
        elif not ladder.book:
            actions = [("OPEN", q[j]) for j in range(3)]
        else:
            rich = any(
                prices[key][0] >= HARVEST_MULTIPLE * lot.cost for key, lot in ladder.book.items() if lot.cost > 0
            )
            l1 = [(lot, prices[key][0]) for key, lot in ladder.book.items() if key[0] == m[0].expiry]
            l1_cost = sum(lot.qty * lot.cost for lot, _ in l1)
            l1_value = sum(lot.qty * p for lot, p in l1)
            for j in range(3):
                have, want = before[j], q[j]
                gap = want - have
                if rich and above and have > want:  # 2a. take profit: trims, in any regime
                    actions.append(("HARVEST", want))
                elif (
                    j == 0
                    and day.cross == -1
                    and day.vix >= HARVEST_B_VIX
                    and l1_cost > 0
                    and l1_value >= HARVEST_B_MULTIPLE * l1_cost
                ):  # 2b. sell layer 1, re-buy its target at the target strike
                    actions.append(("HARVEST-REPLACE", want))
                elif day.cross == 1 and gap >= min_trade(want):  # noqa: SIM114 - 3. ADD on a +1 cross (rule 4 below)
                    actions.append(("ADD", want))
                elif below and gap > 0 and gap >= min_trade(want):  # 4. REBALANCE
                    actions.append(("ADD", want))
                elif above and gap < 0 and -gap >= min_trade(want) and day.regime in ("calm", "fading"):
                    actions.append(("TRIM", want))
                else:
                    actions.append(("HOLD", have))
        current = [ladder.held(x.expiry) for x in m]  # after the roll's sales
        for j, (action, target) in enumerate(actions):
            if action == "HARVEST-REPLACE":
                ladder.sell(m[j].expiry, ladder.held(m[j].expiry))
                action = "HARVEST"
            ladder.go_to(m[j], target)
            out.append(
                {
                    "session_date": d,
                    "layer": j + 1,
                    "contract_expiry": m[j].expiry,
                    "strike": m[j].strike,
                    "action": action,
                    "current_qty": current[j],
                    "model_target_qty": q[j],
                    "target_qty": target,
                    "trade_qty": target - current[j],
                }
            )
    return out


def _r_star_after_cap(day: Day, vega_ic: float, layers: list[Layer], credit: float, q: list[int]) -> float:
    """r* of the ladder ``q`` chosen: the uncapped r*, or, when the cap lowered it, the ratio the
    ladder's size stands for (N / (|V_ic| / Σ w_i h_i)), not below the floor."""
    r_b = 0.9 + 0.3 * max(-1.0, min(1.0, (50.0 - day.rsi) / 20.0))
    tilt = 0.0 if not day.hist else math.copysign(0.1, day.hist)
    r_star = max(RATIO_MIN, min(RATIO_MAX, r_b + tilt))
    per_unit = sum(w / sum(WEIGHTS) * x.h for w, x in zip(WEIGHTS, layers, strict=True))
    if per_unit <= 0 or vega_ic <= 0 or sum(q) >= round(r_star * vega_ic / per_unit):
        return r_star
    return max(RATIO_MIN, sum(q) * per_unit / vega_ic)


# --- reading the warehouse and writing the recorded answers --------------------------------------


def read_inputs(con: duckdb.DuckDBPyConnection, first: date, last: date) -> tuple[dict, dict]:
    lo = first - timedelta(days=45)  # the IC's opening session lies up to a month before
    cur = con.execute("SELECT * FROM marts.indicators_daily WHERE session_date BETWEEN ? AND ?", [lo, last])
    names = [c[0] for c in cur.description]
    rows = {r[0]: dict(zip(names, r, strict=True)) for r in cur.fetchall()}
    settles = {
        (d, e): float(s)
        for d, e, s in con.execute(
            "SELECT trade_date, contract_expiry, settle FROM staging.stg_vx_futures "
            "WHERE trade_date BETWEEN ? AND ? AND settle IS NOT NULL",
            [first, last],
        ).fetchall()
    }
    return rows, settles


def window_rows(con: duckdb.DuckDBPyConnection, window: str) -> list[dict[str, Any]]:
    first, last = WINDOWS[window]
    rows, settles = read_inputs(con, first, last)
    return replay(rows, settles, first, last)


def csv_path(window: str) -> Path:
    return RECORDED / f"layer_actions_{window}.csv"


def write_csv(rows: Sequence[dict[str, Any]], path: Path) -> None:
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({c: (f"{r[c]:g}" if c == "strike" else r[c]) for c in COLUMNS})


def read_csv(path: Path) -> list[dict[str, Any]]:
    out = []
    with path.open(newline="") as fh:
        for r in csv.DictReader(fh):
            out.append(
                {
                    "session_date": date.fromisoformat(r["session_date"]),
                    "layer": int(r["layer"]),
                    "contract_expiry": date.fromisoformat(r["contract_expiry"]),
                    "strike": float(r["strike"]),
                    "action": r["action"],
                    **{c: int(r[c]) for c in ("current_qty", "model_target_qty", "target_qty", "trade_qty")},
                }
            )
    return out


def main(argv: list[str]) -> None:
    if len(argv) != 1:
        raise SystemExit("usage: python -m tests.support.ladder_by_hand WAREHOUSE.duckdb")
    RECORDED.mkdir(exist_ok=True)
    with duckdb.connect(argv[0], read_only=True) as con:
        for window in WINDOWS:
            rows = window_rows(con, window)
            write_csv(rows, csv_path(window))
            print(f"{csv_path(window)}: {len(rows)} rows")


if __name__ == "__main__":
    main(sys.argv[1:])
