"""`alvh doctor` checks that need Prefect (the warehouse's own checks are
``alvh.warehouse.doctor``)."""

from __future__ import annotations

from alvh.warehouse.doctor import Check


def deployment_check(name: str = "alvh-daily/alvh-daily") -> Check:
    """Is the daily deployment registered with a schedule on the configured Prefect API?"""
    import os

    if not os.environ.get("PREFECT_API_URL"):
        return Check(
            "deployment", "info", "no Prefect server configured (PREFECT_API_URL unset): `alvh serve` to schedule"
        )
    try:
        import anyio
        from prefect.client.orchestration import get_client

        async def read() -> tuple[bool, bool]:
            async with get_client() as client:
                dep = await client.read_deployment_by_name(name)
                return True, bool(dep.schedules) and not dep.paused

        _found, scheduled = anyio.run(read)
    except Exception as exc:  # the API is down or the deployment is missing
        return Check("deployment", "attention", f"{name} not found on the Prefect API ({type(exc).__name__})")
    return Check(
        "deployment",
        "ok" if scheduled else "attention",
        f"{name} {'scheduled' if scheduled else 'registered but not scheduled (paused?)'}",
    )
