"""Exports: formula neutralisation, snapshot switch, and no rewrite when nothing changed."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl

from alvh.warehouse.connection import open_warehouse
from alvh.warehouse.export import export_marts, neutralise_formulas


def test_formula_like_text_is_neutralised() -> None:
    f = pl.DataFrame(
        {"reason": ['=HYPERLINK("x")', "+1", "-2 contracts", "@SUM(A1)", "hold", None], "n": [1, 2, 3, 4, 5, 6]}
    )
    out = neutralise_formulas(f)["reason"].to_list()
    assert out == ['\'=HYPERLINK("x")', "'+1", "'-2 contracts", "'@SUM(A1)", "hold", None]


def test_snapshots_switch_atomically_and_skip_when_unchanged(fresh_signal_warehouse: Path, tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    with open_warehouse(fresh_signal_warehouse) as con:
        assert export_marts(con, exports) is True
        first = os.readlink(exports / "current")
        files = sorted(p.name for p in (exports / "current").iterdir())
        assert "indicators_daily.csv" in files and "parquet" in files
        assert export_marts(con, exports) is False  # unchanged: nothing written
        assert os.readlink(exports / "current") == first
        con.execute("DELETE FROM marts.indicators_daily WHERE session_date < DATE '1991-01-01'")
        assert export_marts(con, exports) is True
        second = os.readlink(exports / "current")
    assert second != first
    assert [p.name for p in (exports / "snapshots").iterdir()] == [second.split("/")[1]]  # old one cleaned
    back = pl.read_csv(exports / "current" / "indicators_daily.csv", try_parse_dates=True)
    assert back["session_date"].min().year == 1991
