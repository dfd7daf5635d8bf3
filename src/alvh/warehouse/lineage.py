"""Lineage queries over ``meta.ingest_run``: what each file looked like when last loaded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb


def last_loaded_sha(con: duckdb.DuckDBPyConnection, family: str) -> dict[str, str]:
    """File name → sha256 of its last successfully loaded (or confirmed unchanged) version."""
    rows = con.execute(
        "SELECT file_name, arg_max(sha256, finished_at) FROM meta.ingest_run "
        "WHERE family = ? AND status IN ('loaded', 'unchanged') GROUP BY file_name",
        [family],
    ).fetchall()
    return {name: sha for name, sha in rows}


def last_load_counts(con: duckdb.DuckDBPyConnection, family: str) -> dict[str, tuple[int, int]]:
    """File name → (rows read, rows quarantined) of its last successful load (what an unchanged
    file, skipped by its sha256, still holds)."""
    rows = con.execute(
        "SELECT file_name, arg_max(rows_read, finished_at), arg_max(rows_quarantined, finished_at) "
        "FROM meta.ingest_run WHERE family = ? AND status = 'loaded' GROUP BY file_name",
        [family],
    ).fetchall()
    return {name: (int(read), int(quarantined)) for name, read, quarantined in rows}


def http_validators(con: duckdb.DuckDBPyConnection, family: str) -> dict[str, tuple[str | None, str | None]]:
    """URL → (ETag, Last-Modified) the server gave for the version last loaded (or confirmed
    unchanged) from it; sent back so an unchanged file is not downloaded again."""
    rows = con.execute(
        "SELECT locator, arg_max(etag, finished_at), arg_max(last_modified, finished_at) FROM meta.ingest_run "
        "WHERE family = ? AND status IN ('loaded', 'unchanged') AND source = 'http' GROUP BY locator",
        [family],
    ).fetchall()
    return {url: (etag, modified) for url, etag, modified in rows if etag or modified}


def final_files(con: duckdb.DuckDBPyConnection, family: str) -> set[tuple[str, date]]:
    """(file name, date) of every file successfully read or found missing, with the date of the
    last such run; callers skip contract files read after their expiry (they cannot change)."""
    rows = con.execute(
        "SELECT file_name, CAST(max(started_at) AS DATE) FROM meta.ingest_run "
        "WHERE family = ? AND status IN ('loaded', 'unchanged', 'missing') GROUP BY file_name",
        [family],
    ).fetchall()
    return {(name, d) for name, d in rows}


def revisions_in_run(
    con: duckdb.DuckDBPyConnection, run_id: str
) -> list[tuple[str, str, str, str | None, str | None, date | None]]:
    """The values one ingest run revised: (table, row key, column, old, new, row date)."""
    rows = con.execute(
        "SELECT table_name, row_key, column_name, old_value, new_value, row_date FROM meta.revision "
        "WHERE run_id = ? ORDER BY row_key",
        [run_id],
    ).fetchall()
    return [tuple(r) for r in rows]


def input_ranges(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[date | None, date | None]]:
    """(first, last) session of each input a signal requires: VIX, VVIX, SPX closes, VX settles."""
    out: dict[str, tuple[date | None, date | None]] = {}
    for name in ("VIX", "VVIX", "SPX"):
        first, last = con.execute(
            "SELECT min(session_date), max(session_date) FROM staging.stg_index_daily WHERE symbol = ?", [name]
        ).fetchall()[0]
        out[name] = (first, last)
    first, last = con.execute(
        "SELECT min(trade_date), max(trade_date) FROM staging.stg_vx_futures WHERE settle IS NOT NULL"
    ).fetchall()[0]
    out["VX futures"] = (first, last)
    return out


def inputs_missing_on(con: duckdb.DuckDBPyConnection, day: date) -> list[str]:
    """The inputs a signal requires with no row yet for session ``day`` (late data), in the order
    VIX, VVIX, SPX (closes in ``staging.stg_index_daily``), then "VX futures" (any contract's row
    in ``staging.stg_vx_futures``)."""
    have = {
        s
        for (s,) in con.execute(
            "SELECT symbol FROM staging.stg_index_daily WHERE session_date = ? AND symbol IN ('VIX', 'VVIX', 'SPX')",
            [day],
        ).fetchall()
    }
    vx = con.execute("SELECT count(*) FROM staging.stg_vx_futures WHERE trade_date = ?", [day]).fetchall()[0][0]
    return [s for s in ("VIX", "VVIX", "SPX") if s not in have] + ([] if vx else ["VX futures"])


@dataclass(frozen=True)
class DataSpan:
    """The sessions every required input covers: from the latest first session to the earliest
    last one. ``missing`` names the inputs with no history at all (then ``first``/``last`` are None);
    ``ends`` names the inputs whose history ends on ``last`` (``VX futures 2026-01-07``)."""

    missing: list[str]
    first: date | None
    last: date | None
    ends: str


def data_span(con: duckdb.DuckDBPyConnection) -> DataSpan:
    """The warehouse's span of complete input data (VIX, VVIX, SPX closes and VX settles)."""
    ranges = input_ranges(con)
    missing = [name for name, (first, _) in ranges.items() if first is None]
    if missing:
        return DataSpan(missing, None, None, "")
    first = max(f for f, _ in ranges.values() if f is not None)
    last = min(x for _, x in ranges.values() if x is not None)
    ends = ", ".join(f"{name} {x}" for name, (_, x) in ranges.items() if x == last)
    return DataSpan([], first, last, ends)
