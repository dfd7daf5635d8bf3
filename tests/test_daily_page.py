"""The daily page on real history: HTML written beside the exports, loading the one plotly.js file
the pages folder shares, checked in a real headless Chromium (Debian's ``chromium`` through
Playwright's Python API): no console error, no request leaves the folder, every plot renders, and
the orders table equals ``marts.layer_adjustment``. A screenshot is saved under ``test-artifacts/``.

2025-03-04 is chosen for its flags: the TradingView breadth row of that day is a quarantined
glitch (breadth missing) and the Mar-2025 VX contract is missing from the data (M1's forward is
interpolated)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest

from alvh.core.calendar import sessions_between
from alvh.pipeline.page import write_page
from alvh.pipeline.signals import run_batch
from alvh.transforms.signal import HedgeParams
from alvh.warehouse.connection import open_warehouse
from alvh.warehouse.daily_page import pages_present

START, DAY = date(2025, 2, 3), date(2025, 3, 4)
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
BROWSER_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def published(signal_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """A warehouse with 2025-02-03 → 2025-03-04 published (empty hedge book before), and its page."""
    base = tmp_path_factory.mktemp("page")
    db, export = base / "alvh.duckdb", base / "exports"
    shutil.copy(signal_warehouse, db)
    with open_warehouse(db) as con:
        run_batch(con, sessions_between(START, DAY), HedgeParams(), "page-test", "h", use_gx=False)
        write_page(con, export, START)
        write_page(con, export, DAY)
    yield db, export


def test_page_and_index_are_written_and_self_contained(published: tuple[Path, Path]) -> None:
    from alvh.report.page import PLOTLY_JS, plotly_js

    _, export = published
    page = export / "pages" / f"{DAY}.html"
    text = page.read_text()
    # issue 21: plotly.js was inlined in every page (4.87 MB a page); now one file per pages folder,
    # loaded by a relative src — the only tag that loads anything
    assert len(page.read_bytes()) <= 300_000, len(page.read_bytes())
    assert text.count("<script") == 2 + 4  # the shared library, its missing-file fallback, one per plot
    assert re.findall(r"<(?:script|link|img|iframe)[^>]+(?:src|href)=[\"']([^\"']*)", text) == [PLOTLY_JS]
    assert [p.name for p in (export / "pages").glob("*.js")] == [PLOTLY_JS]  # once, for both pages
    assert (export / "pages" / PLOTLY_JS).read_text(encoding="utf-8") == plotly_js()
    assert f'src="{PLOTLY_JS}"' in (export / "pages" / f"{START}.html").read_text()
    index = (export / "pages" / "index.html").read_text()
    assert f'href="{DAY}.html"' in index and f'href="{START}.html"' in index
    assert index.index(str(DAY)) < index.index(str(START))  # newest first
    # the data flags of the day, in words
    assert "breadth missing" in text and "forward" in text and "interpolated" in text
    # rebuilt from the same rows (`alvh page`), the page is the same bytes: a re-run changes no file,
    # and the shared script, already there and whole, is not written again
    db, _ = published
    shared = export / "pages" / PLOTLY_JS
    written_at = shared.stat().st_mtime_ns
    with duckdb.connect(str(db), read_only=True) as con:
        write_page(con, export, DAY)
    assert page.read_text() == text
    assert shared.stat().st_mtime_ns == written_at


def test_page_of_an_unpublished_session_names_what_is_published(published: tuple[Path, Path]) -> None:
    from alvh.core.errors import AlvhError

    db, export = published
    with duckdb.connect(str(db), read_only=True) as con, pytest.raises(AlvhError, match="2025-02-03 → 2025-03-04"):
        write_page(con, export, date(2025, 3, 5))


def test_pages_beyond_the_newest_sessions_kept_are_removed_but_never_the_one_just_written(
    published: tuple[Path, Path], tmp_path: Path
) -> None:
    from alvh.pipeline.page import pages_to_prune

    present = [(date(2025, 2, d), f"2025-02-0{d}.html") for d in (3, 4, 5, 6)]
    assert pages_to_prune(present, 2, date(2025, 2, 6)) == present[:2]
    assert pages_to_prune(present, 2, date(2025, 2, 3)) == present[1:2]  # an old page asked for stays
    assert pages_to_prune(present, 4, date(2025, 2, 6)) == [] == pages_to_prune(present, 9, date(2025, 2, 6))

    db, _ = published
    export = tmp_path / "exports"
    days = sessions_between(date(2025, 2, 24), DAY)  # 7 sessions
    with duckdb.connect(str(db), read_only=True) as con:
        for d in days[:5]:
            write_page(con, export, d)  # keep=0: every page stays
        assert [d for d, _ in pages_present(export)] == days[:5]
        write_page(con, export, days[5], keep=3)
        write_page(con, export, days[6], keep=3)
        assert [d for d, _ in pages_present(export)] == days[4:]
        write_page(con, export, days[0], keep=3)  # rebuilding an old page keeps it
        assert [d for d, _ in pages_present(export)] == [days[0], *days[4:]]
    index = (export / "pages" / "index.html").read_text()
    assert f'href="{days[1]}.html"' not in index and f'href="{days[0]}.html"' in index


@pytest.mark.process  # starts Chromium
def test_page_renders_in_headless_chromium(published: tuple[Path, Path]) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"no browser: {CHROMIUM} is absent (install it with .ci/install_browser); the page was not checked")
    from playwright.sync_api import sync_playwright

    from alvh.report.page import PLOTLY_JS

    db, export = published
    page_file = export / "pages" / f"{DAY}.html"
    with duckdb.connect(str(db), read_only=True) as con:
        mart = con.execute(
            "SELECT layer, contract_expiry, strike, printf('%.2f (%s)', model_price, price_source), current_qty, "
            "target_qty, trade_qty, action, reason "
            "FROM marts.layer_adjustment WHERE session_date = ? ORDER BY layer",
            [DAY],
        ).fetchall()
    errors: list[str] = []
    external: list[str] = []
    loaded: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: external.append(r.url) if not r.url.startswith(("file:", "data:")) else None)
            page.on("requestfinished", lambda r: loaded.append(r.url))
            page.goto(page_file.as_uri())
            page.wait_for_load_state("load")
            plots = page.eval_on_selector_all(
                ".plotly-graph-div", "els => els.map(e => [e.id, e.querySelectorAll('.main-svg').length])"
            )
            heat = page.eval_on_selector_all("#plot-payoff .hm, #plot-payoff image", "els => els.length")
            cells = page.eval_on_selector_all(
                "#orders tbody tr", "rows => rows.map(r => Array.from(r.cells).map(c => c.textContent))"
            )
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"daily-page-{DAY}.png"), full_page=True)
        finally:
            browser.close()
    assert errors == []
    assert external == []
    # offline from file://: the page and the folder's one plotly.js, nothing else
    assert sorted(loaded) == sorted([page_file.as_uri(), (page_file.parent / PLOTLY_JS).as_uri()])
    assert sorted(i for i, _ in plots) == ["plot-payoff", "plot-ratio", "plot-spx", "plot-vx-curve"]
    assert all(n >= 1 for _, n in plots), plots
    assert heat >= 3  # one heat map per horizon drawn
    shown = [
        (
            int(c[0]),
            date.fromisoformat(c[1]),
            None if c[2] == "—" else float(c[2].rstrip("C")),
            c[3],  # the price and its source, e.g. "0.53 (model)"
            int(c[4]),
            int(c[5]),
            int(c[6]),
            c[7],
            c[8],
        )
        for c in cells
    ]
    assert shown == mart
    assert (ARTIFACTS / f"daily-page-{DAY}.png").stat().st_size > 50_000


def test_cli_rebuilds_the_page_and_exports_the_orders(published: tuple[Path, Path], tmp_path: Path) -> None:
    """`alvh page` and `alvh orders export` on the published warehouse (the first session opens the ladder)."""
    from typer.testing import CliRunner

    from alvh.cli import app

    db, _ = published
    out = tmp_path / "exports"
    common = ["--warehouse", str(db), "--export-dir", str(out)]
    res = CliRunner().invoke(app, ["page", "--date", str(START), *common])
    assert res.exit_code == 0, res.output
    assert (out / "pages" / f"{START}.html").is_file() and (out / "pages" / "index.html").is_file()
    res = CliRunner().invoke(app, ["page", "--date", "2025-03-05", *common])
    assert res.exit_code == 1 and "no signal published for 2025-03-05" in res.output
    res = CliRunner().invoke(app, ["orders", "export", "--date", str(START), "--format", "csv", "--force", *common])
    assert res.exit_code == 0, res.output
    with duckdb.connect(str(db), read_only=True) as con:
        tickets = con.execute(
            "SELECT occ_symbol, side, qty FROM marts.hedge_order WHERE session_date = ? ORDER BY ticket", [START]
        ).fetchall()
    lines = (out / "orders" / f"{START}-csv.csv").read_text().splitlines()
    assert lines[0].startswith("session_date,ticket,occ_symbol,side,qty")
    assert [tuple(line.split(",")[2:5]) for line in lines[1:]] == [(o, s, str(q)) for o, s, q in tickets]
    assert tickets and all(o.startswith("VIX   25") and s == "BUY" for o, s, _ in tickets)  # opening the ladder
    res = CliRunner().invoke(app, ["orders", "export", "--date", str(START), "--format", "fix", *common])
    assert res.exit_code == 2 and "ibkr-basket" in res.output
    # issue (QA): raw NotADirectoryError / IsADirectoryError before
    folder = tmp_path / "baskets"
    folder.mkdir()
    res = CliRunner().invoke(app, ["orders", "export", "--date", str(START), "--out", str(folder), "--force", *common])
    assert res.exit_code == 0 and (folder / f"{START}-ibkr-basket.csv").is_file(), res.output
    a_file = tmp_path / "not-a-folder"
    a_file.write_text("x")
    for cmd in (["page", "--date", str(START)], ["orders", "export", "--date", str(START)]):
        res = CliRunner().invoke(app, [*cmd, "--warehouse", str(db), "--export-dir", str(a_file)])
        assert res.exit_code == 1 and "Error" not in res.output and "not-a-folder" in res.output, res.output


def test_a_stale_session_page_says_so_without_risk_or_grid() -> None:
    """Pure rendering: a stale day has no strikes, no book risk, no grid — the page says why."""
    from alvh.report.page import PageData, render_page

    layers = [
        {
            "layer": i,
            "contract_expiry": date(2025, 3, 18),
            "strike": None,
            "current_qty": 10,
            "target_qty": 10,
            "trade_qty": 0,
            "action": "HOLD",
            "reason": "stale input, no trades: VVIX has no close for this session",
            "forward_source": None,
        }
        for i in (1, 2, 3)
    ]
    signal = {
        "stale": True,
        "stale_reason": "VVIX has no close for this session",
        "actions_summary": "STALE — no trades",
    }
    text = render_page(PageData(session=DAY, signal=signal, layers=layers, freshness={"VVIX close": date(2025, 3, 3)}))
    assert "STALE — no trades: VVIX has no close for this session" in text
    assert "VVIX close: last value 2025-03-03, older than the session" in text
    assert "No book risk for this session" in text and "plotly-graph-div" not in text
    assert text.count("<td>—</td>") == 6  # no strike and no price on a stale day


def test_date_axes_tick_days_not_clock_times() -> None:
    """Issue (QA): a three-session history was ticked 00:00, 06:00, 12:00, 18:00."""
    import polars as pl

    from alvh.report.page_figures import DAY_MS, ratio_figure

    days = sessions_between(date(2026, 1, 5), date(2026, 1, 7))
    short = pl.DataFrame(
        {"session_date": days, "ratio_current": [0.0, 0.5, 0.6], "ratio_target": [0.6] * 3, "regime": ["calm"] * 3}
    )
    axis = ratio_figure(short).layout.xaxis
    assert axis.dtick == DAY_MS and axis.tickformat == "%b %d, %Y"
    year = sessions_between(date(2025, 1, 6), date(2026, 1, 7))
    long = pl.DataFrame(
        {
            "session_date": year,
            "ratio_current": [0.5] * len(year),
            "ratio_target": [0.6] * len(year),
            "regime": ["calm"] * len(year),
        }
    )
    axis = ratio_figure(long).layout.xaxis
    assert axis.dtick is None and axis.tickformat == "%b %Y"


def test_the_shared_plotly_js_is_written_once_and_repaired_when_cut(
    published: tuple[Path, Path], tmp_path: Path
) -> None:
    """One plotly.js per pages folder: written with the first page, not again while whole, rewritten
    (atomically) when missing or different — e.g. cut short by a full disk or by hand."""
    from alvh.report.page import PLOTLY_JS, plotly_js
    from alvh.warehouse.daily_page import write_if_changed

    db, _ = published
    export = tmp_path / "exports"
    shared = export / "pages" / PLOTLY_JS
    with duckdb.connect(str(db), read_only=True) as con:
        write_page(con, export, START)
        assert shared.read_text(encoding="utf-8") == plotly_js()
        assert write_if_changed(shared, plotly_js()) is False  # whole: left alone
        shared.write_bytes(shared.read_bytes()[:1000])
        write_page(con, export, DAY)
    assert shared.read_text(encoding="utf-8") == plotly_js()
    assert sorted(p.name for p in (export / "pages").iterdir()) == sorted(
        [f"{START}.html", f"{DAY}.html", "index.html", PLOTLY_JS]
    )  # no temporary file left
