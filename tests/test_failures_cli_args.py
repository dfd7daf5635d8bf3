"""Issue 21: arguments a careless user types are refused in words before any work."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from alvh.cli import app


def test_indicators_last_must_be_positive(tmp_path: Path) -> None:
    for bad in ("-5", "0"):
        res = CliRunner().invoke(app, ["indicators", "--last", bad, "--warehouse", str(tmp_path / "none.duckdb")])
        assert res.exit_code == 2, res.output
        assert "--last" in res.output and "greater than or equal to 1" in " ".join(res.output.split())
    assert not (tmp_path / "none.duckdb").exists()  # refused before the warehouse is opened
