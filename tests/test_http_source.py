"""The HTTP source against a real local server on 127.0.0.1 serving the shared data at the real
URL paths, with scripted faults."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from alvh.core.errors import SourceError
from alvh.pipeline.load import load_family
from alvh.sources.base import FileRef
from alvh.sources.catalog import Catalog
from alvh.sources.http import HttpPolicy, HttpSource
from alvh.warehouse.connection import open_warehouse
from tests.support.cboe_server import INDEX_PATH, VX_PATH, DataServer, Fault


def catalog(server: DataServer) -> Catalog:
    o = server.settings_overrides()
    return Catalog(
        cboe_index_base_url=o["cboe_index_base_url"],
        cfe_vx_base_url=o["cfe_vx_base_url"],
        cfe_legacy_base_url=o["cfe_legacy_base_url"],
        unicorn_base_url=o["unicorn_base_url"],
        fred_base_url=o["fred_base_url"],
        index_symbols=("VIX", "VVIX"),
        fred_series=("DTB3",),
        unicorn_series=("advn",),
        vx_first_expiry=date(2020, 1, 1),
        vx_months_ahead=1,
        vx_legacy_first_year=2008,
        vx_legacy_last_year=2008,
        vendor_breadth_url=None,
        vendor_breadth_name="x.csv",
    )


def source(server: DataServer, **policy: float) -> HttpSource:
    sleeps: list[float] = []
    src = HttpSource(
        catalog(server),
        date(2020, 4, 1),
        HttpPolicy(
            connect_timeout_s=2,
            read_timeout_s=float(policy.get("read", 5)),
            retries=2,
            backoff_s=0.01,
        ),
        sleep=sleeps.append,
    )
    src.sleeps = sleeps  # type: ignore[attr-defined]
    return src


def vix_ref(server: DataServer) -> FileRef:
    return FileRef("cboe_index", "VIX_History.csv", server.base + INDEX_PATH + "/VIX_History.csv")


def test_real_url_paths_are_served(data_server: DataServer, data_dir: Path) -> None:
    src = source(data_server)
    refs = src.list_files("vx_current")
    assert [r.name for r in refs][:3] == [
        "VX_2020-01-22.csv",
        "VX_2020-02-19.csv",
        "VX_2020-03-18.csv",
    ]
    got = src.fetch(refs[2])
    assert got.status == "ok"
    assert got.content == (data_dir / "cboe/vx_futures/cfe_current/VX_2020-03-18.csv").read_bytes()
    fred = src.fetch(src.list_files("fred")[0])
    assert fred.content == (data_dir / "rates/DTB3.csv").read_bytes()


def test_503_then_200_succeeds_after_one_retry(data_server: DataServer) -> None:
    path = INDEX_PATH + "/VIX_History.csv"
    data_server.faults[path] = [Fault(status=503)]
    src = source(data_server)
    got = src.fetch(vix_ref(data_server))
    assert got.status == "ok" and got.content.startswith(b"DATE,OPEN")
    assert data_server.hits[path] == 2
    (wait,) = src.sleeps  # type: ignore[attr-defined]
    assert 0.01 <= wait < 0.015  # backoff 0.01 s plus up to 50 % jitter


def test_429_is_retried_but_403_is_not(data_server: DataServer) -> None:
    path = INDEX_PATH + "/VIX_History.csv"
    data_server.faults[path] = [Fault(status=429), Fault(status=429)]
    assert source(data_server).fetch(vix_ref(data_server)).status == "ok"
    assert data_server.hits[path] == 3
    data_server.faults[path] = [Fault(status=403)]
    with pytest.raises(SourceError, match="HTTP 403"):
        source(data_server).fetch(vix_ref(data_server))
    assert data_server.hits[path] == 4


def test_timeout_surfaces_as_clear_error_after_retries(data_server: DataServer) -> None:
    path = INDEX_PATH + "/VIX_History.csv"
    data_server.faults[path] = [Fault(delay_s=1.0)] * 3
    src = source(data_server, read=0.2)
    with pytest.raises(SourceError) as err:
        src.fetch(vix_ref(data_server))
    msg = str(err.value)
    assert "could not fetch after 3 attempts" in msg and "Timeout" in msg and "VIX_History.csv" in msg
    assert data_server.hits[path] == 3
    first, second = src.sleeps  # type: ignore[attr-defined]
    assert 0.01 <= first < 0.015 and 0.02 <= second < 0.03  # doubling, each with jitter


def test_404_is_missing_not_fatal(data_server: DataServer) -> None:
    ref = FileRef(
        "vx_current",
        "VX_2022-03-15.csv",
        data_server.base + VX_PATH + "/VX_2022-03-15.csv",
        date(2022, 3, 15),
    )
    assert source(data_server).fetch(ref).status == "missing"


def test_body_shorter_than_content_length_is_an_error(data_server: DataServer) -> None:
    path = INDEX_PATH + "/VIX_History.csv"
    data_server.faults[path] = [Fault(kind="truncate")] * 3
    with pytest.raises(SourceError, match="cut off in transit"):
        source(data_server).fetch(vix_ref(data_server))


def test_oversized_response_is_refused(data_server: DataServer) -> None:
    src = HttpSource(catalog(data_server), date(2020, 4, 1), HttpPolicy(max_bytes=1000, retries=0))
    with pytest.raises(SourceError, match="too large"):
        src.fetch(vix_ref(data_server))


@pytest.mark.parametrize("kind", ["html", "cut"])
def test_html_page_or_cut_body_writes_nothing_of_that_file(data_server: DataServer, tmp_path: Path, kind: str) -> None:
    src = source(data_server)
    refs = src.list_files("cboe_index")  # VIX, VVIX
    data_server.faults[INDEX_PATH + "/VIX_History.csv"] = [Fault(kind=kind)]
    files = [src.fetch(r) for r in refs]
    with open_warehouse(tmp_path / "w.duckdb") as con:
        out = load_family(con, "cboe_index", files, run_id="r", source_kind="http")
        status = {o.file_name: (o.status, o.message) for o in out}
        assert status["VVIX_History.csv"][0] == "loaded"
        assert status["VIX_History.csv"][0] == "failed"
        assert ("HTML" if kind == "html" else "truncated") in (status["VIX_History.csv"][1] or "")
        symbols = con.sql("SELECT DISTINCT symbol FROM raw.cboe_index").fetchall()
        assert symbols == [("VVIX",)]


def test_connection_refused_is_retried_then_reported(tmp_path: Path) -> None:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    ref = FileRef("cboe_index", "VIX_History.csv", f"http://127.0.0.1:{port}{INDEX_PATH}/VIX_History.csv")
    sleeps: list[float] = []
    src = HttpSource(catalog_stub(), date(2020, 1, 1), HttpPolicy(retries=1, backoff_s=0.01), sleep=sleeps.append)
    with pytest.raises(SourceError, match="ConnectionError"):
        src.fetch(ref)
    assert len(sleeps) == 1 and 0.01 <= sleeps[0] < 0.015
    # every other file on that host fails at once, without its own retries (a run with no network
    # used to spend ~10 minutes retrying each of its ~540 files)
    other = FileRef("cboe_index", "VVIX_History.csv", f"http://127.0.0.1:{port}{INDEX_PATH}/VVIX_History.csv")
    with pytest.raises(SourceError, match="could not be reached earlier in this run"):
        src.fetch(other)
    assert len(sleeps) == 1


def catalog_stub() -> Catalog:
    return Catalog("http://127.0.0.1", "", "", "", "", (), (), (), date(2020, 1, 1), 0, 2008, 2008, None, "x.csv")


def test_plain_http_refused_except_unicorn_and_loopback() -> None:
    from alvh.sources.http import check_url

    hosts = frozenset({"cdn.cboe.com", "unicorn.us.com", "127.0.0.1"})
    check_url("https://cdn.cboe.com/x/VIX_History.csv", "cboe_index", hosts)
    check_url("http://unicorn.us.com/advdec/NYSE_advn.csv", "unicorn", hosts)
    check_url("http://127.0.0.1:8000/x.csv", "cboe_index", hosts)  # a local mirror
    with pytest.raises(SourceError, match="only HTTPS is accepted"):
        check_url("http://cdn.cboe.com/x/VIX_History.csv", "cboe_index", hosts)
    with pytest.raises(SourceError, match="not one of the configured base URLs"):
        check_url("https://evil.example.com/VIX_History.csv", "cboe_index", hosts)
    with pytest.raises(SourceError, match="only HTTPS"):
        check_url("ftp://cdn.cboe.com/VIX_History.csv", "cboe_index", hosts)


def test_redirect_to_another_host_is_refused(data_server: DataServer) -> None:
    import http.server
    import threading

    class Redirect(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(302)
            self.send_header("Location", "http://localhost:9/elsewhere.csv")
            self.end_headers()

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{srv.server_address[1]}"
        cat = catalog(data_server)
        from dataclasses import replace

        src = HttpSource(replace(cat, cboe_index_base_url=base), date(2020, 1, 1), HttpPolicy(retries=0))
        with pytest.raises(SourceError, match="refused a redirect to another host"):
            src.fetch(FileRef("cboe_index", "VIX_History.csv", base + "/VIX_History.csv"))
    finally:
        srv.shutdown()


# --- a well-kept client (issue 12): Retry-After, jitter, conditional requests, a session per thread ---


def test_429_with_retry_after_waits_as_the_server_asks(data_server: DataServer) -> None:
    path = INDEX_PATH + "/VIX_History.csv"
    data_server.faults[path] = [Fault(status=429, headers={"Retry-After": "1"})]
    src = source(data_server)
    got = src.fetch(vix_ref(data_server))
    assert got.status == "ok" and data_server.hits[path] == 2
    assert src.sleeps == [1.0]  # type: ignore[attr-defined]  # the server's 1 s, not the 0.01 s backoff


def test_retry_after_is_capped(data_server: DataServer) -> None:
    path = INDEX_PATH + "/VIX_History.csv"
    data_server.faults[path] = [Fault(status=503, headers={"Retry-After": "3600"})]
    sleeps: list[float] = []
    policy = HttpPolicy(retries=1, backoff_s=0.01, retry_after_max_s=2)
    src = HttpSource(catalog(data_server), date(2020, 4, 1), policy, sleep=sleeps.append)
    assert src.fetch(vix_ref(data_server)).status == "ok"
    assert sleeps == [2.0]


def test_backoff_doubles_with_jitter() -> None:
    from alvh.sources.http import backoff_wait

    assert backoff_wait(1.0, 1, rng=lambda: 0.0) == 1.0
    assert backoff_wait(1.0, 3, rng=lambda: 0.5) == 5.0  # 1 × 2² × (1 + 0.5 × 0.5)


def test_unchanged_file_is_not_downloaded_again(data_server: DataServer, tmp_path: Path) -> None:
    path = INDEX_PATH + "/VIX_History.csv"
    src = source(data_server)
    ref = vix_ref(data_server)
    first = src.fetch(ref)
    assert first.status == "ok" and first.etag and first.last_modified == "Wed, 22 Jul 2026 21:00:00 GMT"
    with open_warehouse(tmp_path / "w.duckdb") as con:
        load_family(con, "cboe_index", [first], run_id="r1", source_kind="http")
        from alvh.warehouse.lineage import http_validators

        validators = http_validators(con, "cboe_index")
    assert validators == {ref.locator: (first.etag, first.last_modified)}
    again = source(data_server)
    again.remember(validators)
    second = again.fetch(ref)
    assert (second.status, second.content, second.etag) == ("not_modified", b"", first.etag)
    assert data_server.not_modified[path] == 1
    sent = data_server.requests[-1][2]
    assert sent["If-None-Match"] == first.etag and sent["If-Modified-Since"] == first.last_modified
    with open_warehouse(tmp_path / "w.duckdb") as con:
        out = load_family(con, "cboe_index", [second], run_id="r2", source_kind="http")
        assert (out[0].status, out[0].sha256) == ("unchanged", first.sha256)
        assert http_validators(con, "cboe_index") == validators  # kept for the next run
    # a changed file is downloaded whole: the ETag no longer matches
    data_server.bodies[path] = [first.content + b"07/23/2026,17.0,17.5,16.5,17.2\n"]
    third = again.fetch(ref)
    assert third.status == "ok" and third.content.endswith(b"17.2\n") and third.etag != first.etag


def test_one_session_per_thread(data_server: DataServer) -> None:
    import threading

    src = source(data_server)
    mine = src.session
    assert src.session is mine
    theirs: list[object] = []
    t = threading.Thread(target=lambda: theirs.append(src.session))
    t.start()
    t.join()
    assert theirs[0] is not mine
    adapter = mine.get_adapter("https://cdn.cboe.com/")
    assert adapter.max_retries.total == 2 and 429 in adapter.max_retries.status_forcelist
