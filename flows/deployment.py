"""The scheduled deployment of ``daily_flow`` (kept apart from the flow's logic).

Cron ``daily_cron`` (default ``30 17 * * 1-5``) in ``schedule_timezone`` (default
America/New_York) — a cron fires on exchange holidays too; the flow itself ends those runs with
"no session". At most one run at a time.
"""

from __future__ import annotations

from typing import Any

from prefect.schedules import Cron

from flows.daily import daily_flow
from flows.settings import Settings

DEPLOYMENT_NAME = "alvh-daily"


def daily_deployment(settings: Settings, parameters: dict[str, Any] | None = None) -> Any:
    """``daily_flow.to_deployment`` with the New York schedule and concurrency limit 1."""
    return daily_flow.to_deployment(
        name=DEPLOYMENT_NAME,
        schedules=[Cron(settings.daily_cron, timezone=settings.schedule_timezone)],
        concurrency_limit=1,
        parameters=parameters or {},
        tags=["alvh", "daily"],
        description="ALVH daily hedge signal after the US close (New York time), XNYS sessions only",
    )
