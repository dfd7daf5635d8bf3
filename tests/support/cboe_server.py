"""A real HTTP server on 127.0.0.1 serving ``shared/data`` at the CBOE/CFE/Unicorn/FRED URL
paths (and the macro calendars under ``/events``), with scripted faults (status codes, delays,
truncated bodies, HTML pages)."""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

INDEX_PATH = "/api/global/us_indices/daily_prices"
VX_PATH = "/data/us/futures/market_statistics/historical_data/VX"
LEGACY_PATH = "/resources/futures/archive/volume-and-price"
UNICORN_PATH = "/advdec"
FRED_PATH = "/graph/fredgraph.csv"
VENDOR_PATH = "/vendor"
EVENTS_PATH = "/events"


@dataclass
class Fault:
    """One scripted answer: ``status`` code (with ``headers``, e.g. Retry-After), or ``kind`` in
    {timeout, truncate, html}."""

    status: int | None = None
    kind: str | None = None
    delay_s: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class DataServer:
    root: Path
    faults: dict[str, list[Fault]] = field(default_factory=lambda: defaultdict(list))
    bodies: dict[str, list[bytes]] = field(default_factory=lambda: defaultdict(list))  # scripted bodies
    hits: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    # like a CDN: an ETag (the body's sha256) and Last-Modified on every file; HTTP 304 when the
    # client's If-None-Match matches; ``not_modified`` counts those answers per path
    conditional: bool = True
    not_modified: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    requests: list[tuple[str, float, dict[str, str]]] = field(default_factory=list)  # path, time, headers

    def start(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                key = parts.path + (f"?{parts.query}" if parts.query else "")
                server.hits[key] += 1
                server.requests.append((key, time.monotonic(), dict(self.headers.items())))
                queue = server.faults.get(key)
                fault = queue.pop(0) if queue else None
                scripted = server.bodies.get(key)
                body = scripted.pop(0) if scripted else server.resolve(parts.path, parse_qs(parts.query))
                if fault is not None:
                    if fault.delay_s:
                        time.sleep(fault.delay_s)
                    if fault.status is not None:
                        self.send_response(fault.status)
                        for name, value in fault.headers.items():
                            self.send_header(name, value)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    if fault.kind == "html":
                        page = b"<!DOCTYPE html><html><body>Access Denied</body></html>"
                        self.send_response(200)
                        self.send_header("Content-Type", "text/html")
                        self.send_header("Content-Length", str(len(page)))
                        self.end_headers()
                        self.wfile.write(page)
                        return
                    if fault.kind == "truncate" and body is not None:
                        self.send_response(200)
                        self.send_header("Content-Length", str(len(body)))
                        self.end_headers()
                        self.wfile.write(body[: len(body) // 2])
                        self.wfile.flush()
                        self.close_connection = True
                        return
                    if fault.kind == "cut" and body is not None:
                        # no Content-Length: the body just stops mid-row
                        cut = body[: len(body) // 2]
                        cut = cut[: cut.rfind(b",") + 1]
                        self.send_response(200)
                        self.end_headers()
                        self.wfile.write(cut)
                        self.close_connection = True
                        return
                if body is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
                if server.conditional and self.headers.get("If-None-Match") == etag:
                    server.not_modified[key] += 1
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/csv")
                self.send_header("Content-Length", str(len(body)))
                if server.conditional:
                    self.send_header("ETag", etag)
                    self.send_header("Last-Modified", "Wed, 22 Jul 2026 21:00:00 GMT")
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    @property
    def base(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def settings_overrides(self) -> dict[str, str]:
        """Base-URL settings that point every source at this server."""
        return {
            "cboe_index_base_url": self.base + INDEX_PATH,
            "cfe_vx_base_url": self.base + VX_PATH,
            "cfe_legacy_base_url": self.base + LEGACY_PATH,
            "unicorn_base_url": self.base + UNICORN_PATH,
            "fred_base_url": self.base + FRED_PATH,
            "vendor_breadth_url": self.base + VENDOR_PATH + "/tv_nyse_adv_decl_daily.csv",
            "events_macro_url": self.base + EVENTS_PATH + "/macro_events.csv",
            "events_fomc_url": self.base + EVENTS_PATH + "/fomc_dates.csv",
        }

    def resolve(self, path: str, query: dict[str, list[str]]) -> bytes | None:
        """The bytes CBOE/CFE/Unicorn/FRED would serve at ``path``, from the shared folder."""
        r = self.root
        candidates: list[Path] = []
        if path.startswith(INDEX_PATH + "/"):
            name = path.rsplit("/", 1)[-1]
            if name == "SPX_History.csv":
                candidates = [r / "spx" / "SPX_History_yfinance_GSPC.csv"]
            else:
                candidates = [r / "cboe" / "indices" / name]
        elif path.startswith(VX_PATH + "/"):
            candidates = [r / "cboe" / "vx_futures" / "cfe_current" / path.rsplit("/", 1)[-1]]
        elif path.startswith(LEGACY_PATH + "/"):
            candidates = [r / "cboe" / "vx_futures" / "cfe_legacy_2008_2015" / path.rsplit("/", 1)[-1]]
        elif path.startswith(UNICORN_PATH + "/"):
            candidates = [r / "breadth" / "unicorn_nyse" / path.rsplit("/", 1)[-1]]
        elif path == FRED_PATH and query.get("id"):
            series = query["id"][0]
            if re.fullmatch(r"[A-Z0-9]+", series):
                candidates = [r / "rates" / f"{series}.csv"]
        elif path.startswith(VENDOR_PATH + "/"):
            candidates = [r / "breadth" / "tradingview_usi_pynecore" / path.rsplit("/", 1)[-1]]
        elif path.startswith(EVENTS_PATH + "/"):
            candidates = [r / "events" / path.rsplit("/", 1)[-1]]
        for c in candidates:
            if c.is_file():
                return c.read_bytes()
        return None
