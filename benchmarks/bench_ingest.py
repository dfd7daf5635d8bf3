"""Benchmark: full ingest of ``../shared/data`` into an empty warehouse, and a no-change re-run,
against DuckDB's own ``read_csv`` reading the same files into memory (the named baseline).

Run: ``uv run python benchmarks/bench_ingest.py [--repeat N]``. Pipeline work is timed through the
same plain functions the Prefect tasks call (fetch + parse + validate + upsert + lineage +
staging); the Prefect orchestration cost (an ephemeral API server per process) is reported
separately because it does not depend on the data.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

import duckdb

from alvh.core.settings import load_settings
from alvh.pipeline.load import load_family
from alvh.pipeline.staging import build_staging
from alvh.pipeline.wiring import fetch_all, make_source, vendor_format
from alvh.sources.catalog import FAMILIES
from alvh.warehouse.connection import open_warehouse

DATA = (Path(__file__).resolve().parents[1] / ".." / "shared" / "data").resolve()


def pipeline(db: Path) -> tuple[float, int]:
    """One ingest through the plain functions; returns seconds and rows inserted."""
    settings = load_settings(source_dir=DATA, warehouse=db)
    t0 = time.perf_counter()
    source = make_source(settings, date.today())
    run_id = str(uuid.uuid4())
    inserted = 0
    changed = False
    with open_warehouse(db) as con:
        for family in FAMILIES:
            files = fetch_all(source, source.list_files(family), family, 1)
            outs = load_family(
                con, family, files, run_id=run_id, source_kind="directory", vendor=vendor_format(settings)
            )
            inserted += sum(o.rows_inserted for o in outs)
            changed |= any(o.rows_inserted or o.rows_updated for o in outs)
        if changed:
            build_staging(con, run_id)
    return time.perf_counter() - t0, inserted


def files_by_family() -> dict[str, list[Path]]:
    settings = load_settings(source_dir=DATA)
    source = make_source(settings, date.today())
    return {fam: [Path(r.locator) for r in source.list_files(fam)] for fam in FAMILIES}


def raw_read_batched(groups: dict[str, list[Path]]) -> float:
    """DuckDB read_csv with one call per family over its file list (union_by_name)."""
    con = duckdb.connect()
    t0 = time.perf_counter()
    for files in groups.values():
        names = ", ".join(f"'{f}'" for f in files)
        con.sql(
            f"SELECT * FROM read_csv([{names}], union_by_name=true, ignore_errors=true, null_padding=true)"
        ).to_arrow_table()
    return time.perf_counter() - t0


def raw_read(files: list[Path]) -> float:
    """DuckDB read_csv of every file into memory (Arrow), one call per file (sniffer on)."""
    con = duckdb.connect()
    t0 = time.perf_counter()
    for f in files:
        con.sql(f"SELECT * FROM read_csv('{f}', ignore_errors=true, null_padding=true)").to_arrow_table()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    groups = files_by_family()
    files = [f for fs in groups.values() for f in fs]
    size = sum(f.stat().st_size for f in files)
    raw_read(files[:5])  # warm the file cache and DuckDB's extension loading
    baseline = [raw_read(files) for _ in range(args.repeat)]
    batched = [raw_read_batched(groups) for _ in range(args.repeat)]
    full: list[float] = []
    rerun: list[float] = []
    rows = 0
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "bench.duckdb"
            t, rows = pipeline(db)
            full.append(t)
            t2, again = pipeline(db)
            assert again == 0, "a no-change re-run inserted rows"
            rerun.append(t2)
    b, f, r = statistics.median(baseline), statistics.median(full), statistics.median(rerun)
    bb = statistics.median(batched)
    print(f"files: {len(files)} ({size / 1e6:.1f} MB), rows inserted on a full load: {rows}")
    print(f"baseline  DuckDB read_csv, one call per file : {b:6.2f} s (median of {args.repeat})")
    print(f"          DuckDB read_csv, one call per family: {bb:6.2f} s; full load = {f / bb:5.2f} x this")
    print(
        f"full load into an empty warehouse           : {f:6.2f} s  = {f / b:5.2f} x baseline  (target <= 5 s, <= 3x)"
    )
    print(f"no-change re-run                            : {r:6.2f} s  = {r / b:5.2f} x baseline  (target <= 1 s)")


if __name__ == "__main__":
    main()
