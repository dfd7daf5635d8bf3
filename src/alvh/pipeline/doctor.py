"""`alvh doctor`'s checks, one row each: the warehouse's own (``alvh.warehouse.doctor``), the
export snapshot, the alert channels and the Prefect deployment."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from alvh.core.errors import AlvhError
from alvh.core.settings import Settings, alert_channels
from alvh.warehouse.connection import connect
from alvh.warehouse.doctor import Check, warehouse_checks
from alvh.warehouse.export import CURRENT, verify_snapshot

__all__ = ["Check", "deployment_check", "doctor_checks", "export_check"]


def doctor_checks(settings: Settings, day: date) -> list[Check]:
    """Every check as of ``day``, in the table's order: the warehouse (read-only; a missing,
    locked or foreign file is one ``attention`` row saying which), the export snapshot, the
    alert channels (when configured) and the deployment."""
    checks: list[Check]
    if not settings.warehouse.exists():
        checks = [Check("warehouse", "attention", f"{settings.warehouse} does not exist: run `alvh run` first")]
    else:
        try:
            with connect(settings.warehouse, read_only=True) as con:
                checks = warehouse_checks(con, settings.warehouse, day, settings.quote_error_max_pct)
        except AlvhError as exc:  # locked by a job, not a DuckDB file, …: each says which
            checks = [Check("warehouse", "attention", str(exc))]
    checks.append(export_check(settings.export_dir))
    channels = alert_channels(settings)
    if channels:
        bad = [f"{i} ({scheme})" for i, scheme, ok in channels if not ok]
        listed = ", ".join(f"{scheme} {'valid' if ok else 'NOT VALID'}" for _, scheme, ok in channels)
        checks.append(
            Check(
                "alerts",
                "attention" if bad else "ok",
                listed
                + (f" — fix channel {', '.join(bad)} in ALVH_ALERT_URL; its alerts would be lost" if bad else ""),
            )
        )
    checks.append(deployment_check())
    return checks


def export_check(export_dir: Path) -> Check:
    """The export snapshot readers read: every file present with the digest recorded when it was
    written (each missing or corrupt file named)."""
    current = export_dir / CURRENT
    if not current.is_symlink() and not current.exists():
        return Check("export snapshot", "info", f"no exports yet in {export_dir}")
    problems = verify_snapshot(export_dir)
    if problems:
        more = f"; … and {len(problems) - 3} more" if len(problems) > 3 else ""
        return Check(
            "export snapshot",
            "attention",
            "; ".join(problems[:3]) + more + " — the next `alvh run` (or `alvh backfill`) rebuilds it",
        )
    return Check("export snapshot", "ok", f"{current}: every file matches its recorded digest")


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
