"""The root ``alvh`` group builds each command only when it is looked up (issue 21 item 6: a call
imports and builds just the command it runs): every help page, the page with no arguments, a
typo's suggestion and a bad option read exactly as with all commands registered eagerly."""

from __future__ import annotations

from importlib import import_module

import pytest
import typer
from typer.testing import CliRunner

from alvh.cli import COMMANDS, _root, app


def eager_app() -> typer.Typer:
    """The same commands registered the ordinary way, all built on every call."""
    eager = typer.Typer(add_completion=False, no_args_is_help=True, help=app.info.help)
    eager.callback()(_root)
    for name, (module, attribute) in COMMANDS.items():
        target = getattr(import_module(f"alvh.cli.{module}"), attribute)
        if isinstance(target, typer.Typer):
            eager.add_typer(target, name=name)
        else:
            eager.command(name)(target)
    return eager


def pages() -> list[list[str]]:
    out: list[list[str]] = [[], ["--help"], ["sigals"], ["signals", "sho"], ["signals", "show", "--bogus"]]
    for name, (module, attribute) in COMMANDS.items():
        out.append([name, "--help"])
        target = getattr(import_module(f"alvh.cli.{module}"), attribute)
        if isinstance(target, typer.Typer):
            for info in target.registered_commands:
                assert info.name is not None
                out.append([name, info.name, "--help"])
    return out


def test_every_module_command_is_listed() -> None:
    """Every command module of alvh.cli that defines a command is in ``COMMANDS``, once."""
    assert len(COMMANDS) == 14 and len(set(COMMANDS.values())) == 14


@pytest.mark.parametrize("argv", pages(), ids=lambda a: " ".join(a) or "no-args")
def test_lazy_pages_read_as_the_eager_ones(argv: list[str]) -> None:
    runner = CliRunner()
    lazy = runner.invoke(app, argv, env={"COLUMNS": "100"})
    eager = runner.invoke(eager_app(), argv, env={"COLUMNS": "100"})
    assert (lazy.exit_code, lazy.output) == (eager.exit_code, eager.output)
    assert lazy.output.strip()
