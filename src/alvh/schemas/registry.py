"""Every warehouse table and the pandera model that defines it (DDL is derived from these)."""

from __future__ import annotations

import pandera.polars as pa

from alvh.schemas.backtest import (
    BacktestDaily,
    BacktestEvent,
    BacktestRun,
    BacktestSummary,
    BacktestSweep,
    BacktestWalkForward,
)
from alvh.schemas.broker import IcLegImport
from alvh.schemas.marts import IndicatorsDaily
from alvh.schemas.meta import (
    FlowRun,
    IngestRun,
    PositionImport,
    PositionImportRun,
    Quarantine,
    Revision,
    StagingBuild,
    ValidationRun,
    VxConflict,
)
from alvh.schemas.raw import RawBreadth, RawCboeIndex, RawMacroEvent, RawOptionQuote, RawRates, RawVxFutures
from alvh.schemas.risk import BookRisk, PayoffGrid
from alvh.schemas.signals import (
    HedgeOrder,
    HedgePosition,
    HedgeSignalDaily,
    LayerAdjustment,
    QuoteCheck,
    StressScenario,
)
from alvh.schemas.staging import StgBreadth, StgIndexDaily, StgMacroEvent, StgOptionQuote, StgRates, StgVxFutures

TABLES: dict[str, type[pa.DataFrameModel]] = {
    "raw.cboe_index": RawCboeIndex,
    "raw.vx_futures": RawVxFutures,
    "raw.breadth": RawBreadth,
    "raw.rates": RawRates,
    "raw.option_quote": RawOptionQuote,
    "raw.macro_event": RawMacroEvent,
    "staging.stg_index_daily": StgIndexDaily,
    "staging.stg_vx_futures": StgVxFutures,
    "staging.stg_breadth": StgBreadth,
    "staging.stg_rates": StgRates,
    "staging.option_quote": StgOptionQuote,
    "staging.macro_event": StgMacroEvent,
    "marts.indicators_daily": IndicatorsDaily,
    "marts.hedge_signal_daily": HedgeSignalDaily,
    "marts.layer_adjustment": LayerAdjustment,
    "marts.hedge_order": HedgeOrder,
    "marts.hedge_position": HedgePosition,
    "marts.stress_scenario": StressScenario,
    "marts.book_risk": BookRisk,
    "marts.payoff_grid": PayoffGrid,
    "marts.quote_check": QuoteCheck,
    "backtest.run": BacktestRun,
    "backtest.daily": BacktestDaily,
    "backtest.event": BacktestEvent,
    "backtest.summary": BacktestSummary,
    "backtest.sweep": BacktestSweep,
    "backtest.walk_forward": BacktestWalkForward,
    "meta.ingest_run": IngestRun,
    "meta.flow_run": FlowRun,
    "meta.quarantine": Quarantine,
    "meta.revision": Revision,
    "meta.vx_conflict": VxConflict,
    "meta.staging_build": StagingBuild,
    "meta.validation_run": ValidationRun,
    "meta.position_import": PositionImport,
    "meta.position_import_run": PositionImportRun,
    "meta.ic_leg_import": IcLegImport,
}
SCHEMAS = ("raw", "staging", "marts", "backtest", "meta")

# the marts the signal engine publishes together (one transaction per batch of sessions)
SIGNAL_TABLES = (
    "marts.hedge_signal_daily",
    "marts.layer_adjustment",
    "marts.hedge_order",
    "marts.hedge_position",
    "marts.stress_scenario",
    "marts.book_risk",
    "marts.payoff_grid",
    "marts.quote_check",
)
# the marts exported as CSV/Parquet; the payoff grid (297 rows a session) stays in the warehouse and
# on the daily page: exported, a full history would rewrite ~1.4 million rows every evening
EXPORTED_TABLES = ("marts.indicators_daily", *(t for t in SIGNAL_TABLES if t != "marts.payoff_grid"))

# Row keys of the published tables, in sort order: exports and comparisons sort by the ones a
# table has, so the same rows always come out in the same order.
ROW_KEYS = (
    "session_date",
    "layer",
    "ticket",
    "contract_expiry",
    "strike",
    "scenario",
    "horizon",
    "spx_move_pct",
    "vix_move",
)
