"""`alvh deploy`: write the prefect.yaml of the daily deployment."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from alvh.cli.render import out_console


def deploy(
    write_yaml: Annotated[Path, typer.Option("--write-yaml", help="write the prefect.yaml here")] = Path(
        "prefect.yaml"
    ),
    pool: Annotated[str, typer.Option("--pool", help="Prefect process work pool")] = "alvh",
) -> None:
    """Write the prefect.yaml of the daily deployment (from its one definition in code; cron and
    time zone from the settings) for `prefect deploy --all`."""
    from alvh.core.settings import load_settings
    from alvh.flows.deployment import deployment_yaml

    text = deployment_yaml(load_settings(), pool)
    write_yaml.write_text(text, encoding="utf-8")
    out_console().print(f"wrote {write_yaml}; next: prefect --no-prompt deploy --all")
