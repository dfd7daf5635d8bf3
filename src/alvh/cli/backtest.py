"""`alvh backtest`: replay the hedge over history — strategies compared, a sweep, a walk-forward
study or timing luck — with Ctrl-C and SIGTERM stopping a research run and its Dask workers."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from alvh.cli.options import WarehouseOpt, parse_date
from alvh.cli.prefect_output import quiet_prefect
from alvh.cli.render import backtest_table, fail, out_console, progress_bars
from alvh.core.errors import AlvhError


def _terminated(signum: int, frame: object) -> None:
    """SIGTERM during a research run: unwind like Ctrl-C, so the Dask workers are stopped."""
    raise KeyboardInterrupt("SIGTERM")


@contextmanager
def _sigint_for_this_process_only() -> Iterator[None]:
    """Ctrl-C signals the terminal's whole process group: Prefect's API server would die under the
    run (which then retried it for minutes). Children started inside this block inherit a blocked
    SIGINT; this process still gets it, through a thread that leaves it unblocked."""
    done = threading.Event()
    threading.Thread(target=done.wait, name="alvh-sigint", daemon=True).start()
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
        done.set()


def backtest(
    start: Annotated[str | None, typer.Option(help="first session (default: backtest_start, 2007-01-03)")] = None,
    end: Annotated[str | None, typer.Option(help="last session (default: the last in the warehouse)")] = None,
    strategy: Annotated[list[str] | None, typer.Option("--strategy", help="strategy name (repeatable)")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="folder for the report and exports")] = None,
    sweep: Annotated[
        Path | None, typer.Option("--sweep", help="TOML sweep (grid / random / configs) of hedge and cost settings")
    ] = None,
    walk_forward: Annotated[
        bool, typer.Option("--walk-forward", help="choose settings per training window, test on the next")
    ] = False,
    train_years: Annotated[int, typer.Option("--train-years", min=1, help="walk-forward training window")] = 3,
    test_years: Annotated[int, typer.Option("--test-years", min=1, help="walk-forward test window")] = 1,
    objective: Annotated[
        str,
        typer.Option(
            "--objective",
            help="walk-forward choice: net, calmar, max_drawdown, or a tail objective: cvar (worst 5 % of months), "
            "worst20 (worst 20-session loss), crisis (P&L over the named crisis windows)",
        ),
    ] = "net",
    grid: Annotated[
        Path | None, typer.Option("--grid", help="walk-forward grid (sweep TOML; default: a 27-point grid)")
    ] = None,
    timing_luck: Annotated[
        bool,
        typer.Option(
            "--timing-luck",
            help="replay every strategy with the IC calendar shifted -N … +N sessions (--max-shift) and report "
            "the distribution",
        ),
    ] = False,
    max_shift: Annotated[int, typer.Option("--max-shift", min=1, max=15, help="timing luck: largest shift")] = 15,
    wf_mode: Annotated[
        str,
        typer.Option(
            "--walk-forward-mode",
            help="path (default: one out-of-sample path, the IC and hedge book carried from fold to fold) "
            "or restart (each test window a backtest started flat)",
        ),
    ] = "path",
    dask_address: Annotated[
        str | None, typer.Option("--dask-address", help="existing Dask scheduler, e.g. tcp://HOST:8786")
    ] = None,
    engine: Annotated[str, typer.Option("--engine", help="compiled (default) or readable (reference)")] = "compiled",
    heartbeat_timeout: Annotated[
        float,
        typer.Option(
            "--heartbeat-timeout",
            min=1.0,
            help="sweep / walk-forward on Dask: stop with an error when no worker has been alive this many seconds",
        ),
    ] = 60.0,
    warehouse: WarehouseOpt = None,
) -> None:
    """Replay the hedge over history: strategies compared, event study, tables, report; or a
    sweep (--sweep FILE), or a walk-forward study (--walk-forward). A sweep or walk-forward runs
    on Dask with a progress bar; Ctrl-C or SIGTERM stops it and its workers within seconds."""
    from alvh.core.settings import load_settings

    settings = load_settings(warehouse=warehouse, dask_address=dask_address)
    objectives = ("net", "calmar", "max_drawdown", "cvar", "worst20", "crisis")
    if objective not in objectives:
        fail(f"--objective must be one of {', '.join(objectives)}, got {objective!r}", 2)
    if engine not in ("compiled", "readable"):
        fail(f"--engine must be compiled or readable, got {engine!r}", 2)
    if wf_mode not in ("path", "restart"):
        fail(f"--walk-forward-mode must be path or restart, got {wf_mode!r}", 2)
    research = sweep is not None or walk_forward
    if research:  # every configuration is validated before any work (no flow, no cluster yet)
        from alvh.pipeline.backtest_sweep import dask_session, read_sweep

        try:
            if sweep is not None:
                read_sweep(sweep, settings)
            elif grid is not None:
                read_sweep(grid, settings)
        except AlvhError as exc:
            fail(str(exc))
    # only now Prefect (its API server) and the flows: a refused option or configuration answers at once
    quiet_prefect()
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")  # the local cluster's start/stop chatter
    from alvh.flows.backtest import backtest_flow
    from alvh.flows.sweep import sweep_flow
    from alvh.pipeline.progress import reporting

    previous_term = signal.signal(signal.SIGTERM, _terminated) if research else None
    with progress_bars(26) as on_progress:
        try:
            with (
                reporting(on_progress),
                _sigint_for_this_process_only() if research else contextlib.nullcontext(),
                dask_session(
                    settings.dask_address,
                    settings.sweep_workers,
                    heartbeat_timeout,
                    "sweep configurations" if sweep is not None else "walk-forward training",
                    start=False,  # started by the flow, once Prefect's server is up (they would compete)
                )
                if research
                else contextlib.nullcontext(),
            ):
                if sweep is not None:
                    result = sweep_flow(
                        str(sweep), parse_date(start, "--start"), parse_date(end, "--end"), settings=settings
                    )
                elif timing_luck:
                    from alvh.flows.timing_luck import timing_luck_flow

                    _, luck, luck_path = timing_luck_flow(
                        max_shift,
                        parse_date(start, "--start"),
                        parse_date(end, "--end"),
                        str(out) if out else None,
                        settings=settings,
                        strategies=strategy,
                    )
                elif walk_forward:
                    from alvh.flows.walk_forward import walk_forward_flow

                    wf, verdict, wf_path = walk_forward_flow(
                        train_years,
                        test_years,
                        objective,
                        str(grid) if grid else None,
                        parse_date(start, "--start"),
                        parse_date(end, "--end"),
                        str(out) if out else None,
                        settings=settings,
                        mode=wf_mode,
                    )
                else:
                    res = backtest_flow(
                        parse_date(start, "--start"),
                        parse_date(end, "--end"),
                        strategy,
                        str(out) if out else None,
                        settings=settings,
                        engine=engine,
                    )
        except AlvhError as exc:
            fail(str(exc))
        except KeyboardInterrupt as exc:
            if not research:
                raise
            term = str(exc) == "SIGTERM"
            why = "terminated (SIGTERM)" if term else "interrupted"
            fail(f"{why}: the run and its Dask workers were stopped", 143 if term else 130)
        finally:
            if previous_term is not None:
                signal.signal(signal.SIGTERM, previous_term)
    if sweep is not None:
        out_console().print(result.select("config", "total_pnl_net_usd", "max_drawdown_net_usd", "calmar_net"))
        return
    if timing_luck:
        out_console().print(
            luck.filter(luck["measure"] == "pnl_net_usd").select("strategy", "unshifted", "median", "p10", "p90")
        )
        out_console().print(f"report: {luck_path}")
        return
    if walk_forward:
        out_console().print(
            wf.select(
                "fold", "strategy", "test_start", "settings", "is_pnl_net_usd", "oos_pnl_net_usd", "oos_calmar_net"
            )
        )
        out_console().print(verdict)
        out_console().print(f"report: {wf_path}")
        return
    out_console().print(backtest_table(res.summary, res.start, res.end))
    out_console().print(f"report: {(out or settings.backtest_out) / 'report.html'}")
