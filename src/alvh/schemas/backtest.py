"""pandera models of the ``backtest`` tables (each run keyed by its id and settings hash)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pandera.polars as pa
import polars as pl


class BacktestRun(pa.DataFrameModel):
    """One row per backtest run."""

    run_id: str = pa.Field(unique=True)
    started_at: datetime
    start_date: date
    end_date: date
    strategies: str = pa.Field(description="comma-separated strategy names")
    settings_hash: str
    params: str = pa.Field(description="JSON of every method, cost and strategy parameter")

    class Config:
        strict = True
        coerce = True
        unique = ["run_id"]


class BacktestDaily(pa.DataFrameModel):
    """One row per run, strategy and session: equity and P&L split (dollars)."""

    run_id: str
    strategy: str  # type: ignore[assignment]
    session_date: date
    ic_equity: float
    ic_put_equity: float = pa.Field(description="the IC's put side (short put spread): credit, settlement, mark")
    ic_call_equity: float = pa.Field(description="the IC's call side (short call spread)")
    hedge_equity: float
    costs_cum: float = pa.Field(ge=0)
    equity_gross: float
    equity_net: float
    ic_pnl: float
    hedge_pnl: float
    net_pnl: float
    contracts_held: pl.Int64 = pa.Field(ge=0)
    contracts_traded: pl.Int64 = pa.Field(ge=0)
    stale: bool = pa.Field(description="the engine could not trade (missing input)")
    hedge_mark_carried: bool = pa.Field(description="a held contract had no price: previous mark carried")
    ic_settle_proxy: bool = pa.Field(description="IC settled at the SPX close (no open in the data)")
    ic_settle_open_suspect: bool = pa.Field(
        description="IC settled on an SPX opening print equal to the prior close (a repeated print, flagged)"
    )

    class Config:
        strict = True
        coerce = True
        unique = ["run_id", "strategy", "session_date"]


class BacktestEvent(pa.DataFrameModel):
    """One row per run, volatility event and strategy (ALVH_METHOD.md §9). Window P&L runs from
    the start's close to ``window_end``; the ``*_to_peak`` columns and the two ratios from the
    start's close to the VIX closing peak (``peak_date``)."""

    run_id: str
    event: str
    kind: str = pa.Field(isin=["detected", "named"])
    strategy: str  # type: ignore[assignment]
    window_start: date
    peak_date: date
    window_end: date
    vix_start: float
    vix_peak: float
    vix_rise: float
    ic_pnl_usd: float
    ic_put_pnl_usd: float = pa.Field(
        description="the IC's put side over the window (the loss a VIX-call hedge can offset)"
    )
    ic_call_pnl_usd: float = pa.Field(
        description="the IC's call side over the window (a rally: VIX calls do not offset it)"
    )
    hedge_pnl_usd: float
    net_pnl_usd: float
    max_drawdown_usd: float = pa.Field(le=0)
    max_drawdown_unhedged_usd: float = pa.Field(le=0)
    contracts_held_at_start: pl.Int64 = pa.Field(ge=0)
    ic_pnl_to_peak_usd: float = pa.Field(nullable=True, description="IC P&L, start close → VIX peak close")
    hedge_pnl_to_peak_usd: float = pa.Field(
        nullable=True, description="the strategy's hedge P&L (gross), start close → VIX peak close"
    )
    static_capture: float = pa.Field(
        nullable=True,
        description="§9: static 4/4/2 ladder of 10 target-delta calls (M1–M3), start close → peak close: "
        "P&L ÷ (10 × $100 × VIX rise); the same for every strategy",
    )
    loss_offset: float = pa.Field(
        nullable=True,
        description="§9: hedge_pnl_to_peak_usd ÷ (−ic_pnl_to_peak_usd); null when the IC did not lose",
    )
    sessions_to_recover: pl.Int64 = pa.Field(nullable=True)
    data_gaps: str = pa.Field(nullable=True)

    class Config:
        strict = True
        coerce = True
        unique = ["run_id", "event", "strategy"]


class BacktestSummary(pa.DataFrameModel):
    """One row per run and strategy: returns on IC risk capital, risk, costs, turnover."""

    run_id: str
    strategy: str  # type: ignore[assignment]
    sessions: pl.Int64
    risk_capital_usd: float
    total_pnl_gross_usd: float
    total_return_gross: float
    annual_return_gross: float
    volatility_gross: float
    max_drawdown_gross_usd: float
    calmar_gross: float = pa.Field(nullable=True)
    total_pnl_net_usd: float
    total_return_net: float
    annual_return_net: float
    volatility_net: float
    max_drawdown_net_usd: float
    calmar_net: float = pa.Field(nullable=True)
    max_drawdown_peak: date = pa.Field(nullable=True)
    max_drawdown_trough: date = pa.Field(nullable=True)
    worst_month: date = pa.Field(nullable=True)
    worst_month_usd: float = pa.Field(nullable=True)
    hedge_carry_per_calm_month_usd: float = pa.Field(nullable=True)
    hedge_pnl_usd: float
    ic_pnl_usd: float
    costs_usd: float
    contracts_traded: pl.Int64

    class Config:
        strict = True
        coerce = True
        unique = ["run_id", "strategy"]


class BacktestSweep(pa.DataFrameModel):
    """One row per sweep run and configuration: the settings it changed and its metrics, gross
    and net of costs (dollars; Calmar = annualised return ÷ |max drawdown|, both on the IC's
    risk capital)."""

    run_id: str
    config: str = pa.Field(description="the configuration's name")
    kind: str = pa.Field(isin=["alvh", "calls", "unhedged"])
    settings: str = pa.Field(description="JSON of the settings this configuration changes (setting name → value)")
    start_date: date
    end_date: date
    total_pnl_gross_usd: float
    total_pnl_net_usd: float
    max_drawdown_gross_usd: float = pa.Field(le=0)
    max_drawdown_net_usd: float = pa.Field(le=0)
    calmar_gross: float = pa.Field(nullable=True)
    calmar_net: float = pa.Field(nullable=True)
    hedge_pnl_usd: float
    costs_usd: float = pa.Field(ge=0)
    contracts_traded: pl.Int64 = pa.Field(ge=0)
    cvar5_monthly_net_usd: float = pa.Field(description="mean of the worst 5 % of calendar months' net P&L")
    worst_20d_net_usd: float = pa.Field(description="worst net P&L over any 20 consecutive sessions")
    crisis_pnl_net_usd: float = pa.Field(description="net P&L summed over the §9 named crisis windows in the run")

    class Config:
        strict = True
        coerce = True
        unique = ["run_id", "config"]


class BacktestWalkForward(pa.DataFrameModel):
    """One row per walk-forward run, fold and strategy (``chosen``: the settings picked on the
    training window; ``default``: the default steward; ``unhedged``), in sample (the training
    window) and out of sample (the test window that follows), dollars."""

    run_id: str
    fold: pl.Int64 = pa.Field(ge=1)
    strategy: str = pa.Field(isin=["chosen", "default", "unhedged"])  # type: ignore[assignment]
    objective: str = pa.Field(isin=["net", "calmar", "max_drawdown", "cvar", "worst20", "crisis"])
    train_start: date
    train_end: date
    test_start: date
    test_end: date
    settings: str = pa.Field(description="JSON of the settings used (for `chosen`: picked on the training window)")
    is_pnl_net_usd: float
    is_max_drawdown_net_usd: float = pa.Field(le=0)
    is_calmar_net: float = pa.Field(nullable=True)
    oos_pnl_net_usd: float
    oos_pnl_gross_usd: float
    oos_max_drawdown_net_usd: float = pa.Field(le=0)
    oos_calmar_net: float = pa.Field(nullable=True)
    oos_costs_usd: float = pa.Field(ge=0)
    is_score: float = pa.Field(description="the objective's score in sample (higher is better)")
    oos_cvar5_monthly_net_usd: float
    oos_worst_20d_net_usd: float
    oos_crisis_pnl_net_usd: float

    class Config:
        strict = True
        coerce = True
        unique = ["run_id", "fold", "strategy"]


@dataclass
class BacktestResult:
    """One backtest run: its tables (daily, events, summary), the market frame it used, the trades
    by strategy and the parameters."""

    run_id: str
    start: date
    end: date
    daily: pl.DataFrame
    events: pl.DataFrame
    summary: pl.DataFrame
    market_frame: pl.DataFrame
    trades: dict[str, Any] = field(default_factory=dict)  # strategy → its trades (orders, positions)
    params: dict[str, Any] = field(default_factory=dict)
    ic_sides: pl.DataFrame = field(default_factory=pl.DataFrame)  # per IC cycle: put and call side P&L
    # the macro event study over the run's data (issue 22; empty without a calendar): its table and
    # a line saying what it covers
    macro_events: pl.DataFrame = field(default_factory=pl.DataFrame)
    macro_events_note: str = ""
