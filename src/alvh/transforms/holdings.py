"""A user's imported VIX-call holdings as frames: lines summed per contract and strike, and how
they differ from the paper book, in plain words.

Frames hold ``contract_expiry`` (date), ``strike`` (VIX points), ``qty`` (whole contracts, long)
and ``avg_cost`` (VIX points per unit)."""

from __future__ import annotations

import polars as pl


def aggregate_holdings(lines: pl.DataFrame) -> pl.DataFrame:
    """One row per contract and strike: quantities summed, the cost weighted by quantity (10 @ 1.0
    and 90 @ 3.0 → 100 @ 2.8); lines of 0 contracts drop out."""
    held = lines.filter(pl.col("qty") > 0)
    return (
        held.group_by("contract_expiry", "strike")
        .agg(pl.col("qty").sum(), ((pl.col("qty") * pl.col("avg_cost")).sum() / pl.col("qty").sum()).alias("avg_cost"))
        .sort("contract_expiry", "strike")
    )


def difference_note(imported: pl.DataFrame, paper: pl.DataFrame, file_hint: str = "imported holdings") -> str:
    """Plain-words difference between the imported holdings and the paper book."""
    key = ["contract_expiry", "strike"]
    a = imported.select(*key, pl.col("qty").alias("imported"))
    b = (
        paper.select(*key, pl.col("qty").alias("paper"))
        if paper.height
        else pl.DataFrame(schema={"contract_expiry": pl.Date, "strike": pl.Float64, "paper": pl.Int64})
    )
    j = a.join(b, on=key, how="full", coalesce=True).with_columns(pl.col("imported", "paper").fill_null(0))
    diff = j.filter(pl.col("imported") != pl.col("paper")).sort(key)
    if diff.is_empty():
        return f"started from {file_hint}: identical to the paper book"
    parts = [f"{r['contract_expiry']} {r['strike']:g}C {r['imported']} (paper {r['paper']})" for r in diff.to_dicts()]
    return f"started from {file_hint}, which differ from the paper book: " + "; ".join(parts)
