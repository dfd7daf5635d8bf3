"""One notification per daily run that needs a human: the run failed, the signal is stale, or
the plan has any non-HOLD action. A generic JSON webhook with a Slack-compatible payload
(``{"text": ...}``); the URL is a secret (setting ``alert_webhook_url`` or the Prefect Secret
block named by ``alert_webhook_block``) and never appears in logs, artifacts or exports."""

from __future__ import annotations

import logging
from typing import Any

import requests

from alvh.core.settings import Settings

log = logging.getLogger("alvh.alerts")


def webhook_url(settings: Settings) -> str | None:
    """The webhook URL from the settings, else from a Prefect Secret block (None if neither)."""
    if settings.alert_webhook_url is not None:
        return settings.alert_webhook_url.get_secret_value()
    if settings.alert_webhook_block:
        from prefect.blocks.system import Secret

        value = Secret.load(settings.alert_webhook_block).get()  # type: ignore[union-attr]
        return str(value)
    return None


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


def send(url: str, text: str, timeout_s: float = 10.0) -> bool:
    """POST ``{"text": text}``; failures are logged without the URL and never raise."""
    # urllib3 logs request lines (with the URL path) at DEBUG: keep it quiet while the secret travels
    pool_log = logging.getLogger("urllib3.connectionpool")
    level = pool_log.level
    pool_log.setLevel(logging.WARNING)
    try:
        resp = requests.post(url, json={"text": text}, timeout=timeout_s)
        if resp.status_code >= 400:
            log.warning("alert webhook answered HTTP %s", resp.status_code)
            return False
        return True
    except requests.RequestException as exc:
        log.warning("alert webhook unreachable (%s)", type(exc).__name__)
        return False
    finally:
        pool_log.setLevel(level)
