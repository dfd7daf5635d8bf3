"""Great Expectations suites over the published signal marts (validated as pandas frames: GX
has no Polars datasource and its SQL path is broken on DuckDB 2.0 — STACK_NOTES §5)."""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from alvh.schemas.risk import HORIZONS
from alvh.schemas.signals import ACTIONS, ORDER_ACTIONS

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


def suites(ratio_bounds: tuple[float, float] = (0.6, 1.2)) -> dict[str, list[Any]]:
    """Expectations per mart (built lazily: importing GX costs ~2 s). ``ratio_bounds`` are the
    settings in force (``ratio_min``, ``ratio_max``), never hard-coded (§8)."""
    import great_expectations.expectations as gxe

    return {
        "hedge_signal_daily": [
            gxe.ExpectColumnValuesToNotBeNull(column="session_date"),
            gxe.ExpectColumnValuesToBeUnique(column="session_date"),
            gxe.ExpectColumnValuesToBeBetween(
                column="ratio_target", min_value=ratio_bounds[0] - 1e-9, max_value=ratio_bounds[1] + 1e-9
            ),
            gxe.ExpectColumnValuesToBeBetween(column="ad_rsi", min_value=0, max_value=100),
            gxe.ExpectColumnValuesToNotBeNull(column="actions_summary"),
            gxe.ExpectColumnValuesToBeInSet(column="regime", value_set=["calm", "elevated", "spike", "fading"]),
        ],
        "layer_adjustment": [
            gxe.ExpectColumnValuesToBeInSet(column="layer", value_set=[1, 2, 3]),
            gxe.ExpectCompoundColumnsToBeUnique(column_list=["session_date", "layer"]),
            gxe.ExpectColumnValuesToBeBetween(column="current_qty", min_value=0),
            gxe.ExpectColumnValuesToBeBetween(column="target_qty", min_value=0),
            gxe.ExpectColumnValuesToBeBetween(column="model_target_qty", min_value=0),
            gxe.ExpectColumnValuesToBeInSet(column="action", value_set=ACTIONS),
            gxe.ExpectColumnValuesToBeInSet(column="forward_source", value_set=["settle", "interpolated"]),
            gxe.ExpectColumnValuesToNotBeNull(column="reason"),
        ],
        "hedge_order": [
            gxe.ExpectColumnValuesToBeInSet(column="side", value_set=["BUY", "SELL"]),
            gxe.ExpectColumnValuesToBeInSet(column="action", value_set=ORDER_ACTIONS),
            gxe.ExpectColumnValuesToBeBetween(column="qty", min_value=1),
            gxe.ExpectColumnValuesToBeBetween(column="model_price", min_value=0),
        ],
        "hedge_position": [
            gxe.ExpectColumnValuesToBeBetween(column="qty", min_value=1),
            gxe.ExpectCompoundColumnsToBeUnique(column_list=["session_date", "contract_expiry", "strike"]),
        ],
        "stress_scenario": [
            gxe.ExpectColumnValuesToNotBeNull(column="scenario"),
            gxe.ExpectCompoundColumnsToBeUnique(column_list=["session_date", "scenario"]),
        ],
        "book_risk": [
            gxe.ExpectColumnValuesToBeUnique(column="session_date"),
            gxe.ExpectColumnValuesToBeBetween(column="ic_contracts", min_value=0),
            gxe.ExpectColumnValuesToBeBetween(column="hedge_contracts", min_value=0),
            gxe.ExpectColumnValuesToBeBetween(column="hedge_vega_usd", min_value=0),
            gxe.ExpectColumnValuesToBeBetween(column="hedge_theta_usd", max_value=0),
            *(gxe.ExpectColumnValuesToNotBeNull(column=f"net_{g}_usd") for g in ("delta", "gamma", "vega", "theta")),
        ],
        "payoff_grid": [
            gxe.ExpectCompoundColumnsToBeUnique(column_list=["session_date", "horizon", "spx_move_pct", "vix_move"]),
            gxe.ExpectColumnValuesToBeInSet(column="horizon", value_set=HORIZONS),
            gxe.ExpectColumnValuesToBeBetween(column="spx_move_pct", min_value=-20, max_value=10),
            gxe.ExpectColumnValuesToBeBetween(column="vix_move", min_value=-10, max_value=40),
            gxe.ExpectColumnValuesToNotBeNull(column="net_pnl_usd"),
        ],
        "quote_check": [
            gxe.ExpectCompoundColumnsToBeUnique(column_list=["session_date", "contract_expiry", "strike"]),
            gxe.ExpectColumnValuesToBeInSet(column="role", value_set=["layer", "held"]),
            gxe.ExpectColumnValuesToBeBetween(column="quote_delta", min_value=0, max_value=1),
            gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="ask", column_B="bid", or_equal=True),
            gxe.ExpectColumnValuesToNotBeNull(column="error_pct"),
        ],
    }


# GX's Data Docs templates load jQuery, Bootstrap, Vega, fonts and logos from CDNs. The pages are
# made offline: external scripts and stylesheets are removed (the validation tables are plain HTML
# and stay readable; only table filters and the GX styling are lost), external images keep their alt
# text, and CSS url()s to other hosts are dropped. Links (<a href>) stay: they fetch nothing.
_EXTERNAL_SCRIPT = re.compile(r"<script[^>]*\ssrc=[\"']https?://[^>]*>\s*</script>", re.IGNORECASE)
_EXTERNAL_LINK = re.compile(r"<link[^>]*\shref=[\"']https?://[^>]*>", re.IGNORECASE)
_EXTERNAL_IMG = re.compile(r"<img[^>]*\ssrc=[\"']https?://[^>]*>", re.IGNORECASE)
_EXTERNAL_CSS_URL = re.compile(r"url\(\s*['\"]?https?://[^)]*\)", re.IGNORECASE)


def offline_html(html: str) -> str:
    """The page with every external script, stylesheet, image and CSS url() removed."""
    html = _EXTERNAL_SCRIPT.sub("", html)
    html = _EXTERNAL_LINK.sub("", html)
    html = _EXTERNAL_IMG.sub("", html)
    return _EXTERNAL_CSS_URL.sub("none", html)


def make_docs_offline(docs_dir: Path) -> int:
    """Rewrite every Data Docs HTML page under ``docs_dir`` with ``offline_html``; returns how
    many pages changed."""
    changed = 0
    for page in docs_dir.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        new = offline_html(text)
        if new != text:
            page.write_text(new, encoding="utf-8")
            changed += 1
    return changed


@dataclass
class GxResult:
    table: str
    success: bool
    failures: list[dict[str, Any]]
    statistics: dict[str, Any]


def run_gx(
    frames: dict[str, pl.DataFrame], docs_dir: Path | None = None, ratio_bounds: tuple[float, float] = (0.6, 1.2)
) -> list[GxResult]:
    """Validate each frame with its suite; build Data Docs HTML under ``docs_dir`` if given
    (offline: no CDN, see ``offline_html``)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    # GX sets levels on some of its own loggers (its INFO lines reached the terminal): quiet them all
    for name in [n for n in logging.Logger.manager.loggerDict if n.startswith("great_expectations")]:
        logging.getLogger(name).setLevel(logging.ERROR)

    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    actions: list[Any] = []
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
        actions.append(gx.checkpoint.UpdateDataDocsAction(name="docs", site_names=["alvh_docs"]))
    source = ctx.data_sources.add_pandas(name="marts")
    out = []
    for table, expectations in suites(ratio_bounds).items():
        frame = frames.get(table)
        if frame is None:
            continue
        batch = source.add_dataframe_asset(name=table).add_batch_definition_whole_dataframe(f"{table}_batch")
        suite = ctx.suites.add(gx.ExpectationSuite(name=f"{table}_suite", expectations=expectations))
        vd = ctx.validation_definitions.add(gx.ValidationDefinition(name=f"{table}_vd", data=batch, suite=suite))
        cp = ctx.checkpoints.add(
            gx.Checkpoint(
                name=f"{table}_cp",
                validation_definitions=[vd],
                actions=actions,
                result_format={"result_format": "SUMMARY"},
            )
        )
        res = cp.run(batch_parameters={"dataframe": frame.to_pandas()})
        run = next(iter(res.run_results.values()))
        failures = [
            {
                "rule": r.expectation_config.type if r.expectation_config else "?",
                "column": (r.expectation_config.kwargs.get("column") or r.expectation_config.kwargs.get("column_list"))
                if r.expectation_config
                else None,
                "unexpected_count": r.result.get("unexpected_count"),
                "examples": [str(x) for x in (r.result.get("partial_unexpected_list") or [])[:5]],
            }
            for r in run.results
            if not r.success
        ]
        out.append(GxResult(table, bool(res.success), failures, dict(run.statistics)))
    if docs_dir is not None:
        make_docs_offline(docs_dir)
    return out
