"""Real end-of-day quotes in the engine (ALVH-2026.3 §4): after `alvh quotes import` of Cboe's
2016-06-01 sample, that session's three layers are priced on the quotes (strike by the quote's
own delta, mid, its IV's delta), the tickets' limits sit inside the real spread, and the
model-against-market mart compares the surface with the real mids."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from alvh.core.settings import load_settings
from alvh.pipeline.quotes import import_quotes
from alvh.pipeline.signals import run_batch
from alvh.sources.broker import basket_rows
from alvh.transforms.signal import HedgeParams
from alvh.warehouse.connection import open_warehouse

DAY = date(2016, 6, 1)
NEXT = date(2016, 6, 2)  # no quotes imported for it


@pytest.fixture(scope="module")
def quoted(signal_warehouse: Path, data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    import shutil

    db = tmp_path_factory.mktemp("quoted") / "alvh.duckdb"
    shutil.copy(signal_warehouse, db)
    settings = load_settings(source_dir=data_dir, warehouse=db)
    import_quotes(settings, [data_dir / "options" / "OptionEODSummary_Sample_2016-06-01.zip"], as_of=date(2026, 12, 1))
    with open_warehouse(db) as con:
        run_batch(con, [DAY], HedgeParams(), "q", "h", use_gx=False)  # an empty book: the ladder opens
        run_batch(con, [NEXT], HedgeParams(), "q", "h", use_gx=False)
    return db


def _q(db: Path, sql: str) -> pl.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.sql(sql).pl()


def test_all_three_layers_priced_on_the_quotes(quoted: Path) -> None:
    layers = _q(quoted, f"SELECT * FROM marts.layer_adjustment WHERE session_date = DATE '{DAY}' ORDER BY layer")
    quotes = _q(quoted, f"SELECT * FROM staging.option_quote WHERE quote_date = DATE '{DAY}' AND option_type = 'C'")
    print(layers.select("layer", "contract_expiry", "strike", "model_price", "delta", "price_source", "action"))
    assert layers["price_source"].to_list() == ["quote", "quote", "quote"]
    assert layers["method_version"].to_list() == ["ALVH-2026.3"] * 3
    for row in layers.iter_rows(named=True):
        q = quotes.filter((pl.col("expiration") == row["contract_expiry"]) & (pl.col("strike") == row["strike"])).row(
            0, named=True
        )
        assert row["model_price"] == pytest.approx((q["bid_eod"] + q["ask_eod"]) / 2)  # the real mid
        assert abs(row["delta"] - 0.30) < 0.06  # the quoted strike nearest 30Δ by its own delta
    # the next session has no quotes: the surface prices it, and marks the calls bought on quotes
    after = _q(quoted, f"SELECT price_source FROM marts.layer_adjustment WHERE session_date = DATE '{NEXT}'")
    assert after["price_source"].to_list() == ["model"] * 3
    held = _q(quoted, f"SELECT price_source FROM marts.hedge_position WHERE session_date = DATE '{NEXT}'")
    assert held.height == 3 and (held["price_source"] == "model").all()


def test_limits_sit_inside_the_real_spread(quoted: Path) -> None:
    orders = _q(quoted, f"SELECT * FROM marts.hedge_order WHERE session_date = DATE '{DAY}' ORDER BY ticket")
    traded = orders.filter(pl.col("action") != "SETTLE")
    assert traded.height > 0 and (traded["price_source"] == "quote").all()
    header, rows = basket_rows(traded.to_dicts(), 0.05, "csv")
    limit = header.index("limit_price")
    for o, r in zip(traded.iter_rows(named=True), rows, strict=True):
        lmt = float(r[limit])
        assert o["bid"] <= lmt <= o["ask"], (o, lmt)
        assert r[header.index("price_source")] == "quote"


def test_model_against_market_mart(quoted: Path) -> None:
    check = _q(quoted, f"SELECT * FROM marts.quote_check WHERE session_date = DATE '{DAY}' ORDER BY layer")
    print(check.select("layer", "strike", "role", "bid", "ask", "mid", "model_price", "error_pct", "error_vol_pts"))
    assert check["layer"].to_list() == [1, 2, 3]  # each layer's strike, bought today: role "held"
    assert (check["role"] == "held").all() and check["qty_held"].min() > 0
    assert (check["error_pct"].abs() < 15).all()
    assert check["inside_spread"].sum() >= 2


def test_doctor_warns_when_the_surface_misprices_a_held_contract(quoted: Path) -> None:
    from alvh.warehouse.doctor import quote_check

    with duckdb.connect(str(quoted), read_only=True) as con:
        ok = quote_check(con, 15.0)
        tight = quote_check(con, 0.5)  # the 22C is 2.1 % off its mid: above a 0.5 % limit
    assert ok is not None and ok.status == "ok" and "3 held contract(s) quoted" in ok.detail
    assert tight is not None and tight.status == "attention" and "2016-07-20 22C" in tight.detail


def test_quotes_for_a_published_session_say_how_to_reprice_it(fresh_signal_warehouse: Path, data_dir: Path) -> None:
    """Quotes imported after the session was published on the surface: the import names the
    session and the command that re-prices it; the backfill then publishes it on the quotes."""
    settings = load_settings(source_dir=data_dir, warehouse=fresh_signal_warehouse)
    with open_warehouse(fresh_signal_warehouse) as con:
        run_batch(con, [DAY], HedgeParams(), "m", "h", use_gx=False)
    csv = data_dir / "options" / "UnderlyingOptionsEODCalcs_2016-06-01.csv"
    result = import_quotes(settings, [csv], as_of=date(2026, 12, 1))
    assert result.published_dates == [DAY]
    with open_warehouse(fresh_signal_warehouse) as con:
        run_batch(con, [DAY], HedgeParams(), "q", "h", use_gx=False)
    layers = _q(
        fresh_signal_warehouse, f"SELECT price_source FROM marts.layer_adjustment WHERE session_date = DATE '{DAY}'"
    )
    assert layers["price_source"].to_list() == ["quote"] * 3
