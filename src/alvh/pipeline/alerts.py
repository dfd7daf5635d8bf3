"""One notification per daily run that needs a human: the run failed, the signal is stale, or
the plan has any non-HOLD action — sent through Apprise, so one URL setting reaches Slack
(``slack://…`` or the hook URL), Discord (``discord://…``), Teams (``msteams://…``), e-mail
(``mailto://`` / ``mailtos://`` SMTP), Telegram (``tgram://…``) or a plain JSON webhook
(``json://`` / ``jsons://``; a bare ``http(s)://`` URL Apprise does not recognise is posted as
JSON). Several URLs may be given, separated by spaces or commas.

The URLs are secrets (setting ``alert_url``, or the Prefect Secret block named by
``alert_url_block``): they never appear in logs, artifacts, exports or the warehouse. Apprise and
urllib3 log the URLs they use, so their loggers are silenced while a notification is sent, and
this module names a channel only by its scheme (``mailto``, ``slack``)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from alvh.core.settings import Settings

log = logging.getLogger("alvh.alerts")
TITLE = "ALVH hedge signal"
# loggers that print the URL (and so the secret) of a request: Apprise's and the HTTP stack's
NOISY = ("apprise", "urllib3", "urllib3.connectionpool", "requests", "smtplib")


def alert_urls(settings: Settings) -> list[str]:
    """The Apprise URLs from the settings, else from a Prefect Secret block (empty if neither)."""
    if settings.alert_url is not None:
        raw = settings.alert_url.get_secret_value()
    elif settings.alert_url_block:
        from prefect.blocks.system import Secret

        raw = str(Secret.load(settings.alert_url_block).get())  # type: ignore[union-attr]
    else:
        return []
    return [u for u in re.split(r"[\s,]+", raw) if u]


def channel_of(url: str) -> str:
    """The URL's scheme — the only part of it that may be logged."""
    return url.split("://", 1)[0].lower() if "://" in url else "unknown"


def daily_message(signal: dict[str, Any] | None, layers: list[dict[str, Any]], error: str | None) -> str | None:
    """The alert text, or None when nothing needs attention (a clean all-HOLD day)."""
    if error is not None:
        day = signal["session_date"] if signal else "today"
        return f":rotating_light: ALVH daily run FAILED for {day}: {error}"
    if signal is None:
        return None
    acting = [r for r in layers if r["action"] != "HOLD"]
    if not signal["stale"] and not acting:
        return None
    head = f"ALVH {signal['session_date']}: "
    if signal["stale"]:
        return head + f"STALE signal, no trades — {signal['stale_reason']}"
    lines = [head + str(signal["actions_summary"])]
    for r in acting:
        lines.append(
            f"• layer {r['layer']} {r['action']} {r['trade_qty']:+d} × {r['contract_expiry']} "
            f"{r['strike']:g}C — {r['reason']}"
        )
    return "\n".join(lines)


@contextmanager
def silenced(names: tuple[str, ...] = NOISY) -> Iterator[None]:
    """Nothing logged by ``names`` while inside (their records would carry the URL)."""
    saved = [(logging.getLogger(n), logging.getLogger(n).level, logging.getLogger(n).disabled) for n in names]
    for lg, _, _ in saved:
        lg.setLevel(logging.CRITICAL + 1)
        lg.disabled = True
    try:
        yield
    finally:
        for lg, level, disabled in saved:
            lg.setLevel(level)
            lg.disabled = disabled


@dataclass
class Delivery:
    """Outcome per channel, named by scheme only."""

    sent: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    unusable: list[str] = field(default_factory=list)  # URLs Apprise cannot read (scheme only)


def send(urls: list[str], text: str, title: str = TITLE) -> Delivery:
    """Notify every URL through Apprise; never raises, never logs a URL."""
    import apprise

    out = Delivery()
    with silenced():
        for url in urls:
            target = url
            if apprise.Apprise.instantiate(url) is None and url.lower().startswith(("http://", "https://")):
                target = "json" + url[4:]  # http:// → json://, https:// → jsons://
            ap = apprise.Apprise()
            if not ap.add(target):
                out.unusable.append(channel_of(url))
                continue
            try:
                ok = bool(ap.notify(body=text, title=title))
            except Exception:  # a channel's plugin error must not fail the run (nor print the URL)
                ok = False
            (out.sent if ok else out.failed).append(channel_of(target))
    for name in out.unusable:
        log.warning("alert URL with scheme %r is not one Apprise understands", name)
    for name in out.failed:
        log.warning("alert could not be delivered over %s", name)
    return out
