"""HTTP source: the real public endpoints through one ``requests.Session`` per thread.

- connect/read timeouts; retries through urllib3's ``Retry`` on HTTP 429, 5xx, connection errors
  and timeouts — nothing else — honouring ``Retry-After`` (capped at ``retry_after_max_s``) and
  otherwise waiting ``backoff × 2**(retry-1)`` seconds plus up to 50 % jitter; a body cut off in
  transit is retried the same way;
- conditional requests: the ETag / Last-Modified of the last load of each URL are sent back
  (``If-None-Match`` / ``If-Modified-Since``); HTTP 304 → the file is ``not_modified`` (not
  downloaded again);
- a maximum response size; redirects followed only within the same scheme and host; only
  configured hosts;
- HTTP 404 → the file is reported ``missing`` (recorded, not fatal); any other failure →
  :class:`SourceError` naming the URL and what was expected.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from alvh.core.errors import SourceError
from alvh.sources.base import Family, FetchedFile, FileRef
from alvh.sources.catalog import Catalog, http_refs

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_REDIRECTS = 3
JITTER = 0.5  # each backoff wait is stretched by a random 0–50 %
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


def backoff_wait(backoff_s: float, retry: int, rng: Callable[[], float] = random.random) -> float:
    """Seconds before retry number ``retry`` (1-based): ``backoff × 2**(retry-1)`` stretched by
    a random factor in [1, 1 + JITTER) so that many clients do not retry in step."""
    return backoff_s * 2 ** (retry - 1) * (1 + JITTER * rng())


class PolicyRetry(Retry):
    """urllib3's ``Retry`` with the project's backoff (first retry waits too, with jitter) and
    its waits through an injectable ``sleeper`` (tests record them instead of waiting)."""

    sleeper: Callable[[float], None] = staticmethod(time.sleep)
    backoff_s: float = 1.0

    def new(self, **kw: Any) -> PolicyRetry:
        fresh = super().new(**kw)
        fresh.sleeper, fresh.backoff_s = self.sleeper, self.backoff_s
        return fresh

    def sleep(self, response: Any = None) -> None:
        """Wait as the server asks (``Retry-After``, capped) or by the backoff."""
        if self.respect_retry_after_header and response is not None:
            after = self.get_retry_after(response)
            if after is not None:
                self.sleeper(after)
                return
        self.sleeper(backoff_wait(self.backoff_s, max(1, len(self.history))))


@dataclass(frozen=True)
class HttpPolicy:
    """Timeouts (seconds), retries, size cap (bytes) and User-Agent; each field is the setting
    ``http_<field>``."""

    SETTING_NAMES: ClassVar[dict[str, str]] = {
        name: f"http_{name}"
        for name in (
            "connect_timeout_s",
            "read_timeout_s",
            "retries",
            "backoff_s",
            "max_bytes",
            "user_agent",
            "retry_after_max_s",
        )
    }

    connect_timeout_s: float = 5.0
    read_timeout_s: float = 30.0
    retries: int = 3
    backoff_s: float = 1.0
    max_bytes: int = 50_000_000
    user_agent: str = "alvh/0.1"
    retry_after_max_s: float = 120.0


Validators = tuple[str | None, str | None]  # (ETag, Last-Modified) of a URL's last load


class HttpSource:
    """Fetches source files from their public URLs."""

    kind = "http"

    def __init__(
        self,
        catalog: Catalog,
        as_of: date,
        policy: HttpPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.catalog = catalog
        self.as_of = as_of
        self.policy = policy or HttpPolicy()
        self._sleep = sleep
        self._local = threading.local()
        self.validators: dict[str, Validators] = {}
        self.unreachable: dict[str, str] = {}  # host → the connection error that exhausted its retries

    def remember(self, validators: Mapping[str, Validators]) -> None:
        """ETag / Last-Modified per URL from earlier loads: sent back so unchanged files are
        not downloaded again."""
        self.validators.update(validators)

    def retry(self) -> PolicyRetry:
        """The retry rule of one request (a fresh urllib3 ``Retry``)."""
        retry = PolicyRetry(
            total=self.policy.retries,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=frozenset({"GET"}),
            raise_on_status=False,
            respect_retry_after_header=True,
            retry_after_max=int(self.policy.retry_after_max_s),
        )
        retry.sleeper, retry.backoff_s = self._sleep, self.policy.backoff_s
        return retry

    @property
    def session(self) -> requests.Session:
        """This thread's session (``requests.Session`` is not thread-safe): one per thread,
        with the retry rule mounted."""
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["User-Agent"] = self.policy.user_agent
            adapter = HTTPAdapter(max_retries=self.retry())
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            self._local.session = session
        return session

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
            cat.events_macro_url or "",
            cat.events_fomc_url or "",
        ]
        return frozenset((urlsplit(u).hostname or "").lower() for u in urls if urlsplit(u).hostname)

    def fetch(self, ref: FileRef) -> FetchedFile:
        if not urlsplit(ref.locator).scheme:  # a vendor breadth file given as a local path
            path = Path(ref.locator)
            if not path.is_file():
                raise SourceError("file not found", file=ref.locator, expected="a readable file")
            return FetchedFile(ref, path.read_bytes())
        check_url(ref.locator, ref.family, self.allowed_hosts)
        host = (urlsplit(ref.locator).hostname or "").lower()
        if host in self.unreachable:  # no network, or the host is down: fail fast, not per file
            raise SourceError(
                f"not fetched: {host} could not be reached earlier in this run ({self.unreachable[host]})",
                file=ref.locator,
                expected="a reachable server (check the network, or use --source-dir with local files)",
            )
        etag, modified = self.validators.get(ref.locator, (None, None))
        attempts = self.policy.retries + 1
        last_error = "no attempt made"
        for attempt in range(attempts):  # only a body cut off in transit comes back here
            if attempt:
                self._sleep(backoff_wait(self.policy.backoff_s, attempt))
            try:
                got = self._get(ref.locator, etag, modified)
            except (requests.ConnectionError, requests.Timeout) as exc:
                if isinstance(exc, requests.ConnectionError | requests.ConnectTimeout):
                    self.unreachable[host] = type(exc).__name__
                raise SourceError(
                    f"could not fetch after {attempts} attempts: {type(exc).__name__}: {exc}",
                    file=ref.locator,
                    expected="a reachable server answering HTTP 200",
                ) from exc
            except _Truncated as exc:
                last_error = str(exc)
                continue
            if got.status == 404:
                return FetchedFile(ref, b"", status="missing")
            if got.status == 304 and (etag or modified):
                return FetchedFile(
                    ref, b"", status="not_modified", etag=got.etag or etag, last_modified=got.last_modified or modified
                )
            if got.status in RETRY_STATUSES:
                raise SourceError(
                    f"could not fetch after {attempts} attempts: HTTP {got.status}",
                    file=ref.locator,
                    expected="a reachable server answering HTTP 200",
                )
            if got.status != 200:
                raise SourceError(f"HTTP {got.status}", file=ref.locator, expected="HTTP 200 with CSV data")
            return FetchedFile(ref, got.body, etag=got.etag, last_modified=got.last_modified)
        raise SourceError(
            f"could not fetch after {attempts} attempts: {last_error}",
            file=ref.locator,
            expected="a reachable server answering HTTP 200",
        )

    def _get(self, url: str, etag: str | None = None, modified: str | None = None) -> _Response:
        """One GET (retried by the session's ``Retry``; following same-host redirects; sending
        the validators of the last load), body capped at ``max_bytes``."""
        origin = urlsplit(url)
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if modified:
            headers["If-Modified-Since"] = modified
        for _ in range(MAX_REDIRECTS + 1):
            timeout = (self.policy.connect_timeout_s, self.policy.read_timeout_s)
            with self.session.get(url, timeout=timeout, stream=True, allow_redirects=False, headers=headers) as resp:
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
                return _Response(resp.status_code, body, resp.headers.get("ETag"), resp.headers.get("Last-Modified"))
        raise SourceError(f"more than {MAX_REDIRECTS} redirects", file=url)


@dataclass(frozen=True)
class _Response:
    status: int
    body: bytes
    etag: str | None
    last_modified: str | None


class _Truncated(Exception):
    """The body ended before its declared length (retried, then reported as SourceError)."""
