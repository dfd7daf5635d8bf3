"""Issue 21: the GX Data Docs pages logged "$ is not defined" in Chromium — three times on the
index, once on each validation page — and the index's two tables were empty.

The cause: GX's templates load jQuery (with Bootstrap, bootstrap-table, Font Awesome) from CDNs;
``offline_html`` removed those external scripts so the docs load nothing from the network, but the
pages' own inline scripts still call ``$`` (the index fills its tables with
``$('#…').bootstrapTable({columns, data})``; the tutorial footer; the walkthrough modal of a
validation page). Now every inline jQuery script is replaced: the index tables are plain HTML rows,
the "Failed Only" filter is plain JS, the rest is dropped. Checked on real Data Docs in Chromium."""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from alvh.schemas.gx_suites import offline_html

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHROMIUM = Path("/usr/bin/chromium")
BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]

# The shape GX 1.24 writes (index.html.j2 / bootstrap_table.j2), cut to one row.
GX_INDEX = """<html><head><script src="https://code.jquery.com/jquery-3.7.1.min.js"></script></head><body>
<div id="t-toolbar" class="ml-1">
    <button class="btn" onclick="clearTableFilters('t')">Clear Filters</button>
</div>
<table
  id="t"
  class="table-sm"
  data-toggle="table"
>
</table>
<script>
  function clearTableFilters(tableId) {
    $(`#${tableId}`).bootstrapTable('clearFilterControl');
  }
</script>
<script>
  $('#t').bootstrapTable(
    Object.assign(
      {
        columns: [{'field': 'validation_success', 'title': 'Status'}, {'field': 'run_time', 'title': 'Run Time'}],
        data: [{'validation_success': '\\n <i class="fas fa-check-circle"></i>\\n', 'run_time': '2026-01-07 22:01:02 UTC', '_run_time_sort': 1767823262.5, '_table_row_link_path': 'validations/x/run/marts-x.html', '_validation_success_text': 'Failed'}],
        toolbar: '#t-toolbar'
      },
      {'search': 'true'}
    )
  );
    $(document).ready(function() { $("#t").on('click-row.bs.table', function(e, row, $element) {}) });
</script>
<script>
  if (sessionStorage.getItem("showCta") !== "false") {
    $('#ge-cta-footer').removeClass("invisible")
  }
</script>
<script>var kept = 1;</script>
</body></html>"""


def test_the_index_tables_become_plain_rows_and_no_script_needs_jquery() -> None:
    out = offline_html(GX_INDEX)
    assert "jquery" not in out and "bootstrapTable" not in out and "$(" not in out
    assert "Clear Filters" not in out  # its filters need bootstrap-table
    rows = re.findall(r"<tr>(.*?)</tr>", out, re.DOTALL)
    assert rows[0] == "<th>Status</th><th>Run Time</th>"
    # the status is a word (the icon font is not offline) linking to the validation page
    assert rows[1] == '<td><a href="validations/x/run/marts-x.html">Failed</a></td><td>2026-01-07 22:01:02 UTC</td>'
    assert "<script>var kept = 1;</script>" in out  # a script without jQuery stays
    assert offline_html(out) == out  # idempotent: the docs are rewritten after every run


def test_the_validation_filter_works_without_jquery() -> None:
    page = (
        "<script>\n        try {\n          $('.ge-walkthrough-modal').modal();\n        } catch(error) {}\n"
        "      </script><script>\n    function showAllValidations() {\n"
        '    $(".hide-succeeded-validation-target").fadeIn();\n  }\n    function hideSucceededValidations() {\n'
        '    $(".hide-succeeded-validation-target").fadeOut();\n  }\n</script>'
        '<label onclick="hideSucceededValidations()">Failed Only</label>'
    )
    out = offline_html(page)
    assert "$(" not in out and "modal" not in out
    assert "function hideSucceededValidations() { alvhShowValidations(false); }" in out
    assert out.count("<script>") == 1 and offline_html(out) == out


def test_a_static_path_gx_writes_one_folder_too_shallow_is_pointed_at_the_file(tmp_path: Path) -> None:
    """A validation page four folders down links ``../../../static/images/favicon.ico``: Chromium
    logged "Failed to load resource: net::ERR_FILE_NOT_FOUND" for it."""
    from alvh.schemas.gx_suites import fix_static_paths

    (tmp_path / "static" / "images").mkdir(parents=True)
    (tmp_path / "static" / "images" / "favicon.ico").write_bytes(b"ico")
    page = tmp_path / "validations" / "s" / "__none__" / "t" / "v.html"
    tag = '<link rel="shortcut icon" href="{}" type="image/x-icon"/>'
    fixed = fix_static_paths(tag.format("../../../static/images/favicon.ico"), page, tmp_path)
    assert fixed == tag.format("../../../../static/images/favicon.ico")
    assert fix_static_paths(fixed, page, tmp_path) == fixed  # a path that resolves stays
    index = tag.format("./static/images/favicon.ico")
    assert fix_static_paths(index, tmp_path / "index.html", tmp_path) == index


@pytest.fixture(scope="module")
def data_docs(signal_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real Data Docs: two sessions published with GX validation on a copy of the warehouse."""
    from alvh.core.calendar import sessions_between
    from alvh.pipeline.signals import run_batch
    from alvh.transforms.signal import HedgeParams
    from alvh.warehouse.connection import open_warehouse

    base = tmp_path_factory.mktemp("docs")
    db, docs = base / "alvh.duckdb", base / "data_docs"
    shutil.copy(signal_warehouse, db)
    with open_warehouse(db) as con:
        run_batch(con, sessions_between(date(2025, 3, 3), date(2025, 3, 4)), HedgeParams(), "docs", "h", docs_dir=docs)
    return docs


def listen(page: Page, errors: list[str], external: list[str]) -> None:
    """Collect the page's console errors, uncaught exceptions and requests that leave the disk."""
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: None if r.url.startswith(("file:", "data:")) else external.append(r.url))


@pytest.mark.process  # starts Chromium
def test_data_docs_open_offline_in_chromium_without_console_errors(data_docs: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"no browser: {CHROMIUM} is absent (install it with .ci/install_browser); the page was not checked")
    from playwright.sync_api import sync_playwright

    pages = sorted(data_docs.rglob("*.html"))
    validations = [p for p in pages if "validations" in p.parts]
    assert data_docs / "index.html" in pages and len(validations) >= 2
    errors: dict[str, list[str]] = {}
    external: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        try:
            for page_file in pages:
                name = str(page_file.relative_to(data_docs))
                page = browser.new_page()
                errors[name] = []
                listen(page, errors[name], external)
                page.goto(page_file.as_uri())
                page.wait_for_load_state("load")
                if page_file.name == "index.html":
                    links = page.eval_on_selector_all(
                        "table[id$='-1-body-table'] tbody tr a", "as => as.map(a => a.getAttribute('href'))"
                    )
                    suites = page.eval_on_selector_all("table[id$='-2-body-table'] tbody tr", "rs => rs.length")
                elif page_file in validations[:1]:
                    page.click("text=Failed Only")  # every expectation passed: each row of one hides
                    hidden = page.eval_on_selector_all(
                        ".hide-succeeded-validation-target-child",
                        "els => els.map(e => getComputedStyle(e.parentElement).display)",
                    )
                    page.click("text=Show All")
                    shown = page.eval_on_selector_all(
                        ".hide-succeeded-validation-target-child",
                        "els => els.map(e => getComputedStyle(e.parentElement).display)",
                    )
                page.close()
        finally:
            browser.close()
    assert {n: e for n, e in errors.items() if e} == {}
    assert external == []
    # the index lists every validation (each row links to its page) and every suite
    assert sorted(data_docs / link for link in links if link.startswith("validations/")) == validations
    assert suites == len(list((data_docs / "expectations").glob("*.html")))
    assert hidden and set(hidden) == {"none"} and "none" not in shown
