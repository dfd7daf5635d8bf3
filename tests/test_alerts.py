"""Alerts: one Slack-compatible JSON POST when the run fails, is stale, or trades; the webhook
URL (a secret) never appears in logs, artifacts, exports or the warehouse."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest

from alvh.pipeline.alerts import daily_message

SECRET = "SECRET-XYZ-123-do-not-leak"


class Recorder:
    def __init__(self) -> None:
        self.posts: list[tuple[str, dict]] = []
        rec = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                rec.posts.append((self.path, json.loads(body)))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/hooks/{SECRET}"


@pytest.fixture()
def recorder() -> Iterator[Recorder]:
    r = Recorder()
    yield r
    r.httpd.shutdown()


def test_messages() -> None:
    sig = {
        "session_date": date(2024, 8, 5),
        "stale": False,
        "stale_reason": None,
        "actions_summary": "L1 HARVEST -4 × 20C",
    }
    hold = [
        {
            "layer": i,
            "action": "HOLD",
            "trade_qty": 0,
            "contract_expiry": date(2024, 8, 21),
            "strike": 20.0,
            "reason": "hold",
        }
        for i in (1, 2, 3)
    ]
    assert daily_message(sig, hold, None) is None  # nothing to do: no alert
    acting = [dict(hold[0], action="HARVEST", trade_qty=-4, reason="take profit: worth 3.4× its cost"), *hold[1:]]
    text = daily_message(sig, acting, None)
    assert text is not None and "2024-08-05" in text and "HARVEST" in text and "take profit" in text
    stale = dict(sig, stale=True, stale_reason="VVIX has no close for this session")
    assert "STALE" in (daily_message(stale, hold, None) or "") and "VVIX" in (daily_message(stale, hold, None) or "")
    assert "FAILED" in (daily_message(None, [], "SourceError: boom") or "")


def scan_for_secret(*roots: Path) -> list[str]:
    hits = []
    for root in roots:
        for p in root.rglob("*"):
            if p.is_file() and SECRET.encode() in p.read_bytes():
                hits.append(str(p))
    return hits


@pytest.mark.flow
def test_trading_day_and_failed_run_alert_without_leaking(
    prefect_harness: None,
    recorder: Recorder,
    data_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from prefect.client.orchestration import get_client

    from alvh.pipeline.daily import daily_flow

    monkeypatch.setenv("ALVH_ALERT_WEBHOOK_URL", recorder.url)
    db, exports = tmp_path / "alvh.duckdb", tmp_path / "exports"
    caplog.set_level("DEBUG")
    summary = daily_flow(as_of=date(2018, 2, 5), source=str(data_dir), warehouse=str(db), export_dir=str(exports))
    assert summary.status == "published"
    assert len(recorder.posts) == 1
    path, payload = recorder.posts[0]
    assert path == f"/hooks/{SECRET}" and set(payload) == {"text"}
    assert "2018-02-05" in payload["text"] and "OPEN" in payload["text"]

    # a failed run (the source folder is gone) publishes a stale signal, fails, and alerts once
    with pytest.raises(Exception):  # noqa: B017 - the flow re-raises the ingest failure
        daily_flow(as_of=date(2018, 2, 6), source=str(tmp_path / "missing"), warehouse=str(db), export_dir=str(exports))
    assert len(recorder.posts) == 2 and "FAILED" in recorder.posts[1][1]["text"]

    # the secret is nowhere: logs, exports, the warehouse, the Prefect artifacts
    assert SECRET not in caplog.text
    assert scan_for_secret(exports) == []
    with duckdb.connect(str(db), read_only=True) as con:
        for schema, table in con.sql(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'"
        ).fetchall():
            dump = str(con.sql(f"SELECT * FROM {schema}.{table}").fetchall())
            assert SECRET not in dump, f"{schema}.{table}"

    import anyio

    async def artifacts() -> str:
        async with get_client() as client:
            arts = await client.read_artifacts()
            runs = await client.read_flow_runs()
            return str([a.data for a in arts]) + str([r.parameters for r in runs])

    assert SECRET not in anyio.run(artifacts)
