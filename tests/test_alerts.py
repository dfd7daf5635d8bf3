"""Alerts through Apprise when the run fails, is stale, or trades: delivered to a local SMTP
listener (the secret is the SMTP password, checked by the server) and a local HTTP listener (the
secret is in the URL path); the secret never appears in logs, artifacts, exports (pages too) or
the warehouse."""

from __future__ import annotations

import http.server
import json
import socket
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest

from alvh.core.errors import IngestIncomplete
from alvh.pipeline.alerts import daily_message, send

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


class Mailbox:
    """A local SMTP server (aiosmtpd) that accepts a login only with the secret as password."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        self.messages: list[tuple[str, list[str], bytes]] = []
        self.logins: list[bool] = []
        box = self

        class Handler:
            async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
                box.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))  # type: ignore[attr-defined]
                return "250 OK"

        def authenticator(server: object, session: object, envelope: object, mechanism: str, data: object) -> object:
            ok = isinstance(data, LoginPassword) and data.password == SECRET.encode()
            box.logins.append(ok)
            return AuthResult(success=ok)

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.controller = Controller(
            Handler(), hostname="127.0.0.1", port=self.port, authenticator=authenticator, auth_require_tls=False
        )
        self.controller.start()

    @property
    def url(self) -> str:
        return f"mailto://alvh:{SECRET}@127.0.0.1:{self.port}?to=trader@example.com&from=alvh@example.com"


@pytest.fixture()
def mailbox() -> Iterator[Mailbox]:
    m = Mailbox()
    yield m
    m.controller.stop()


def test_one_setting_reaches_smtp_and_a_webhook_without_logging_the_secret(
    mailbox: Mailbox, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    res = send([mailbox.url, recorder.url.replace("http://", "json://")], "ALVH 2018-02-05: L1 OPEN +40 × 19C")
    assert res.sent == ["mailto", "json"] and res.failed == [] and res.unusable == []
    assert mailbox.logins == [True]  # the SMTP login used the secret password
    ((sender, to, content),) = mailbox.messages
    assert (sender, to) == ("alvh@example.com", ["trader@example.com"])
    assert b"Subject: ALVH hedge signal" in content and b"L1 OPEN +40" in content
    ((path, payload),) = recorder.posts
    assert path == f"/hooks/{SECRET}" and payload["message"] == "ALVH 2018-02-05: L1 OPEN +40 × 19C"
    assert SECRET not in caplog.text
    # a URL Apprise cannot read, and a channel that does not answer: named by scheme only, never raised
    bad = send(["nosuchscheme://x/" + SECRET, f"json://127.0.0.1:9/{SECRET}"], "x")
    assert bad.unusable == ["nosuchscheme"] and bad.failed == ["json"]
    assert SECRET not in caplog.text


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
    mailbox: Mailbox,
    data_dir: Path,
    fresh_signal_warehouse: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A trading day alerts over both channels; a failed run alerts once more, after publishing
    what the data at hand allows; the secret is nowhere but in the setting. The runs start from a
    copy of the session's loaded warehouse (the whole folder already ingested, nothing published):
    what is asserted is the alerting, not the first ingest (tests/test_ingest_flow.py,
    tests/test_daily_flow.py), and the first run reads the same folder, finding every file
    unchanged."""
    from prefect.client.orchestration import get_client

    from alvh.flows.daily import daily_flow

    # one setting, two channels: e-mail and a plain http:// webhook (posted as Apprise JSON)
    monkeypatch.setenv("ALVH_ALERT_URL", f"{mailbox.url} {recorder.url}")
    db, exports = fresh_signal_warehouse, tmp_path / "exports"
    caplog.set_level("DEBUG")
    summary = daily_flow(as_of=date(2018, 2, 5), source=str(data_dir), warehouse=str(db), export_dir=str(exports))
    assert summary.status == "published" and summary.page is not None and summary.page.is_file()
    assert len(recorder.posts) == 1 and len(mailbox.messages) == 1
    path, payload = recorder.posts[0]
    assert path == f"/hooks/{SECRET}"
    assert "2018-02-05" in payload["message"] and "OPEN" in payload["message"]
    assert b"2018-02-05" in mailbox.messages[0][2] and b"OPEN" in mailbox.messages[0][2]

    # a failed run (the source folder is gone): the session is still published from the data at hand,
    # then the run fails with IngestIncomplete naming the folder, and alerts once. The warehouse already
    # holds 2018-02-06's inputs (the whole folder is in it), so the session is not stale:
    # the book opened on 02-05 (37 × 41C / 36 × 58C / 18 × 64C, as tests/support/ladder_by_hand.py
    # derives from the data) is held.
    with pytest.raises(IngestIncomplete, match=r"the signal was published, but ingest failed: .*missing") as failed:
        daily_flow(as_of=date(2018, 2, 6), source=str(tmp_path / "missing"), warehouse=str(db), export_dir=str(exports))
    assert failed.value.day == date(2018, 2, 6)
    with duckdb.connect(str(db), read_only=True) as con:
        published = con.sql(
            "SELECT session_date, stale, actions_summary FROM marts.hedge_signal_daily ORDER BY 1"
        ).fetchall()
        held = con.sql(
            "SELECT layer, contract_expiry, strike, action, target_qty FROM marts.layer_adjustment "
            "WHERE session_date = DATE '2018-02-06' ORDER BY layer"
        ).fetchall()
    assert published == [
        (date(2018, 2, 5), False, "L1 OPEN +37 × 41C; L2 OPEN +36 × 58C; L3 OPEN +18 × 64C"),
        (date(2018, 2, 6), False, "L1 HOLD; L2 HOLD; L3 HOLD"),
    ]
    assert [(r[1], r[3], r[4]) for r in held] == [
        (date(2018, 2, 14), "HOLD", 37),
        (date(2018, 3, 21), "HOLD", 36),
        (date(2018, 4, 18), "HOLD", 18),
    ]
    assert len(recorder.posts) == 2 and "FAILED" in recorder.posts[1][1]["message"]
    assert len(mailbox.messages) == 2 and b"FAILED" in mailbox.messages[1][2]

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
