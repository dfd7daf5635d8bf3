"""Importing a user's actual hedge holdings: the next signal starts from them."""

from __future__ import annotations

import io
import math
import uuid
from datetime import date

import duckdb
import polars as pl

from alvh.core.errors import SourceError
from alvh.schemas.broker import IcLegImport
from alvh.schemas.meta import PositionImport, PositionImportRun
from alvh.warehouse.connection import transaction
from alvh.warehouse.load import utcnow
from alvh.warehouse.upsert import insert_ignore

COLUMNS = ("contract_expiry", "strike", "qty")


HOLDING_SCHEMA = {
    "line": pl.Int64,
    "contract_expiry": pl.Date,
    "strike": pl.Float64,
    "qty": pl.Int64,
    "avg_cost": pl.Float64,
}
IC_LEG_SCHEMA = {
    "occ_symbol": pl.String,
    "expiry": pl.Date,
    "strike": pl.Float64,
    "put_call": pl.String,
    "qty": pl.Int64,
    "entry_price": pl.Float64,
}


def decode_text(content: bytes, file: str) -> str:
    """The text of a positions file (UTF-8, a BOM allowed); a binary file is refused by name."""
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with its BOM (Excel's "Unicode Text")
        try:
            return decode_text(content.decode("utf-16").encode("utf-8"), file)
        except UnicodeDecodeError:
            pass
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = content[: exc.start].count(b"\n") + 1
        raise SourceError(
            f"not a text CSV file: line {line} does not decode as UTF-8 (nor is the file UTF-16 with a byte-order "
            'mark); save it as "CSV UTF-8" and import again',
            file=file,
        ) from None
    if "\x00" in text:
        raise SourceError("not a text CSV file (it holds NUL bytes)", file=file)
    return text


def parse_holdings(content: bytes, file: str, max_qty: int | None = None) -> pl.DataFrame:
    """CSV ``contract_expiry,strike,qty[,avg_cost]`` (ISO dates, VIX points, whole contracts),
    one row per line with its line number; each bad field names its line. Rules that need the
    market (listed strikes and expiries) are checked by ``alvh.pipeline.positions``."""
    text = decode_text(content, file)
    first = text.lstrip().split("\n", 1)[0]
    if ";" in first and "," not in first:
        raise SourceError(
            "the file is separated by semicolons; alvh reads comma-separated CSV",
            file=file,
            line=1,
            expected="contract_expiry,strike,qty[,avg_cost] (save it as CSV with commas)",
        )
    try:
        raw = pl.read_csv(io.StringIO(text), infer_schema=False) if text.strip() else pl.DataFrame()
    except pl.exceptions.PolarsError as exc:
        raise SourceError(f"not a CSV file: {exc}", file=file) from exc
    if raw.width == 0 and not text.strip():
        raw = pl.DataFrame(schema={c: pl.String for c in COLUMNS})
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

        def bad(column: str, why: str, expected: str, r: dict[str, object] = r, i: int = i) -> SourceError:
            return SourceError(why, file=file, line=i, column=column, value=str(r.get(column)), expected=expected)

        try:
            expiry = date.fromisoformat(str(r["contract_expiry"]).strip())
        except ValueError:
            raise bad("contract_expiry", "not a date", "an ISO date YYYY-MM-DD") from None
        text_qty = str(r["qty"]).strip()
        try:
            qty_f = float(text_qty.replace(",", ""))
        except ValueError:
            raise bad("qty", "not a number of contracts", "an integer ≥ 0, e.g. 40") from None
        if not math.isfinite(qty_f):
            raise bad("qty", "not a finite number of contracts", "an integer ≥ 0, e.g. 40")
        if qty_f < 0:
            raise bad("qty", "a negative quantity: the hedge ladder holds long VIX calls only (no short calls)", "≥ 0")
        if qty_f != int(qty_f):
            raise bad("qty", "not a whole number of contracts", "an integer ≥ 0, e.g. 40")
        limit = max_qty if max_qty is not None else 1e12
        if qty_f > limit:
            raise bad(
                "qty",
                f"{qty_f:,.0f} contracts is more than positions_max_qty = {limit:,.0f} on one line",
                f"a whole number from 0 to {limit:,.0f} (raise ALVH_POSITIONS_MAX_QTY if you really hold more)",
            )
        try:
            strike = float(str(r["strike"]))
            cost = float(str(r.get("avg_cost") or 0.0))
        except ValueError:
            raise bad("strike", "not a number", "a strike in VIX points, e.g. 22 or 12.5") from None
        if not math.isfinite(cost) or cost < 0:
            raise bad("avg_cost", "the average cost must be a finite price ≥ 0", "VIX points, e.g. 1.35")
        rows.append({"line": i, "contract_expiry": expiry, "strike": strike, "qty": int(qty_f), "avg_cost": cost})
    return pl.DataFrame(rows, schema=HOLDING_SCHEMA)


def aggregate_holdings(lines: pl.DataFrame) -> pl.DataFrame:
    """One row per contract and strike: quantities summed, the cost weighted by quantity (10 @ 1.0
    and 90 @ 3.0 → 100 @ 2.8); lines of 0 contracts drop out."""
    held = lines.filter(pl.col("qty") > 0)
    return (
        held.group_by("contract_expiry", "strike")
        .agg(pl.col("qty").sum(), ((pl.col("qty") * pl.col("avg_cost")).sum() / pl.col("qty").sum()).alias("avg_cost"))
        .sort("contract_expiry", "strike")
    )


def store_import(
    con: duckdb.DuckDBPyConnection,
    holdings: pl.DataFrame,
    as_of: date,
    source_file: str,
    ic_legs: pl.DataFrame | None = None,
    hedge: bool = True,
) -> str:
    """Store one import (its record, its holding lines and any SPX legs, ``IC_LEG_SCHEMA``) in one
    transaction; returns its id. ``hedge`` False: the SPX legs alone (the hedge book stays)."""
    import_id, now = str(uuid.uuid4()), utcnow()
    run = pl.DataFrame(
        [
            {
                "import_id": import_id,
                "imported_at": now,
                "as_of": as_of,
                "source_file": source_file,
                "lines": holdings.height,
                "contracts": int(holdings["qty"].sum()) if holdings.height else 0,
            }
        ]
    )
    frame = holdings.with_columns(
        pl.lit(import_id).alias("import_id"),
        pl.lit(now).alias("imported_at"),
        pl.lit(as_of).alias("as_of"),
        pl.lit(source_file).alias("source_file"),
    )
    stamp = [
        pl.lit(import_id).alias("import_id"),
        pl.lit(now).alias("imported_at"),
        pl.lit(as_of).alias("as_of"),
        pl.lit(source_file).alias("source_file"),
    ]
    with transaction(con):
        if hedge:
            insert_ignore(con, "meta.position_import_run", PositionImportRun, run)
            insert_ignore(con, "meta.position_import", PositionImport, frame)
        if ic_legs is not None and ic_legs.height:
            insert_ignore(con, "meta.ic_leg_import", IcLegImport, ic_legs.with_columns(stamp))
    return import_id


def imported_ic_legs(con: duckdb.DuckDBPyConnection, first: date) -> tuple[date, pl.DataFrame] | None:
    """(as_of, legs) of the latest SPX-leg import in force on session ``first``: effective by then
    and with no leg expired before it (None when there is none)."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'meta' AND table_name = 'ic_leg_import'"
    ).fetchall()[0][0]
    if not exists:  # a warehouse opened read-only before its migration: nothing was imported into it
        return None
    rows = con.execute(
        "SELECT import_id, as_of FROM meta.ic_leg_import WHERE as_of <= ? GROUP BY import_id, as_of, imported_at "
        "HAVING min(expiry) > ? ORDER BY imported_at DESC LIMIT 1",
        [first, first],
    ).fetchall()
    if not rows:
        return None
    import_id, as_of = rows[0]
    legs = con.sql(
        "SELECT occ_symbol, expiry, strike, put_call, qty, entry_price FROM meta.ic_leg_import "
        "WHERE import_id = $id ORDER BY expiry, put_call, strike",
        params={"id": import_id},
    ).pl()
    return as_of, legs


def pending_import(con: duckdb.DuckDBPyConnection, first: date, last_published: date | None) -> pl.DataFrame | None:
    """The latest import not yet superseded by a published session, effective by ``first`` (an
    empty frame: the user is flat)."""
    rows = con.execute(
        "SELECT import_id FROM meta.position_import_run WHERE as_of <= ? AND (? IS NULL OR as_of > ?) "
        "ORDER BY imported_at DESC LIMIT 1",
        [first, last_published, last_published],
    ).fetchall()
    if not rows:
        return None
    import_id = str(rows[0][0]).replace("'", "")
    return con.sql(
        "SELECT contract_expiry, strike, qty, avg_cost FROM meta.position_import "
        f"WHERE import_id = '{import_id}' ORDER BY contract_expiry, strike"
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
