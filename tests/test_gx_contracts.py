"""One contract per table: the GX suites are generated from the pandera models, and GX's own
cross-table rules block publication when they fail (issue 19 item 5, issue 23 "a GX-only
expectation failing and blocking publication")."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandera.polars as pa
import polars as pl
import pytest

from alvh.core.errors import ValidationFailed
from alvh.schemas.gx_suites import CROSS_TABLE, CROSS_TABLE_RULES, expectations_for, run_gx
from alvh.schemas.registry import SIGNAL_TABLES, TABLES
from alvh.schemas.risk import PayoffGrid

GRID_ROW = {
    "session_date": date(2026, 1, 7),
    "horizon": "1d",
    "horizon_days": 1,
    "spx_move_pct": -20.0,
    "vix_move": 0.0,
    "ic_pnl_usd": -100.0,
    "hedge_pnl_usd": 40.0,
    "net_pnl_usd": -60.0,
    "method_version": "ALVH-2026.3",
}


@pytest.mark.unit
def test_every_column_check_of_every_table_has_a_gx_expectation() -> None:
    """The generator leaves nothing but the models' custom dataframe checks to pandera alone: a
    new built-in check with no GX mapping fails here instead of silently dropping out of GX."""
    for table, model in TABLES.items():
        schema = model.to_schema()
        expectations, pandera_only = expectations_for(model)
        assert pandera_only == [str(c.name) for c in schema.checks], table
        n_column_checks = sum(len(c.checks) for c in schema.columns.values())
        n_not_null = sum(not c.nullable for c in schema.columns.values())
        # columns + one type per column + not-null + checks (+ uniqueness expectations)
        assert len(expectations) >= 1 + len(schema.columns) + n_not_null + n_column_checks, table


@pytest.mark.unit
def test_generated_suite_agrees_with_pandera_on_the_payoff_grid_bounds() -> None:
    """The disagreement of issue 19: GX said −20..10 for the SPX move, pandera ≥ −100. Generated
    from the model, GX now accepts a −25 % move (off the default grid, a valid one) and rejects
    −101 %, exactly like pandera; and it enforces the model's key, nulls and horizons."""
    ok = pl.DataFrame(
        [GRID_ROW, GRID_ROW | {"spx_move_pct": -25.0}, GRID_ROW | {"spx_move_pct": 12.5, "vix_move": 60.0}]
    )
    PayoffGrid.validate(ok)
    bad = pl.DataFrame(
        [
            GRID_ROW | {"spx_move_pct": -101.0},  # below the model's floor
            GRID_ROW | {"horizon": "2d"},  # not a horizon
            GRID_ROW,
            GRID_ROW,  # the same cell twice
        ]
    )
    with pytest.raises(pa.errors.SchemaErrors):
        PayoffGrid.validate(bad, lazy=True)
    (good,) = run_gx({"marts.payoff_grid": ok})
    assert good.success, good.failures
    (res,) = run_gx({"marts.payoff_grid": bad})
    failed = {r.rule: r.unexpected_count for r in res.failures}
    assert failed == {
        "spx_move_pct: greater_than_or_equal_to(-100)": 1,
        "horizon: isin(['1d', '7d', 'ic_expiry'])": 1,
        "multiple_fields_uniqueness": 2,
    }


@pytest.mark.unit
def test_generated_suite_checks_columns_types_and_nulls() -> None:
    frame = pl.DataFrame([GRID_ROW | {"net_pnl_usd": None}]).with_columns(
        pl.col("vix_move").cast(pl.String), pl.lit(1).alias("extra")
    )
    (res,) = run_gx({"marts.payoff_grid": frame})
    failed = {r.rule for r in res.failures}
    assert failed == {"columns", "vix_move: dtype('Float64')", "net_pnl_usd: not_nullable"}


def _cross_table_batch(con, day: date):  # type: ignore[no-untyped-def]
    from alvh.pipeline.signals import compute_batch
    from alvh.transforms.signal import HedgeParams

    return compute_batch(con, [day], HedgeParams(), "gx-only", "h")


@pytest.mark.data
def test_cross_table_rules_pass_on_real_sessions_and_report_a_row_each(fresh_signal_warehouse: Path) -> None:
    """A month of real sessions (the February 2018 spike) publishes with GX on; every named
    cross-table rule reports a passing row; every signal mart gets its suite's row."""
    from alvh.core.calendar import sessions_between
    from alvh.pipeline.signals import run_batch
    from alvh.transforms.signal import HedgeParams
    from alvh.warehouse.connection import open_warehouse

    with open_warehouse(fresh_signal_warehouse) as con:
        batch, published = run_batch(
            con, sessions_between(date(2018, 1, 29), date(2018, 2, 28)), HedgeParams(), "gx-month", "h", use_gx=True
        )
        assert published
        rows = con.sql(
            "SELECT table_name, rule, success FROM meta.validation_run WHERE run_id = 'gx-month' AND engine = 'gx'"
        ).fetchall()
    cross = {rule: ok for table, rule, ok in rows if table == CROSS_TABLE}
    assert cross == dict.fromkeys(CROSS_TABLE_RULES, True)
    assert sorted(t for t, _, _ in rows if t != CROSS_TABLE) == sorted(SIGNAL_TABLES)
    risk = batch.frames["marts.book_risk"]
    assert risk.height == batch.frames["marts.hedge_signal_daily"].filter(~pl.col("stale")).height > 15


@pytest.mark.data
def test_cross_table_rules_accept_stale_sessions(fresh_signal_warehouse: Path) -> None:
    """The sessions after the last complete VX curve (2026-01-07) are published stale, without
    book risk or payoff grid: the cross-table rules pass on a batch that mixes them with live ones."""
    from alvh.core.calendar import sessions_between
    from alvh.pipeline.signals import run_batch
    from alvh.transforms.signal import HedgeParams
    from alvh.warehouse.connection import open_warehouse

    with open_warehouse(fresh_signal_warehouse) as con:
        batch, published = run_batch(
            con, sessions_between(date(2026, 1, 2), date(2026, 1, 14)), HedgeParams(), "gx-stale", "h", use_gx=True
        )
    assert published
    stale = batch.frames["marts.hedge_signal_daily"]["stale"].to_list()
    assert 0 < stale.count(True) < len(stale)
    assert batch.frames["marts.book_risk"].height == stale.count(False)
    cross = {
        v["rule"]: v["success"] for v in batch.validation if v["table_name"] == CROSS_TABLE and v["engine"] == "gx"
    }
    assert cross == dict.fromkeys(CROSS_TABLE_RULES, True)


@pytest.mark.data
def test_a_gx_only_rule_failing_blocks_publication(fresh_signal_warehouse: Path) -> None:
    """A batch that pandera and the invariants accept but GX rejects is not published: the book
    risk's VIX close is not the signal's (each table valid on its own). With GX on — as in
    production (``gx_validation`` defaults to true) — nothing is written, and the failing rule is
    recorded with the offending count."""
    from alvh.core.settings import Settings
    from alvh.pipeline.signals import run_batch
    from alvh.transforms.signal import HedgeParams
    from alvh.warehouse.connection import open_warehouse
    from alvh.warehouse.signals import audit, audit_and_publish

    assert Settings.model_fields["gx_validation"].default is True
    day1, day2 = date(2018, 2, 1), date(2018, 2, 2)
    with open_warehouse(fresh_signal_warehouse) as con:
        run_batch(con, [day1], HedgeParams(), "day1", "h", use_gx=False)
        before = {t: con.sql(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in SIGNAL_TABLES}
        batch = _cross_table_batch(con, day2)
        risk = batch.frames["marts.book_risk"]
        assert risk.height == 1
        batch.frames["marts.book_risk"] = risk.with_columns(pl.col("vix_close") + 1.0)
        # pandera and the cross-table invariants accept it
        assert audit(batch, "gx-off", use_gx=False) == []
        batch.validation.clear()
        with pytest.raises(ValidationFailed) as err:
            audit_and_publish(con, batch, "gx-on", use_gx=True)
        message = str(err.value)
        assert "gx marts.* gx_book_risk_vix_close_is_the_signal_close: 1 row(s)" in message
        assert message.count("gx ") == 1  # that rule alone
        after = {t: con.sql(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in SIGNAL_TABLES}
        assert after == before  # nothing of day 2 published
        recorded = con.sql(
            "SELECT engine, rule, success, failed_rows FROM meta.validation_run WHERE run_id = 'gx-on' AND NOT success"
        ).fetchall()
    assert recorded == [("gx", "gx_book_risk_vix_close_is_the_signal_close", False, 1)]
