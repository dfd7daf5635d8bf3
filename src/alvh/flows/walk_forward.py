"""Walk-forward study: per fold, a grid evaluated on the training window (on Dask, like a
sweep), the best configuration by the objective evaluated on the next window, beside the default
steward and the unhedged program; the ``backtest.walk_forward`` table and a report page."""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from alvh.core.errors import ConfigError
from alvh.core.settings import Settings, load_settings
from alvh.flows.backtest import load_task
from alvh.flows.sweep import store_rows_task
from alvh.pipeline.backtest import backtest_window
from alvh.pipeline.backtest_sweep import (
    CHUNKS_PER_WORKER,
    backtest_sessions,
    config_from,
    expand_spec,
    read_sweep,
    run_chunks,
    run_on_dask,
    warm_dask,
)
from alvh.report.backtest import write_walk_forward_report
from alvh.schemas.backtest import BacktestWalkForward
from alvh.transforms.backtest.readable import Market
from alvh.transforms.backtest.sweep import SweepConfig, SweepGroup, group_key
from alvh.transforms.backtest.walk_forward import (
    OBJECTIVES,
    WALK_FORWARD_MODES,
    Groups,
    OosPath,
    choose,
    fold_rows,
    folds,
    verdict,
    walk_forward_path,
)

# the grid when none is given: the steward's three most argued-about settings (27 configurations)
DEFAULT_GRID: dict[str, Any] = {
    "grid": {
        "carry_budget": [0.20, 0.35, 0.60],
        "rebalance_band": [0.10, 0.15, 0.25],
        "harvest_multiple": [2.0, 3.0, 5.0],
    }
}


def baselines(settings: Settings) -> list[SweepConfig]:
    """The default steward and the unhedged program, on the settings in force."""
    return [
        config_from({"name": "default", "kind": "alvh", "hedge_mode": "steward"}, settings),
        config_from({"name": "unhedged", "kind": "unhedged"}, settings),
    ]


def walk_forward(*args: Any, **kwargs: Any) -> pl.DataFrame:
    """The ``backtest.walk_forward`` table of :func:`walk_forward_study` (same arguments)."""
    return walk_forward_study(*args, **kwargs)[0]


def walk_forward_study(
    market: Market,
    grid: Sequence[SweepConfig],
    base: Sequence[SweepConfig],
    start: date,
    end: date,
    train_years: int,
    test_years: int,
    objective: str,
    runner: str = "serial",
    workers: int = 2,
    address: str | None = None,
    run_id: str | None = None,
    mode: str = "path",
) -> tuple[pl.DataFrame, OosPath | None]:
    """The ``backtest.walk_forward`` table of a study over [start, end] and, in ``path`` mode
    (one out-of-sample path, the book carried across folds), the path; ``restart``: each test
    window a backtest started flat."""
    if objective not in OBJECTIVES:
        raise ConfigError(f"unknown objective {objective!r}", expected=", ".join(OBJECTIVES))
    if mode not in WALK_FORWARD_MODES:
        raise ConfigError(f"unknown walk-forward mode {mode!r}", expected=", ".join(WALK_FORWARD_MODES))
    all_days = [r["session_date"] for r in market.rows]
    try:
        fs = folds(all_days, start, end, train_years, test_years)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    groups = Groups(market, backtest_sessions(market, start, end))
    by_key: dict[tuple[Any, ...], list[SweepConfig]] = {}
    for c in grid:
        by_key.setdefault(group_key(c), []).append(c)
    per = max(1, math.ceil(len(grid) / (workers * CHUNKS_PER_WORKER)))
    work: list[tuple[SweepGroup, list[SweepConfig]]] = []
    tags: list[int] = []
    for f in fs:
        for members in by_key.values():
            g = groups.window(members[0], f.train)
            for i in range(0, len(members), per):
                work.append((g, members[i : i + per]))
                tags.append(f.number)
    rows = run_on_dask(work, address, workers) if runner == "dask" else run_chunks(work, runner, workers)
    train: dict[int, dict[str, dict[str, Any]]] = {f.number: {} for f in fs}
    pos = 0
    for (_, cs), tag in zip(work, tags, strict=True):
        for r in rows[pos : pos + len(cs)]:
            train[tag][r["config"]] = r
        pos += len(cs)
    chosen = [grid[choose([train[f.number][c.name] for c in grid], objective)] for f in fs]
    path = None
    if mode == "path":
        out, path = walk_forward_path(fs, chosen, [train[f.number] for f in fs], base, groups, objective)
    else:
        out = [
            row
            for f, c in zip(fs, chosen, strict=True)
            for row in fold_rows(f, c, train[f.number], base, groups, objective)
        ]
    frame = pl.DataFrame(out, infer_schema_length=None).with_columns(
        pl.lit(run_id or str(uuid.uuid4())).alias("run_id")
    )
    return frame.select(list(BacktestWalkForward.to_schema().columns)), path


def path_frame(oos: OosPath) -> pl.DataFrame:
    """The out-of-sample path as rows ``session_date, strategy, fold, equity_net, equity_gross``."""
    fold = [0] * len(oos.sessions)
    for k, a in enumerate(oos.starts):
        fold[a:] = [k + 1] * (len(oos.sessions) - a)
    return pl.concat(
        pl.DataFrame(
            {
                "session_date": oos.sessions,
                "strategy": [name] * len(oos.sessions),
                "fold": fold,
                "equity_net": oos.net[name],
                "equity_gross": oos.gross[name],
            }
        )
        for name in oos.net
    )


@flow(name="alvh-walk-forward")
def walk_forward_flow(
    train_years: int,
    test_years: int,
    objective: str = "net",
    grid_file: str | None = None,
    start: date | None = None,
    end: date | None = None,
    out: str | None = None,
    warehouse: str | None = None,
    settings: Settings | None = None,
    dask_address: str | None = None,
    runner: str = "dask",
    mode: str = "path",
) -> tuple[pl.DataFrame, str, Path]:
    """Walk-forward study: the table, the verdict sentence and the report page's path."""
    log = get_run_logger()
    if runner == "dask":
        warm_dask()  # the CLI's Dask session starts now, its workers importing while the market loads
    if settings is None:
        settings = load_settings(**({"warehouse": Path(warehouse)} if warehouse else {}))
    grid = read_sweep(Path(grid_file), settings) if grid_file else expand_spec(DEFAULT_GRID, settings)
    market = load_task(settings.warehouse, end)
    last = backtest_window(market, start or settings.backtest_start, end)
    table, oos = walk_forward_study(
        market,
        grid,
        baselines(settings),
        start or date(2008, 1, 2),
        last,
        train_years,
        test_years,
        objective,
        runner=runner,
        workers=settings.sweep_workers,
        address=dask_address or settings.dask_address,
        mode=mode,
    )
    store_rows_task("backtest.walk_forward", table, settings)
    text = verdict(table.to_dicts())
    target = (Path(out) if out else settings.backtest_out) / "walk_forward.html"
    path = write_walk_forward_report(table, text, target, None if oos is None else path_frame(oos))
    log.info("walk-forward: %s (report %s)", text, path)
    create_markdown_artifact(key="walk-forward", markdown=f"{text}\n\nReport: `{path}`")
    return table, text, path
