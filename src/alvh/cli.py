"""The ``alvh`` command line: entry point of every job."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import polars as pl
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from alvh.core.errors import AlvhError
from alvh.pipeline.progress import reporting

if TYPE_CHECKING:
    from alvh.core.settings import Settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Adaptive Layered VIX Hedge pipeline")
console = Console(stderr=True, soft_wrap=True)


def out_console() -> Console:
    """Standard output; wide when piped so tables are not folded."""
    return Console(width=None if sys.stdout.isatty() else 200)


WarehouseOpt = Annotated[
    Path | None,
    typer.Option("--warehouse", help="DuckDB file (default: ALVH_WAREHOUSE or warehouse/alvh.duckdb)"),
]


@contextmanager
def progress_bars(width: int) -> Iterator[Callable[[str, int, int], None]]:
    """One bar per progress label (stderr); yields the reporter to install."""
    with Progress(
        TextColumn(f"{{task.description:<{width}}}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        bars: dict[str, TaskID] = {}

        def on_progress(label: str, done: int, total: int) -> None:
            if label not in bars:
                bars[label] = progress.add_task(label, total=total)
            progress.update(bars[label], completed=done, total=total)

        yield on_progress


_debug = False  # --debug anywhere on the command line: full tracebacks and Prefect's error logs


@app.callback()
def _root(
    debug: Annotated[
        bool, typer.Option("--debug", help="show tracebacks and Prefect's error logs (also accepted after the command)")
    ] = False,
) -> None:
    """Adaptive Layered VIX Hedge: ingest market data, compute and publish hedge signals."""
    global _debug
    _debug = _debug or debug


def _parse_date(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date; expected YYYY-MM-DD", param_hint=name) from None


def _require_warehouse(path: Path) -> None:
    if not path.is_file():
        _fail(f"no warehouse at {path}: run `alvh run` first")


def _session_or_latest(con: Any, date_: str | None) -> date:
    """The ``--date`` given, else the latest published session (exits when nothing is published)."""
    from alvh.warehouse.published import last_published_session

    day = _parse_date(date_, "--date") or last_published_session(con)
    if day is None:
        _fail("nothing is published yet: run `alvh run` first")
    return day


class _NoErrorLogs(logging.Filter):
    """Keeps Prefect's ERROR records (with their tracebacks) off the terminal: the CLI prints the
    error itself, in one line. They still reach the Prefect API (the run's logs)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno < logging.ERROR


def _fail(message: str, code: int = 1) -> NoReturn:
    """Print one error line (the message as text, never rich markup) and exit with ``code``."""
    from rich.markup import escape

    console.print(f"[red]error:[/red] {escape(message)}")
    raise typer.Exit(code)


@contextmanager
def _writing_job(settings: Settings, export: bool = True) -> Iterator[None]:
    """A writing job's frame: first the run lock (another job is waited for ``lock_timeout_s``,
    then named by its command), and only then, before any work, the warehouse opens for writing (a
    reader holding it — a notebook, a BI tool — is waited for and named by its program) and the
    export folder can be written (each failure one line saying what to do)."""
    from alvh.warehouse.connection import check_writable, run_lock
    from alvh.warehouse.export import check_export_dir

    with run_lock(settings.warehouse, settings.lock_timeout_s):
        check_writable(settings.warehouse, settings.lock_timeout_s)
        if export:
            check_export_dir(settings.export_dir)
        yield


def _quiet_prefect() -> None:
    """Before a command that runs flows: quiet Prefect's terminal output, and bind its ephemeral
    API server (if one is needed) to this process, so a killed run leaves no server behind."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    import prefect.main  # noqa: F401 - configures Prefect's logging, so its handlers exist
    from prefect.logging.handlers import PrefectConsoleHandler

    from alvh.pipeline.server_guard import bind_ephemeral_server

    bind_ephemeral_server()
    if _debug:
        return
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)  # each retry; the outcome is reported
    known = logging.Logger.manager.loggerDict.values()
    loggers = [logging.getLogger(), *(lg for lg in known if isinstance(lg, logging.Logger))]
    for logger in loggers:
        for handler in logger.handlers:
            if isinstance(handler, PrefectConsoleHandler) and not any(
                isinstance(f, _NoErrorLogs) for f in handler.filters
            ):
                handler.addFilter(_NoErrorLogs())


@app.command()
def ingest(
    source_dir: Annotated[
        Path | None,
        typer.Option("--source-dir", help="read files from this folder instead of HTTP (ALVH_SOURCE_DIR)"),
    ] = None,
    warehouse: WarehouseOpt = None,
    start: Annotated[str | None, typer.Option(help="skip VX contracts expiring before this date")] = None,
    end: Annotated[str | None, typer.Option(help="the date treated as today (default: today, New York)")] = None,
    http: Annotated[bool, typer.Option("--http", help="force the public HTTP endpoints")] = False,
    accept_revisions: Annotated[
        list[str] | None,
        typer.Option(
            "--accept-revisions",
            help="apply this file's suspect revisions on purpose (file name or path; repeatable); "
            "who and when are recorded in meta.revision",
        ),
    ] = None,
) -> None:
    """Load CBOE, CFE, breadth and rate data into the warehouse and rebuild staging.

    A file that would revise too much stored history is refused whole (exit 1, the other files
    load); `--accept-revisions FILE` applies it on purpose."""
    from alvh.core.settings import load_settings

    settings = load_settings(warehouse=warehouse, source_dir=source_dir)
    source = "http" if http else (str(settings.source_dir) if settings.source_dir else "http")
    with progress_bars(18) as on_progress:
        try:
            with _writing_job(settings, export=False), reporting(on_progress):
                _quiet_prefect()
                from alvh.flows.ingest import ingest_flow

                summary = ingest_flow(
                    source=source,
                    start=_parse_date(start, "--start"),
                    end=_parse_date(end, "--end"),
                    settings=settings,
                    accept_revisions=accept_revisions or None,
                )
        except AlvhError as exc:
            _fail(str(exc))
    table = Table(title=f"ingest {summary.run_id} → {settings.warehouse}")
    rows = summary.by_family()
    for col in rows[0] if rows else []:
        table.add_column(col, justify="right" if col != "family" else "left")
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    out_console().print(table)
    for name, note in summary.staging_notes.items():
        if note:
            out_console().print(f"{name}: {note}")


@app.command()
def indicators(
    warehouse: WarehouseOpt = None,
    last: Annotated[int, typer.Option(min=1, help="how many of the latest sessions to print (at least 1)")] = 10,
) -> None:
    """Rebuild marts.indicators_daily from the warehouse and print the latest sessions."""
    from alvh.core.settings import load_settings
    from alvh.pipeline.indicators import build_indicators_mart
    from alvh.pipeline.params import indicator_params
    from alvh.warehouse.connection import open_warehouse

    settings = load_settings(warehouse=warehouse)
    try:
        with open_warehouse(settings.warehouse) as con:
            frame = build_indicators_mart(con, indicator_params(settings))
    except AlvhError as exc:
        _fail(str(exc))
    if frame.is_empty():
        console.print("[yellow]the warehouse holds no VIX history yet: run `alvh ingest` first[/yellow]")
        raise typer.Exit(1)
    out_console().print(indicators_table(frame.tail(last), f"marts.indicators_daily — {frame.height} sessions"))


def indicators_table(frame: pl.DataFrame, title: str) -> Table:
    """The columns a trader scans: VIX, MACD, breadth RSI, the curve, regime, data flags."""
    table = Table(title=title)
    spec = [
        ("session", "session_date", "{}"),
        ("VIX", "vix_close", "{:.2f}"),
        ("MACD hist", "macd_hist", "{:+.2f}"),
        ("cross", "macd_cross", "{:+d}"),
        ("A/D RSI", "ad_rsi", "{:.1f}"),
        ("M1", "m1_forward", "{:.2f}"),
        ("M2", "m2_forward", "{:.2f}"),
        ("M3", "m3_forward", "{:.2f}"),
        ("contango", "contango", "{:+.1%}"),
        ("β1/β2/β3", None, ""),
        ("regime", "regime", "{}"),
        ("flags", None, ""),
    ]
    for head, _, _ in spec:
        table.add_column(head, justify="left" if head in ("session", "regime", "flags") else "right")
    for row in frame.iter_rows(named=True):
        cells = []
        for _head, col, fmt in spec:
            if col is None and _head.startswith("β"):
                cells.append("/".join(f"{row[f'beta_{i}']:.2f}" for i in (1, 2, 3)))
            elif col is None:
                flags = []
                if row["breadth_missing"]:
                    flags.append("no breadth")
                interpolated = [f"M{i}" for i in (1, 2, 3) if row.get(f"m{i}_forward_source") == "interpolated"]
                if interpolated:
                    flags.append("~ interpolated " + "/".join(interpolated))
                elif not row["term_structure_complete"]:
                    flags.append("curve incomplete")
                cells.append(", ".join(flags) or "ok")
            else:
                v = row[col]
                mark = "~" if col.endswith("_forward") and row.get(f"{col}_source") == "interpolated" else ""
                cells.append("—" if v is None else mark + fmt.format(v))
        table.add_row(*cells)
    return table


ExportOpt = Annotated[Path | None, typer.Option("--export-dir", help="CSV/Parquet exports (ALVH_EXPORT_DIR)")]
signals_app = typer.Typer(no_args_is_help=True, help="Read the published signals")
app.add_typer(signals_app, name="signals")
positions_app = typer.Typer(no_args_is_help=True, help="The hedge book the signals start from")
app.add_typer(positions_app, name="positions")
orders_app = typer.Typer(no_args_is_help=True, help="The night's tickets, for the broker")
app.add_typer(orders_app, name="orders")
quotes_app = typer.Typer(no_args_is_help=True, help="Real end-of-day option quotes (Cboe DataShop files)")
app.add_typer(quotes_app, name="quotes")


@orders_app.command("export")
def orders_export(
    date_: Annotated[str | None, typer.Option("--date", help="session (default: the latest published)")] = None,
    fmt: Annotated[str, typer.Option("--format", help="ibkr-basket (TWS BasketTrader) or csv")] = "ibkr-basket",
    out: Annotated[Path | None, typer.Option("--out", help="file to write (default: <export_dir>/orders/)")] = None,
    force: Annotated[
        bool, typer.Option("--force", help="write tickets on contracts already expired (refused otherwise)")
    ] = False,
    warehouse: WarehouseOpt = None,
    export_dir: ExportOpt = None,
) -> None:
    """Write a session's tickets as a broker basket: limit = model price ± order_limit_offset.
    Warns for a stale session and one that is not the latest; refuses expired contracts unless --force."""
    from alvh.core.settings import load_settings
    from alvh.pipeline.orders import FORMATS, default_out, export_orders, order_warnings
    from alvh.warehouse.connection import connect
    from alvh.warehouse.export import check_export_dir
    from alvh.warehouse.published import today_new_york

    settings = load_settings(warehouse=warehouse, export_dir=export_dir)
    if fmt not in FORMATS:
        _fail(f"--format {fmt!r} is not one of {', '.join(FORMATS)}", 2)
    _require_warehouse(settings.warehouse)
    try:
        with connect(settings.warehouse, read_only=True, wait_s=settings.lock_timeout_s) as con:
            day = _session_or_latest(con, date_)
            if out is None:
                check_export_dir(settings.export_dir)
            path = out or default_out(settings.export_dir, day, fmt)
            if path.is_dir():  # a folder given: the default file name inside it
                path = path / default_out(settings.export_dir, day, fmt).name
            n = export_orders(
                con,
                day,
                fmt,
                path,
                settings.order_limit_offset,
                refuse_expired_on=None if force else today_new_york(),
            )
            warnings = order_warnings(con, day)
            from alvh.warehouse.published import next_event_on

            event, _ = next_event_on(con, day)
    except AlvhError as exc:
        _fail(str(exc))
    from rich.markup import escape

    for w in warnings:
        console.print(f"[yellow]warning:[/yellow] {escape(w)}", highlight=False)
    from alvh.core.calendar import next_session

    out_console().print(
        f"{n} ticket(s) of {day} written to {path} ({fmt}); limits meant for the session of {next_session(day)}",
        markup=False,
        highlight=False,
    )
    if event:
        out_console().print(f"next event: {event}", markup=False)


@positions_app.command("import")
def positions_import(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV: contract_expiry,strike,qty[,avg_cost]; or symbol,qty[,avg_cost] with OCC symbols; "
            "or an IBKR Flex Query positions CSV"
        ),
    ],
    as_of: Annotated[str | None, typer.Option("--as-of", help="first session they apply to (default: today)")] = None,
    spx_only: Annotated[
        bool, typer.Option("--spx-only", help="import a broker file's SPX legs alone; keep the hedge book")
    ] = False,
    skip_other_underlyings: Annotated[
        bool,
        typer.Option(
            "--skip-other-underlyings",
            help="leave out options on other underlyings (AAPL …) of a broker file, counted and listed",
        ),
    ] = False,
    warehouse: WarehouseOpt = None,
) -> None:
    """Import actual VIX-call holdings; the next signal starts from them and reports the difference.
    An empty or all-zero file means flat."""
    from alvh.core.settings import load_settings
    from alvh.pipeline.positions import import_positions
    from alvh.warehouse.published import today_new_york

    settings = load_settings(warehouse=warehouse)
    day = _parse_date(as_of, "--as-of") or today_new_york()
    try:
        res = import_positions(settings, file, day, spx_only, skip_other_underlyings)
    except AlvhError as exc:
        _fail(f"{exc} — nothing was imported")
    if res.other_underlyings:
        listed = ", ".join(f"line {n} {sym}" for n, sym in res.other_underlyings[:10])
        more = f" and {len(res.other_underlyings) - 10} more" if len(res.other_underlyings) > 10 else ""
        out_console().print(
            f"left out {len(res.other_underlyings)} option line(s) on other underlyings: {listed}{more}",
            markup=False,
            highlight=False,
        )
    when = f"the signal for {res.applies_from} starts from them"
    if res.moved_from is not None:
        when += f" ({res.moved_from} is not after the last published session, so they apply from the session after it)"
    extra = ""
    if res.ic_legs is not None:
        extra += f"; {res.ic_legs.height} SPX legs replace the model IC"
    if res.skipped:
        extra += f"; {res.skipped} line(s) of other asset classes left out"
    if res.hedge_kept:
        out_console().print(f"imported the SPX legs alone (the hedge book is kept){extra}; {when}")
        return
    if res.holdings.is_empty():
        hint = (
            " (a broker file without VIX calls: --spx-only imports its SPX legs alone)"
            if res.ic_legs is not None
            else ""
        )
        out_console().print(f"imported a flat book (no contracts held){hint}{extra}; {when}")
        return
    held = f"{res.holdings['qty'].sum()} contracts at {res.holdings.height} expiry/strike pair(s)"
    out_console().print(f"imported {held}{extra}; {when}")


@quotes_app.command("import")
def quotes_import(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="Cboe DataShop Option EOD Summary files: a CSV (with or without calcs), a ZIP of them, "
            "or Cboe's package (a ZIP of ZIPs)"
        ),
    ],
    accept_revisions: Annotated[
        list[str] | None,
        typer.Option(
            "--accept-revisions",
            help="apply this file's suspect revisions of stored quotes on purpose (file name or path; "
            "repeatable); who and when are recorded in meta.revision",
        ),
    ] = None,
    warehouse: WarehouseOpt = None,
) -> None:
    """Load end-of-day option quotes into raw.option_quote and staging.option_quote; print per file
    the rows kept, quarantined and refused and the quote dates covered. A refused file (exit 1)
    writes nothing; the others still load."""
    from alvh.core.settings import load_settings
    from alvh.pipeline.quotes import import_quotes

    settings = load_settings(warehouse=warehouse)
    try:
        result = import_quotes(settings, files, accept_revisions or ())
    except AlvhError as exc:
        _fail(str(exc))
    for line in quotes_report_lines(result):
        out_console().print(line, markup=False, highlight=False, soft_wrap=True)
    refusals = result.refusals
    if refusals:
        from alvh.pipeline.wiring import brief_failure

        shown = "; ".join(brief_failure(m.message or m.name) for m in refusals[:3])
        more = f"; … and {len(refusals) - 3} more" if len(refusals) > 3 else ""
        _fail(f"{len(refusals)} file(s) refused, nothing of them written (the others loaded): {shown}{more}")


def quotes_report_lines(result: Any) -> list[str]:
    """Per given file: rows kept, quarantined, refused and the quote dates; per CSV member of a
    ZIP the same; the ZIP members left out; the staging rebuild."""

    def dates(ds: list[date]) -> str:
        if not ds:
            return "none"
        return ", ".join(map(str, ds)) if len(ds) <= 3 else f"{ds[0]} → {ds[-1]} ({len(ds)} dates)"

    def counts(kept: int, quarantined: int, refused: int) -> str:
        return f"{kept:,} rows kept, {quarantined:,} quarantined, {refused:,} refused"

    def word(status: str) -> str:
        return "refused" if status == "failed" else status

    lines = []
    for f in result.files:
        one = len(f.members) == 1 and not f.ignored and f.members[0].name == Path(f.path).name
        status = f" ({word(f.members[0].status)})" if one else ""
        lines.append(
            f"{f.path}{status}: {counts(f.total('kept'), f.total('quarantined'), f.total('refused'))}; "
            f"quote dates {dates(f.dates)}"
        )
        for m in [] if one else f.members:
            lines.append(
                f"  {m.name} ({word(m.status)}): {counts(m.kept, m.quarantined, m.refused)}; "
                f"quote dates {dates(m.dates)}"
            )
        for name in f.ignored:
            lines.append(f"  {name}: ignored")
    if result.staging_note:
        lines.append(f"staging.option_quote rebuilt for {dates(result.staged_dates)}: {result.staging_note}")
    if result.published_dates:
        first = result.published_dates[0]
        lines.append(
            f"already published on the model: {dates(result.published_dates)} — `alvh backfill --start {first}` "
            "re-prices it (and the sessions after it) on these quotes; the next `alvh run` uses them for its session"
        )
    return lines


@app.command()
def run(
    as_of: Annotated[str | None, typer.Option("--as-of", help="session to signal (default: today, New York)")] = None,
    source_dir: Annotated[Path | None, typer.Option("--source-dir", help="read files from this folder")] = None,
    warehouse: WarehouseOpt = None,
    export_dir: ExportOpt = None,
) -> None:
    """The daily job: ingest → indicators → signals → publish → export, then print the plan."""
    from alvh.core.settings import load_settings

    settings = load_settings(warehouse=warehouse, source_dir=source_dir, export_dir=export_dir)
    day = _parse_date(as_of, "--as-of")
    started = False
    try:
        with _writing_job(settings):
            _quiet_prefect()
            from alvh.flows.daily import daily_flow

            started = True
            summary = daily_flow(
                as_of=day,
                source=str(settings.source_dir) if settings.source_dir else "http",
                settings=settings,
            )
    except AlvhError as exc:
        from alvh.core.errors import ExportError, IngestIncomplete

        if isinstance(exc, IngestIncomplete):  # the plan went out: show it, then what failed
            _print_plan(settings.warehouse, exc.day)
        elif isinstance(exc, ExportError) and started:  # published, then an export or the page failed
            from alvh.core.calendar import today_new_york

            if _print_plan(settings.warehouse, day or today_new_york()):
                _fail(f"the signal was published (plan above), but writing its files failed: {exc}")
        _fail(str(exc))
    if summary.status == "no session":
        out_console().print(f"{summary.as_of} is not an NYSE session: no signal.")
        return
    if summary.signal is not None:
        out_console().print(signal_panel(summary.signal, summary.layers))
    out_console().print(
        f"[dim]{summary.status}: {len(summary.sessions)} session(s); exports in {settings.export_dir}[/dim]"
    )
    if summary.page is not None:
        out_console().print(f"[dim]daily page: {summary.page}[/dim]")


@app.command()
def backfill(
    start: Annotated[str, typer.Option(help="first session")],
    end: Annotated[str | None, typer.Option(help="last session (default: the last with data)")] = None,
    warehouse: WarehouseOpt = None,
    export_dir: ExportOpt = None,
) -> None:
    """Signals for every session in a range from data already in the warehouse (no ingest); a range
    ending before the last published session is carried forward to it so positions carry."""
    from alvh.core.settings import load_settings

    settings = load_settings(warehouse=warehouse, export_dir=export_dir)
    first = _parse_date(start, "--start")
    assert first is not None
    with progress_bars(8) as on_progress:
        try:
            with _writing_job(settings), reporting(on_progress):
                _quiet_prefect()
                from alvh.flows.backfill import backfill_flow

                summary = backfill_flow(first, _parse_date(end, "--end"), settings=settings)
        except AlvhError as exc:
            _fail(str(exc))
    s = summary.sessions
    carried = f" (carried forward to {summary.extended_to} so positions carry)" if summary.extended_to else ""
    out_console().print(
        f"{len(s)} sessions {s[0]} → {s[-1]}{carried} "
        f"({'published' if summary.published else 'unchanged'}); stale sessions: {summary.stale}; "
        f"orders: {summary.orders}; daily pages rewritten: {len(summary.pages)}"
    )


@app.command()
def page(
    date_: Annotated[str | None, typer.Option("--date", help="session (default: the latest published)")] = None,
    warehouse: WarehouseOpt = None,
    export_dir: ExportOpt = None,
) -> None:
    """Rebuild a session's daily HTML page (and the index) from the warehouse."""
    from alvh.core.settings import load_settings
    from alvh.pipeline.page import write_page
    from alvh.warehouse.connection import connect
    from alvh.warehouse.export import check_export_dir

    settings = load_settings(warehouse=warehouse, export_dir=export_dir)
    _require_warehouse(settings.warehouse)
    try:  # read-only: a job writing the warehouse is waited for lock_timeout_s, then named
        with connect(settings.warehouse, read_only=True, wait_s=settings.lock_timeout_s) as con:
            day = _session_or_latest(con, date_)
            check_export_dir(settings.export_dir)
            path = write_page(con, settings.export_dir.resolve(), day, settings.page_keep_sessions)
    except AlvhError as exc:
        _fail(str(exc))
    out_console().print(f"daily page for {day}: {path}")


@signals_app.command("show")
def signals_show(
    date_: Annotated[str | None, typer.Option("--date", help="session (default: the latest published)")] = None,
    warehouse: WarehouseOpt = None,
    export_dir: ExportOpt = None,
) -> None:
    """Print a session's hedge plan: one line per layer, with the reason."""
    from alvh.core.errors import WarehouseLocked
    from alvh.core.settings import load_settings
    from alvh.warehouse.connection import connect

    settings = load_settings(warehouse=warehouse, export_dir=export_dir)
    wanted = _parse_date(date_, "--date")
    if not settings.warehouse.exists():
        _fail(
            f"no warehouse at {settings.warehouse}: run `alvh run` (or `alvh ingest`) first, "
            "or point --warehouse / ALVH_WAREHOUSE at yours"
        )
    try:
        con = connect(settings.warehouse, read_only=True)
    except WarehouseLocked:
        # a run holds the warehouse for writing: read the last exported plan instead
        sig, layers = _from_exports(settings.export_dir, wanted)
        out_console().print(signal_panel(sig, layers))
        out_console().print("[dim](read from the exports: the warehouse is busy with a run)[/dim]")
        return
    from alvh.warehouse.published import last_published_session, session_plan

    with con:
        day = wanted or last_published_session(con)
        plan = session_plan(con, day) if day is not None else None
        if plan is None:
            from rich.markup import escape

            from alvh.core.calendar import today_new_york
            from alvh.warehouse.published import unpublished_message

            if day is None:
                console.print("[yellow]nothing is published yet[/yellow]: run `alvh run` (or `alvh backfill`)")
            else:
                console.print(f"[yellow]{escape(unpublished_message(con, day, today_new_york()))}[/yellow]")
            raise typer.Exit(1)
    out_console().print(signal_panel(*plan))


def _print_plan(warehouse: Path, day: date) -> bool:
    """Print ``day``'s published plan from the warehouse; False (printing nothing) if it is not there."""
    import duckdb

    from alvh.warehouse.published import session_plan

    try:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            plan = session_plan(con, day)
    except duckdb.Error:
        return False
    if plan is not None:
        out_console().print(signal_panel(*plan))
    return plan is not None


def _from_exports(export_dir: Path, wanted: date | None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    base = export_dir / "current"
    sig_path, lay_path = base / "hedge_signal_daily.csv", base / "layer_adjustment.csv"
    if not sig_path.exists():
        _fail(f"the warehouse is busy and there are no exports in {export_dir}")
    sig = pl.read_csv(sig_path, try_parse_dates=True)
    day: Any = wanted or sig["session_date"].max()
    rows = sig.filter(pl.col("session_date") == day).to_dicts()
    if not rows:
        console.print(f"[yellow]no exported signal for {day}[/yellow]")
        raise typer.Exit(1)
    layers = pl.read_csv(lay_path, try_parse_dates=True).filter(pl.col("session_date") == day).sort("layer")
    return rows[0], layers.to_dicts()


def signal_panel(signal: dict[str, Any], layers: list[dict[str, Any]]) -> Table:
    """Today's actions, readable in ten seconds (every text cell escaped: data, never rich markup)."""
    from rich.markup import escape

    def num(v: object, fmt: str) -> str:
        return "—" if v is None else fmt.format(v)

    head = (
        f"{signal['session_date']}  VIX {num(signal['vix_close'], '{:.2f}')}  regime {signal['regime']}  "
        f"ratio {num(signal['ratio_current'], '{:.2f}')} → r* {num(signal['ratio_target'], '{:.2f}')}  "
        f"|V_ic| ${num(signal['ic_short_vega_usd'], '{:,.0f}')}/pt  break-evens "
        f"{num(signal['breakeven_low'], '{:,.0f}')}–{num(signal['breakeven_high'], '{:,.0f}')}"
    )
    if signal["stale"]:
        head = f"STALE — NO TRADES: {signal['stale_reason']}\n" + head
    if signal["breadth_missing"]:
        head += "  (breadth missing: RSI 50)"
    if signal.get("next_event"):  # information only: no rule reads it
        head += f"\nnext event: {signal['next_event']}"
    note = signal.get("positions_note")  # the book it started from, when imported holdings apply
    table = Table(
        title=escape(head),
        title_justify="left",
        caption=escape(f"positions: {note}") if note else None,
        caption_justify="left",
    )
    for col in ("layer", "expiry", "strike", "price", "held", "model", "target", "trade", "action", "reason"):
        table.add_column(
            col, justify="right" if col in ("layer", "strike", "price", "held", "model", "target", "trade") else "left"
        )
    for r in layers:
        table.add_row(
            str(r["layer"]),
            str(r["contract_expiry"]),
            num(r["strike"], "{:g}C"),
            "—" if r.get("model_price") is None else f"{r['model_price']:.2f} {r.get('price_source') or 'model'}",
            str(r["current_qty"]),
            num(r["model_target_qty"], "{}"),
            str(r["target_qty"]),
            f"{r['trade_qty']:+d}",
            r["action"],
            escape(str(r["reason"])),  # a reason is text, never rich markup
        )
    return table


def _terminated(signum: int, frame: object) -> None:
    """SIGTERM during a research run: unwind like Ctrl-C, so the Dask workers are stopped."""
    raise KeyboardInterrupt("SIGTERM")


@contextmanager
def _sigint_for_this_process_only() -> Iterator[None]:
    """Ctrl-C signals the terminal's whole process group: Prefect's API server would die under the
    run (which then retried it for minutes). Children started inside this block inherit a blocked
    SIGINT; this process still gets it, through a thread that leaves it unblocked."""
    done = threading.Event()
    threading.Thread(target=done.wait, name="alvh-sigint", daemon=True).start()
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
        done.set()


@app.command()
def backtest(
    start: Annotated[str | None, typer.Option(help="first session (default: backtest_start, 2007-01-03)")] = None,
    end: Annotated[str | None, typer.Option(help="last session (default: the last in the warehouse)")] = None,
    strategy: Annotated[list[str] | None, typer.Option("--strategy", help="strategy name (repeatable)")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="folder for the report and exports")] = None,
    sweep: Annotated[
        Path | None, typer.Option("--sweep", help="TOML sweep (grid / random / configs) of hedge and cost settings")
    ] = None,
    walk_forward: Annotated[
        bool, typer.Option("--walk-forward", help="choose settings per training window, test on the next")
    ] = False,
    train_years: Annotated[int, typer.Option("--train-years", min=1, help="walk-forward training window")] = 3,
    test_years: Annotated[int, typer.Option("--test-years", min=1, help="walk-forward test window")] = 1,
    objective: Annotated[
        str,
        typer.Option(
            "--objective",
            help="walk-forward choice: net, calmar, max_drawdown, or a tail objective: cvar (worst 5 % of months), "
            "worst20 (worst 20-session loss), crisis (P&L over the named crisis windows)",
        ),
    ] = "net",
    grid: Annotated[
        Path | None, typer.Option("--grid", help="walk-forward grid (sweep TOML; default: a 27-point grid)")
    ] = None,
    timing_luck: Annotated[
        bool,
        typer.Option(
            "--timing-luck",
            help="replay every strategy with the IC calendar shifted -N … +N sessions (--max-shift) and report "
            "the distribution",
        ),
    ] = False,
    max_shift: Annotated[int, typer.Option("--max-shift", min=1, max=15, help="timing luck: largest shift")] = 15,
    wf_mode: Annotated[
        str,
        typer.Option(
            "--walk-forward-mode",
            help="path (default: one out-of-sample path, the IC and hedge book carried from fold to fold) "
            "or restart (each test window a backtest started flat)",
        ),
    ] = "path",
    dask_address: Annotated[
        str | None, typer.Option("--dask-address", help="existing Dask scheduler, e.g. tcp://HOST:8786")
    ] = None,
    engine: Annotated[str, typer.Option("--engine", help="compiled (default) or readable (reference)")] = "compiled",
    heartbeat_timeout: Annotated[
        float,
        typer.Option(
            "--heartbeat-timeout",
            min=1.0,
            help="sweep / walk-forward on Dask: stop with an error when no worker has been alive this many seconds",
        ),
    ] = 60.0,
    warehouse: WarehouseOpt = None,
) -> None:
    """Replay the hedge over history: strategies compared, event study, tables, report; or a
    sweep (--sweep FILE), or a walk-forward study (--walk-forward). A sweep or walk-forward runs
    on Dask with a progress bar; Ctrl-C or SIGTERM stops it and its workers within seconds."""
    _quiet_prefect()
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")  # the local cluster's start/stop chatter
    from alvh.core.settings import load_settings
    from alvh.flows.backtest import backtest_flow
    from alvh.flows.sweep import sweep_flow

    settings = load_settings(warehouse=warehouse, dask_address=dask_address)
    objectives = ("net", "calmar", "max_drawdown", "cvar", "worst20", "crisis")
    if objective not in objectives:
        _fail(f"--objective must be one of {', '.join(objectives)}, got {objective!r}", 2)
    if engine not in ("compiled", "readable"):
        _fail(f"--engine must be compiled or readable, got {engine!r}", 2)
    if wf_mode not in ("path", "restart"):
        _fail(f"--walk-forward-mode must be path or restart, got {wf_mode!r}", 2)
    research = sweep is not None or walk_forward
    if research:  # every configuration is validated before any work (no flow, no cluster yet)
        from alvh.pipeline.backtest_sweep import dask_session, read_sweep

        try:
            if sweep is not None:
                read_sweep(sweep, settings)
            elif grid is not None:
                read_sweep(grid, settings)
        except AlvhError as exc:
            _fail(str(exc))
    previous_term = signal.signal(signal.SIGTERM, _terminated) if research else None
    with progress_bars(26) as on_progress:
        try:
            with (
                reporting(on_progress),
                _sigint_for_this_process_only() if research else contextlib.nullcontext(),
                dask_session(
                    settings.dask_address,
                    settings.sweep_workers,
                    heartbeat_timeout,
                    "sweep configurations" if sweep is not None else "walk-forward training",
                    start=False,  # started by the flow, once Prefect's server is up (they would compete)
                )
                if research
                else contextlib.nullcontext(),
            ):
                if sweep is not None:
                    result = sweep_flow(
                        str(sweep), _parse_date(start, "--start"), _parse_date(end, "--end"), settings=settings
                    )
                elif timing_luck:
                    from alvh.flows.timing_luck import timing_luck_flow

                    _, luck, luck_path = timing_luck_flow(
                        max_shift,
                        _parse_date(start, "--start"),
                        _parse_date(end, "--end"),
                        str(out) if out else None,
                        settings=settings,
                        strategies=strategy,
                    )
                elif walk_forward:
                    from alvh.flows.walk_forward import walk_forward_flow

                    wf, verdict, wf_path = walk_forward_flow(
                        train_years,
                        test_years,
                        objective,
                        str(grid) if grid else None,
                        _parse_date(start, "--start"),
                        _parse_date(end, "--end"),
                        str(out) if out else None,
                        settings=settings,
                        mode=wf_mode,
                    )
                else:
                    res = backtest_flow(
                        _parse_date(start, "--start"),
                        _parse_date(end, "--end"),
                        strategy,
                        str(out) if out else None,
                        settings=settings,
                        engine=engine,
                    )
        except AlvhError as exc:
            _fail(str(exc))
        except KeyboardInterrupt as exc:
            if not research:
                raise
            term = str(exc) == "SIGTERM"
            why = "terminated (SIGTERM)" if term else "interrupted"
            _fail(f"{why}: the run and its Dask workers were stopped", 143 if term else 130)
        finally:
            if previous_term is not None:
                signal.signal(signal.SIGTERM, previous_term)
    if sweep is not None:
        out_console().print(result.select("config", "total_pnl_net_usd", "max_drawdown_net_usd", "calmar_net"))
        return
    if timing_luck:
        out_console().print(
            luck.filter(luck["measure"] == "pnl_net_usd").select("strategy", "unshifted", "median", "p10", "p90")
        )
        out_console().print(f"report: {luck_path}")
        return
    if walk_forward:
        out_console().print(
            wf.select(
                "fold", "strategy", "test_start", "settings", "is_pnl_net_usd", "oos_pnl_net_usd", "oos_calmar_net"
            )
        )
        out_console().print(verdict)
        out_console().print(f"report: {wf_path}")
        return
    table = Table(title=f"backtest {res.start} → {res.end} (net of costs, dollars)")
    cols = [
        ("strategy", "strategy", "{}"),
        ("total P&L", "total_pnl_net_usd", "{:,.0f}"),
        ("gross", "total_pnl_gross_usd", "{:,.0f}"),
        ("max DD", "max_drawdown_net_usd", "{:,.0f}"),
        ("hedge P&L", "hedge_pnl_usd", "{:,.0f}"),
        ("costs", "costs_usd", "{:,.0f}"),
        ("traded", "contracts_traded", "{:,}"),
        ("Calmar", "calmar_net", "{:.2f}"),
    ]
    for head, _, _ in cols:
        table.add_column(head, justify="left" if head == "strategy" else "right")
    for r in res.summary.to_dicts():
        table.add_row(*("—" if r[c] is None else f.format(r[c]) for _, c, f in cols))
    out_console().print(table)
    out_console().print(f"report: {(out or settings.backtest_out) / 'report.html'}")


@app.command()
def doctor(
    warehouse: WarehouseOpt = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="the date to check against (default: today)")] = None,
    export_dir: ExportOpt = None,
) -> None:
    """Is everything fresh and sound? One table; exit code 1 if anything needs attention."""
    from alvh.core.calendar import today_new_york
    from alvh.core.settings import alert_channels, load_settings
    from alvh.pipeline.doctor import deployment_check
    from alvh.warehouse.connection import connect
    from alvh.warehouse.doctor import Check, warehouse_checks

    settings = load_settings(warehouse=warehouse, export_dir=export_dir, check_alerts=False)
    day = _parse_date(as_of, "--as-of") or today_new_york()
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
    table = Table(title=f"alvh doctor — {settings.warehouse} — as of {day}")
    for col in ("check", "status", "detail"):
        table.add_column(col)
    for c in checks:
        colour = {"ok": "green", "attention": "red"}.get(c.status, "yellow")
        table.add_row(c.name, f"[{colour}]{c.status}[/{colour}]", c.detail)
    out_console().print(table)
    if any(c.status == "attention" for c in checks):
        raise typer.Exit(1)


def export_check(export_dir: Path) -> Any:
    """The export snapshot readers read: every file present with the digest recorded when it was
    written (each missing or corrupt file named)."""
    from alvh.warehouse.doctor import Check
    from alvh.warehouse.export import CURRENT, verify_snapshot

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


@app.command()
def serve() -> None:
    """Serve the scheduled deployment (cron in New York time, one run at a time) until stopped."""
    _quiet_prefect()
    from prefect import serve as prefect_serve

    from alvh.core.settings import load_settings
    from alvh.flows.deployment import daily_deployment

    settings = load_settings()
    out_console().print(
        f"serving alvh-daily: cron '{settings.daily_cron}' ({settings.schedule_timezone}), concurrency 1; "
        "Ctrl-C to stop"
    )
    try:
        prefect_serve(daily_deployment(settings))
    except KeyboardInterrupt:  # Ctrl-C is how a user stops it: one line, no traceback
        out_console().print("stopped: alvh-daily is no longer served")


@app.command("settings")
def settings_cmd(
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
        settings = load_settings(check_alerts=False)
    except ConfigError as exc:
        _fail(str(exc))
    for name, value in settings.model_dump(mode="json").items():
        typer.echo(f"{name} = {value!r}")
    bad = False
    for i, scheme, ok in alert_channels(settings):  # each channel by its scheme: the URL is a secret
        bad = bad or not ok
        typer.echo(f"alert channel {i}: {scheme} — {'valid' if ok else 'NOT VALID: Apprise cannot send to it'}")
    if bad:
        raise typer.Exit(1)


@app.command()
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


def main() -> None:  # pragma: no cover - console entry
    """Run the CLI. Errors print as one line (alvh's own errors say what to do); any other error
    names its type and suggests ``--debug``, which shows the full traceback instead."""
    global _debug
    from rich.markup import escape

    from alvh.core.memory import choose_numba_threads, keep_large_allocations_on_heap

    keep_large_allocations_on_heap()  # a process-wide choice: made here, at the entry point, never on import
    choose_numba_threads()  # numba's pool: the CPUs this process may use, unless NUMBA_NUM_THREADS says

    if "--debug" in sys.argv[1:]:
        _debug = True
        sys.argv = [a for a in sys.argv if a != "--debug"]
    try:
        app()
    except AlvhError as exc:
        if _debug:
            raise
        console.print(f"[red]error:[/red] {escape(str(exc))}")
        sys.exit(1)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/yellow]")
        sys.exit(130)
    except Exception as exc:
        if _debug:
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        console.print(
            f"[red]error:[/red] {type(exc).__name__}: {escape(first[:500])} "
            "[dim](rerun with --debug for the traceback)[/dim]"
        )
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
