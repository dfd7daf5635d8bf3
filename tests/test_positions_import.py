"""The trader's real book (issue: first hour): every case that used to be accepted or lost."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from alvh.core.errors import SourceError
from alvh.core.settings import load_settings
from alvh.pipeline.positions import import_positions
from alvh.pipeline.signals import run_batch
from alvh.sources.positions import parse_holdings
from alvh.transforms.holdings import aggregate_holdings
from alvh.transforms.signal import HedgeParams
from alvh.warehouse.connection import open_warehouse

MAR18 = date(2018, 3, 21)  # a monthly VIX expiry
HEAD = "contract_expiry,strike,qty,avg_cost\n"


def write(tmp_path: Path, body: str | bytes) -> Path:
    f = tmp_path / "fills.csv"
    if isinstance(body, bytes):
        f.write_bytes(body)
    else:
        f.write_text(body)
    return f


def imports(db: Path) -> int:
    with duckdb.connect(str(db), read_only=True) as con:
        return int(con.sql("SELECT count(*) FROM meta.position_import_run").fetchall()[0][0])


@pytest.mark.parametrize(
    ("line", "column", "message"),
    [
        (f"{MAR18},nan,10,1", "strike", "not a listed VIX option strike"),
        (f"{MAR18},inf,10,1", "strike", "not a listed VIX option strike"),
        (f"{MAR18},-19,10,1", "strike", "not a listed VIX option strike"),
        (f"{MAR18},19.3,10,1", "strike", "not a listed VIX option strike"),
        (f"{MAR18},19,9000000000000,1", "qty", "more than positions_max_qty"),
        (f"{MAR18},19,1e20,1", "qty", "more than positions_max_qty"),  # issue 21: the limit, not the form
        (f"{MAR18},19,2.5,1", "qty", "not a whole number"),
        (f"{MAR18},19,-3,1", "qty", "a negative quantity"),
        ("2018-03-22,19,10,1", "contract_expiry", "not a monthly VIX expiry"),
        ("2018-02-14,19,10,1", "contract_expiry", "has expired by 2018-03-02"),
        (f"{MAR18},19,10,nan", "avg_cost", "finite price"),
        # issue (QA): a typo in the year was accepted and froze every later session as stale
        ("2030-01-16,19,10,1", "contract_expiry", "no VIX option of this expiry is listed on 2018-03-02"),
    ],
)
def test_bad_fields_refuse_the_whole_file_naming_line_and_column(
    fresh_signal_warehouse: Path, tmp_path: Path, line: str, column: str, message: str
) -> None:
    f = write(tmp_path, HEAD + f"{MAR18},20,5,1.0\n" + line + "\n")
    with pytest.raises(SourceError, match=message) as err:
        import_positions(load_settings(warehouse=fresh_signal_warehouse), f, date(2018, 3, 2))
    assert "line 3" in str(err.value) and repr(column) in str(err.value) and "fills.csv" in str(err.value)
    assert imports(fresh_signal_warehouse) == 0  # nothing of a bad file is imported


def test_a_binary_file_is_refused_without_a_traceback(fresh_signal_warehouse: Path, tmp_path: Path) -> None:
    f = write(tmp_path, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe")
    with pytest.raises(SourceError, match="not a text CSV file"):
        import_positions(load_settings(warehouse=fresh_signal_warehouse), f, date(2018, 3, 2))


def test_lines_of_one_contract_may_not_add_up_past_the_limit(fresh_signal_warehouse: Path, tmp_path: Path) -> None:
    f = write(tmp_path, HEAD + f"{MAR18},19,60000,1.0\n{MAR18},19,60000,1.0\n")
    settings = load_settings(warehouse=fresh_signal_warehouse, positions_max_qty=100_000)
    with pytest.raises(SourceError, match="add up to more than positions_max_qty = 100,000") as err:
        import_positions(settings, f, date(2018, 3, 2))
    assert "'qty'" in str(err.value) and "120000" in str(err.value)
    assert imports(fresh_signal_warehouse) == 0


def test_the_furthest_listed_expiry_is_accepted(fresh_signal_warehouse: Path, tmp_path: Path) -> None:
    f = write(tmp_path, HEAD + "2019-02-13,19,10,1.0\n")  # the 12th monthly expiry after 2018-03-02
    res = import_positions(load_settings(warehouse=fresh_signal_warehouse), f, date(2018, 3, 2))
    assert res.holdings["qty"].to_list() == [10]


def test_duplicate_lines_aggregate_with_a_weighted_cost() -> None:
    lines = parse_holdings(f"{HEAD}{MAR18},19,10,1.0\n{MAR18},19,90,3.0\n".encode(), "fills.csv")
    held = aggregate_holdings(lines).to_dicts()
    assert len(held) == 1 and held[0]["qty"] == 100 and held[0]["avg_cost"] == pytest.approx(2.8)


@pytest.mark.parametrize("body", [HEAD, f"{HEAD}{MAR18},19,0,1.0\n{MAR18},20,0,0.5\n", ""])
def test_an_empty_or_all_zero_file_means_flat(fresh_signal_warehouse: Path, tmp_path: Path, body: str) -> None:
    """Issue: "imported 0 contracts… starts from them" and the paper book of 140/140/70 was kept."""
    settings = load_settings(warehouse=fresh_signal_warehouse)
    with open_warehouse(fresh_signal_warehouse) as con:
        run_batch(con, [date(2018, 3, 1)], HedgeParams(), "d1", "h", use_gx=False)
    res = import_positions(settings, write(tmp_path, body), date(2018, 3, 2))
    assert res.holdings.is_empty() and res.applies_from == date(2018, 3, 2)
    with open_warehouse(fresh_signal_warehouse) as con:
        batch, _ = run_batch(con, [date(2018, 3, 2)], HedgeParams(), "d2", "h", use_gx=False)
    layers = batch.frames["marts.layer_adjustment"]
    assert layers["current_qty"].to_list() == [0, 0, 0]  # started flat, not from the paper book
    assert "differ from the paper book" in batch.frames["marts.hedge_signal_daily"]["positions_note"][0]
    # `signals show` says which book the plan started from
    from typer.testing import CliRunner

    from alvh.cli import app

    res = CliRunner().invoke(
        app, ["signals", "show", "--date", "2018-03-02", "--warehouse", str(fresh_signal_warehouse)]
    )
    assert res.exit_code == 0 and "positions:" in res.output and "differ from the paper" in " ".join(res.output.split())


def test_an_import_dated_on_the_last_published_session_applies_from_the_next(
    fresh_signal_warehouse: Path, tmp_path: Path
) -> None:
    """Issue: importing fills after the evening run (--as-of = the last published session) was
    accepted, then ignored by the next run."""
    settings = load_settings(warehouse=fresh_signal_warehouse)
    with open_warehouse(fresh_signal_warehouse) as con:
        run_batch(con, [date(2018, 3, 1), date(2018, 3, 2)], HedgeParams(), "d1", "h", use_gx=False)
    res = import_positions(settings, write(tmp_path, f"{HEAD}{MAR18},19,33,1.1\n"), date(2018, 3, 2))
    assert res.applies_from == date(2018, 3, 5) and res.moved_from == date(2018, 3, 2)
    with open_warehouse(fresh_signal_warehouse) as con:
        batch, _ = run_batch(con, [date(2018, 3, 5)], HedgeParams(), "d2", "h", use_gx=False)
    sig = batch.frames["marts.hedge_signal_daily"].to_dicts()[0]
    assert sig["positions_note"] is not None and "33" in sig["positions_note"]


def test_import_takes_the_run_lock(fresh_signal_warehouse: Path, tmp_path: Path) -> None:
    from alvh.core.errors import WarehouseLocked
    from tests.support.waits import release
    from tests.test_concurrency import hold

    settings = load_settings(warehouse=fresh_signal_warehouse, lock_timeout_s=0.5)
    holder = hold(fresh_signal_warehouse)  # a run in another process holds the warehouse until released
    try:
        with pytest.raises(WarehouseLocked):
            import_positions(settings, write(tmp_path, f"{HEAD}{MAR18},19,5,1\n"), date(2018, 3, 2))
    finally:
        release(holder)
    assert imports(fresh_signal_warehouse) == 0


def test_an_import_dated_on_a_weekend_applies_from_the_next_session(
    fresh_signal_warehouse: Path, tmp_path: Path
) -> None:
    res = import_positions(
        load_settings(warehouse=fresh_signal_warehouse),
        write(tmp_path, HEAD + f"{MAR18},19,10,1.0\n"),
        date(2018, 3, 3),
    )
    assert res.applies_from == date(2018, 3, 5) and res.moved_from is None
