"""`alvh backfill` as a flow: the range rule (literal dates) and, on real data, a backfill of a
middle range with other settings carried forward so the position carry holds."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from alvh.core.errors import ConfigError
from alvh.pipeline.backfill import backfill_range


def test_range_defaults_to_the_last_indicator_session() -> None:
    sessions, extended = backfill_range(date(2024, 1, 2), None, date(2024, 1, 5), None)
    assert sessions == [date(2024, 1, 2), date(2024, 1, 3), date(2024, 1, 4), date(2024, 1, 5)]
    assert extended is None


def test_a_middle_range_is_carried_forward_to_the_last_published_session() -> None:
    sessions, extended = backfill_range(date(2024, 1, 2), date(2024, 1, 3), date(2024, 1, 10), date(2024, 1, 8))
    assert extended == date(2024, 1, 8) and sessions[-1] == date(2024, 1, 8) and len(sessions) == 5


def test_a_range_after_the_published_history_is_not_extended() -> None:
    sessions, extended = backfill_range(date(2024, 1, 9), date(2024, 1, 10), date(2024, 1, 10), date(2024, 1, 8))
    assert extended is None and sessions == [date(2024, 1, 9), date(2024, 1, 10)]


def test_no_indicators_or_no_session_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="run `alvh ingest` first"):
        backfill_range(date(2024, 1, 2), None, None, None)
    with pytest.raises(ConfigError, match="no NYSE sessions between 2024-01-06 and 2024-01-07"):
        backfill_range(date(2024, 1, 6), date(2024, 1, 7), date(2024, 1, 10), None)


def test_middle_backfill_with_other_settings_keeps_the_carry(
    prefect_harness: None, fresh_signal_warehouse: Path, tmp_path: Path
) -> None:
    """Issue: `ALVH_CARRY_BUDGET=0.9 alvh backfill --start 2025-06-02 --end 2025-06-30` on a
    backfilled warehouse broke the carry at 2025-07-01. Here: 2018-01-02 → 03-29 published, then
    02-01 → 02-28 with carry_budget 0.9; the next session's holdings equal the previous positions."""
    from alvh.core.settings import load_settings
    from alvh.pipeline.backfill import backfill_flow

    base = load_settings(warehouse=fresh_signal_warehouse, export_dir=tmp_path / "exp", gx_validation=False)
    backfill_flow(date(2018, 1, 2), date(2018, 3, 29), settings=base)
    summary = backfill_flow(date(2018, 2, 1), date(2018, 2, 28), settings=base.model_copy(update={"carry_budget": 0.9}))
    assert summary.extended_to == date(2018, 3, 29) and summary.sessions[-1] == date(2018, 3, 29)
    with duckdb.connect(str(fresh_signal_warehouse), read_only=True) as con:
        held = dict(
            con.sql(
                "SELECT contract_expiry, sum(qty) FROM marts.hedge_position WHERE session_date = '2018-02-28' GROUP BY 1"
            ).fetchall()
        )
        nxt = con.sql(
            "SELECT contract_expiry, current_qty FROM marts.layer_adjustment WHERE session_date = '2018-03-01'"
        ).fetchall()
    for expiry, current in nxt:
        assert current == held.get(expiry, 0), (expiry, current, held)
