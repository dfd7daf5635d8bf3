"""Rebuild the ``staging`` tables from ``raw``: raw rows from storage, the staging rules from
``alvh.transforms.staging``, written back by storage in one transaction."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl

from alvh.transforms.staging import (
    Staged,
    build_stg_breadth,
    build_stg_index_daily,
    build_stg_macro_event,
    build_stg_rates,
    build_stg_vx_futures,
)
from alvh.warehouse.load import utcnow
from alvh.warehouse.staging import breadth_origin, read_raw, write_staging


@dataclass(frozen=True)
class StagingOptions:
    breadth_precedence: tuple[str, ...] = ("unicorn", "tradingview")
    breadth_glitch_fraction: float = 0.5
    breadth_glitch_window: int = 20


def build_staging(
    con: duckdb.DuckDBPyConnection, run_id: str, options: StagingOptions | None = None
) -> dict[str, Staged]:
    """Rebuild every staging table; returns what each build kept and left out."""
    opts = options or StagingOptions()
    raw = read_raw(con)
    built = {
        "staging.stg_index_daily": build_stg_index_daily(raw["raw.cboe_index"]),
        "staging.stg_vx_futures": build_stg_vx_futures(raw["raw.vx_futures"]),
        "staging.stg_breadth": build_stg_breadth(
            raw["raw.breadth"],
            opts.breadth_precedence,
            glitch_fraction=opts.breadth_glitch_fraction,
            glitch_window=opts.breadth_glitch_window,
        ),
        "staging.stg_rates": build_stg_rates(raw["raw.rates"]),
        "staging.macro_event": build_stg_macro_event(raw["raw.macro_event"]),
    }
    now = utcnow()
    glitch = breadth_quarantine(built["staging.stg_breadth"], breadth_origin(con), run_id, now)
    write_staging(
        con,
        run_id,
        {t: s.frame for t, s in built.items()},
        {t: (s.excluded, s.note) for t, s in built.items()},
        built["staging.stg_vx_futures"].conflicts,
        glitch,
        now,
    )
    return built


def breadth_quarantine(staged: Staged, origin: pl.DataFrame, run_id: str, now: object) -> pl.DataFrame:
    """Glitch days as quarantine rows pointing at the advancing-issues row they came from, with
    that line exactly as read (a summary of the counts only for rows loaded before lines were
    kept)."""
    if staged.quarantine is None or staged.quarantine.is_empty():
        return pl.DataFrame()
    return staged.quarantine.join(origin, on=["provider", "session_date"], how="left").select(
        pl.lit(run_id).alias("run_id"),
        pl.lit("staging.stg_breadth").alias("source"),
        pl.col("source_file").alias("file"),
        "line_no",
        pl.coalesce("line_text", "raw_text").alias("raw_text"),
        "reason",
        "sha256",
        pl.lit(now).alias("quarantined_at"),
    )
