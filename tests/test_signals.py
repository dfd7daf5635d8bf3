"""The signal engine over real history: backfill invariants checked by an independent slow
recomputation, the roll timing, the documented outcomes of bad inputs, and write–audit–publish."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from pathlib import Path

import duckdb
import exchange_calendars as xcals
import polars as pl
import pytest

from alvh.core.calendar import sessions_between
from alvh.core.errors import ValidationFailed
from alvh.pipeline.signals import compute_batch, run_batch
from alvh.schemas.registry import SIGNAL_TABLES
from alvh.transforms.signal import HedgeParams
from alvh.warehouse.connection import open_warehouse
from alvh.warehouse.signals import audit_and_publish

START, END = date(2018, 1, 2), date(2018, 3, 29)


@pytest.fixture(scope="module")
def backfill(signal_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, pl.DataFrame]:
    import shutil

    db = tmp_path_factory.mktemp("bf") / "alvh.duckdb"
    shutil.copy(signal_warehouse, db)
    with open_warehouse(db) as con:
        run_batch(con, sessions_between(START, END), HedgeParams(), "bf", "h", use_gx=False)
        return {
            t: con.sql(f"SELECT * FROM marts.{t}").pl()
            for t in ("hedge_signal_daily", "layer_adjustment", "hedge_order", "hedge_position", "stress_scenario")
        }


def nyse_sessions(a: date, b: date) -> list[date]:
    cal = xcals.get_calendar("XNYS", start="2017-01-03", end="2019-12-31")
    return [ts.date() for ts in cal.sessions_in_range(a.isoformat(), b.isoformat())]


def test_one_signal_and_three_layers_per_session(backfill: dict[str, pl.DataFrame]) -> None:
    days = nyse_sessions(START, END)
    sig, lay = backfill["hedge_signal_daily"], backfill["layer_adjustment"]
    assert sorted(sig["session_date"].to_list()) == days
    assert (lay.group_by("session_date").len()["len"] == 3).all() and lay.height == 3 * len(days)
    assert not sig["stale"].any()


def test_quantities_and_identities(backfill: dict[str, pl.DataFrame]) -> None:
    lay = backfill["layer_adjustment"]
    for c in ("current_qty", "model_target_qty", "target_qty"):
        assert lay[c].dtype == pl.Int64 and (lay[c] >= 0).all()
    assert (lay["trade_qty"] == lay["target_qty"] - lay["current_qty"]).all()
    sig = backfill["hedge_signal_daily"]
    assert ((sig["ratio_target"] >= 0.6) & (sig["ratio_target"] <= 1.2)).all()
    # expiries strictly increase with layer
    wide = lay.pivot(on="layer", index="session_date", values="contract_expiry")
    assert ((wide["1"] < wide["2"]) & (wide["2"] < wide["3"])).all()


def test_positions_carry_checked_by_slow_recomputation(backfill: dict[str, pl.DataFrame]) -> None:
    """Replay every ticket from an empty book in plain Python and compare with the published
    positions after every session; per layer, trade = Σ BUY − Σ SELL in its expiry."""
    held: dict[tuple[date, float], int] = defaultdict(int)
    orders = backfill["hedge_order"].sort("session_date", "ticket").to_dicts()
    positions = backfill["hedge_position"]
    layers = backfill["layer_adjustment"]
    for d in nyse_sessions(START, END):
        per_layer: dict[tuple[int, date], int] = defaultdict(int)
        for o in (o for o in orders if o["session_date"] == d):
            signed = o["qty"] if o["side"] == "BUY" else -o["qty"]
            held[(o["contract_expiry"], o["strike"])] += signed
            per_layer[(o["layer"], o["contract_expiry"])] += signed
            assert held[(o["contract_expiry"], o["strike"])] >= 0, f"sold more than held on {d}"
        published = {
            (r["contract_expiry"], r["strike"]): r["qty"]
            for r in positions.filter(pl.col("session_date") == d).to_dicts()
        }
        expected = {k: v for k, v in held.items() if v != 0}
        assert published == expected, d
        for r in layers.filter(pl.col("session_date") == d).to_dicts():
            assert r["trade_qty"] == per_layer.get((r["layer"], r["contract_expiry"]), 0), (d, r["layer"])


def test_2018_02_05_takes_profit_in_every_layer(backfill: dict[str, pl.DataFrame]) -> None:
    """Volmageddon's close (VIX 37.32), from an empty book on 2018-01-02: the Feb 16C bought at
    the open of the ladder is worth more than 3× its cost and R is above r* + 0.15, so HARVEST (a)
    trims every layer to its target at once, in a spike (§6 rule 2a), selling each layer's lowest
    strikes first. The quantities are the separate implementation's (tests/support/ladder_by_hand.py,
    tests/recorded/layer_actions_2018-02.csv): the ladder opened 63/62/31 on 01-02 (Jan 12.5C, Feb
    16C, Mar 19C); the 01-09 roll sold the Jan contract, trimmed Feb to 61 (calm), bought 29 Mar 18C
    and 30 Apr 20C; then it held to 02-05."""
    day = date(2018, 2, 5)
    layers = backfill["layer_adjustment"].filter(pl.col("session_date") == day).sort("layer")
    got = layers.select("layer", "contract_expiry", "action", "current_qty", "target_qty", "trade_qty").rows()
    assert got == [
        (1, date(2018, 2, 14), "HARVEST", 61, 37, -24),
        (2, date(2018, 3, 21), "HARVEST", 60, 36, -24),
        (3, date(2018, 4, 18), "HARVEST", 30, 18, -12),
    ]
    assert all(r.startswith("take profit: ") for r in layers["reason"])
    orders = backfill["hedge_order"].filter(pl.col("session_date") == day).sort("layer")
    assert orders.select("layer", "contract_expiry", "strike", "side", "qty", "action").rows() == [
        (1, date(2018, 2, 14), 16.0, "SELL", 24, "HARVEST"),
        (2, date(2018, 3, 21), 18.0, "SELL", 24, "HARVEST"),  # the 18C (29 held) before the 19C (31)
        (3, date(2018, 4, 18), 20.0, "SELL", 12, "HARVEST"),
    ]
    sig = backfill["hedge_signal_daily"].filter(pl.col("session_date") == day).row(0, named=True)
    assert sig["regime"] == "spike" and sig["ratio_current"] > sig["ratio_target"] + 0.15


def test_roll_on_the_session_layer_one_reaches_roll_tdte(backfill: dict[str, pl.DataFrame]) -> None:
    """For every monthly expiry in the window, ROLL happens on the first session with ≤ 5
    sessions left until it (counted with exchange_calendars directly)."""
    lay = backfill["layer_adjustment"]
    days = nyse_sessions(START, END)
    expiries = [date(2018, 1, 17), date(2018, 2, 14), date(2018, 3, 21)]
    for e in expiries:
        left = {d: len([s for s in nyse_sessions(d, e) if s > d]) for d in days if d <= e}
        roll_day = min(d for d, n in left.items() if n <= 5)
        l1 = lay.filter((pl.col("session_date") == roll_day) & (pl.col("layer") == 1)).to_dicts()[0]
        assert l1["action"] == "ROLL", (e, roll_day, l1)
        assert str(e) in l1["reason"]
        before = [d for d in days if d < roll_day][-1]
        prev = lay.filter((pl.col("session_date") == before) & (pl.col("layer") == 1)).to_dicts()[0]
        assert prev["contract_expiry"] == e and prev["action"] != "ROLL"
        sold = backfill["hedge_order"].filter(
            (pl.col("session_date") == roll_day) & (pl.col("contract_expiry") == e) & (pl.col("side") == "SELL")
        )
        assert sold.height >= 1  # the expiring contract is sold


def test_stress_rows(backfill: dict[str, pl.DataFrame]) -> None:
    st = backfill["stress_scenario"].filter(pl.col("session_date") == date(2018, 3, 29))
    names = set(st["scenario"])
    assert names == {"VIX +5 / SPX -1.5%", "VIX +10 / SPX -3%", "VIX +20 / SPX -6%", "VIX +40 / SPX -12%", "2018-02-05"}
    # shocks from the session's future (2020, 2024, 2025) are not applied: no look-ahead
    big = st.filter(pl.col("scenario") == "VIX +40 / SPX -12%").to_dicts()[0]
    assert big["ic_pnl_usd"] < 0 < big["hedge_pnl_usd"]


def signal_for(db: Path, d: date) -> tuple[dict, list[dict], int]:
    with open_warehouse(db) as con:
        batch, _ = run_batch(con, [d], HedgeParams(), "t", "h", use_gx=False)
    sig = batch.frames["marts.hedge_signal_daily"].to_dicts()[0]
    return sig, batch.frames["marts.layer_adjustment"].to_dicts(), batch.frames["marts.hedge_order"].height


def test_missing_futures_contract_is_interpolated_not_stale(fresh_signal_warehouse: Path) -> None:
    """ALVH-2026.2 §3: Mar-2022 (expiry 2022-03-15) is absent from the data; its forward is
    interpolated between bracketing contracts, flagged, and named in the layer's reason."""
    sig, layers, _ = signal_for(fresh_signal_warehouse, date(2022, 2, 22))
    assert not sig["stale"] and sig["method_version"] == "ALVH-2026.3"
    l1 = layers[0]
    assert l1["contract_expiry"] == date(2022, 3, 15) and l1["forward_source"] == "interpolated"
    assert l1["future_settle"] > 0 and "interpolated between the" in l1["reason"]
    assert all(r["forward_source"] == "settle" for r in layers[1:])


def test_stale_source_after_the_data_ends(fresh_signal_warehouse: Path) -> None:
    with duckdb.connect(str(fresh_signal_warehouse), read_only=True) as con:
        last = con.sql("SELECT max(session_date) FROM marts.indicators_daily").fetchall()[0][0]
    d = next(s for s in sessions_between(last, date(last.year, 12, 31)) if s > last)
    sig, _layers, n_orders = signal_for(fresh_signal_warehouse, d)
    assert sig["stale"] and "VIX has no close" in sig["stale_reason"] and n_orders == 0


def test_missing_breadth_uses_neutral_rsi_and_says_so(signal_warehouse: Path) -> None:
    """2024-01-11 (a TradingView glitch day: no breadth), the session after the ladder opened 78/78/39:
    RSI 50, r_b = 0.9, and every layer's reason says so — the HOLD rows too. Actions and
    quantities are the separate implementation's (tests/support/ladder_by_hand.py) over the same
    sessions. (From 2024-01-02 the two part on the 01-09 roll: see test_recorded_answers.py's
    steward-cap test.)"""
    from tests.support import ladder_by_hand as by_hand

    first, day = date(2024, 1, 10), date(2024, 1, 11)
    with duckdb.connect(str(signal_warehouse), read_only=True) as con:
        batch = compute_batch(con, sessions_between(first, day), HedgeParams(), "t", "h")
        rows, settles = by_hand.read_inputs(con, first, day)
    sig = batch.frames["marts.hedge_signal_daily"].filter(pl.col("session_date") == day).row(0, named=True)
    assert sig["breadth_missing"] and sig["ad_rsi"] is None and not sig["stale"]
    assert sig["ratio_breadth"] == pytest.approx(0.9)  # RSI 50 → r_b = 0.9
    layers = batch.frames["marts.layer_adjustment"].filter(pl.col("session_date") == day).sort("layer").to_dicts()
    expected = [r for r in by_hand.replay(rows, settles, first, day) if r["session_date"] == day]
    assert [(r["action"], r["current_qty"], r["target_qty"]) for r in layers] == [
        (r["action"], r["current_qty"], r["target_qty"]) for r in expected
    ]
    got = [(r["action"], r["current_qty"], r["model_target_qty"], r["target_qty"]) for r in layers]
    assert got == [("HOLD", 78, 79, 78), ("HOLD", 78, 79, 78), ("HOLD", 39, 40, 39)]  # a HOLD must say it too
    assert all("(breadth missing: RSI taken as 50)" in r["reason"] for r in layers)


def tamper_cases() -> list[tuple[str, str, object]]:
    return [
        (
            "check_trade_equals_target_minus_current",
            "marts.layer_adjustment",
            lambda f: f.with_columns((pl.col("trade_qty") + 1).alias("trade_qty")),
        ),
        (
            "check_ratio_target_in_bounds",
            "marts.hedge_signal_daily",
            lambda f: f.with_columns(pl.lit(1.5).alias("ratio_target")),
        ),
        ("check_three_layers_per_day", "marts.layer_adjustment", lambda f: f.filter(pl.col("layer") != 3)),
        ("check_position_carry", "marts.hedge_position", lambda f: f.with_columns((pl.col("qty") + 3).alias("qty"))),
        (
            "check_expiries_increase_with_layer",
            "marts.layer_adjustment",
            lambda f: f.with_columns(pl.col("contract_expiry").reverse().alias("contract_expiry")),
        ),
        (
            "greater_than_or_equal_to(0)",
            "marts.layer_adjustment",
            lambda f: f.with_columns(pl.lit(-2).cast(pl.Int64).alias("target_qty")),
        ),
        (
            "check_stale_rows_name_their_cause",
            "marts.hedge_signal_daily",
            lambda f: f.with_columns(pl.lit(True).alias("stale")),
        ),
    ]


@pytest.mark.parametrize(("rule", "table", "tamper"), tamper_cases(), ids=[c[0] for c in tamper_cases()])
def test_each_rule_blocks_publication(fresh_signal_warehouse: Path, rule: str, table: str, tamper) -> None:  # type: ignore[no-untyped-def]
    with open_warehouse(fresh_signal_warehouse) as con:
        run_batch(con, [date(2018, 2, 1)], HedgeParams(), "day1", "h", use_gx=False)
        before = {
            t: con.sql(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
            for t in ("marts.hedge_signal_daily", "marts.layer_adjustment", "marts.hedge_position")
        }
        batch = compute_batch(con, [date(2018, 2, 2)], HedgeParams(), "day2", "h")
        batch.frames[table] = tamper(batch.frames[table])  # type: ignore[operator]
        with pytest.raises(ValidationFailed) as err:
            audit_and_publish(con, batch, "day2", use_gx=False)
        assert rule in str(err.value) and "2018-02-02" in str(err.value)
        after = {t: con.sql(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in before}
        assert after == before  # yesterday intact, nothing of today published
        recorded = con.sql("SELECT rule FROM meta.validation_run WHERE run_id = 'day2' AND NOT success").fetchall()
        assert any(rule in r[0] for r in recorded)


def test_gx_suite_runs_and_is_kept(fresh_signal_warehouse: Path, tmp_path: Path) -> None:
    with open_warehouse(fresh_signal_warehouse) as con:
        run_batch(
            con,
            sessions_between(date(2018, 2, 1), date(2018, 2, 6)),
            HedgeParams(),
            "gx",
            "h",
            docs_dir=tmp_path / "docs",
        )
        rows = con.sql("SELECT table_name, success FROM meta.validation_run WHERE engine = 'gx'").fetchall()
    # one suite per published signal mart, and a row per cross-table rule (tests/test_gx_contracts.py)
    assert sorted(t for t, _ in rows if t != "marts.*") == sorted(SIGNAL_TABLES)
    assert all(ok for _, ok in rows)
    assert (tmp_path / "docs" / "index.html").exists()


def test_imported_holdings_are_the_next_starting_book(fresh_signal_warehouse: Path, tmp_path: Path) -> None:
    from alvh.core.settings import load_settings
    from alvh.pipeline.positions import import_positions

    with open_warehouse(fresh_signal_warehouse) as con:
        run_batch(con, [date(2018, 3, 1)], HedgeParams(), "d1", "h", use_gx=False)
        paper = con.sql("SELECT contract_expiry, strike, qty FROM marts.hedge_position").pl()
    first = paper.row(0, named=True)
    f = tmp_path / "fills.csv"
    f.write_text(
        f"contract_expiry,strike,qty,avg_cost\n{first['contract_expiry']},{first['strike']},{first['qty'] + 7},1.25\n"
    )
    import_positions(load_settings(warehouse=fresh_signal_warehouse), f, date(2018, 3, 2))
    with open_warehouse(fresh_signal_warehouse) as con:
        batch, _ = run_batch(con, [date(2018, 3, 2)], HedgeParams(), "d2", "h", use_gx=False)
        sig = batch.frames["marts.hedge_signal_daily"].to_dicts()[0]
        assert "differ from the paper book" in sig["positions_note"]
        assert f"{first['qty'] + 7} (paper {first['qty']})" in sig["positions_note"]
        # the carry invariant holds from the imported book, and later sessions use the new paper book
        layer = (
            batch.frames["marts.layer_adjustment"]
            .filter(pl.col("contract_expiry") == first["contract_expiry"])
            .to_dicts()[0]
        )
        assert layer["current_qty"] == first["qty"] + 7
        batch3, _ = run_batch(con, [date(2018, 3, 5)], HedgeParams(), "d3", "h", use_gx=False)
        assert batch3.frames["marts.hedge_signal_daily"]["positions_note"].to_list() == [None]


def test_ratio_bounds_come_from_the_settings(fresh_signal_warehouse: Path) -> None:
    """`ALVH_RATIO_MAX=1.5` publishes: pandera, the invariants and the GX suite read the bounds in
    force (§8), never 0.6–1.2 hard-coded; a bound that is exceeded is still caught."""
    from dataclasses import replace

    wide = replace(HedgeParams(), mode="fixed", fixed_ratio=1.4, ratio_max=1.5)
    days = sessions_between(date(2020, 3, 2), date(2020, 3, 6))
    with open_warehouse(fresh_signal_warehouse) as con:
        batch, published = run_batch(con, days, wide, "wide", "h", use_gx=True)
        assert published
        sig = con.sql("SELECT ratio_target, method_version FROM marts.hedge_signal_daily").pl()
    assert (sig["ratio_target"] == 1.4).all() and (sig["method_version"] == "ALVH-2026.3").all()
    gx = [v for v in batch.validation if v["engine"] == "gx"]
    assert gx and all(v["success"] for v in gx)
    with open_warehouse(fresh_signal_warehouse) as con:
        narrow = replace(wide, ratio_max=1.3)  # r* = 1.4 breaks ratio_max = 1.3
        with pytest.raises(ValidationFailed, match="check_ratio_target_in_bounds"):
            run_batch(con, days, narrow, "narrow", "h", use_gx=False)


def test_crash_roll_2020_03_11_sells_only_the_expiring_layer(fresh_signal_warehouse: Path) -> None:
    """ALVH-2026.2: `alvh backfill --start 2020-02-14 --end 2020-03-20` — on 2020-03-11 (VIX 53.9,
    spike) the roll sells the expiring 2020-03-18 calls and nothing else; no layer is lowered."""
    days = sessions_between(date(2020, 2, 14), date(2020, 3, 20))
    with open_warehouse(fresh_signal_warehouse) as con:
        batch, _ = run_batch(con, days, HedgeParams(), "crash", "h", use_gx=False)
    orders = batch.frames["marts.hedge_order"].filter(pl.col("session_date") == date(2020, 3, 11))
    sells = orders.filter(pl.col("side") == "SELL")
    assert sells.height >= 1 and (sells["contract_expiry"] == date(2020, 3, 18)).all()
    assert (sells["action"] == "ROLL").all()
    lay = batch.frames["marts.layer_adjustment"].filter(pl.col("session_date") == date(2020, 3, 11))
    assert (lay["action"] == "ROLL").all() and (lay["trade_qty"] >= 0).all()
    sig = (
        batch.frames["marts.hedge_signal_daily"].filter(pl.col("session_date") == date(2020, 3, 11)).row(0, named=True)
    )
    assert sig["regime"] == "spike" and sig["ic_short_vega_usd"] > 0


def test_backfill_2024_12_to_2025_03_holds_no_expired_contract_and_is_never_stale(fresh_signal_warehouse: Path) -> None:
    """ALVH-2026.2: `alvh backfill --start 2024-12-02 --end 2025-03-12` — the Mar-2025 contract is
    missing from the data; its forward is interpolated, so no session is stale and every expiry is
    rolled or settled (no "SELL … @ 0.00 ROLL" of a long-expired contract)."""
    days = sessions_between(date(2024, 12, 2), date(2025, 3, 12))
    with open_warehouse(fresh_signal_warehouse) as con:
        batch, _ = run_batch(con, days, HedgeParams(), "gap", "h", use_gx=False)
    f = batch.frames
    assert not f["marts.hedge_signal_daily"]["stale"].any()
    pos = f["marts.hedge_position"]
    assert (pos["contract_expiry"] > pos["session_date"]).all()
    rolls = f["marts.hedge_order"].filter((pl.col("side") == "SELL") & (pl.col("action") == "ROLL"))
    # every roll sale is of a contract with at least one session left, at a positive model price
    assert (rolls["contract_expiry"] > rolls["session_date"]).all()
    mar = f["marts.layer_adjustment"].filter(pl.col("contract_expiry") == date(2025, 3, 18))
    assert mar.height and (mar["forward_source"] == "interpolated").any()
