"""The ``alvh`` command line: entry point of every job. One thin module per command (cli.run for
`alvh run`, cli.signals for `alvh signals show`, …) over alvh.flows and alvh.pipeline — never the
warehouse or DuckDB themselves; cli.render draws every table, panel and progress bar.

The root group imports and builds a command only when it is looked up (``COMMANDS``: a call builds
the one it runs, ``--help`` every one), and each command imports its pipeline when it runs, so a
read-only command loads only what it uses."""

from __future__ import annotations

import sys
from collections.abc import Iterator, MutableMapping
from importlib import import_module
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from alvh.cli.options import FLAGS
from alvh.cli.render import console
from alvh.core.errors import AlvhError

__all__ = ["COMMANDS", "app", "main"]

# every command: its name → (module of alvh.cli, the function or sub-app in it), in the order
# `alvh --help` lists them (commands, then groups, as typer orders registered ones)
COMMANDS: dict[str, tuple[str, str]] = {
    "ingest": ("ingest", "ingest"),
    "indicators": ("indicators", "indicators"),
    "run": ("run", "run"),
    "backfill": ("backfill", "backfill"),
    "page": ("page", "page"),
    "backtest": ("backtest", "backtest"),
    "doctor": ("doctor", "doctor"),
    "serve": ("serve", "serve"),
    "settings": ("settings", "settings"),
    "deploy": ("deploy", "deploy"),
    "signals": ("signals", "signals_app"),
    "positions": ("positions", "positions_app"),
    "orders": ("orders", "orders_app"),
    "quotes": ("quotes", "quotes_app"),
}


class _Commands(MutableMapping[str, Any]):
    """The root group's commands, each imported and built (parameters, help) the first time it is
    looked up: a call builds only the command it runs, ``--help`` all of them, as typer would."""

    def __init__(self) -> None:
        self._built: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._built:
            if name not in COMMANDS:
                raise KeyError(name)
            self._built[name] = _build(name)
        return self._built[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        del self._built[name]

    def __iter__(self) -> Iterator[str]:
        yield from COMMANDS
        yield from (name for name in self._built if name not in COMMANDS)

    def __len__(self) -> int:
        return len(COMMANDS.keys() | self._built.keys())


def _build(name: str) -> Any:
    """The click command of ``name``, registered on a Typer of its own exactly as on the root app
    (``app.command(name)`` or ``app.add_typer(sub_app, name=name)``) and built by typer."""
    module, attribute = COMMANDS[name]
    target = getattr(import_module(f"alvh.cli.{module}"), attribute)
    holder = typer.Typer()
    if isinstance(target, typer.Typer):
        holder.add_typer(target, name=name)
        return typer.main.get_group_from_info(
            holder.registered_groups[0],
            pretty_exceptions_short=app.pretty_exceptions_short,
            rich_markup_mode=app.rich_markup_mode,
            suggest_commands=app.suggest_commands,
        )
    holder.command(name)(target)
    return typer.main.get_command_from_info(
        holder.registered_commands[0],
        pretty_exceptions_short=app.pretty_exceptions_short,
        rich_markup_mode=app.rich_markup_mode,
    )


class _LazyGroup(TyperGroup):
    """The root ``alvh`` group: its commands are built on demand (``_Commands``), so a call loads
    only the module of the command it runs."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = _Commands()


app = typer.Typer(
    cls=_LazyGroup, add_completion=False, no_args_is_help=True, help="Adaptive Layered VIX Hedge pipeline"
)


@app.callback()
def _root(
    debug: Annotated[
        bool, typer.Option("--debug", help="show tracebacks and Prefect's error logs (also accepted after the command)")
    ] = False,
) -> None:
    """Adaptive Layered VIX Hedge: ingest market data, compute and publish hedge signals."""
    FLAGS.debug = FLAGS.debug or debug


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
