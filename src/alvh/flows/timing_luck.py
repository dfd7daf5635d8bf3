"""The timing-luck study (issue 20): every strategy replayed with the IC calendar moved by −N …
+N trading sessions; the table and its summary as CSV/Parquet and a report page."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from alvh.core.errors import ConfigError
from alvh.core.settings import Settings, load_settings
from alvh.flows.backtest import load_task
from alvh.pipeline.backtest import backtest_window, strategies_for
from alvh.pipeline.params import costs_params
from alvh.pipeline.progress import report
from alvh.report.backtest import write_timing_luck_report
from alvh.transforms.backtest.timing import timing_luck, timing_summary


@flow(name="alvh-timing-luck")
def timing_luck_flow(
    max_shift: int = 15,
    start: date | None = None,
    end: date | None = None,
    out: str | None = None,
    settings: Settings | None = None,
    strategies: list[str] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, Path]:
    """The study over [start, end] for shifts −``max_shift`` … +``max_shift``: (table, summary,
    report path). Writes ``timing_luck.csv/.parquet``, ``timing_luck_summary.csv`` and
    ``timing_luck.html`` (with ``timing_luck.png``) in ``out``."""
    if not 1 <= max_shift <= 15:
        raise ConfigError(f"--max-shift must be 1 … 15 sessions, got {max_shift}")
    if settings is None:
        settings = load_settings()
    chosen = strategies_for(settings, strategies)
    market = load_task(settings.warehouse, end)
    first = start or settings.backtest_start
    last = backtest_window(market, first, end)
    shifts = list(range(-max_shift, max_shift + 1))
    table = timing_luck(
        market, chosen, costs_params(settings), first, last, shifts, lambda n, t: report("timing luck", n, t)
    )
    summary = timing_summary(table)
    target = Path(out) if out else settings.backtest_out
    target.mkdir(parents=True, exist_ok=True)
    table.write_csv(target / "timing_luck.csv")
    table.write_parquet(target / "timing_luck.parquet")
    summary.write_csv(target / "timing_luck_summary.csv")
    path = write_timing_luck_report(table, summary, target / "timing_luck.html")
    get_run_logger().info("timing luck: %d shifts × %d strategies; report %s", len(shifts), len(chosen), path)
    create_markdown_artifact(key="timing-luck", markdown=f"Report: `{path}`")
    return table, summary, path
