"""The ``alvh`` command line: entry point of every job. One thin module per command (cli.run for
`alvh run`, cli.signals for `alvh signals show`, …) over alvh.flows and alvh.pipeline — never the
warehouse or DuckDB themselves; cli.render draws every table, panel and progress bar.

Each command imports its pipeline when it runs, so a read-only command loads only what it uses."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from alvh.cli import (
    backfill,
    backtest,
    deploy,
    doctor,
    indicators,
    ingest,
    orders,
    page,
    positions,
    quotes,
    run,
    serve,
    settings,
    signals,
)
from alvh.cli.options import FLAGS
from alvh.cli.render import console
from alvh.core.errors import AlvhError

__all__ = ["app", "main"]

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Adaptive Layered VIX Hedge pipeline")


@app.callback()
def _root(
    debug: Annotated[
        bool, typer.Option("--debug", help="show tracebacks and Prefect's error logs (also accepted after the command)")
    ] = False,
) -> None:
    """Adaptive Layered VIX Hedge: ingest market data, compute and publish hedge signals."""
    FLAGS.debug = FLAGS.debug or debug


app.command()(ingest.ingest)
app.command()(indicators.indicators)
app.command()(run.run)
app.command()(backfill.backfill)
app.command()(page.page)
app.command()(backtest.backtest)
app.command()(doctor.doctor)
app.command()(serve.serve)
app.command("settings")(settings.settings)
app.command()(deploy.deploy)
app.add_typer(signals.signals_app, name="signals")
app.add_typer(positions.positions_app, name="positions")
app.add_typer(orders.orders_app, name="orders")
app.add_typer(quotes.quotes_app, name="quotes")


def main() -> None:  # pragma: no cover - console entry
    """Run the CLI. Errors print as one line (alvh's own errors say what to do); any other error
    names its type and suggests ``--debug``, which shows the full traceback instead."""
    from rich.markup import escape

    from alvh.core.memory import choose_numba_threads, keep_large_allocations_on_heap

    keep_large_allocations_on_heap()  # a process-wide choice: made here, at the entry point, never on import
    choose_numba_threads()  # numba's pool: the CPUs this process may use, unless NUMBA_NUM_THREADS says

    if "--debug" in sys.argv[1:]:
        FLAGS.debug = True
        sys.argv = [a for a in sys.argv if a != "--debug"]
    try:
        app()
    except AlvhError as exc:
        if FLAGS.debug:
            raise
        console.print(f"[red]error:[/red] {escape(str(exc))}")
        sys.exit(1)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/yellow]")
        sys.exit(130)
    except Exception as exc:
        if FLAGS.debug:
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        console.print(
            f"[red]error:[/red] {type(exc).__name__}: {escape(first[:500])} "
            "[dim](rerun with --debug for the traceback)[/dim]"
        )
        sys.exit(1)
