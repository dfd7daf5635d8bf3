"""HTTP source: the real public endpoints through one ``requests.Session``.

- connect/read timeouts; retries with exponential backoff (``backoff × 2**attempt`` seconds) on
  HTTP 429, 5xx, connection errors, timeouts and bodies cut off in transit — nothing else;
- a maximum response size; redirects followed only within the same scheme and host;
- HTTP 404 → the file is reported ``missing`` (recorded, not fatal); any other failure →
  :class:`SourceError` naming the URL and what was expected.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import requests

from alvh.core.errors import SourceError
from alvh.sources.base import Family, FetchedFile, FileRef
from alvh.sources.catalog import Catalog, http_refs

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_REDIRECTS = 3
PLAIN_HTTP_FAMILIES = frozenset({"unicorn"})  # the Unicorn archive is only served over plain HTTP
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def check_url(url: str, family: str, allowed_hosts: frozenset[str]) -> None:
    """Refuse a URL that is not HTTPS (except the plain-HTTP families and loopback mirrors) or
    whose host is not one of the configured base URLs' hosts."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host not in allowed_hosts:
        raise SourceError(
            "refused a host that is not one of the configured base URLs",
            file=url,
            value=host,
            expected=", ".join(sorted(allowed_hosts)),
        )
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and (family in PLAIN_HTTP_FAMILIES or host in LOOPBACK_HOSTS or host.startswith("127.")):
        return
    raise SourceError(
        f"refused {parts.scheme or 'a scheme-less'} URL for {family}: only HTTPS is accepted "
        "(plain HTTP only for the Unicorn archive and loopback mirrors)",
        file=url,
        expected="https://…",
    )


@dataclass(frozen=True)
class HttpPolicy:
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 30.0
    retries: int = 3
    backoff_s: float = 1.0
    max_bytes: int = 50_000_000
    user_agent: str = "alvh/0.1"


class HttpSource:
    """Fetches source files from their public URLs."""

    kind = "http"

    def __init__(
        self,
        catalog: Catalog,
        as_of: date,
        policy: HttpPolicy | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.catalog = catalog
        self.as_of = as_of
        self.policy = policy or HttpPolicy()
        self.session = session or requests.Session()
        self.session.headers.setdefault("User-Agent", self.policy.user_agent)
        self._sleep = sleep

    def list_files(self, family: Family) -> list[FileRef]:
        return http_refs(self.catalog, family, self.as_of)

    @property
    def allowed_hosts(self) -> frozenset[str]:
        cat = self.catalog
        urls = [
            cat.cboe_index_base_url,
            cat.cfe_vx_base_url,
            cat.cfe_legacy_base_url,
            cat.unicorn_base_url,
            cat.fred_base_url,
            cat.vendor_breadth_url or "",
        ]
        return frozenset((urlsplit(u).hostname or "").lower() for u in urls if urlsplit(u).hostname)

    def fetch(self, ref: FileRef) -> FetchedFile:
        if not urlsplit(ref.locator).scheme:  # a vendor breadth file given as a local path
            path = Path(ref.locator)
            if not path.is_file():
                raise SourceError("file not found", file=ref.locator, expected="a readable file")
            return FetchedFile(ref, path.read_bytes())
        check_url(ref.locator, ref.family, self.allowed_hosts)
        last_error = "no attempt made"
        for attempt in range(self.policy.retries + 1):
            if attempt:
                self._sleep(self.policy.backoff_s * 2 ** (attempt - 1))
            try:
                status, body = self._get(ref.locator)
            except (requests.ConnectionError, requests.Timeout) as exc:
                last_error = f"{type(exc).__name__}: {exc}"
                continue
            except _Truncated as exc:
                last_error = str(exc)
                continue
            if status == 404:
                return FetchedFile(ref, b"", status="missing")
            if status in RETRY_STATUSES:
                last_error = f"HTTP {status}"
                continue
            if status != 200:
                raise SourceError(f"HTTP {status}", file=ref.locator, expected="HTTP 200 with CSV data")
            return FetchedFile(ref, body)
        raise SourceError(
            f"could not fetch after {self.policy.retries + 1} attempts: {last_error}",
            file=ref.locator,
            expected="a reachable server answering HTTP 200",
        )

    def _get(self, url: str) -> tuple[int, bytes]:
        """One GET (following same-host redirects), body capped at ``max_bytes``."""
        origin = urlsplit(url)
        for _ in range(MAX_REDIRECTS + 1):
            timeout = (self.policy.connect_timeout_s, self.policy.read_timeout_s)
            with self.session.get(url, timeout=timeout, stream=True, allow_redirects=False) as resp:
                if resp.is_redirect:
                    target = urljoin(url, resp.headers.get("Location", ""))
                    t = urlsplit(target)
                    if (t.scheme, t.netloc) != (origin.scheme, origin.netloc):  # same scheme and host only
                        raise SourceError(
                            "refused a redirect to another host",
                            file=url,
                            value=target,
                            expected=f"{origin.scheme}://{origin.netloc}",
                        )
                    url = target
                    continue
                length = resp.headers.get("Content-Length")
                if length is not None and int(length) > self.policy.max_bytes:
                    raise SourceError(
                        "response too large",
                        file=url,
                        value=length,
                        expected=f"at most {self.policy.max_bytes} bytes",
                    )
                chunks: list[bytes] = []
                size = 0
                try:
                    for chunk in resp.iter_content(chunk_size=65536):
                        size += len(chunk)
                        if size > self.policy.max_bytes:
                            raise SourceError(
                                "response too large",
                                file=url,
                                expected=f"at most {self.policy.max_bytes} bytes",
                            )
                        chunks.append(chunk)
                except requests.exceptions.ChunkedEncodingError as exc:
                    raise _Truncated(f"body cut off in transit: {exc}") from exc
                body = b"".join(chunks)
                if length is not None and resp.status_code == 200 and len(body) < int(length):
                    raise _Truncated(f"body cut off in transit: {len(body)} of {length} bytes")
                return resp.status_code, body
        raise SourceError(f"more than {MAX_REDIRECTS} redirects", file=url)


class _Truncated(Exception):
    """The body ended before its declared length (retried, then reported as SourceError)."""
