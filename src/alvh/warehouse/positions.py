"""Importing a user's actual hedge holdings: the next signal starts from them."""

from __future__ import annotations

import io
import uuid
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from alvh.core.errors import SourceError
from alvh.schemas.meta import PositionImport
from alvh.warehouse.load import utcnow
from alvh.warehouse.upsert import insert_ignore

COLUMNS = ("contract_expiry", "strike", "qty")


def parse_holdings(text: str, file: str) -> pl.DataFrame:
    """CSV ``contract_expiry,strike,qty[,avg_cost]`` (ISO dates, VIX points, contracts)."""
    try:
        raw = pl.read_csv(io.StringIO(text), infer_schema=False)
    except pl.exceptions.PolarsError as exc:
        raise SourceError(f"not a CSV file: {exc}", file=file) from exc
    missing = [c for c in COLUMNS if c not in raw.columns]
    if missing:
        raise SourceError(
            "wrong header: missing " + ", ".join(missing),
            file=file,
            line=1,
            expected="contract_expiry,strike,qty[,avg_cost]",
        )
    rows = []
    for i, r in enumerate(raw.to_dicts(), start=2):
        try:
            qty = int(str(r["qty"]))
            if qty < 0:
                raise ValueError("quantity must be ≥ 0")
            rows.append(
                {
                    "contract_expiry": date.fromisoformat(str(r["contract_expiry"]).strip()),
                    "strike": float(str(r["strike"])),
                    "qty": qty,
                    "avg_cost": float(str(r.get("avg_cost") or 0.0)),
                }
            )
        except (ValueError, TypeError) as exc:
            raise SourceError(
                f"bad row: {exc}",
                file=file,
                line=i,
                value=str(r),
                expected="an ISO date, a strike, a whole number of contracts",
            ) from exc
    frame = pl.DataFrame(
        rows, schema={"contract_expiry": pl.Date, "strike": pl.Float64, "qty": pl.Int64, "avg_cost": pl.Float64}
    )
    frame = frame.group_by("contract_expiry", "strike").agg(pl.col("qty").sum(), pl.col("avg_cost").mean())
    return frame.filter(pl.col("qty") > 0).sort("contract_expiry", "strike")


def import_holdings(con: duckdb.DuckDBPyConnection, path: Path, as_of: date) -> pl.DataFrame:
    """Store the holdings; the next signal for a session on or after ``as_of`` starts from them."""
    holdings = parse_holdings(path.read_text(), str(path))
    frame = holdings.with_columns(
        pl.lit(str(uuid.uuid4())).alias("import_id"),
        pl.lit(utcnow()).alias("imported_at"),
        pl.lit(as_of).alias("as_of"),
        pl.lit(str(path)).alias("source_file"),
    )
    insert_ignore(con, "meta.position_import", PositionImport, frame)
    return holdings


def pending_import(con: duckdb.DuckDBPyConnection, first: date, last_published: date | None) -> pl.DataFrame | None:
    """The latest import not yet superseded by a published session, effective by ``first``."""
    rows = con.execute(
        "SELECT import_id FROM meta.position_import WHERE as_of <= ? AND (? IS NULL OR as_of > ?) "
        "ORDER BY imported_at DESC LIMIT 1",
        [first, last_published, last_published],
    ).fetchall()
    if not rows:
        return None
    return con.sql(
        f"SELECT contract_expiry, strike, qty, avg_cost FROM meta.position_import WHERE import_id = '{rows[0][0]}'"
    ).pl()


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
