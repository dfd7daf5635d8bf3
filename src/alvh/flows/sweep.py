"""Prefect flow: a sweep — every configuration of a TOML file on the compiled engine (Dask), one
``backtest.sweep`` row each."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
from prefect import flow, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from alvh.core.settings import Settings, load_settings
from alvh.flows.backtest import load_task
from alvh.pipeline.backtest import backtest_window
from alvh.pipeline.backtest_sweep import read_sweep, sweep
from alvh.schemas.registry import TABLES
from alvh.warehouse.backtest import save_run_rows
from alvh.warehouse.connection import open_warehouse


@task(name="store-sweep", cache_policy=NO_CACHE)
def store_rows_task(table: str, frame: pl.DataFrame, settings: Settings) -> None:
    """Validate and store one run's rows of a ``backtest`` results table."""
    model = TABLES[table]
    with open_warehouse(settings.warehouse) as con:
        save_run_rows(con, table, model, frame)


@flow(name="alvh-sweep")
def sweep_flow(
    file: str,
    start: date | None = None,
    end: date | None = None,
    warehouse: str | None = None,
    settings: Settings | None = None,
    dask_address: str | None = None,
    runner: str = "dask",
) -> pl.DataFrame:
    """Run every configuration of a sweep file on the compiled engine (Dask: the cluster at
    ``dask_address`` or the ``dask_address`` setting, else a LocalCluster) and store
    ``backtest.sweep``."""
    if settings is None:
        settings = load_settings(**({"warehouse": Path(warehouse)} if warehouse else {}))
    configs = read_sweep(Path(file), settings)
    market = load_task(settings.warehouse, end)
    last = backtest_window(market, start or settings.backtest_start, end)
    table = sweep(
        market,
        configs,
        start or settings.backtest_start,
        last,
        runner=runner,
        workers=settings.sweep_workers,
        address=dask_address or settings.dask_address,
    )
    store_rows_task("backtest.sweep", table, settings)
    create_table_artifact(
        key="sweep",
        table=table.select("config", "total_pnl_net_usd", "max_drawdown_net_usd", "calmar_net").to_dicts(),
    )
    return table
