"""The engine against recorded answers (the exchange_calendars way): per-layer actions and
quantities for three key windows, in ``tests/recorded/layer_actions_*.csv``, produced by the
separate implementation of the method in ``tests/support/ladder_by_hand.py`` (not by the engine;
its docstring has the command that regenerates them)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from alvh.core.calendar import sessions_between
from alvh.pipeline.signals import compute_batch
from alvh.transforms.signal import HedgeParams
from tests.support import ladder_by_hand as by_hand


def test_the_method_by_hand_matches_the_worked_example() -> None:
    """§10: SPX 5000, VIX 15, r 4 %, 30 days — ten model ICs take ≈ $32.7k of credit and are short
    ≈ $5,060 of vega per point (the separate implementation's IC, on which its sizing rests)."""
    credit, vega = by_hand.model_ic(5000.0, 15.0, 0.04, 30)
    assert credit == pytest.approx(32_700, abs=100) and vega == pytest.approx(-5_060, abs=20)
    assert by_hand.split(263) == [105, 105, 53]  # §10's largest remainder
    assert by_hand.split(10) == [4, 4, 2]


def engine_rows(con: duckdb.DuckDBPyConnection, first: date, last: date) -> list[dict[str, Any]]:
    batch = compute_batch(con, sessions_between(first, last), HedgeParams(), "recorded", "h")
    frame = batch.frames["marts.layer_adjustment"].sort("session_date", "layer")
    return [{c: (float(r[c]) if c == "strike" else r[c]) for c in by_hand.COLUMNS} for r in frame.to_dicts()]


@pytest.mark.parametrize("window", sorted(by_hand.WINDOWS))
def test_the_engine_matches_the_recorded_answers(window: str, signal_warehouse: Path) -> None:
    recorded = by_hand.read_csv(by_hand.csv_path(window))
    first, last = by_hand.WINDOWS[window]
    assert [r["session_date"] for r in recorded[::3]] == sessions_between(first, last)
    with duckdb.connect(str(signal_warehouse), read_only=True) as con:
        engine = engine_rows(con, first, last)  # from an empty book before the window's first session
        again = by_hand.window_rows(con, window)
    # the recording is what the separate implementation says on today's data (not a stale file)
    assert again == recorded
    mismatches = [(r, e) for r, e in zip(recorded, engine, strict=True) if r != e]
    assert mismatches == []


def test_the_steward_cap_keeps_the_largest_ladder_that_fits(signal_warehouse: Path) -> None:
    """§5: when the carry exceeds the budget, r* is lowered "until it fits" — read here as the
    largest ladder at or below r*'s that fits. 2024-01-09 from an empty book on 2024-01-02."""
    first, day = date(2024, 1, 2), date(2024, 1, 9)
    with duckdb.connect(str(signal_warehouse), read_only=True) as con:
        engine = [r for r in engine_rows(con, first, day) if r["session_date"] == day]
        rows, settles = by_hand.read_inputs(con, first, day)
    expected = [r for r in by_hand.replay(rows, settles, first, day) if r["session_date"] == day]
    assert [r["model_target_qty"] for r in expected] == [77, 77, 38]
    assert [r["model_target_qty"] for r in engine] == [77, 77, 38]
