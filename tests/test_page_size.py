"""Issue 21: each daily page inlined plotly.js (4.87 MB a page, about 1.2 GB a year). The page now
loads the pages folder's one shared plotly.js, so it holds only its own data: at most 300 KB, here
on a synthetic worst case (a full year of history whose regime changes every session, the whole
payoff grid, every number at full float precision)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import polars as pl

from alvh.core.calendar import sessions_between
from alvh.report.page import PLOTLY_JS, PLOTLY_MISSING, PageData, plotly_js, render_page

DAY = date(2026, 1, 7)
PAGE_LIMIT = 300_000  # bytes


def year_page() -> PageData:
    days = sessions_between(DAY - timedelta(days=365), DAY)
    regimes = ["calm", "elevated", "spike", "fading"]
    expiries = [date(2026, 1, 21), date(2026, 2, 18), date(2026, 3, 18)]
    layers = [
        {
            "layer": i + 1,
            "contract_expiry": e,
            "strike": 19.0 + 5 * i,
            "model_price": 0.5 + i / 3,
            "price_source": "model",
            "current_qty": 150 + i,
            "target_qty": 161,
            "trade_qty": 11 - i,
            "action": "ADD",
            "reason": "hedge ratio 0.55 below r* 0.60 − band: add to the layer " * 3,
            "forward_source": "settle",
        }
        for i, e in enumerate(expiries)
    ]
    orders = [
        {
            "ticket": i + 1,
            "occ_symbol": f"VIX   2601{21 + i}C000{19 + 5 * i}000",
            "side": "BUY",
            "qty": 11 - i,
            "contract_expiry": e,
            "strike": 19.0 + 5 * i,
            "model_price": 0.5 + i / 3,
            "price_source": "model",
            "layer": i + 1,
            "action": "ADD",
        }
        for i, e in enumerate(expiries)
    ]
    grid = pl.DataFrame(
        [
            {"horizon": h, "spx_move_pct": s, "vix_move": v, "net_pnl_usd": (s * 1234.567 + v * 98.7654) / 7}
            for h in ("1d", "7d", "ic_expiry")
            for s in range(-10, 1)
            for v in range(-5, 31, 4)
        ]
    )
    history = pl.DataFrame(
        {
            "session_date": days,
            "ratio_current": [0.5 + i / 7919 for i in range(len(days))],
            "ratio_target": [0.6 + i / 7907 for i in range(len(days))],
            "regime": [regimes[i % 4] for i in range(len(days))],  # a new regime run every session: worst case
        }
    )
    spx = pl.DataFrame({"session_date": days, "spx_close": [5800 + i / 3 for i in range(len(days))]})
    curve = pl.DataFrame(
        {
            "contract_expiry": [date(2026, m, 18) for m in range(1, 10)],
            "forward": [16 + m / 3 for m in range(9)],
            "source": ["settle"] * 9,
        }
    )
    signal = {
        "vix_close": 15.38,
        "regime": "elevated",
        "ratio_current": 0.55,
        "ratio_target": 0.6,
        "ic_short_vega_usd": 7025.0,
        "breakeven_low": 6616.0,
        "breakeven_high": 7039.0,
        "ic_contracts": 10,
        "short_put": 6620.0,
        "short_call": 7035.0,
        "ic_expiry": date(2026, 1, 16),
        "actions_summary": "L1 ADD +11 × 19C; L2 ADD +10 × 24C; L3 ADD +9 × 29C",
        "stale": False,
        "method_version": "ALVH-2026.3",
        "settings_hash": "0" * 16,
        "run_id": "00000000-0000-0000-0000-000000000000",
    }
    return PageData(
        session=DAY,
        signal=signal,
        layers=layers,
        orders=orders,
        positions=[{"contract_expiry": e, "strike": 19.0 + 5 * i, "qty": 150 + i} for i, e in enumerate(expiries)],
        stress=[
            {
                "scenario": f"VIX +{k} / SPX -{k / 3:.1f}%",
                "vix_shock": k,
                "spx_shock_pct": -k / 3,
                "ic_pnl_usd": -k * 5555.5,
                "hedge_pnl_usd": k * 7777.7,
                "net_pnl_usd": k * 2222.2,
            }
            for k in range(1, 9)
        ],
        risk={f"{b}_{g}_usd": 123.456 for b in ("ic", "hedge", "net") for g in ("delta", "gamma", "vega", "theta")},
        grid=grid,
        history=history,
        spx=spx,
        curve=curve,
        freshness={"VIX close": DAY},
    )


def test_a_year_page_is_at_most_300_kb_and_loads_the_shared_plotly_js() -> None:
    text = render_page(year_page())
    size = len(text.encode("utf-8"))
    assert size <= PAGE_LIMIT, f"{size:,} bytes"
    assert text.count("Plotly.newPlot(") == 4  # every plot is on the page ...
    # ... and plotly.js is not: one relative <script src>, then the fallback for a missing file
    assert re.findall(r"<script[^>]*\ssrc=\"([^\"]*)\"", text) == [PLOTLY_JS]
    assert f'<script src="{PLOTLY_JS}" charset="utf-8"></script><script>{PLOTLY_MISSING}</script>' in text
    assert plotly_js()[:2000] not in text
    assert re.fullmatch(r"plotly-\d+\.\d+\.\d+\.min\.js", PLOTLY_JS)  # versioned: old pages keep their own


def test_the_fallback_names_the_missing_file() -> None:
    """A page copied out of its folder draws no plot; each plot box says which file is missing
    (instead of "Plotly is not defined")."""
    assert f"plot not drawn: {PLOTLY_JS} is not beside this page (copy the whole pages folder)" in PLOTLY_MISSING
