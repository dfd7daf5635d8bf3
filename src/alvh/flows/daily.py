"""Prefect flow: the product's daily job — ingest → indicators → signals → publish → export.

Thin orchestration over plain functions: ``run_ingest`` (fetch/load tasks + staging + the
indicators mart), then one task each to compute+audit+publish the signal marts and to export
them, and a markdown artifact of the day's actions. A date that is not an XNYS session (the cron
still fires on holidays) ends early with "no session".
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_link_artifact, create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run, task_run

from alvh.core.calendar import is_session, sessions_between, today_new_york
from alvh.core.errors import ConfigError, IngestIncomplete, SourceError
from alvh.core.settings import Settings, load_settings
from alvh.flows.ingest import run_ingest
from alvh.pipeline.alerts import alert_urls, daily_message, send
from alvh.pipeline.page import rewrite_pages, write_page
from alvh.pipeline.params import hedge_params, load_user_ic, method_hash
from alvh.pipeline.signals import run_batch
from alvh.warehouse.connection import open_warehouse, run_lock
from alvh.warehouse.doctor import signals_disagreeing_with_inputs
from alvh.warehouse.export import check_export_dir, export_marts
from alvh.warehouse.lineage import data_span, inputs_missing_on, revisions_in_run
from alvh.warehouse.published import published_span
from alvh.warehouse.signals import Batch


@dataclass
class DailySummary:
    as_of: date
    status: str  # "published", "unchanged", "no session", "rescheduled" (late data, deployment runs)
    sessions: list[date] = field(default_factory=list)
    signal: dict[str, object] | None = None
    layers: list[dict[str, object]] = field(default_factory=list)
    ingest_error: str | None = None
    page: Path | None = None  # the session's HTML page


def signal_sessions(
    con_last: date | None, as_of: date, recompute_from: date | None = None, first_published: date | None = None
) -> list[date]:
    """Sessions to (re)compute so positions carry: from the first unpublished (or ``as_of`` when
    re-running a past date, or the first session an upstream revision touched) through the later
    of ``as_of`` and the last published session."""
    if con_last is None:
        return [as_of]
    start = as_of if as_of <= con_last else min(d for d in sessions_between(con_last, as_of) if d > con_last)
    if recompute_from is not None and recompute_from <= con_last:
        start = min(start, max(recompute_from, first_published or recompute_from))
    return sessions_between(start, max(as_of, con_last))


def revisions_of_run(con: duckdb.DuckDBPyConnection, run_id: str) -> tuple[date | None, str | None]:
    """The earliest date an ingest run revised, and a plain-words list of the revisions."""
    rows = revisions_in_run(con, run_id)
    if not rows:
        return None, None
    dates = [d for *_, d in rows if d is not None]
    parts = [f"{t} {k} {c} {o} → {n}" for t, k, c, o, n, _ in rows[:5]]
    more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
    return (min(dates) if dates else None), "upstream revision: " + "; ".join(parts) + more


@task(name="signals-write-audit-publish", cache_policy=NO_CACHE)
def signals_task(settings: Settings, as_of: date, run_id: str) -> tuple[Batch, bool]:
    """Compute the signal marts for the sessions due (recomputing what an upstream revision
    touched), audit them, publish if every rule passes."""
    with open_warehouse(settings.warehouse) as con:
        first, last = published_span(con)
        revised_from, note = revisions_of_run(con, run_id)
        # inputs changed since they were published (e.g. an `alvh ingest` that revised a value):
        # recompute from the first published session that no longer matches the mart
        stale_from = min((r[0] for r in signals_disagreeing_with_inputs(con)), default=None)
        if stale_from is not None and (revised_from is None or stale_from < revised_from):
            revised_from = stale_from
            note = note or f"inputs changed since publication (first from {stale_from})"
        sessions = signal_sessions(last, as_of, revised_from, first)
        return run_batch(
            con,
            sessions,
            hedge_params(settings),
            run_id,
            method_hash(settings),
            docs_dir=settings.export_dir / "data_docs",
            use_gx=settings.gx_validation,
            user_ic=load_user_ic(settings, sessions[-1]),
            revision=(revised_from, last, note) if revised_from is not None and last is not None else None,
        )


@task(name="export", cache_policy=NO_CACHE)
def export_task(settings: Settings) -> bool:
    """Write CSV and Parquet exports of the published marts."""
    with open_warehouse(settings.warehouse) as con:
        return export_marts(con, settings.export_dir)


@task(name="daily-page", cache_policy=NO_CACHE)
def page_task(settings: Settings, day: date, republished: Sequence[date] = ()) -> Path:
    """Write the session's HTML page and the index beside the exports, and rewrite the pages of
    earlier sessions this run republished (an upstream revision): a page shows the published
    plan. Link the page from the flow run."""
    with open_warehouse(settings.warehouse) as con:
        path = write_page(con, settings.export_dir.resolve(), day, settings.page_keep_sessions)
        rewrite_pages(con, settings.export_dir.resolve(), [d for d in republished if d != day])
    create_link_artifact(
        key="alvh-daily-page",
        link=path.as_uri(),
        link_text=f"ALVH daily page {day}",
        description=f"The trader's page for {day}: orders, book risk, payoff grid, history (offline HTML)",
    )
    return path


def actions_markdown(signal: dict[str, object], layers: list[dict[str, object]]) -> str:
    lines = [f"# ALVH signal for {signal['session_date']}", ""]
    if signal["stale"]:
        lines += [f"**STALE — no trades.** {signal['stale_reason']}", ""]
    lines += [
        f"VIX {signal['vix_close']} · regime **{signal['regime']}** · hedge ratio {signal['ratio_current']} → target "
        f"{signal['ratio_target']} · IC short vega ${signal['ic_short_vega_usd']}/pt",
        "",
        "| layer | expiry | strike | held | target | trade | action | reason |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in layers:
        lines.append(
            f"| {r['layer']} | {r['contract_expiry']} | {r['strike']} | {r['current_qty']} | {r['target_qty']} | "
            f"{r['trade_qty']:+d} | {r['action']} | {r['reason']} |"
        )
    return "\n".join(lines)


def inputs_missing(settings: Settings, day: date) -> list[str]:
    """The required inputs with no row yet for ``day`` (late data): VIX, VVIX, SPX, VX futures."""
    with open_warehouse(settings.warehouse, read_only=False) as con:
        return inputs_missing_on(con, day)


def alert(
    settings: Settings, signal: dict[str, object] | None, layers: list[dict[str, object]], error: str | None
) -> None:
    """Send the day's notification if one is due and an alert URL is configured."""
    text = daily_message(signal, layers, error)
    if text is None:
        return
    urls = alert_urls(settings)
    if not urls:
        get_run_logger().info("alert not sent: no alert_url configured")
        return
    res = send(urls, text)
    get_run_logger().info(
        "alert sent over %s%s",
        ", ".join(res.sent) or "no channel",
        f"; not delivered over {', '.join(res.failed + res.unusable)}" if res.failed or res.unusable else "",
    )


@flow(name="alvh-daily")
def daily_flow(
    as_of: date | None = None,
    source: str | None = None,
    warehouse: str | None = None,
    export_dir: str | None = None,
    settings: Settings | None = None,
    attempt: int = 1,
) -> DailySummary:
    """Ingest what is new, rebuild indicators, publish today's hedge signal and export it.

    ``settings``: the entry point's resolved settings (the CLI passes its own, so they are
    resolved once per process); a scheduled run resolves them here from the environment.
    ``attempt``: which try at today's late data this is (a deployment run that finds today's
    data not out yet schedules attempt + 1 for later and ends, holding no worker slot)."""
    log = get_run_logger()
    if settings is None:
        overrides: dict[str, object] = {}
        if warehouse:
            overrides["warehouse"] = Path(warehouse)
        if export_dir:
            overrides["export_dir"] = Path(export_dir)
        settings = load_settings(**overrides)
    if source == "http":
        settings = settings.model_copy(update={"source_dir": None})
    elif source:
        settings = settings.model_copy(update={"source_dir": Path(source)})
    today = today_new_york()
    day = as_of or today
    check_as_of(day, today)
    if not is_session(day):
        msg = f"no session: {day} is not an NYSE trading day; nothing to signal"
        log.info(msg)
        create_markdown_artifact(key="alvh-daily", markdown=f"# {msg}")
        return DailySummary(day, "no session")
    check_export_dir(settings.export_dir)  # before the work, not after it
    with run_lock(settings.warehouse, settings.lock_timeout_s):
        return _daily(settings, day, log, attempt)


FIRST_POSSIBLE = date(1990, 1, 2)  # the first session of CBOE's VIX history


def check_as_of(day: date, today: date, option: str = "--as-of") -> None:
    """Refuse a date no data can exist for: after today (New York) or before the VIX history."""
    if day > today:
        raise ConfigError(
            f"{option} {day} is in the future (today in New York is {today}): a signal needs the close of "
            "a session that has happened; give a past date"
            + (" or omit --as-of for today" if option == "--as-of" else "")
        )
    if day < FIRST_POSSIBLE:
        raise ConfigError(f"{option} {day} is before the VIX history starts ({FIRST_POSSIBLE}); give a later date")


def check_in_data(settings: Settings, day: date, today: date) -> None:
    """A past ``--as-of`` must lie within the data of every required input (VIX, VVIX, SPX, VX
    settles), and for today that data may lack today's close only: waiting cannot bring older
    data, and nothing but stale rows could be published."""
    with open_warehouse(settings.warehouse) as con:
        span = data_span(con)
    if span.first is None or span.last is None:
        raise ConfigError(
            f"the sources gave no {', '.join(span.missing)} history: check --source-dir (or the network) and run again"
        )
    if day < span.first:
        raise ConfigError(f"--as-of {day} is before the data starts ({span.first}); give a date from {span.first} on")
    if day > span.last and day < today:
        raise ConfigError(
            f"--as-of {day} is after the data ends ({span.last}: {span.ends}): the sources have nothing for it; "
            f"give a date up to {span.last}, or omit --as-of to signal today"
        )
    behind = [d for d in sessions_between(span.last, day) if span.last < d < day]
    if day == today and behind:  # only today's close can still be on its way
        raise ConfigError(
            f"the data ends {span.last} ({span.ends}), {len(behind)} session(s) before today {day}: the sources "
            "are behind, not late, and waiting will not bring it; check --source-dir (or the network), or give "
            f"--as-of {span.last}"
        )


class LateData(Exception):
    """Today's inputs are not all published yet: the task that checks for them is retried by
    Prefect after ``late_data_delay_s`` (no sleep inside the run)."""

    def __init__(self, day: date, missing: list[str]) -> None:
        super().__init__(f"{', '.join(missing)} not published yet for {day}")
        self.missing = missing


def _only_late_data(task: Any, task_run: Any, state: Any) -> bool:
    """Retry the check only when data is late; any other failure fails at once."""
    return isinstance(state.result(raise_on_failure=False), LateData)


@task(name="ingest-todays-data", cache_policy=NO_CACHE, retry_condition_fn=_only_late_data)
def ingest_todays_data(
    settings: Settings, day: date, run_id: str, today: date, tries_before: int = 0
) -> tuple[list[str], str | None]:
    """Ingest, and check that ``day``'s inputs are in: raises ``LateData`` (retried by Prefect)
    while today's are missing; on the last try returns what is still missing, so the day is
    published stale rather than not at all. Returns (missing inputs, ingest error).
    ``tries_before``: tries made by earlier flow runs (a rescheduled deployment run)."""
    log = get_run_logger()
    ingest_error = None
    try:
        run_ingest(settings, run_id, day)
    except SourceError as exc:  # publish what the data allows (stale if need be), then fail
        ingest_error = str(exc)
        log.error("ingest incomplete: %s", exc)
    check_in_data(settings, day, today)
    missing = inputs_missing(settings, day)
    last_try = task_run.run_count + tries_before > settings.late_data_retries
    # only today's data can still arrive: a past session's will not by waiting
    if missing and day == today and not last_try:
        log.warning(
            "%s not published yet for %s; Prefect retries in %.0f s (try %d of %d)",
            ", ".join(missing),
            day,
            settings.late_data_delay_s,
            task_run.run_count,
            settings.late_data_retries + 1,
        )
        raise LateData(day, missing)
    return missing, ingest_error


def deployment_of_this_run() -> str | None:
    """``flow/deployment`` when this flow run belongs to a deployment (a scheduled run), else None."""
    from prefect.runtime import deployment

    name = deployment.name
    return f"{flow_run.flow_name}/{name}" if name else None


def reschedule_for_late_data(target: str, day: date, attempt: int, settings: Settings) -> Any:
    """Schedule the next try of this deployment ``late_data_delay_s`` from now, with the same
    parameters, ``as_of`` pinned to ``day`` and ``attempt`` + 1; returns the new flow run. The
    current run then ends, so no worker slot is held while waiting."""
    from datetime import UTC, datetime, timedelta

    from prefect.deployments import run_deployment

    params = {k: v for k, v in dict(flow_run.parameters).items() if k != "settings"}
    params.update(as_of=day.isoformat(), attempt=attempt + 1)
    return run_deployment(
        target,
        parameters=params,
        scheduled_time=datetime.now(UTC) + timedelta(seconds=settings.late_data_delay_s),
        timeout=0,
        as_subflow=False,
        tags=["alvh", "late-data"],
    )


def _daily(settings: Settings, day: date, log: Any, attempt: int = 1) -> DailySummary:
    run_id = str(flow_run.id or uuid.uuid4())
    today = today_new_york()
    target = deployment_of_this_run() if day == today and settings.late_data_retries else None
    if target is not None:  # a scheduled run: wait by re-scheduling, not inside this run
        check = ingest_todays_data.with_options(retries=0)
    else:  # a run started by hand: Prefect retries the task, the command waits
        check = ingest_todays_data.with_options(
            retries=settings.late_data_retries, retry_delay_seconds=settings.late_data_delay_s
        )
    try:
        try:
            _, ingest_error = check(settings, day, run_id, today, tries_before=attempt - 1)
        except LateData as late:
            if target is None:
                raise
            nxt = reschedule_for_late_data(target, day, attempt, settings)
            msg = (
                f"{late}; try {attempt + 1} of {settings.late_data_retries + 1} scheduled for "
                f"{nxt.expected_start_time} (flow run {nxt.id}); this run ends and holds no worker"
            )
            log.warning(msg)
            create_markdown_artifact(key="alvh-daily", markdown=f"# {day}: waiting for late data\n\n{msg}")
            return DailySummary(day, "rescheduled")
        batch, published = signals_task(settings, day, run_id)
        export_task(settings)
        page = page_task(settings, day, batch.sessions if published else ())
    except Exception as exc:
        alert(settings, None, [], f"{type(exc).__name__}: {exc}")
        raise
    signals = batch.frames["marts.hedge_signal_daily"].filter(pl.col("session_date") == day).to_dicts()
    layers = batch.frames["marts.layer_adjustment"].filter(pl.col("session_date") == day).sort("layer").to_dicts()
    summary = DailySummary(
        day,
        "published" if published else "unchanged",
        batch.sessions,
        signals[0] if signals else None,
        layers,
        ingest_error,
        page,
    )
    alert(settings, summary.signal, layers, f"ingest failed: {ingest_error}" if ingest_error else None)
    if summary.signal is not None:
        md = actions_markdown(summary.signal, layers)
        log.info("%s: %s", day, summary.signal["actions_summary"])
        create_markdown_artifact(key="alvh-daily", markdown=md, description=str(summary.signal["actions_summary"]))
    if ingest_error:
        raise IngestIncomplete(f"the signal was published, but ingest failed: {ingest_error}", day)
    return summary
