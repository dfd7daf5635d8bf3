"""Issue 21 item 4: `alvh orders export` warns for a stale session and for one that is not the
latest, and refuses tickets on expired contracts unless --force."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from typer.testing import CliRunner

from alvh.cli import app
from tests.test_exports_folder import published_warehouse


def run(wh: Path, tmp_path: Path, *args: str) -> tuple[int, str]:
    res = CliRunner().invoke(
        app, ["orders", "export", "--warehouse", str(wh), "--export-dir", str(tmp_path / "x"), *args]
    )
    return res.exit_code, " ".join(res.output.split())


def test_expired_contracts_are_refused_unless_forced_and_older_sessions_warned(tmp_path: Path) -> None:
    wh = published_warehouse(
        tmp_path / "alvh.duckdb",
        ((date(2020, 3, 16), False, date(2020, 3, 18)), (date(2025, 1, 2), True, date(2025, 1, 22))),
    )
    code, text = run(wh, tmp_path, "--date", "2020-03-16")
    assert code == 1 and "1 of 2020-03-16's ticket(s) are on VIX contracts expired by" in text
    assert "ticket #1, BUY 161 × 19C expiring 2020-03-18" in text and "add --force" in text
    assert not (tmp_path / "x" / "orders").exists()
    code, text = run(wh, tmp_path, "--date", "2020-03-16", "--force")
    assert code == 0 and "1 ticket(s) of 2020-03-16 written" in text
    assert "warning: 2020-03-16 is not the latest published session (2025-01-02)" in text


def test_a_stale_session_says_so(tmp_path: Path) -> None:
    wh = published_warehouse(tmp_path / "alvh.duckdb", ((date(2025, 1, 2), True, date(2025, 1, 22)),))
    code, text = run(wh, tmp_path)
    assert code == 0 and "warning: 2025-01-02 is STALE — no trades were decided (VIX close missing)" in text
    assert "0 ticket(s) of 2025-01-02 written" in text and "not the latest" not in text
