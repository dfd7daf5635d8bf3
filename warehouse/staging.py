"""Rebuild the ``staging`` tables from ``raw`` in one transaction, validated by their models."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl

from schemas.meta import Quarantine, StagingBuild, VxConflict
from schemas.staging import StgBreadth, StgIndexDaily, StgRates, StgVxFutures
from transforms.staging import (
    Staged,
    build_stg_breadth,
    build_stg_index_daily,
    build_stg_rates,
    build_stg_vx_futures,
)
from warehouse.connection import transaction
from warehouse.load import utcnow, validate
from warehouse.upsert import insert_ignore, replace_table


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
    built = {
        "staging.stg_index_daily": build_stg_index_daily(
            con.sql("SELECT symbol, date, open, high, low, close FROM raw.cboe_index").pl()
        ),
        "staging.stg_vx_futures": build_stg_vx_futures(con.sql("SELECT * FROM raw.vx_futures").pl()),
        "staging.stg_breadth": build_stg_breadth(
            con.sql("SELECT provider, series, session_date, value FROM raw.breadth").pl(),
            opts.breadth_precedence,
            glitch_fraction=opts.breadth_glitch_fraction,
            glitch_window=opts.breadth_glitch_window,
        ),
        "staging.stg_rates": build_stg_rates(con.sql("SELECT series, date, value FROM raw.rates").pl()),
    }
    models = {
        "staging.stg_index_daily": StgIndexDaily,
        "staging.stg_vx_futures": StgVxFutures,
        "staging.stg_breadth": StgBreadth,
        "staging.stg_rates": StgRates,
    }
    frames = {t: validate(models[t], s.frame, t) for t, s in built.items()}
    now = utcnow()
    glitch = _breadth_quarantine(con, built["staging.stg_breadth"], run_id, now)
    conflicts = built["staging.stg_vx_futures"].conflicts
    with transaction(con):
        for table, frame in frames.items():
            replace_table(con, table, models[table], frame)
        if conflicts is not None:
            replace_table(con, "meta.vx_conflict", VxConflict, conflicts)
        insert_ignore(con, "meta.quarantine", Quarantine, glitch)
        log = pl.DataFrame(
            {
                "run_id": [run_id] * len(built),
                "table_name": list(built),
                "rows_out": [f.height for f in frames.values()],
                "rows_excluded": [s.excluded for s in built.values()],
                "note": [s.note for s in built.values()],
                "built_at": [now] * len(built),
            }
        )
        insert_ignore(con, "meta.staging_build", StagingBuild, log)
    return built


def _breadth_quarantine(con: duckdb.DuckDBPyConnection, staged: Staged, run_id: str, now: object) -> pl.DataFrame:
    """Glitch days as quarantine rows pointing at the advancing-issues row they came from."""
    if staged.quarantine is None or staged.quarantine.is_empty():
        return pl.DataFrame()
    origin = con.sql(
        "SELECT provider, session_date, source_file, line_no, sha256 FROM raw.breadth WHERE series = 'advn'"
    ).pl()
    return staged.quarantine.join(origin, on=["provider", "session_date"], how="left").select(
        pl.lit(run_id).alias("run_id"),
        pl.lit("staging.stg_breadth").alias("source"),
        pl.col("source_file").alias("file"),
        "line_no",
        "raw_text",
        "reason",
        "sha256",
        pl.lit(now).alias("quarantined_at"),
    )
