"""Great Expectations over the published signal marts, generated from the pandera models.

The pandera model of a table is its one hand-written contract. Its GX suite is derived from it
(``expectations_for``): the column set (exact when the model is strict), each column's type as
the frame arrives in pandas, nullability, ``unique`` fields and the model's composite key, and
every column check that has a GX equivalent (bounds, ``isin``/``notin``, string length, regex).
A model's dataframe-level checks (``check_*``, custom Polars code) stay pandera's; the suite lists
their names in its ``meta`` so the Data Docs say what else the table is held to.

GX keeps only what no single model can state: the cross-table rules of ``CROSS_TABLE_RULES``,
each named, run over one frame that joins the signal row, the book risk and the payoff grid of
each session (``cross_table_frame``). They report a pass/fail row each.

Frames are validated as pandas frames: GX has no Polars datasource and its SQL path is broken on
DuckDB 2.0 (STACK_NOTES §5).
"""

from __future__ import annotations

import ast
import html
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandera.polars as pa
import polars as pl

from alvh.schemas.registry import TABLES

if TYPE_CHECKING:
    from great_expectations.expectations import Expectation

# the pseudo-table the cross-table rules report under (one row per rule in meta.validation_run)
CROSS_TABLE = "marts.*"


# --------------------------------------------------------------------------- pandera → GX


def _pandas_types(dtype: pl.DataType, nullable: bool) -> list[str]:
    """The pandas dtype names a Polars column of ``dtype`` arrives as in ``DataFrame.to_pandas()``:
    an integer column with a null becomes float64, a boolean one object."""
    name = str(pl.DataFrame(schema={"c": dtype}).to_pandas().dtypes["c"])
    extra = {"int": ["float64"], "boo": ["object"]}.get(name[:3], []) if nullable else []
    return [name, *extra]


def _rule(column: str | None, what: str) -> dict[str, str]:
    return {"rule": what if column is None else f"{column}: {what}"}


def _column_check(column: str, check: pa.Check) -> Expectation | None:
    """The GX expectation of one pandera column check; None when it has none (a custom check)."""
    import great_expectations.expectations as gxe

    s, meta = check.statistics or {}, _rule(column, str(check.error or check.name))
    match check.name:
        case "greater_than":
            return gxe.ExpectColumnValuesToBeBetween(
                column=column, min_value=s["min_value"], strict_min=True, meta=meta
            )
        case "greater_than_or_equal_to":
            return gxe.ExpectColumnValuesToBeBetween(column=column, min_value=s["min_value"], meta=meta)
        case "less_than":
            return gxe.ExpectColumnValuesToBeBetween(
                column=column, max_value=s["max_value"], strict_max=True, meta=meta
            )
        case "less_than_or_equal_to":
            return gxe.ExpectColumnValuesToBeBetween(column=column, max_value=s["max_value"], meta=meta)
        case "in_range":
            return gxe.ExpectColumnValuesToBeBetween(
                column=column,
                min_value=s["min_value"],
                max_value=s["max_value"],
                strict_min=not s.get("include_min", True),
                strict_max=not s.get("include_max", True),
                meta=meta,
            )
        case "equal_to":
            return gxe.ExpectColumnValuesToBeInSet(column=column, value_set=[s["value"]], meta=meta)
        case "not_equal_to":
            return gxe.ExpectColumnValuesToNotBeInSet(column=column, value_set=[s["value"]], meta=meta)
        case "isin":
            return gxe.ExpectColumnValuesToBeInSet(column=column, value_set=list(s["allowed_values"]), meta=meta)
        case "notin":
            return gxe.ExpectColumnValuesToNotBeInSet(column=column, value_set=list(s["forbidden_values"]), meta=meta)
        case "str_length" if s.get("exact_value") is not None:
            return gxe.ExpectColumnValueLengthsToEqual(column=column, value=s["exact_value"], meta=meta)
        case "str_length":
            return gxe.ExpectColumnValueLengthsToBeBetween(
                column=column, min_value=s.get("min_value"), max_value=s.get("max_value"), meta=meta
            )
        case "str_matches":  # pandera matches at the start of the string; GX searches
            pattern = s["pattern"]
            return gxe.ExpectColumnValuesToMatchRegex(
                column=column, regex=pattern if pattern.startswith("^") else f"^(?:{pattern})", meta=meta
            )
    return None


def expectations_for(model: type[pa.DataFrameModel]) -> tuple[list[Expectation], list[str]]:
    """The GX expectations generated from ``model``, and the names of the model's checks GX does
    not restate (custom dataframe and column checks: pandera alone runs them)."""
    import great_expectations.expectations as gxe

    schema = model.to_schema()
    out: list[Expectation] = [
        gxe.ExpectTableColumnsToMatchSet(
            column_set=list(schema.columns), exact_match=bool(schema.strict), meta=_rule(None, "columns")
        )
    ]
    pandera_only: list[str] = []
    for name, col in schema.columns.items():
        types, dtype_rule = _pandas_types(col.dtype.type, bool(col.nullable)), _rule(name, f"dtype('{col.dtype}')")
        out.append(
            gxe.ExpectColumnValuesToBeOfType(column=name, type_=types[0], meta=dtype_rule)
            if len(types) == 1  # GX 1.24's type-list check never matches pandas 3's "str" dtype
            else gxe.ExpectColumnValuesToBeInTypeList(column=name, type_list=types, meta=dtype_rule)
        )
        if not col.nullable:
            out.append(gxe.ExpectColumnValuesToNotBeNull(column=name, meta=_rule(name, "not_nullable")))
        if col.unique:
            out.append(gxe.ExpectColumnValuesToBeUnique(column=name, meta=_rule(name, "field_uniqueness")))
        for check in col.checks:
            expectation = _column_check(name, check)
            if expectation is None:
                pandera_only.append(f"{name}: {check.name}")
            else:
                out.append(expectation)
    key = list(schema.unique or [])
    if len(key) == 1 and not schema.columns[key[0]].unique:
        out.append(gxe.ExpectColumnValuesToBeUnique(column=key[0], meta=_rule(key[0], "field_uniqueness")))
    elif len(key) > 1:
        out.append(gxe.ExpectCompoundColumnsToBeUnique(column_list=key, meta=_rule(None, "multiple_fields_uniqueness")))
    pandera_only += [str(check.name) for check in schema.checks]
    return out, pandera_only


# --------------------------------------------------------------------------- cross-table rules

# Each rule: its name, and what it asserts about every session of the batch. They need the signal
# row, the book risk and the payoff grid side by side, so no one table's model can state them.
CROSS_TABLE_RULES: dict[str, str] = {
    "gx_book_risk_exactly_on_non_stale_sessions": "a book_risk row for every non-stale signal, none otherwise",
    "gx_payoff_grid_exactly_where_book_risk": "a payoff grid for every session with book risk, none otherwise",
    "gx_book_risk_vix_close_is_the_signal_close": "book_risk.vix_close = hedge_signal_daily.vix_close",
    "gx_book_risk_ic_contracts_are_the_signal_ic": "book_risk.ic_contracts = hedge_signal_daily.ic_contracts",
    "gx_book_risk_hedge_vega_is_the_signal_hedge_vega": "the two hedge vegas agree within $0.01 per point",
}
_VEGA_TOL_USD = 0.01


def cross_table_frame(frames: Mapping[str, pl.DataFrame]) -> pl.DataFrame | None:
    """One row per session of the batch (short table names as keys): the signal's side and the
    book risk's side of each shared quantity, and which tables hold the session. None when the
    batch lacks one of the three tables."""
    if not all(t in frames for t in ("hedge_signal_daily", "book_risk", "payoff_grid")):
        return None
    shared = ("vix_close", "ic_contracts", "hedge_vega_usd")
    signal = frames["hedge_signal_daily"].select(
        "session_date",
        (~pl.col("stale")).alias("signal_non_stale"),
        *(pl.col(c).alias(f"signal_{c}") for c in shared),
    )
    risk = frames["book_risk"].select(
        "session_date", pl.lit(True).alias("has_book_risk"), *(pl.col(c).alias(f"risk_{c}") for c in shared)
    )
    grid = frames["payoff_grid"].group_by("session_date").agg(pl.lit(True).alias("has_payoff_grid"))
    return (
        signal.join(risk, on="session_date", how="full", coalesce=True)
        .join(grid, on="session_date", how="full", coalesce=True)
        .with_columns(
            pl.col("signal_non_stale", "has_book_risk", "has_payoff_grid").fill_null(False),
            (pl.col("signal_hedge_vega_usd") - pl.col("risk_hedge_vega_usd")).alias("hedge_vega_diff_usd"),
        )
        .sort("session_date")
    )


def cross_table_expectations() -> list[Expectation]:
    import great_expectations.expectations as gxe

    def pair(a: str, b: str, rule: str, ignore: Literal["either_value_is_missing", "neither"]) -> Expectation:
        return gxe.ExpectColumnPairValuesToBeEqual(
            column_A=a, column_B=b, ignore_row_if=ignore, meta={"rule": rule}, description=CROSS_TABLE_RULES[rule]
        )

    rules = list(CROSS_TABLE_RULES)
    expectations = [
        pair("has_book_risk", "signal_non_stale", rules[0], "neither"),
        pair("has_payoff_grid", "has_book_risk", rules[1], "neither"),
        pair("risk_vix_close", "signal_vix_close", rules[2], "either_value_is_missing"),
        pair("risk_ic_contracts", "signal_ic_contracts", rules[3], "either_value_is_missing"),
        gxe.ExpectColumnValuesToBeBetween(
            column="hedge_vega_diff_usd",
            min_value=-_VEGA_TOL_USD,
            max_value=_VEGA_TOL_USD,
            meta={"rule": rules[4]},
            description=CROSS_TABLE_RULES[rules[4]],
        ),
    ]
    assert [e.meta["rule"] for e in expectations if e.meta] == rules  # one expectation per named rule
    return expectations


# --------------------------------------------------------------------------- Data Docs, offline

# GX's Data Docs templates load jQuery, Bootstrap, bootstrap-table, Font Awesome, Vega, fonts and
# logos from CDNs. The pages are made offline: external scripts and stylesheets are removed (the
# validation tables are plain HTML and stay readable; the GX styling is lost), external images keep
# their alt text, and CSS url()s to other hosts are dropped. Links (<a href>) stay: they fetch nothing.
#
# The pages' own inline scripts call jQuery (``$``), which is then absent: Chromium logged
# "ReferenceError: $ is not defined" three times on the index (its two bootstrap-table calls and the
# tutorial footer) and once on each validation page (the walkthrough modal), and the index's two
# tables, filled by bootstrap-table from data in the script, were empty. So every inline script
# that uses jQuery is replaced: the index tables become plain HTML rows, rendered here from the data
# GX wrote into the script (a row's first cell links to its page, the status is a word since the
# icon font is not offline); the validation pages' "Failed Only" / "Show All" filter gets a plain-JS
# version; the rest (walkthrough modal, footer, the tables' filter toolbar) is dropped.
_EXTERNAL_SCRIPT = re.compile(r"<script[^>]*\ssrc=[\"']https?://[^>]*>\s*</script>", re.IGNORECASE)
_EXTERNAL_LINK = re.compile(r"<link[^>]*\shref=[\"']https?://[^>]*>", re.IGNORECASE)
_EXTERNAL_IMG = re.compile(r"<img[^>]*\ssrc=[\"']https?://[^>]*>", re.IGNORECASE)
_EXTERNAL_CSS_URL = re.compile(r"url\(\s*['\"]?https?://[^)]*\)", re.IGNORECASE)
_INLINE_SCRIPT = re.compile(r"<script>(?P<body>.*?)</script>", re.DOTALL)
_USES_JQUERY = re.compile(r"\$\s*[(.`]")
_BOOTSTRAP_TABLE = re.compile(
    r"\$\('#(?P<id>[\w-]+)'\)\.bootstrapTable\(\s*Object\.assign\(\s*\{\s*columns:\s*(?P<columns>\[.*?\]),\s*"
    r"data:\s*(?P<data>\[.*?\]),\s*(?:toolbar:|\})",
    re.DOTALL,
)
_TABLE_TOOLBAR = re.compile(r'<div id="[\w-]+-toolbar"[^>]*>.*?</div>', re.DOTALL)
# "Show All" / "Failed Only" on a validation page, without jQuery (same elements as GX's version)
_VALIDATION_FILTER_JS = """
function alvhShowValidations(show) {
  var d = show ? "" : "none";
  document.querySelectorAll(".hide-succeeded-validation-target-child").forEach(function (e) {
    e.parentElement.style.display = d;
  });
  document.querySelectorAll(".hide-succeeded-validation-target").forEach(function (e) { e.style.display = d; });
  document.querySelectorAll(".hide-succeeded-validations-column-section-target-child").forEach(function (e) {
    var section = e.parentElement.parentElement;
    section.style.display = d;
    if (section.id) {
      document.querySelectorAll('a[href$="' + section.id + '"]').forEach(function (a) { a.style.display = d; });
    }
  });
}
function showAllValidations() { alvhShowValidations(true); }
function hideSucceededValidations() { alvhShowValidations(false); }
"""


def _table_body(columns: list[dict[str, Any]], data: list[dict[str, Any]]) -> str:
    """bootstrap-table's columns and rows as a plain ``<thead>``/``<tbody>`` (cells are GX's HTML)."""
    head = "".join(f"<th>{html.escape(str(c.get('title', c['field'])))}</th>" for c in columns)
    rows = []
    for row in data:
        cells = []
        for i, col in enumerate(columns):
            cell = str(row.get(col["field"], ""))
            if col["field"] == "validation_success" and "_validation_success_text" in row:
                cell = html.escape(str(row["_validation_success_text"]))  # an icon-font glyph otherwise
            link = row.get("_table_row_link_path")
            if i == 0 and link:
                cell = f'<a href="{html.escape(str(link))}">{cell}</a>'
            cells.append(f"<td>{cell}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody>"


def _static_tables(page: str) -> dict[str, str]:
    """Table id → its rows as HTML, from each ``bootstrapTable`` call GX wrote (Python-literal
    columns and data); a call that does not parse leaves its table as it is."""
    tables = {}
    for m in _BOOTSTRAP_TABLE.finditer(page):
        try:
            columns, data = ast.literal_eval(m["columns"]), ast.literal_eval(m["data"])
        except (ValueError, SyntaxError):
            continue
        tables[m["id"]] = _table_body(columns, data)
    return tables


def _offline_script(m: re.Match[str]) -> str:
    body = m["body"]
    if not _USES_JQUERY.search(body):
        return m[0]
    if "function hideSucceededValidations" in body:
        return f"<script>{_VALIDATION_FILTER_JS}</script>"
    return ""


def offline_html(page: str) -> str:
    """The page with every external script, stylesheet, image and CSS url() removed, and every
    inline script that needs jQuery replaced (see above). Idempotent."""
    page = _EXTERNAL_SCRIPT.sub("", page)
    page = _EXTERNAL_LINK.sub("", page)
    page = _EXTERNAL_IMG.sub("", page)
    page = _EXTERNAL_CSS_URL.sub("none", page)
    tables = _static_tables(page)
    page = _INLINE_SCRIPT.sub(_offline_script, page)
    for table_id, body in tables.items():
        empty = re.compile(rf'(<table\s+id="{re.escape(table_id)}"[^>]*>)\s*</table>')
        page = empty.sub(lambda m, body=body: f"{m[1]}{body}</table>", page)  # type: ignore[misc]
    return _TABLE_TOOLBAR.sub("", page)


_LOCAL_STATIC = re.compile(
    r'(<(?:link|script|img)\b[^>]*\s(?:href|src)=")((?:\./|\.\./)*static/[^"]+)(")', re.IGNORECASE
)


def fix_static_paths(page: str, where: Path, docs_dir: Path) -> str:
    """GX writes some paths to ``static/`` one folder too shallow: a validation page, four folders
    down, links ``../../../static/images/favicon.ico`` (Chromium: "Failed to load resource:
    net::ERR_FILE_NOT_FOUND"). Each such path of the page at ``where`` is pointed at the file under
    ``docs_dir`` when it exists there; a path that resolves is left as it is."""

    def fix(m: re.Match[str]) -> str:
        if (where.parent / m[2]).exists():
            return m[0]
        static = m[2][m[2].index("static/") :]
        up = "../" * len(where.parent.relative_to(docs_dir).parts) or "./"
        return f"{m[1]}{up}{static}{m[3]}" if (docs_dir / static).exists() else m[0]

    return _LOCAL_STATIC.sub(fix, page)


def make_docs_offline(docs_dir: Path) -> int:
    """Rewrite every Data Docs HTML page under ``docs_dir`` with ``offline_html`` and
    ``fix_static_paths``; returns how many pages changed."""
    changed = 0
    for page in docs_dir.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        new = fix_static_paths(offline_html(text), page, docs_dir)
        if new != text:
            page.write_text(new, encoding="utf-8")
            changed += 1
    return changed


# --------------------------------------------------------------------------- running the suites


@dataclass
class GxRule:
    """One expectation's outcome: the rule it states, and the offending values when it failed."""

    rule: str
    success: bool
    unexpected_count: int
    examples: list[str]


@dataclass
class GxResult:
    table: str  # a qualified table name, or CROSS_TABLE
    success: bool
    rules: list[GxRule]
    statistics: dict[str, Any]

    @property
    def failures(self) -> list[GxRule]:
        return [r for r in self.rules if not r.success]


def run_gx(frames: Mapping[str, pl.DataFrame], docs_dir: Path | None = None) -> list[GxResult]:
    """Validate each frame (qualified table names as keys, e.g. ``marts.book_risk``) with the suite
    generated from its model, then the batch with the cross-table rules; build Data Docs HTML
    under ``docs_dir`` if given (offline: no CDN, see ``offline_html``)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    # GX sets levels on some of its own loggers (its INFO lines reached the terminal): quiet them all
    for name in [n for n in logging.Logger.manager.loggerDict if n.startswith("great_expectations")]:
        logging.getLogger(name).setLevel(logging.ERROR)

    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    if docs_dir is not None:
        docs_dir.mkdir(parents=True, exist_ok=True)
        ctx.add_data_docs_site(
            site_name="alvh_docs",
            site_config={
                "class_name": "SiteBuilder",
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(docs_dir.resolve()),  # GX needs an absolute path
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            },
        )
    source = ctx.data_sources.add_pandas(name="marts")

    def validate(
        table: str, name: str, frame: pl.DataFrame, expectations: list[Expectation], meta: dict[str, Any]
    ) -> GxResult:
        batch = source.add_dataframe_asset(name=name).add_batch_definition_whole_dataframe(f"{name}_batch")
        suite = ctx.suites.add(gx.ExpectationSuite(name=f"{name}_suite", expectations=expectations, meta=meta))
        vd = ctx.validation_definitions.add(gx.ValidationDefinition(name=f"{name}_vd", data=batch, suite=suite))
        cp = ctx.checkpoints.add(
            gx.Checkpoint(
                name=f"{name}_cp",
                validation_definitions=[vd],
                result_format={"result_format": "SUMMARY"},
            )
        )
        res = cp.run(batch_parameters={"dataframe": frame.to_pandas()})
        run = next(iter(res.run_results.values()))
        rules = [
            GxRule(
                rule=str((r.expectation_config.meta or {}).get("rule", r.expectation_config.type))
                if r.expectation_config
                else "?",
                success=bool(r.success),
                unexpected_count=int(r.result.get("unexpected_count") or 0),
                examples=[str(x) for x in (r.result.get("partial_unexpected_list") or [])[:5]],
            )
            for r in run.results
        ]
        return GxResult(table, bool(res.success), rules, dict(run.statistics))

    out = []
    for table, frame in frames.items():
        expectations, pandera_only = expectations_for(TABLES[table])
        name = table.split(".", 1)[1]
        out.append(validate(table, name, frame, expectations, {"checked_by_pandera_only": pandera_only}))
    cross = cross_table_frame({t.split(".", 1)[1]: f for t, f in frames.items()})
    if cross is not None:
        out.append(
            validate(CROSS_TABLE, "cross_table", cross, cross_table_expectations(), {"rules": CROSS_TABLE_RULES})
        )
    if docs_dir is not None:
        ctx.build_data_docs(site_names=["alvh_docs"])  # once, every suite and result (not once per checkpoint)
        make_docs_offline(docs_dir)
    return out
