"""`alvh settings`: the settings in force, or the README's table of every setting."""

from __future__ import annotations

from typing import Annotated

import typer

from alvh.cli.render import fail


def settings(
    markdown: Annotated[bool, typer.Option("--markdown", help="the README's configuration table")] = False,
) -> None:
    """Show the settings in force (or, with --markdown, the table of every setting and its default)."""
    from alvh.core.settings import load_settings, settings_markdown

    if markdown:
        typer.echo(settings_markdown(), nl=False)
        return
    from alvh.core.errors import ConfigError
    from alvh.core.settings import alert_channels

    try:
        in_force = load_settings(check_alerts=False)
    except ConfigError as exc:
        fail(str(exc))
    for name, value in in_force.model_dump(mode="json").items():
        typer.echo(f"{name} = {value!r}")
    bad = False
    for i, scheme, ok in alert_channels(in_force):  # each channel by its scheme: the URL is a secret
        bad = bad or not ok
        typer.echo(f"alert channel {i}: {scheme} — {'valid' if ok else 'NOT VALID: Apprise cannot send to it'}")
    if bad:
        raise typer.Exit(1)
