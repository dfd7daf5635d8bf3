"""The signal marts as typed Polars frames, in table column order, every row stamped with the
engine's ``method_version`` (ALVH_METHOD.md §8).

Pure: a replay's rows (``marts.hedge_signal_daily``, ``layer_adjustment``, ``hedge_order``,
``hedge_position``, ``stress_scenario``), the sessions' whole books (``marts.book_risk``,
``marts.payoff_grid``) or any other mart's rows in, frames typed by the table's pandera model
(:mod:`alvh.schemas.columns`) out. ``alvh.pipeline.signals`` computes the batch and storage
(``alvh.warehouse.signals``) audits and publishes it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

import polars as pl

from alvh.schemas.columns import polars_schema
from alvh.schemas.registry import TABLES
from alvh.transforms.book_risk import book_risk_rows
from alvh.transforms.payoff_grid import payoff_grids
from alvh.transforms.signal import Replay
from alvh.transforms.whole_book import WholeBook


def typed_frame(table: str, rows: list[dict[str, Any]], method_version: str) -> pl.DataFrame:
    """``rows`` stamped with ``method_version``, typed in ``table``'s column order."""
    schema = polars_schema(TABLES[table])
    if not rows:
        return pl.DataFrame(schema=schema)
    stamped = [r | {"method_version": method_version} for r in rows]
    return pl.DataFrame(stamped, infer_schema_length=None).select([pl.col(c).cast(t) for c, t in schema.items()])


def frames_from_replay(
    rp: Replay,
    run_id: str,
    settings_hash: str,
    method_version: str,
    occ_symbol: Callable[[date, float], str],
) -> dict[str, pl.DataFrame]:
    """Typed frames in table column order, every row stamped with ``method_version`` (§8).

    Each session's tickets are numbered from 1 in the replay's order; ``occ_symbol(expiry,
    strike)`` names a ticket's VIX call (the broker format lives in ``alvh.sources.broker``)."""

    def frame(table: str, rows: list[dict[str, Any]]) -> pl.DataFrame:
        schema = polars_schema(TABLES[table])
        if not rows:
            return pl.DataFrame(schema=schema)
        stamped = [r | {"method_version": method_version} for r in rows]  # every published row (§8)
        return pl.DataFrame(stamped, infer_schema_length=None).select(
            [pl.col(c).cast(t) if c in stamped[0] else pl.lit(None, dtype=t).alias(c) for c, t in schema.items()]
        )

    signals = [s | {"run_id": run_id, "settings_hash": settings_hash} for s in rp.signals]
    orders = []
    for d in sorted({o["session_date"] for o in rp.orders}):
        for n, o in enumerate((o for o in rp.orders if o["session_date"] == d), start=1):
            orders.append(o | {"ticket": n, "occ_symbol": occ_symbol(o["contract_expiry"], o["strike"])})
    return {
        "marts.hedge_signal_daily": frame("marts.hedge_signal_daily", signals),
        "marts.layer_adjustment": frame("marts.layer_adjustment", rp.layers),
        "marts.hedge_order": frame("marts.hedge_order", orders),
        "marts.hedge_position": frame("marts.hedge_position", rp.positions),
        "marts.stress_scenario": frame("marts.stress_scenario", rp.stress),
    }


def risk_frames(books: Sequence[WholeBook], method_version: str) -> dict[str, pl.DataFrame]:
    """``marts.book_risk`` and ``marts.payoff_grid`` of the sessions' whole books, typed, in table
    column order."""
    stamp = pl.lit(method_version).alias("method_version")
    out = {}
    for table, frame in (
        ("marts.book_risk", pl.DataFrame(book_risk_rows(books), infer_schema_length=None)),
        ("marts.payoff_grid", payoff_grids(books)),
    ):
        schema = polars_schema(TABLES[table])
        if frame.height == 0:
            out[table] = pl.DataFrame(schema=schema)
            continue
        out[table] = frame.with_columns(stamp).select([pl.col(c).cast(t) for c, t in schema.items()])
    return out
