"""Benchmark: the error of the interpolated-forward rule (ALVH_METHOD.md §3), measured
leave-one-out on the real VX history — every monthly contract that is M1, M2 or M3 on a session
and has a settle is hidden in turn and interpolated (linearly in expiry date) from the contracts,
weekly or monthly, that bracket it that session — plus the time the rule takes.

Prints per tenor the number of contracts measured, those with no bracketing pair, and the median
and 95th percentile of the absolute error in index points.

Run: ``uv run python benchmarks/bench_interpolation.py [--warehouse PATH] [--roll-tdte 5]``.
Without ``--warehouse`` the shared data (``../shared/data``) is loaded into a temporary warehouse
first through the same plain functions the ingest flow calls.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from alvh.core.calendar import sessions_between
from alvh.transforms.forwards import ForwardCurves, leave_one_out, tenor_contracts
from alvh.transforms.term_structure import expected_contracts

DATA = (Path(__file__).resolve().parents[1] / ".." / "shared" / "data").resolve()


def load_shared(db: Path) -> float:
    from alvh.core.settings import load_settings
    from alvh.pipeline.load import load_folder

    t0 = time.perf_counter()
    load_folder(load_settings(source_dir=DATA, warehouse=db), date.today())
    return time.perf_counter() - t0


WEEKLIES = date(2020, 1, 8)  # first weekly VX expiry of the continuous weekly listing in the data


def table(detail: pl.DataFrame, tenors: list[str], title: str) -> None:
    print(title)
    print(
        f"{'tenor':<6}{'measured':>10}{'no bracket':>12}{'median':>9}{'p95':>9}{'max':>9}   (absolute error, index points)"
    )
    for tenor in [*tenors, "all"]:
        rows = detail if tenor == "all" else detail.filter(pl.col("tenor") == tenor)
        e = rows["abs_error"].drop_nulls().to_numpy()
        print(
            f"{tenor:<6}{e.size:>10,}{rows.height - e.size:>12,}"
            f"{np.median(e):>9.3f}{np.quantile(e, 0.95):>9.3f}{e.max():>9.3f}"
        )
    print()


def measure(db: Path, roll_tdte: int) -> None:
    with duckdb.connect(str(db), read_only=True) as con:
        vx = con.sql("SELECT trade_date, contract_expiry, is_monthly, settle FROM staging.stg_vx_futures").pl()
    first, last = vx["trade_date"].min(), vx["trade_date"].max()
    assert isinstance(first, date) and isinstance(last, date)
    t0 = time.perf_counter()
    curves = ForwardCurves.from_frame(vx)
    t_build = time.perf_counter() - t0
    pairs = tenor_contracts(expected_contracts(pl.Series(sessions_between(first, last)), roll_tdte))
    t0 = time.perf_counter()
    detail = leave_one_out(curves, pairs)
    t_loo = time.perf_counter() - t0
    n_queries = detail.height
    print(
        f"VX settles: {vx.height:,} rows ({vx['contract_expiry'].n_unique()} contracts, weekly and monthly), "
        f"sessions {first} → {last}"
    )
    print(f"ForwardCurves.from_frame: {t_build * 1e3:7.1f} ms")
    print(f"leave-one-out ({n_queries:,} hidden settles): {t_loo * 1e3:7.1f} ms")
    print()
    table(detail, list(pairs), f"all sessions {first} → {last}")
    table(detail.filter(pl.col("session_date") >= WEEKLIES), list(pairs), f"since {WEEKLIES} (weeklies listed)")
    print("(M1 is rarely bracketed before 2020: weeklies start in 2020 and, outside the roll window, the")
    print(" previous monthly has expired. The contracts actually missing from the data are all bracketed.)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--warehouse", type=Path, default=None, help="an ingested warehouse (default: load the shared data)"
    )
    ap.add_argument("--roll-tdte", type=int, default=5)
    args = ap.parse_args()
    if args.warehouse is not None:
        measure(args.warehouse, args.roll_tdte)
        return
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.duckdb"
        print(f"loading {DATA} into a temporary warehouse ...", flush=True)
        print(f"  loaded in {load_shared(db):.1f} s")
        measure(db, args.roll_tdte)


if __name__ == "__main__":
    main()
