"""`alvh backfill` as a flow: the range rule (literal dates) and, on real data, a backfill of a
middle range with other settings carried forward so the position carry holds."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from alvh.core.errors import ConfigError
from alvh.flows.backfill import backfill_range
from alvh.warehouse.lineage import DataSpan

TODAY = date(2024, 2, 1)


def span(first: date, last: date) -> DataSpan:
    return DataSpan([], first, last, f"VX futures {last}")


def test_range_defaults_to_the_last_session_of_complete_data() -> None:
    sessions, extended = backfill_range(date(2024, 1, 2), None, span(date(2020, 1, 2), date(2024, 1, 5)), None, TODAY)
    assert sessions == [date(2024, 1, 2), date(2024, 1, 3), date(2024, 1, 4), date(2024, 1, 5)]
    assert extended is None


def test_a_middle_range_is_carried_forward_to_the_last_published_session() -> None:
    data = span(date(2020, 1, 2), date(2024, 1, 10))
    sessions, extended = backfill_range(date(2024, 1, 2), date(2024, 1, 3), data, date(2024, 1, 8), TODAY)
    assert extended == date(2024, 1, 8) and sessions[-1] == date(2024, 1, 8) and len(sessions) == 5


def test_a_range_after_the_published_history_is_not_extended() -> None:
    data = span(date(2020, 1, 2), date(2024, 1, 10))
    sessions, extended = backfill_range(date(2024, 1, 9), date(2024, 1, 10), data, date(2024, 1, 8), TODAY)
    assert extended is None and sessions == [date(2024, 1, 9), date(2024, 1, 10)]


@pytest.mark.parametrize(
    ("first", "end", "message"),
    [
        # issue (QA): each of these published hundreds of stale sessions, exit 0
        (date(2024, 1, 2), date(2027, 6, 1), "--end 2027-06-01 is in the future"),
        (date(1985, 1, 2), date(1985, 3, 1), "--start 1985-01-02 is before the VIX history starts"),
        (date(2019, 1, 2), None, r"--start 2019-01-02 is before the data starts \(2020-01-02\)"),
        (date(2024, 1, 2), date(2024, 1, 12), r"--end 2024-01-12 is after the data ends \(2024-01-10: VX futures"),
        (date(2024, 1, 11), None, "--start 2024-01-11 is after the data ends"),
        (date(2024, 1, 9), date(2024, 1, 5), "--end 2024-01-05 is before --start 2024-01-09"),
        (date(2024, 1, 6), date(2024, 1, 7), "no NYSE sessions between 2024-01-06 and 2024-01-07"),
    ],
)
def test_a_range_no_data_can_exist_for_is_refused(first: date, end: date | None, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        backfill_range(first, end, span(date(2020, 1, 2), date(2024, 1, 10)), None, TODAY)


def test_no_data_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="no VX futures history yet: run `alvh ingest` first"):
        backfill_range(date(2024, 1, 2), None, DataSpan(["VX futures"], None, None, ""), None, TODAY)


def test_middle_backfill_with_other_settings_keeps_the_carry(
    prefect_harness: None, fresh_signal_warehouse: Path, tmp_path: Path
) -> None:
    """Issue: `ALVH_CARRY_BUDGET=0.9 alvh backfill --start 2025-06-02 --end 2025-06-30` on a
    backfilled warehouse broke the carry at 2025-07-01. Here: 2018-01-02 → 03-29 published, then
    02-01 → 02-28 with carry_budget 0.9; the next session's holdings equal the previous positions."""
    from alvh.core.settings import load_settings
    from alvh.flows.backfill import backfill_flow

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
