"""Sweeps: many hedge/cost configurations on the compiled engine, run through Prefect's
``DaskTaskRunner`` — on a ``dask.distributed`` LocalCluster by default, or on an existing cluster
(``--dask-address`` / the ``dask_address`` setting) — or serially, or on a plain process pool.
Every path evaluates the same chunks with the same pure function, so the tables are identical.

The sweep file (TOML) holds any of:

- ``[[configs]]`` — named configurations: ``{name, kind = "alvh" | "calls" | "unhedged", tenor,
  qty, <any setting>}``;
- ``[grid]`` — lists of values per setting, expanded to every combination;
- ``[random]`` — ``n`` draws (``seed``) from ``[random.uniform]`` (``[low, high]``; integers
  when both bounds are) and ``[random.choice]`` (lists of values).

A setting is any hedge or cost setting by its settings name (``carry_budget``,
``rebalance_band``, ``layer_weights``, ``commission_usd``, ``ic_contracts``…; the short names
``band``, ``weights``, ``mode`` also work); each configuration is validated like the settings
file, so an out-of-range value names the configuration and the setting.
"""

from __future__ import annotations

import itertools
import json
import math
import multiprocessing
import tomllib
import uuid
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pydantic
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from alvh.core.errors import ConfigError
from alvh.core.settings import Settings, setting_names
from alvh.pipeline.params import costs_params, hedge_params
from alvh.schemas.backtest import BacktestSweep
from alvh.transforms.backtest import Costs, Market, Strategy, first_cycle_start
from alvh.transforms.backtest_sweep import SweepConfig, SweepGroup, evaluate_chunk, group_key, prepare_group
from alvh.transforms.ic_book import IcParams
from alvh.transforms.signal import HedgeParams

ALIASES = {"band": "rebalance_band", "weights": "layer_weights", "mode": "hedge_mode"}
STRATEGY_KEYS = ("name", "kind", "tenor", "qty")
# read where the indicators mart is built, so a backtest configuration cannot change them
MART_SETTINGS = {"roll_tdte": "it decides which contracts are M1–M3 when the indicators mart is built"}
SWEEPABLE = (setting_names(HedgeParams) | setting_names(IcParams) | setting_names(Costs)) - set(MART_SETTINGS)
CHUNKS_PER_WORKER = 2  # a few Prefect tasks per worker: task overhead dominates fine-grained sweeps


def config_from(spec: dict[str, Any], settings: Settings, base_dump: dict[str, Any] | None = None) -> SweepConfig:
    """One configuration from ``{name, kind, tenor, qty, <settings>}``, validated as settings."""
    name = str(spec.get("name") or "")
    if not name:
        raise ConfigError("a sweep configuration needs a name", value=str(spec))
    kind = str(spec.get("kind", "alvh"))
    if kind not in ("alvh", "calls", "unhedged"):
        raise ConfigError(f"configuration {name!r}: unknown kind {kind!r}", expected="alvh, calls or unhedged")
    over = {ALIASES.get(k, k): v for k, v in spec.items() if k not in STRATEGY_KEYS}
    unknown = sorted(set(over) - set(Settings.model_fields))
    if unknown:
        raise ConfigError(f"configuration {name!r}: unknown setting(s) {unknown}", expected="a setting name (README)")
    inert = sorted(set(over) - SWEEPABLE)
    if inert:
        why = "; ".join(f"{k}: {MART_SETTINGS[k]}" for k in inert if k in MART_SETTINGS)
        raise ConfigError(
            f"configuration {name!r}: {inert} would change nothing in a backtest"
            + (
                f" ({why}; rebuild the mart with ALVH_{inert[0].upper()}=… and `alvh ingest` to test another)"
                if why
                else ""
            ),
            expected="a hedge, IC or cost setting (README: Settings, sections §4–§6 and §9)",
        )
    dump = base_dump if base_dump is not None else settings.model_dump()
    try:
        s = Settings.model_validate(dump | over)
    except pydantic.ValidationError as exc:
        err = exc.errors()[0]
        raise ConfigError(
            f"configuration {name!r}: setting {'.'.join(map(str, err['loc']))} = {err.get('input')!r}: {err['msg']}"
        ) from None
    strategy = Strategy(name, kind, hedge_params(s), tenor=int(spec.get("tenor", 1)), qty=int(spec.get("qty", 10)))
    return SweepConfig(name, strategy, costs_params(s), {k: over[k] for k in sorted(over)})


def _fmt(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def expand_spec(spec: dict[str, Any], settings: Settings) -> list[SweepConfig]:
    """Every configuration of a parsed sweep file (see the module docstring)."""
    dump = settings.model_dump()
    configs = [config_from(c, settings, dump) for c in spec.get("configs", [])]
    grid = spec.get("grid") or {}
    if grid:
        keys = sorted(grid)
        for combo in itertools.product(*(list(grid[k]) for k in keys)):
            over = dict(zip(keys, combo, strict=True))
            name = "grid " + " ".join(f"{k}={_fmt(v)}" for k, v in over.items())
            configs.append(config_from({"name": name, **over}, settings, dump))
    rnd = spec.get("random")
    if rnd:
        rng = np.random.default_rng(int(rnd.get("seed", 0)))
        uniform, choice = rnd.get("uniform", {}), rnd.get("choice", {})
        for i in range(int(rnd.get("n", 0))):
            drawn: dict[str, Any] = {}
            for k in sorted(uniform):
                lo, hi = uniform[k]
                if isinstance(lo, int) and isinstance(hi, int):
                    drawn[k] = int(rng.integers(lo, hi + 1))
                else:
                    drawn[k] = round(float(rng.uniform(lo, hi)), 4)
            for k in sorted(choice):
                drawn[k] = choice[k][int(rng.integers(len(choice[k])))]
            configs.append(config_from({"name": f"random {i + 1}", **drawn}, settings, dump))
    if not configs:
        raise ConfigError("the sweep file has no [[configs]], [grid] or [random]")
    names = [c.name for c in configs]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ConfigError(f"the sweep has duplicate configuration names {dup}")
    return configs


def read_sweep(path: Path, settings: Settings) -> list[SweepConfig]:
    try:
        spec = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read the sweep file: {exc}", file=str(path)) from None
    return expand_spec(spec, settings)


def backtest_sessions(market: Market, start: date, end: date) -> list[date]:
    """Sessions from the first SPX monthly expiry on or after ``start`` to ``end``."""
    days = [r["session_date"] for r in market.rows]
    first = first_cycle_start(start, days)
    return [d for d in days if first <= d <= end]


# --- planning and running chunks -----------------------------------------------------------------


def plan(
    market: Market, sessions: Sequence[date], configs: Sequence[SweepConfig], chunks: int
) -> list[tuple[SweepGroup, list[SweepConfig]]]:
    """Prepare each group once and split its configurations into about ``chunks`` pieces
    (configurations keep their order inside a chunk; the table is re-ordered at the end)."""
    groups: dict[tuple[Any, ...], list[SweepConfig]] = {}
    for c in configs:
        groups.setdefault(group_key(c), []).append(c)
    out = []
    per = max(1, math.ceil(len(configs) / chunks))
    for members in groups.values():
        g = prepare_group(market, sessions, members[0])
        out += [(g, members[i : i + per]) for i in range(0, len(members), per)]
    return out


@task(name="evaluate-configurations", cache_policy=NO_CACHE)
def evaluate_task(group: SweepGroup, configs: list[SweepConfig]) -> list[dict[str, Any]]:
    """Replay a chunk of configurations on the compiled engine."""
    return evaluate_chunk(group, configs)


def _eval_args(args: tuple[SweepGroup, list[SweepConfig]]) -> list[dict[str, Any]]:
    return evaluate_chunk(*args)


def run_chunks(work: list[tuple[SweepGroup, list[SweepConfig]]], runner: str, workers: int) -> list[dict[str, Any]]:
    """Evaluate ``work``: ``serial`` in this process, ``processes`` on a spawn pool, ``prefect``
    through the current flow's task runner (Dask)."""
    if runner == "serial":
        return [row for g, cs in work for row in evaluate_chunk(g, cs)]
    if runner == "processes":
        ctx = multiprocessing.get_context("spawn")  # numba's threads do not survive a fork
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            return [row for rows in pool.map(_eval_args, work) for row in rows]
    futures = [evaluate_task.submit(g, cs) for g, cs in work]
    return [row for f in futures for row in f.result()]


def sweep_table(
    rows: list[dict[str, Any]], configs: Sequence[SweepConfig], sessions: Sequence[date], run_id: str
) -> pl.DataFrame:
    """The ``backtest.sweep`` rows, in the sweep file's order."""
    by_name = {r["config"]: r for r in rows}
    out = []
    for c in configs:
        r = by_name[c.name]
        out.append(
            {
                "run_id": run_id,
                "config": c.name,
                "kind": c.strategy.kind,
                "settings": json.dumps(c.settings, sort_keys=True, default=list),
                "start_date": sessions[0],
                "end_date": sessions[-1],
                **{k: v for k, v in r.items() if k != "config"},
            }
        )
    cols = list(BacktestSweep.to_schema().columns)
    return pl.DataFrame(out, infer_schema_length=None).select(cols)


def sweep(
    market: Market,
    configs: Sequence[SweepConfig],
    start: date,
    end: date,
    runner: str = "serial",
    workers: int = 2,
    address: str | None = None,
    run_id: str | None = None,
) -> pl.DataFrame:
    """Every configuration over [start, end]: the ``backtest.sweep`` table. ``runner``:
    ``serial``, ``processes`` (a spawn pool of ``workers``) or ``dask`` (Prefect's DaskTaskRunner
    on the cluster at ``address``, else on a LocalCluster of ``workers`` processes)."""
    if runner not in ("serial", "processes", "dask"):
        raise ConfigError(f"unknown sweep runner {runner!r}", expected="serial, processes or dask")
    sessions = backtest_sessions(market, start, end)
    work = plan(market, sessions, configs, workers * CHUNKS_PER_WORKER)
    rows = run_on_dask(work, address, workers) if runner == "dask" else run_chunks(work, runner, workers)
    return sweep_table(rows, configs, sessions, run_id or str(uuid.uuid4()))


def dask_runner(address: str | None, workers: int) -> Any:
    """A ``DaskTaskRunner`` on ``address``, or on a new LocalCluster of ``workers`` processes."""
    from prefect_dask import DaskTaskRunner

    if address:
        return DaskTaskRunner(address=address)
    return DaskTaskRunner(
        cluster_class="distributed.LocalCluster",
        cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True, "dashboard_address": None},
    )


def default_strategy_config(settings: Settings) -> SweepConfig:
    """The default steward, for comparisons."""
    return SweepConfig(
        "default", Strategy("default", "alvh", replace(hedge_params(settings), mode="steward")), costs_params(settings)
    )


@flow(name="alvh-sweep-chunks")
def _chunks_flow(work: list[tuple[SweepGroup, list[SweepConfig]]]) -> list[dict[str, Any]]:
    """Evaluate the chunks as Prefect tasks on the flow's (Dask) task runner."""
    return run_chunks(work, "prefect", 0)


def run_on_dask(
    work: list[tuple[SweepGroup, list[SweepConfig]]], address: str | None, workers: int
) -> list[dict[str, Any]]:
    """The chunks through Prefect's DaskTaskRunner (existing cluster at ``address``, else local)."""
    try:
        return _chunks_flow.with_options(task_runner=dask_runner(address, workers))(work)
    except OSError as exc:  # no scheduler there (distributed raises OSError on connect timeouts)
        where = f"the Dask scheduler at {address}" if address else "a local Dask cluster"
        raise ConfigError(
            f"cannot reach {where}: {exc}", expected="a running `dask scheduler` (or no --dask-address)"
        ) from None
