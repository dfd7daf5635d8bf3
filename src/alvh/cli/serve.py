"""`alvh serve`: serve the scheduled daily deployment until stopped."""

from __future__ import annotations

import contextlib

from alvh.cli.prefect_output import quiet_prefect
from alvh.cli.render import out_console


def serve() -> None:
    """Serve the scheduled deployment (cron in New York time, one run at a time) until stopped."""
    quiet_prefect()
    from prefect import serve as prefect_serve

    from alvh.core.settings import load_settings
    from alvh.flows.deployment import daily_deployment

    settings = load_settings()
    out_console().print(
        f"serving alvh-daily: cron '{settings.daily_cron}' ({settings.schedule_timezone}), concurrency 1; "
        "Ctrl-C to stop"
    )
    # Ctrl-C is how a user stops it: Prefect's serve ends on it (or lets it through); either way
    # one line, no traceback
    with contextlib.suppress(KeyboardInterrupt):
        prefect_serve(daily_deployment(settings))
    out_console().print("stopped: alvh-daily is no longer served")
