"""pandera models of the published signal marts (ALVH_METHOD.md §8) and the cross-table
invariants, each a named check that reports the offending rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandera.polars as pa
import polars as pl

ACTIONS = ["OPEN", "ADD", "TRIM", "ROLL", "HARVEST", "HOLD"]
# tickets also cash-settle expired contracts (not a decision: it happens on stale days too)
ORDER_ACTIONS = [*ACTIONS, "SETTLE"]
FORWARD_SOURCES = ["settle", "interpolated"]


class HedgeSignalDaily(pa.DataFrameModel):
    """One row per XNYS session signalled: the day's hedge decision and its inputs.

    Money in dollars; vega in dollars per vol point (IC: short program vega at 30 days; hedge:
    Σ q·100·Δ·β after the day's orders); ratios are hedge vega ÷ |V_ic|; break-evens in SPX
    points at the IC expiry net of hedge premium not yet recovered.
    """

    session_date: date = pa.Field(unique=True)
    stale: bool = pa.Field(description="an input was missing or stale: no trades today")
    stale_reason: str = pa.Field(nullable=True, description="why, in plain words")
    breadth_missing: bool = pa.Field(description="no breadth today: RSI taken as 50")
    vix_close: float = pa.Field(gt=0, nullable=True)
    macd_hist: float = pa.Field(nullable=True)
    macd_cross: pl.Int8 = pa.Field(isin=[-1, 0, 1], nullable=True)
    ad_rsi: float = pa.Field(ge=0, le=100, nullable=True)
    regime: str = pa.Field(isin=["calm", "elevated", "spike", "fading"], nullable=True)
    ic_short_vega_usd: float = pa.Field(ge=0, nullable=True, description="|V_ic|, program (30-day) vega")
    ic_live_vega_usd: float = pa.Field(ge=0, nullable=True, description="|vega| of the live IC")
    ic_value_usd: float = pa.Field(nullable=True, description="mark of the IC legs (negative = liability)")
    hedge_vega_usd: float = pa.Field(nullable=True, description="hedge $ per VIX point after orders")
    ratio_current: float = pa.Field(ge=0, nullable=True, description="R before today's orders")
    ratio_target: float = pa.Field(nullable=True, description="r* (after the steward cap)")
    ratio_breadth: float = pa.Field(nullable=True, description="r_b from the A/D RSI")
    steward_capped: bool
    contracts_target: pl.Int64 = pa.Field(ge=0, nullable=True, description="round(N*) contracts")
    contracts_model: float = pa.Field(ge=0, nullable=True, description="N* before rounding")
    breakeven_low: float = pa.Field(nullable=True)
    breakeven_high: float = pa.Field(nullable=True)
    ic_expiry: date
    ic_contracts: pl.Int64 = pa.Field(ge=0)
    ic_credit_usd: float = pa.Field(nullable=True)
    short_put: float = pa.Field(nullable=True)
    short_call: float = pa.Field(nullable=True)
    hedge_spend_usd: float = pa.Field(nullable=True, description="net hedge premium paid this IC cycle")
    actions_summary: str
    positions_note: str = pa.Field(nullable=True, description="imported holdings vs the paper book")
    method_version: str
    settings_hash: str
    run_id: str
    next_event: str = pa.Field(
        nullable=True,
        description="the next scheduled FOMC decision, CPI or PPI release after the close, in words "
        "(information only), e.g. 'CPI before the next open (2026-01-13, 08:30 ET)'",
    )

    class Config:
        strict = True
        coerce = True
        unique = ["session_date"]

    @pa.dataframe_check(name="check_stale_rows_name_their_cause")
    def stale_reason_present(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("stale") == pl.col("stale_reason").is_not_null())

    @pa.dataframe_check(name="check_ratio_current_undefined_without_ic_vega")
    def ratio_null_when_no_vega(cls, data: pa.PolarsData) -> pl.LazyFrame:
        """R is null exactly when |V_ic| = 0 (and on stale days)."""
        undefined = pl.col("stale") | (pl.col("ic_short_vega_usd").fill_null(0.0) <= 0.0)
        return data.lazyframe.select(undefined == pl.col("ratio_current").is_null())


class LayerAdjustment(pa.DataFrameModel):
    """One row per session and layer (1, 2, 3): what to do in that VIX expiry today.

    ``model_target_qty`` is what sizing alone asks for; ``target_qty`` what the layer holds after
    today's orders; ``trade_qty = target_qty − current_qty``. Prices in VIX points; h in $/pt.
    """

    session_date: date
    layer: pl.Int64 = pa.Field(isin=[1, 2, 3])
    contract_expiry: date
    dte: pl.Int64 = pa.Field(ge=0, nullable=True, description="calendar days")
    tdte: pl.Int64 = pa.Field(ge=0, nullable=True, description="XNYS sessions")
    future_settle: float = pa.Field(gt=0, nullable=True, description="the layer's forward: settle or interpolated")
    strike: float = pa.Field(gt=0, nullable=True, description="target strike for new purchases")
    model_price: float = pa.Field(ge=0, nullable=True)
    delta: float = pa.Field(ge=0, le=1, nullable=True)
    hedge_vega_per_contract_usd: float = pa.Field(ge=0, nullable=True, description="h_i = 100·Δ·β")
    current_qty: pl.Int64 = pa.Field(ge=0)
    model_target_qty: pl.Int64 = pa.Field(ge=0, nullable=True)
    target_qty: pl.Int64 = pa.Field(ge=0)
    trade_qty: pl.Int64
    action: str = pa.Field(isin=ACTIONS)
    reason: str = pa.Field(str_length={"min_value": 1})
    # last, so a migrated warehouse file (columns appended) has the same order as a new one
    forward_source: str = pa.Field(isin=FORWARD_SOURCES, nullable=True, description="settle / interpolated (§3)")
    method_version: str = pa.Field(nullable=True, description="engine method (null: before ALVH-2026.2)")
    price_source: str = pa.Field(
        isin=["quote", "model"],
        nullable=True,
        description="quote: an imported EOD quote priced it; model: the surface (§4)",
    )

    class Config:
        strict = True
        coerce = True
        unique = ["session_date", "layer"]

    @pa.dataframe_check(name="check_trade_equals_target_minus_current")
    def trade_identity(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("trade_qty") == pl.col("target_qty") - pl.col("current_qty"))

    @pa.dataframe_check(name="check_three_layers_per_day")
    def three_layers(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.len().over("session_date") == 3)

    @pa.dataframe_check(name="check_expiries_increase_with_layer")
    def expiries_increase(cls, data: pa.PolarsData) -> pl.LazyFrame:
        prev = pl.col("contract_expiry").sort_by("layer").shift(1).over("session_date")
        ordered = data.lazyframe.sort("session_date", "layer")
        return ordered.select(prev.is_null() | (pl.col("contract_expiry") > prev))


class HedgeOrder(pa.DataFrameModel):
    """One row per ticket: every contract bought or sold at the session's close."""

    session_date: date
    ticket: pl.Int64 = pa.Field(ge=1, description="order number within the session")
    contract_expiry: date
    strike: float = pa.Field(gt=0)
    side: str = pa.Field(isin=["BUY", "SELL"])
    qty: pl.Int64 = pa.Field(ge=1, description="contracts")
    model_price: float = pa.Field(ge=0, description="price, VIX points: the quote's mid or Black-76 on the surface")
    layer: pl.Int64 = pa.Field(isin=[1, 2, 3])
    action: str = pa.Field(isin=ORDER_ACTIONS)
    reason: str
    method_version: str = pa.Field(nullable=True, description="engine method (null: before ALVH-2026.2)")
    # last, so a migrated warehouse file (column appended) has the same order as a new one
    occ_symbol: str = pa.Field(nullable=True, description="the contract's OCC symbol, e.g. 'VIX   260121C00019000'")
    price_source: str = pa.Field(
        isin=["quote", "model"],
        nullable=True,
        description="quote: an imported EOD quote priced it; model: the surface (§4)",
    )
    bid: float = pa.Field(ge=0, nullable=True, description="the imported quote's EOD bid (quote-priced tickets)")
    ask: float = pa.Field(ge=0, nullable=True, description="the imported quote's EOD ask (quote-priced tickets)")

    class Config:
        strict = True
        coerce = True
        unique = ["session_date", "ticket"]


class HedgePosition(pa.DataFrameModel):
    """One row per session and held contract: the hedge after that session's orders."""

    session_date: date
    contract_expiry: date
    strike: float = pa.Field(gt=0)
    qty: pl.Int64 = pa.Field(ge=1, description="contracts held")
    avg_cost: float = pa.Field(ge=0, description="average entry price, VIX points")
    method_version: str = pa.Field(nullable=True, description="engine method (null: before ALVH-2026.2)")
    price_source: str = pa.Field(
        isin=["quote", "model"],
        nullable=True,
        description="quote: an imported EOD quote priced it; model: the surface (§4)",
    )

    class Config:
        strict = True
        coerce = True
        unique = ["session_date", "contract_expiry", "strike"]

    @pa.dataframe_check(name="check_no_contract_held_past_expiry")
    def not_expired(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("contract_expiry") > pl.col("session_date"))


class StressScenario(pa.DataFrameModel):
    """One row per session and scenario: instantaneous P&L of the book after the session."""

    session_date: date
    scenario: str
    vix_shock: float = pa.Field(description="VIX points")
    spx_shock_pct: float = pa.Field(description="percent")
    ic_pnl_usd: float
    hedge_pnl_usd: float
    net_pnl_usd: float
    method_version: str = pa.Field(nullable=True, description="engine method (null: before ALVH-2026.2)")

    class Config:
        strict = True
        coerce = True
        unique = ["session_date", "scenario"]

    @pa.dataframe_check(name="check_net_is_ic_plus_hedge")
    def net_sum(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            (pl.col("net_pnl_usd") - pl.col("ic_pnl_usd") - pl.col("hedge_pnl_usd")).abs() < 1e-6
        )


class QuoteCheck(pa.DataFrameModel):
    """Model against market (§4): the surface's price of each quoted layer strike and held
    contract beside the imported EOD mid, one row per session × contract × strike."""

    session_date: date
    contract_expiry: date
    strike: float = pa.Field(gt=0)
    role: str = pa.Field(isin=["layer", "held"], description="the layer's target strike, or a held contract")
    layer: pl.Int64 = pa.Field(isin=[1, 2, 3])
    qty_held: pl.Int64 = pa.Field(ge=0, description="contracts held after the session's orders")
    forward: float = pa.Field(gt=0, description="VX forward the quote's IV is implied on")
    dte: pl.Int64 = pa.Field(ge=1, description="calendar days to expiry")
    bid: float = pa.Field(gt=0)
    ask: float = pa.Field(gt=0)
    mid: float = pa.Field(gt=0)
    quote_iv: float = pa.Field(gt=0, description="the quote's own Black-76 IV (decimal)")
    quote_delta: float = pa.Field(ge=0, le=1)
    model_price: float = pa.Field(ge=0, description="the surface's price, VIX points")
    model_sigma: float = pa.Field(gt=0, description="the surface's σ (decimal)")
    error_pct: float = pa.Field(description="model ÷ mid − 1, percent")
    error_vol_pts: float = pa.Field(description="model σ − quote IV, vol points")
    inside_spread: bool
    method_version: str = pa.Field(nullable=True)

    class Config:
        strict = True
        coerce = True
        unique = ["session_date", "contract_expiry", "strike"]


# The cross-table invariants ``check_cross_table`` evaluates, by name: the audit records a
# pass/fail row for each of them on every batch.
CROSS_TABLE_INVARIANTS = (
    "check_ratio_target_in_bounds",
    "check_position_carry",
    "check_layer_trades_match_orders",
    "check_stale_days_do_not_trade",
    "check_three_layers_per_day",
)


@dataclass
class InvariantFailure:
    rule: str
    rows: pl.DataFrame

    def describe(self) -> str:
        return f"{self.rule}: {self.rows.height} row(s), e.g. {self.rows.head(3).to_dicts()}"


def check_cross_table(
    signals: pl.DataFrame,
    layers: pl.DataFrame,
    orders: pl.DataFrame,
    positions: pl.DataFrame,
    previous_positions: pl.DataFrame,
    ratio_bounds: tuple[float, float] = (0.6, 1.2),
) -> list[InvariantFailure]:
    """Invariants across the marts of a batch of sessions (ALVH_METHOD.md §8); ``ratio_bounds``
    are the settings in force (``ratio_min``, ``ratio_max``)."""
    failures: list[InvariantFailure] = []
    # check_ratio_target_in_bounds: ratio_min ≤ r* ≤ ratio_max on every non-stale day
    lo, hi = ratio_bounds
    r = pl.col("ratio_target")
    out_of_bounds = signals.filter(~pl.col("stale") & ((r < lo - 1e-9) | (r > hi + 1e-9)))
    if out_of_bounds.height:
        failures.append(
            InvariantFailure("check_ratio_target_in_bounds", out_of_bounds.select("session_date", "ratio_target"))
        )
    key = ["contract_expiry", "strike"]
    days = signals["session_date"].sort().to_list()
    # check_position_carry: position(t) = position(previous session) + orders(t), every contract
    signed = orders.with_columns(
        pl.when(pl.col("side") == "BUY").then(pl.col("qty")).otherwise(-pl.col("qty")).alias("_q")
    )
    prev = previous_positions.select(*key, pl.col("qty").alias("_prev"))
    bad_rows = []
    for d in days:
        todays = signed.filter(pl.col("session_date") == d).group_by(key).agg(pl.col("_q").sum())
        now = positions.filter(pl.col("session_date") == d).select(*key, pl.col("qty").alias("_now"))
        joined = (
            prev.join(todays, on=key, how="full", coalesce=True)
            .join(now, on=key, how="full", coalesce=True)
            .with_columns(pl.col("_prev", "_q", "_now").fill_null(0))
            .filter(pl.col("_prev") + pl.col("_q") != pl.col("_now"))
        )
        if joined.height:
            bad_rows.append(joined.with_columns(pl.lit(d).alias("session_date")))
        prev = now.rename({"_now": "_prev"})
    if bad_rows:
        failures.append(InvariantFailure("check_position_carry", pl.concat(bad_rows)))
    # check_layer_trades_match_orders: trade_qty = Σ BUY − Σ SELL of the layer's orders in its expiry
    per_layer = signed.group_by("session_date", "layer", "contract_expiry").agg(pl.col("_q").sum())
    lay = layers.join(per_layer, on=["session_date", "layer", "contract_expiry"], how="left").with_columns(
        pl.col("_q").fill_null(0)
    )
    mismatch = lay.filter(pl.col("trade_qty") != pl.col("_q"))
    if mismatch.height:
        failures.append(
            InvariantFailure(
                "check_layer_trades_match_orders", mismatch.select("session_date", "layer", "trade_qty", "_q")
            )
        )
    # check_stale_days_do_not_trade (cash settlement of an expired contract is not a trade)
    stale_days = signals.filter(pl.col("stale"))["session_date"]
    traded = orders.filter(pl.col("session_date").is_in(stale_days.implode()) & (pl.col("action") != "SETTLE"))
    if traded.height:
        failures.append(InvariantFailure("check_stale_days_do_not_trade", traded))
    # check_layers_for_every_signal
    missing = signals.join(layers, on="session_date", how="anti")
    if missing.height:
        failures.append(InvariantFailure("check_three_layers_per_day", missing.select("session_date")))
    return failures
