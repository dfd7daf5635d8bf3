"""The macro event study of issue 22 (``alvh.transforms.macro_event_study``): VIX and M1-future
changes over 1 and 5 sessions after FOMC decisions, CPI and PPI releases against all other
sessions, 2007 → data end, with permutation p-values; prints the README's table and the time taken.

Run: ``uv run python benchmarks/bench_macro_events.py [--warehouse PATH] [--permutations 10000]``.
Without ``--warehouse`` the shared data (``../shared/data``) is loaded into a temporary warehouse
first through the same plain functions the ingest flow calls, and the indicators mart is built.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb

from alvh.report.backtest import macro_event_markdown
from alvh.transforms.macro_event_study import macro_event_study

DATA = (Path(__file__).resolve().parents[1] / ".." / "shared" / "data").resolve()


def load_shared(db: Path) -> None:
    from alvh.core.settings import load_settings
    from alvh.pipeline.indicators import build_indicators_mart
    from alvh.pipeline.load import load_folder
    from alvh.warehouse.connection import open_warehouse

    load_folder(load_settings(source_dir=DATA, warehouse=db), date.today())
    with open_warehouse(db) as con:
        build_indicators_mart(con)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--warehouse", type=Path)
    ap.add_argument("--permutations", type=int, default=10_000)
    args = ap.parse_args()
    db = args.warehouse
    if db is None:
        db = Path(tempfile.mkdtemp(prefix="alvh-events-")) / "alvh.duckdb"
        load_shared(db)
    with duckdb.connect(str(db), read_only=True) as con:
        mart = con.sql("SELECT session_date, vix_close, m1_expiry FROM marts.indicators_daily").pl()
        vx = con.sql("SELECT trade_date, contract_expiry, settle FROM staging.stg_vx_futures").pl()
        cal = con.sql("SELECT event, session_date, scheduled FROM staging.macro_event").pl()
    t0 = time.perf_counter()
    study = macro_event_study(mart, vx, cal, permutations=args.permutations)
    took = time.perf_counter() - t0
    print(f"sessions {study.first} → {study.last}; other group leaves out {', '.join(study.gap_months)}")
    print(f"windows without both M1 settles (left out): {study.m1_missing}; {took:.1f} s")
    print()
    print(macro_event_markdown(study.table))


if __name__ == "__main__":
    main()
