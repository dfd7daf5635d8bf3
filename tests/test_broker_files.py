"""Broker files in and out: OCC symbols, an IBKR Flex Query positions file, and the night's tickets
as a basket — round-tripped through import → signal → order export on real history."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import duckdb
import pytest

from alvh.core.calendar import next_session
from alvh.core.errors import SourceError
from alvh.core.settings import load_settings
from alvh.pipeline.orders import export_orders
from alvh.pipeline.positions import import_positions
from alvh.pipeline.signals import run_batch
from alvh.sources.broker import format_occ, is_broker_file, limit_price, parse_occ, read_broker_positions
from alvh.transforms.signal import HedgeParams
from alvh.warehouse.connection import open_warehouse

FLEX = """"ClientAccountID","AssetClass","Symbol","Description","UnderlyingSymbol","Multiplier","Strike","Expiry","Put/Call","Quantity","MarkPrice","CostBasisPrice"
"U1234567","STK","SPY","SPDR S&P 500 ETF","SPY","1","","","","100","601.1","590.2"
"U1234567","OPT","VIX   250219C00018000","VIX 19FEB25 18 C","VIX","100","18","20250219","C","50","1.2","1.10"
"U1234567","OPT","VIX   250318C00020000","VIX 18MAR25 20 C","VIX","100","20","20250318","C","60","1.3","1.25"
"U1234567","OPT","VIX   250318C00020000","VIX 18MAR25 20 C","VIX","100","20","20250318","C","40","1.3","1.50"
"U1234567","OPT","SPX   250321P05700000","SPX 21MAR25 5700 P","SPX","100","5700","20250321","P","-5","30.1","31.00"
"U1234567","OPT","SPX   250321P05500000","SPX 21MAR25 5500 P","SPX","100","5500","20250321","P","5","12.0","12.50"
"U1234567","OPT","SPXW  250321C06300000","SPXW 21MAR25 6300 C","SPX","100","6300","20250321","C","-5","20.0","21.00"
"U1234567","OPT","SPXW  250321C06450000","SPXW 21MAR25 6450 C","SPX","100","6450","20250321","C","5","5.0","5.50"
"""


def test_occ_symbols_read_and_written() -> None:
    v = parse_occ("VIX   260121C00019000")
    assert (v.root, v.expiry, v.is_call, v.strike) == ("VIX", date(2026, 1, 21), True, 19.0)
    s = parse_occ("SPXW  260320P05600000")
    assert (s.root, s.expiry, s.is_call, s.strike) == ("SPXW", date(2026, 3, 20), False, 5600.0)
    assert parse_occ("VIX260121C00012500").strike == 12.5  # the compact form
    assert format_occ("VIX", date(2026, 1, 21), True, 19.0) == "VIX   260121C00019000"
    assert format_occ("VIX", date(2026, 1, 21), True, 12.5) == "VIX   260121C00012500"
    assert str(s) == "SPXW  260320P05600000"
    for bad in ("VIX 2601C19", "VIX   261341C00019000", "VIX   260121X00019000", "", "VIX   260121C00000000"):
        with pytest.raises(ValueError):
            parse_occ(bad)


def test_limits_step_away_from_the_model_on_the_tick() -> None:
    """1.23 + 0.05 = 1.28 → 1.30 for a BUY; 1.23 − 0.05 = 1.18 → 1.15 for a SELL; never below 0.05."""
    assert limit_price(1.23, "BUY", 0.05) == 1.30
    assert limit_price(1.23, "SELL", 0.05) == 1.15
    assert limit_price(0.02, "SELL", 0.05) == 0.05
    assert limit_price(1.30, "BUY", 0.0) == 1.30


def with_header_and_trailer_records(flex: str) -> str:
    """The same Flex query exported with "Include header and trailer records" (IBKR's layout)."""
    head, *rows = flex.strip().splitlines()
    return (
        "\n".join(
            [
                '"BOF","U1234567","alvh positions","1","20250205","20250205","20250206;101500","2.0"',
                '"BOA","U1234567"',
                '"BOS","POST","Open Positions; trade date basis"',
                '"HEADER","POST",' + head,
                *('"DATA","POST",' + r for r in rows),
                '"EOS","POST","8"',
                '"EOA","U1234567"',
                '"EOF","U1234567"',
            ]
        )
        + "\n"
    )


def test_ibkr_flex_with_header_and_trailer_records_reads_the_same() -> None:
    """Issue (QA): such a file failed with polars' "found more fields than defined in 'Schema'"."""
    text = with_header_and_trailer_records(FLEX)
    assert is_broker_file(text)
    plain, framed = read_broker_positions(FLEX, "flex.csv"), read_broker_positions(text, "flex.csv")
    assert [(str(b.symbol), b.qty, b.price) for b in framed.vix_calls + framed.spx_legs] == [
        (str(b.symbol), b.qty, b.price) for b in plain.vix_calls + plain.spx_legs
    ]
    assert framed.skipped == plain.skipped == 1


def test_ibkr_flex_positions() -> None:
    pos = read_broker_positions(FLEX, "flex.csv")
    assert pos.skipped == 1  # the SPY shares
    assert [(b.line, str(b.symbol), b.qty, b.price) for b in pos.vix_calls] == [
        (3, "VIX   250219C00018000", 50, 1.10),
        (4, "VIX   250318C00020000", 60, 1.25),
        (5, "VIX   250318C00020000", 40, 1.50),
    ]
    assert [(b.symbol.root, b.symbol.strike, b.symbol.is_call, b.qty) for b in pos.spx_legs] == [
        ("SPX", 5700.0, False, -5),
        ("SPX", 5500.0, False, 5),
        ("SPXW", 6300.0, True, -5),
        ("SPXW", 6450.0, True, 5),
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('"U1","OPT","AAPL  250321C00200000","","AAPL","100","","","","1","1","1"', "unknown option root 'AAPL'"),
        ('"U1","OPT","VIX 250318 20 C","","VIX","100","","","","1","1","1"', "not an OCC option symbol"),
        ('"U1","OPT","VIX   250318P00020000","","VIX","100","","","","1","1","1"', "a VIX put"),
        ('"U1","OPT","VIX   250318C00020000","","VIX","100","","","","-3","1","1"', "a short VIX call"),
        ('"U1","OPT","VIX   250318C00020000","","VIX","100","","","","2.5","1","1"', "not a whole number"),
        # issue (QA): SPX legs had no limit, and every later run failed validation
        ('"U1","OPT","SPXW  250321P05500000","","SPX","100","","","","-10000000","1","1"', "not a plausible SPX leg"),
    ],
)
def test_a_bad_line_is_named_and_nothing_is_imported(
    fresh_signal_warehouse: Path, tmp_path: Path, line: str, message: str
) -> None:
    f = tmp_path / "flex.csv"
    f.write_text(FLEX + line + "\n")
    settings = load_settings(warehouse=fresh_signal_warehouse)
    with pytest.raises(SourceError, match=message) as err:
        import_positions(settings, f, date(2025, 2, 6))
    assert "line 10" in str(err.value) and "flex.csv" in str(err.value)
    with duckdb.connect(str(fresh_signal_warehouse), read_only=True) as con:
        assert con.sql("SELECT count(*) FROM meta.position_import_run").fetchall() == [(0,)]
        assert con.sql("SELECT count(*) FROM meta.ic_leg_import").fetchall() == [(0,)]


def test_a_positions_file_with_an_impossible_or_expired_leg_names_the_file_and_leg(tmp_path: Path) -> None:
    from alvh.core.errors import AlvhError
    from alvh.pipeline.params import load_user_ic

    head = "expiry,strike,put_call,quantity,entry_price\n"
    ok = "2025-03-21,5700,P,-5,31\n"
    f = tmp_path / "book.csv"
    for leg, message in (
        ("2025-03-21,nan,P,-5,31", "leg 2: strike nan: expected a finite strike > 0"),
        ("2025-03-21,-5600,P,5,12.5", "leg 2: strike -5600.0"),
        ("2025-03-21,5600,P,-10000000000,12.5", "leg 2: quantity -10000000000: expected at most positions_max_qty"),
        ("2025-03-21,5600,P,5,inf", "leg 2: entry_price inf"),
        ("2025-03-21,5600,,5,12.5", "leg 2: put_call must be P or C, got None"),
        ("2025-03-21,5600,X,5,12.5", "leg 2: put_call must be P or C, got 'X'"),
    ):
        f.write_text(head + ok + leg + "\n")
        with pytest.raises(AlvhError, match=message) as err:
            load_user_ic(load_settings(positions_file=f), date(2025, 2, 6))
        assert "book.csv" in str(err.value)
    toml = tmp_path / "book.toml"  # an empty put_call in TOML: named, not an IndexError
    toml.write_text('[[legs]]\nexpiry = "2025-03-21"\nstrike = 5600\nput_call = ""\nquantity = 5\nentry_price = 12.5\n')
    with pytest.raises(AlvhError, match="leg 1: put_call must be P or C, got ''"):
        load_user_ic(load_settings(positions_file=toml), date(2025, 2, 6))
    f.write_text(head + ok + "2025-01-17,5600,P,5,12.5\n")
    settings = load_settings(positions_file=f)
    assert load_user_ic(settings, date(2025, 1, 17)) is not None  # expiring that day: still the book
    with pytest.raises(AlvhError, match="leg 2 expired on 2025-01-17, before the session 2025-02-06: update the file"):
        load_user_ic(settings, date(2025, 2, 6))


def test_occ_positions_round_trip_through_the_signal_to_the_basket(
    fresh_signal_warehouse: Path, tmp_path: Path
) -> None:
    """Import the Flex file before 2025-02-06; the signal of 2025-02-06 starts from those calls and
    hedges the imported SPX legs; its tickets come out with the same OCC symbols."""
    db, day = fresh_signal_warehouse, date(2025, 2, 6)
    f = tmp_path / "flex.csv"
    f.write_text(FLEX)
    res = import_positions(load_settings(warehouse=db), f, day)
    assert res.applies_from == day and res.skipped == 1
    # duplicate lines add up at a weighted cost: (60 × 1.25 + 40 × 1.50) / 100 = 1.35
    assert res.holdings.rows() == [
        (date(2025, 2, 19), 18.0, 50, 1.10),
        (date(2025, 3, 18), 20.0, 100, pytest.approx(1.35)),
    ]
    assert res.ic_legs is not None and res.ic_legs.height == 4
    with open_warehouse(db) as con:
        run_batch(con, [day], HedgeParams(), "rt", "h", use_gx=False)
        sig = con.sql(f"SELECT * FROM marts.hedge_signal_daily WHERE session_date = DATE '{day}'").pl().to_dicts()[0]
        orders = con.sql(f"SELECT * FROM marts.hedge_order WHERE session_date = DATE '{day}'").pl().to_dicts()
        held = con.sql(
            f"SELECT contract_expiry, strike, qty FROM marts.hedge_position WHERE session_date = DATE '{day}'"
        ).fetchall()
        basket, tickets = tmp_path / "basket.csv", tmp_path / "tickets.csv"
        n = export_orders(con, day, "ibkr-basket", basket, 0.05)
        export_orders(con, day, "csv", tickets, 0.05)
    # the imported SPX legs are the book hedged: 5 ICs, short 5700 P / 6300 C, credit (31 + 21 − 12.5 − 5.5) × 5 × $100
    assert (sig["ic_contracts"], sig["short_put"], sig["short_call"]) == (5, 5700.0, 6300.0)
    assert sig["ic_credit_usd"] == pytest.approx(17_000.0)
    assert "started from imported holdings" in sig["positions_note"]
    # every ticket carries its OCC symbol, and the positions follow from the import plus the tickets
    assert orders and all(o["occ_symbol"] == format_occ("VIX", o["contract_expiry"], True, o["strike"]) for o in orders)
    book = {(date(2025, 2, 19), 18.0): 50, (date(2025, 3, 18), 20.0): 100}
    for o in orders:
        key = (o["contract_expiry"], o["strike"])
        book[key] = book.get(key, 0) + (o["qty"] if o["side"] == "BUY" else -o["qty"])
    assert sorted(held) == sorted((e, k, q) for (e, k), q in book.items() if q)
    # the basket: one limit order per ticket, on the model price ± 0.05 (away from the model, on the tick)
    rows = list(csv.DictReader(io.StringIO(basket.read_text())))
    assert n == len(rows) == len([o for o in orders if o["action"] != "SETTLE"])
    for o, r in zip(sorted(orders, key=lambda o: o["ticket"]), rows, strict=True):
        assert (r["Action"], int(r["Quantity"]), r["Symbol"], r["SecType"], r["Right"]) == (
            o["side"],
            o["qty"],
            "VIX",
            "OPT",
            "C",
        )
        assert r["LastTradingDayOrContractMonth"] == o["contract_expiry"].strftime("%Y%m%d")
        assert float(r["Strike"]) == o["strike"] and r["OrderType"] == "LMT"
        lmt = float(r["LmtPrice"])
        assert (
            (lmt >= o["model_price"] + 0.05 - 1e-9) if o["side"] == "BUY" else (lmt <= o["model_price"] - 0.05 + 1e-9)
        )
        assert abs(lmt - o["model_price"]) < 0.10 + 1e-9 and round(lmt / 0.05, 6) % 1 == 0
        assert r["OrderRef"].startswith(f"alvh {day} #") and f" for {next_session(day)}" in r["OrderRef"]
    plain = list(csv.DictReader(io.StringIO(tickets.read_text())))
    assert {r["for_session"] for r in plain} == {str(next_session(day))}  # the limits are for the next session
    assert [r["occ_symbol"] for r in plain] == [o["occ_symbol"] for o in sorted(orders, key=lambda o: o["ticket"])]
    # a ticket selling an imported contract names the very symbol of the positions file
    sold = {r["occ_symbol"] for r in plain if r["side"] == "SELL"}
    assert sold <= {"VIX   250219C00018000", "VIX   250318C00020000"}


def test_spx_only_imports_the_legs_alone_and_keeps_the_hedge_book(fresh_signal_warehouse: Path, tmp_path: Path) -> None:
    """Issue (QA): a broker file with SPX legs only made the hedge book flat (the VIX calls may be
    held at another broker); `--spx-only` imports the legs alone."""
    from typer.testing import CliRunner

    from alvh.cli import app

    db, day = fresh_signal_warehouse, date(2025, 2, 6)
    spx = tmp_path / "spx.csv"
    head, *rows = FLEX.strip().splitlines()
    spx.write_text("\n".join([head, *(r for r in rows if '"SPX' in r)]) + "\n")
    native = tmp_path / "calls.csv"
    native.write_text("contract_expiry,strike,qty,avg_cost\n2025-03-18,20,30,1.2\n")
    settings = load_settings(warehouse=db)
    import_positions(settings, native, day)
    res = import_positions(settings, spx, day, spx_only=True)
    assert res.hedge_kept and res.ic_legs is not None and res.ic_legs.height == 4
    with open_warehouse(db) as con:
        assert con.sql("SELECT count(*) FROM meta.position_import_run").fetchall() == [(1,)]  # the calls' import only
        run_batch(con, [day], HedgeParams(), "spx-only", "h", use_gx=False)
        held = con.sql(
            f"SELECT contract_expiry, current_qty FROM marts.layer_adjustment WHERE session_date = DATE '{day}'"
        )
        sig = con.sql(f"SELECT ic_contracts, short_put FROM marts.hedge_signal_daily WHERE session_date = DATE '{day}'")
        assert (date(2025, 3, 18), 30) in held.fetchall() and sig.fetchall() == [(5, 5700.0)]
    # without the flag the same file means a flat hedge book, and the message says how to keep it
    out = CliRunner().invoke(app, ["positions", "import", str(spx), "--as-of", "2025-02-07", "--warehouse", str(db)])
    assert out.exit_code == 0 and "--spx-only imports its SPX legs alone" in " ".join(out.output.split())
    with pytest.raises(SourceError, match="--spx-only, but the file holds no SPX legs"):
        import_positions(settings, native, day, spx_only=True)
