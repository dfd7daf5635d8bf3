"""``marts.indicators_daily`` on the full real history: known regimes, flags, validation and the
no-look-ahead property."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alvh.core.calendar import sessions_between
from alvh.core.errors import ValidationFailed
from alvh.pipeline.indicators import build_indicators_mart
from alvh.schemas.marts import IndicatorsDaily
from alvh.transforms.indicators_daily import build_indicators_daily
from alvh.warehouse.connection import open_warehouse
from alvh.warehouse.indicators import load_indicator_inputs, mart_sessions
from alvh.warehouse.marts import publish_table
from tests.support.hypothesis_profiles import examples


@pytest.fixture(scope="module")
def inputs(loaded_warehouse: Path) -> dict[str, pl.DataFrame]:
    with duckdb.connect(str(loaded_warehouse), read_only=True) as con:
        return load_indicator_inputs(con)


@pytest.fixture(scope="module")
def mart(inputs: dict[str, pl.DataFrame]) -> pl.DataFrame:
    return build_indicators_daily(mart_sessions(inputs["index_daily"]), **inputs)


def row(mart: pl.DataFrame, d: date) -> dict:
    return mart.filter(pl.col("session_date") == d).to_dicts()[0]


def test_one_row_per_session_no_holidays(mart: pl.DataFrame) -> None:
    days = mart["session_date"]
    assert days.is_unique().all() and days.is_sorted()
    assert days.to_list() == sessions_between(days.min(), days.max())  # type: ignore[arg-type]
    assert date(2024, 6, 19) not in set(days)  # Juneteenth
    assert date(2025, 1, 9) not in set(days)  # national day of mourning


def test_known_regimes_and_backwardation(mart: pl.DataFrame) -> None:
    for d in (date(2018, 2, 5), date(2020, 3, 16)):
        assert row(mart, d)["regime"] == "spike"
    r = row(mart, date(2020, 3, 16))
    assert r["m1_settle"] > r["m2_settle"]  # backwardation
    assert r["vix_close"] == 82.69 and r["term_structure_complete"]
    assert r["m1_expiry"] == date(2020, 4, 15)  # March expires 03-18: 2 sessions left < roll


def test_breadth_and_curve_flags(mart: pl.DataFrame) -> None:
    assert row(mart, date(2016, 3, 11))["breadth_missing"]  # glitch day quarantined
    assert not row(mart, date(2018, 2, 5))["breadth_missing"]
    assert row(mart, date(2018, 2, 5))["ad_rsi"] is not None
    r = row(mart, date(2022, 2, 22))  # Mar-2022 contract is missing from the data
    assert r["m1_expiry"] == date(2022, 3, 15) and r["m1_settle"] is None and not r["term_structure_complete"]


def test_the_mart_passes_its_model(mart: pl.DataFrame) -> None:
    IndicatorsDaily.validate(mart, lazy=True)


def test_validation_names_the_rule_and_rows(loaded_warehouse: Path, mart: pl.DataFrame, tmp_path: Path) -> None:
    bad = mart.with_columns(
        pl.when(pl.col("session_date") == date(2020, 3, 16))
        .then(True)
        .otherwise(pl.col("breadth_missing"))
        .alias("breadth_missing")
    )
    with open_warehouse(tmp_path / "w.duckdb") as con:
        publish_table(con, "marts.indicators_daily", IndicatorsDaily, mart)
        with pytest.raises(ValidationFailed) as err:
            publish_table(con, "marts.indicators_daily", IndicatorsDaily, bad)
        assert "check_breadth_flag_matches_data" in str(err.value)
        index = mart["session_date"].to_list().index(date(2020, 3, 16))
        assert str(index) in str(err.value)
        # nothing was published: the earlier rows are intact
        assert con.sql("SELECT count(*) FROM marts.indicators_daily WHERE breadth_missing").fetchall() == [
            (mart["breadth_missing"].sum(),)
        ]


def test_publish_is_idempotent(loaded_warehouse: Path, tmp_path: Path) -> None:
    import shutil

    db = tmp_path / "copy.duckdb"
    shutil.copy(loaded_warehouse, db)
    with open_warehouse(db) as con:
        build_indicators_mart(con)
        first = con.sql("SELECT * FROM marts.indicators_daily ORDER BY session_date").fetchall()
        build_indicators_mart(con)
        assert con.sql("SELECT * FROM marts.indicators_daily ORDER BY session_date").fetchall() == first


@settings(max_examples=examples(8), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dates(min_value=date(2004, 1, 1), max_value=date(2026, 7, 1)))
def test_no_look_ahead(inputs: dict[str, pl.DataFrame], mart: pl.DataFrame, cut: date) -> None:
    """Recomputing on data truncated at ``cut`` leaves every earlier row unchanged. The calendar
    of scheduled releases is not truncated: it is published ahead, and read ahead on purpose."""
    trunc = {
        "index_daily": inputs["index_daily"].filter(pl.col("session_date") <= cut),
        "vx": inputs["vx"].filter(pl.col("trade_date") <= cut),
        "breadth": inputs["breadth"].filter(pl.col("session_date") <= cut),
        "rates": inputs["rates"].filter(pl.col("date") <= cut),
        "events": inputs["events"],
    }
    partial = build_indicators_daily(mart_sessions(trunc["index_daily"]), **trunc)
    full = mart.filter(pl.col("session_date") <= partial["session_date"].max())
    assert partial.height == full.height
    assert partial.equals(full), partial.join(full, on="session_date").height


def test_an_empty_staging_builds_nothing_and_keeps_the_mart(tmp_path: Path) -> None:
    """A first run with no network loads nothing: the mart build must not fail (it used to raise
    a bare AssertionError), so the run can say which sources gave no history."""
    with open_warehouse(tmp_path / "w.duckdb") as con:
        frame = build_indicators_mart(con)
        assert frame.is_empty() and "vix_close" in frame.columns
        assert con.sql("SELECT count(*) FROM marts.indicators_daily").fetchall() == [(0,)]
