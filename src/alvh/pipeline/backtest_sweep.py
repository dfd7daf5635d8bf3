"""Sweeps: many hedge/cost configurations on the compiled engine, run on Dask — a
``dask.distributed`` LocalCluster by default, or an existing cluster (``--dask-address`` / the
``dask_address`` setting) — or serially, or on a plain process pool. Every path evaluates the same
chunks with the same pure function, so the tables are identical. A Dask run reports progress per
chunk, stops with one line when its workers are lost (heartbeat timeout) or a chunk fails, and
always stops its workers (Ctrl-C and SIGTERM included): see :class:`DaskSession`.

The sweep file (TOML) holds any of:

- ``[[configs]]`` — named configurations: ``{name, kind = "alvh" | "calls" | "unhedged", tenor,
  qty, <any setting>}``;
- ``[grid]`` — lists of values per setting, expanded to every combination;
- ``[random]`` — ``n`` draws (``seed``) from ``[random.uniform]`` (``[low, high]``; integers
  when both bounds are) and ``[random.choice]`` (lists of values).

A setting is any hedge or cost setting by its settings name (``carry_budget``,
``rebalance_band``, ``layer_weights``, ``commission_usd``, ``ic_contracts``…; the short names
``band``, ``weights``, ``mode`` also work); each configuration is validated like the settings
file, so an out-of-range value — or a rule between settings, such as ``fixed_ratio`` outside
``ratio_min … ratio_max`` — names the configuration and the setting in one line.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import math
import multiprocessing
import os
import signal
import threading
import time
import tomllib
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pydantic

from alvh.core.errors import AlvhError, ConfigError
from alvh.core.settings import Settings, setting_names
from alvh.pipeline.params import costs_params, hedge_params
from alvh.pipeline.progress import report
from alvh.schemas.backtest import BacktestSweep
from alvh.transforms.backtest.readable import Costs, Market, Strategy, first_cycle_start
from alvh.transforms.backtest.sweep import SweepConfig, SweepGroup, evaluate_chunk, group_key, prepare_group
from alvh.transforms.ic_book import IcParams
from alvh.transforms.signal import HedgeParams

ALIASES = {"band": "rebalance_band", "weights": "layer_weights", "mode": "hedge_mode"}
STRATEGY_KEYS = ("name", "kind", "tenor", "qty")
# read where the indicators mart is built, so a backtest configuration cannot change them
MART_SETTINGS = {"roll_tdte": "it decides which contracts are M1–M3 when the indicators mart is built"}
SWEEPABLE = (setting_names(HedgeParams) | setting_names(IcParams) | setting_names(Costs)) - set(MART_SETTINGS)
CHUNKS_PER_WORKER = 2  # a few chunks per worker: per-task overhead dominates fine-grained sweeps


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
        raise ConfigError(f"configuration {name!r}: {_validation_line(exc, over)}") from None
    strategy = Strategy(name, kind, hedge_params(s), tenor=int(spec.get("tenor", 1)), qty=int(spec.get("qty", 10)))
    return SweepConfig(name, strategy, costs_params(s), {k: over[k] for k in sorted(over)})


def _validation_line(exc: pydantic.ValidationError, over: dict[str, Any]) -> str:
    """One line for a configuration's validation error: the setting, its value and the rule. A
    rule between settings (the model's own check, no field location) names the settings the
    configuration changes — never the whole settings object."""
    err = exc.errors()[0]
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["loc"]:
        key = ".".join(map(str, err["loc"]))
        shown = repr(over.get(key, err.get("input")))
        return f"setting {key} = {shown[:80]}: {msg}"
    changed = ", ".join(f"{k} = {_fmt(over[k])}" for k in sorted(over)) or "no setting"
    return f"{msg} (the configuration sets {changed})"


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


def _eval_args(args: tuple[SweepGroup, list[SweepConfig]]) -> list[dict[str, Any]]:
    return evaluate_chunk(*args)


def run_chunks(
    work: list[tuple[SweepGroup, list[SweepConfig]]], runner: str, workers: int, label: str = "configurations"
) -> list[dict[str, Any]]:
    """Evaluate ``work``: ``serial`` in this process, ``processes`` on a spawn pool (progress
    reported per chunk either way); Dask is :func:`run_on_dask`."""
    total = sum(len(cs) for _, cs in work)
    if runner == "serial":
        rows: list[dict[str, Any]] = []
        for g, cs in work:
            rows += evaluate_chunk(g, cs)
            report(label, len(rows), total)
        return rows
    if runner == "processes":
        ctx = multiprocessing.get_context("spawn")  # numba's threads do not survive a fork
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            rows = []
            for chunk in pool.map(_eval_args, work):
                rows += chunk
                report(label, len(rows), total)
            return rows
    raise ConfigError(f"unknown chunk runner {runner!r}", expected="serial or processes (Dask: run_on_dask)")


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
    if runner == "dask":
        warm_dask()  # the workers start while the groups are prepared
    sessions = backtest_sessions(market, start, end)
    work = plan(market, sessions, configs, workers * CHUNKS_PER_WORKER)
    rows = run_on_dask(work, address, workers) if runner == "dask" else run_chunks(work, runner, workers)
    return sweep_table(rows, configs, sessions, run_id or str(uuid.uuid4()))


def default_strategy_config(settings: Settings) -> SweepConfig:
    """The default steward, for comparisons."""
    return SweepConfig(
        "default", Strategy("default", "alvh", replace(hedge_params(settings), mode="steward")), costs_params(settings)
    )


# --- Dask: a session that cannot hang ------------------------------------------------------------
#
# The chunks go straight to a ``distributed`` client (Prefect's per-task state reporting cost more
# than the work: 60 chunk tasks of a walk-forward took minutes). The session is started early (in a
# thread, while the market loads and the groups are prepared), watched while it runs (a progress
# report per finished chunk, a heartbeat), and always stopped within a few seconds, its worker
# processes killed by their ids if they do not go.

HEARTBEAT_S = 60.0  # no live worker (or no scheduler) for this long stops the run
POLL_S = 0.2  # how often finished chunks and the cluster's health are looked at
CLOSE_S = 3.0  # each of client and cluster gets this long to close (their workers are killed first)
WORKER_PRELOAD = "alvh.pipeline.dask_worker"  # light: the engine, not this module's settings and schemas
_session: DaskSession | None = None  # the session the CLI opened for this run, if any


class ResearchRunFailed(AlvhError):
    """A sweep or walk-forward on Dask stopped: its workers were lost or a chunk failed."""


def _spawned_children() -> list[int]:
    """This process's children started by ``multiprocessing`` spawn (Dask's local workers)."""
    me, out = os.getpid(), []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == me and b"multiprocessing.spawn" in (entry / "cmdline").read_bytes():
                out.append(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue
    return out


def _kill(pids: Sequence[int]) -> None:
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    for pid in pids:  # reap our own children (no zombies left behind)
        with contextlib.suppress(OSError):
            os.waitpid(pid, 0)


class DaskSession:
    """A Dask client on the scheduler at ``address``, or on a new LocalCluster of ``workers``
    one-thread processes. :meth:`start` begins it in a background thread (the caller keeps
    preparing meanwhile); :meth:`release` begins closing it in the background once its work is
    done; :meth:`close` stops it within about ``2 × CLOSE_S`` whatever state it is in (not started,
    starting, running, workers dead), killing the local workers that are still there."""

    def __init__(
        self, address: str | None, workers: int, heartbeat_s: float = HEARTBEAT_S, label: str = "configurations"
    ) -> None:
        self.address, self.workers, self.heartbeat_s, self.label = address, workers, heartbeat_s, label
        self.cluster: Any = None
        self.client: Any = None
        self.error: BaseException | None = None
        self.released = False
        self._closing = False
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._starter: threading.Thread | None = None
        self._closer: threading.Thread | None = None

    def start(self) -> None:
        """Begin starting the cluster (once; a no-op after that)."""
        with self._lock:
            if self._starter is None and not self._closing:
                self._starter = threading.Thread(target=self._start, name="alvh-dask-start", daemon=True)
                self._starter.start()

    def _start(self) -> None:
        try:
            from distributed import Client, LocalCluster

            if self.address:
                self.client = Client(self.address, timeout=f"{max(5.0, min(self.heartbeat_s, 30.0))}s")
            else:
                self.cluster = LocalCluster(
                    n_workers=self.workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=logging.ERROR,
                    # a chunk whose worker dies fails the run at once (no silent re-runs), and a
                    # worker silent for the heartbeat timeout is dropped by the scheduler
                    scheduler_kwargs={
                        "allowed_failures": 0,
                        "worker_ttl": f"{self.heartbeat_s}s",
                        "dashboard_address": "127.0.0.1:0",  # its HTTP server: any free port, no warning
                    },
                    env={"NUMBA_NUM_THREADS": "1"},  # one-thread workers: numba's pool would only compete
                    preload=[WORKER_PRELOAD],  # the engine imported while the parent prepares; no Ctrl-C
                )
                self.client = Client(self.cluster)
        except BaseException as exc:  # handed to the waiting thread
            self.error = exc
        finally:
            self._ready.set()
            if self._closing:
                self._stop()

    def wait(self) -> Any:
        """The client, once started (polling, so Ctrl-C and SIGTERM are seen at once)."""
        self.start()
        limit = max(self.heartbeat_s, 120.0)
        deadline = time.monotonic() + limit
        while not self._ready.wait(POLL_S):
            if time.monotonic() > deadline:
                raise ResearchRunFailed(f"the Dask cluster did not start in {limit:.0f} s")
        if self.error is not None:
            where = f"the Dask scheduler at {self.address}" if self.address else "a local Dask cluster"
            first = (str(self.error).strip().splitlines() or [""])[0]
            raise ConfigError(
                f"cannot start or reach {where}: {type(self.error).__name__}: {first}",
                expected="a running `dask scheduler` (or no --dask-address)" if self.address else None,
            ) from None
        return self.client

    def live_workers(self) -> int:
        """Workers the scheduler holds now; 0 when the scheduler does not answer."""
        try:
            info = self.client.sync(self.client.scheduler.identity, n_workers=0, callback_timeout=2)
            return int(info.get("n_workers", 0))
        except Exception:  # a scheduler that does not answer has no workers for us
            return 0

    def release(self) -> None:
        """The work is done: close in the background (the caller goes on storing and writing)."""
        with self._lock:
            if self._closer is None:
                self.released = True
                self._closer = threading.Thread(target=self.close, name="alvh-dask-close", daemon=True)
                self._closer.start()

    def close(self) -> None:
        """Stop the session now (idempotent)."""
        self._closing = True
        if self._closer is not None and self._closer is not threading.current_thread():
            self._closer.join(4 * CLOSE_S)
        if self._ready.is_set() or self._starter is None:
            self._stop()
        else:  # still starting: the starter stops what it made; its processes are killed here
            _kill(_spawned_children())

    def abort(self) -> None:
        """Kill the local workers at once (the run is over and their results are not wanted);
        :meth:`close` then only has to close the scheduler and the client."""
        if not self.address:
            self._closing = True
            _no_restarts(self.cluster)
            _kill([p for p in _spawned_children() if _alive(p)])

    def _stop(self) -> None:
        """Kill the local workers first (their results are in, or not wanted), then close the
        client and the cluster: a graceful close of live workers took 4.2 s at load 14 and ran past
        ``CLOSE_S``, and ``distributed`` then spent another 10 s retrying it at interpreter exit."""
        with self._lock:
            client, cluster, self.client, self.cluster = self.client, self.cluster, None, None
        if not self.address:
            _no_restarts(cluster)
            _kill([p for p in {*_worker_pids(cluster), *_spawned_children()} if _alive(p)])
        if client is not None:
            with contextlib.suppress(Exception):
                client.close(timeout=CLOSE_S)
        if cluster is not None:
            with contextlib.suppress(Exception):
                cluster.close(timeout=CLOSE_S)
            _forget(cluster)
        if not self.address:
            _kill([p for p in _spawned_children() if _alive(p)])


def _worker_pids(cluster: Any) -> list[int]:
    """Process ids of a LocalCluster's workers (none for no cluster, or a worker not started)."""
    pids = []
    for w in list(getattr(cluster, "workers", {}).values()):
        with contextlib.suppress(AttributeError, TypeError):
            pids.append(int(w.process.process.pid))
    return pids


def _no_restarts(cluster: Any) -> None:
    """Tell a LocalCluster's nannies that their workers are going away for good: a nanny restarts a
    worker that dies while it is running (a new process spawned during the stop)."""
    for nanny in list(getattr(cluster, "workers", {}).values()):
        with contextlib.suppress(Exception):
            nanny.close_gracefully(reason="alvh: the research run is over")


def _forget(cluster: Any) -> None:
    """Take a cluster whose close timed out off ``distributed``'s exit hook, which would otherwise
    wait up to 10 s at interpreter exit to close it again: its workers are killed by id here, and
    its scheduler runs in this process."""
    from distributed.deploy.spec import SpecCluster

    if getattr(cluster, "status", None) is not None and cluster.status.name != "closed":
        SpecCluster._instances.discard(cluster)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


@contextlib.contextmanager
def dask_session(
    address: str | None,
    workers: int,
    heartbeat_s: float = HEARTBEAT_S,
    label: str = "configurations",
    start: bool = True,
) -> Iterator[DaskSession]:
    """The Dask session of a research run, made the one :func:`run_on_dask` uses; started now, or
    (``start=False``) at :func:`warm_dask` or first use; stopped on exit, on errors, Ctrl-C and
    SIGTERM too."""
    global _session
    session = DaskSession(address, workers, heartbeat_s, label)
    if start:
        session.start()
    previous, _session = _session, session
    try:
        yield session
    except BaseException:
        session.abort()  # failed, interrupted or terminated: its workers go first, without ceremony
        raise
    finally:
        _session = previous
        session.close()


def warm_dask() -> None:
    """Start the open session's cluster now, if there is one: its workers start (and import the
    engine) while this process loads and prepares the market."""
    if _session is not None:
        _session.start()


def _chunk_failure(i: int, n: int, future: Any, status: str) -> AlvhError:
    """One line for a chunk that did not finish; ``status`` is the future's status when the
    failure was seen (``lost``: its worker died holding the result, which the scheduler would
    quietly recompute — the run stops instead, like a worker dying under a chunk)."""
    if status == "lost":
        return _worker_died(i, n, "holding the result of")
    try:
        exc = future.exception(timeout=CLOSE_S)
    except Exception as e:  # the scheduler may be gone too
        exc = e
    if isinstance(exc, AlvhError):
        return exc
    name = type(exc).__name__ if exc is not None else status
    if name == "KilledWorker":
        return _worker_died(i, n)
    first = (str(exc).strip().splitlines() or [""])[0] if exc is not None else ""
    return ResearchRunFailed(f"chunk {i + 1} of {n} failed on a Dask worker: {name}: {first[:300]}")


def _worker_died(i: int, n: int, doing: str = "while evaluating") -> ResearchRunFailed:
    return ResearchRunFailed(
        f"a Dask worker died {doing} chunk {i + 1} of {n}; the run is stopped "
        "(rerun it; if it happens again, lower sweep_workers or look at the machine's memory)"
    )


def gather_chunks(session: DaskSession, work: list[tuple[SweepGroup, list[SweepConfig]]]) -> list[dict[str, Any]]:
    """Evaluate ``work`` on the session's workers: rows in ``work``'s order, a progress report per
    finished chunk. Stops with one line when a chunk fails or no worker has been alive for the
    heartbeat timeout."""
    client = session.wait()
    run = uuid.uuid4().hex[:8]
    futures = [
        client.submit(evaluate_chunk, g, cs, key=f"alvh-chunk-{run}-{i}", pure=False) for i, (g, cs) in enumerate(work)
    ]
    total, done = sum(len(cs) for _, cs in work), 0
    results: list[list[dict[str, Any]] | None] = [None] * len(work)
    pending = set(range(len(work)))
    report(session.label, 0, total)
    alive_at = next_check = time.monotonic()
    while pending:
        for i in sorted(pending):
            status = futures[i].status
            if status == "finished":
                results[i] = futures[i].result(timeout=session.heartbeat_s)
                pending.discard(i)
                done += len(work[i][1])
                report(session.label, done, total)
            elif status in ("error", "cancelled", "lost"):
                raise _chunk_failure(i, len(work), futures[i], status)
        now = time.monotonic()
        if pending and now >= next_check:
            next_check = now + 1.0
            if session.live_workers() > 0:
                alive_at = now
            elif now - alive_at > session.heartbeat_s:
                where = f"the Dask cluster at {session.address}" if session.address else "the local Dask cluster"
                raise ResearchRunFailed(
                    f"{where} has had no live worker for {session.heartbeat_s:.0f} s (heartbeat timeout) with "
                    f"{len(pending)} of {len(work)} chunks unfinished; the run is stopped "
                    "(rerun it; start workers, or raise --heartbeat-timeout)"
                )
        if pending:
            time.sleep(POLL_S)
    return [row for rows in results for row in (rows or [])]


def run_on_dask(
    work: list[tuple[SweepGroup, list[SweepConfig]]], address: str | None, workers: int
) -> list[dict[str, Any]]:
    """The chunks on Dask: on the session the caller opened (:func:`dask_session`), else on one
    opened for this call (the cluster at ``address``, else a LocalCluster of ``workers``)."""
    active = _session
    if active is not None and not active.released and active.address == address and active.workers == workers:
        rows = gather_chunks(active, work)
        active.release()  # one dispatch per research run: the cluster closes while the caller goes on
        return rows
    with dask_session(address, workers) as session:
        return gather_chunks(session, work)
