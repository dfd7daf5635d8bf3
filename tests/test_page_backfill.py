"""Issue 21: "After `alvh backfill` republishes a session, its daily page still shows the old plan."

Now ``backfill_flow`` rewrites the page of each session it republishes that has one (and the
index); sessions without a page get none, and pages outside the range are left alone."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

from alvh.pipeline.page import write_page
from alvh.report.page import orders_table
from alvh.warehouse.daily_page import page_path, pages_present
from alvh.warehouse.published import session_plan

OUTSIDE, INSIDE = date(2018, 1, 10), [date(2018, 2, 6), date(2018, 2, 7)]


def test_backfill_rewrites_the_pages_of_the_sessions_it_republishes(
    prefect_harness: None, fresh_signal_warehouse: Path, tmp_path: Path
) -> None:
    from alvh.core.settings import load_settings
    from alvh.flows.backfill import backfill_flow

    export = tmp_path / "exp"
    base = load_settings(warehouse=fresh_signal_warehouse, export_dir=export, gx_validation=False)
    backfill_flow(date(2018, 1, 2), date(2018, 2, 28), settings=base)
    with duckdb.connect(str(fresh_signal_warehouse), read_only=True) as con:
        for d in [OUTSIDE, *INSIDE]:
            write_page(con, export, d)
        old = {d: session_plan(con, d) for d in INSIDE}
    before = {d: page_path(export, d).read_text() for d in [OUTSIDE, *INSIDE]}

    # another ladder split: every session from 02-01 is republished with a different plan
    summary = backfill_flow(
        date(2018, 2, 1), date(2018, 2, 28), settings=base.model_copy(update={"layer_weights": (0.6, 0.3, 0.1)})
    )
    assert summary.published
    assert summary.pages == [page_path(export.resolve(), d) for d in INSIDE]  # only the sessions with a page
    assert [d for d, _ in pages_present(export)] == [OUTSIDE, *INSIDE]  # none written for the others
    assert page_path(export, OUTSIDE).read_text() == before[OUTSIDE]  # outside the range: untouched
    index = (export / "pages" / "index.html").read_text()
    with duckdb.connect(str(fresh_signal_warehouse), read_only=True) as con:
        for d in INSIDE:
            new, was = session_plan(con, d), old[d]
            assert new is not None and was is not None
            (signal, layers), (old_signal, old_layers) = new, was
            assert [r["target_qty"] for r in layers] != [r["target_qty"] for r in old_layers]  # the plan changed
            text = page_path(export, d).read_text()
            assert text != before[d]
            assert orders_table(layers) in text and orders_table(old_layers) not in text
            assert f"published by run {signal['run_id']}" in text and old_signal["run_id"] not in text
            assert signal["actions_summary"] in index


def test_the_daily_run_rewrites_the_pages_of_sessions_it_republished(
    prefect_harness: None, fresh_signal_warehouse: Path, tmp_path: Path
) -> None:
    """Helper-7's leftover: ``alvh run`` republishes earlier sessions after an upstream revision;
    its page task rewrites their pages too (the batch's sessions), not only today's."""
    from alvh.core.settings import load_settings
    from alvh.flows.backfill import backfill_flow
    from alvh.flows.daily import page_task

    export = tmp_path / "exp"
    settings = load_settings(warehouse=fresh_signal_warehouse, export_dir=export, gx_validation=False)
    backfill_flow(date(2018, 1, 2), date(2018, 2, 28), settings=settings)
    with duckdb.connect(str(fresh_signal_warehouse)) as con:
        for d in INSIDE:
            write_page(con, export, d)
        # what a republish leaves behind: the published plan differs from the page written before
        con.execute(
            "UPDATE marts.layer_adjustment SET reason = 'REVISED PLAN ' || reason WHERE session_date IN (?, ?)", INSIDE
        )
    assert all("REVISED PLAN" not in page_path(export, d).read_text() for d in INSIDE)
    page_task.fn(settings, date(2018, 2, 28), [*INSIDE, date(2018, 2, 28)])
    assert all("REVISED PLAN" in page_path(export, d).read_text() for d in INSIDE)
