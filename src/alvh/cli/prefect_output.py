"""Prefect's terminal output for the commands that run flows: quiet (the CLI prints each error
itself, in one line) unless ``--debug``, and its ephemeral API server bound to this process."""

from __future__ import annotations

import logging
import os

from alvh.cli.options import FLAGS


class _NoErrorLogs(logging.Filter):
    """Keeps Prefect's ERROR records (with their tracebacks) off the terminal: the CLI prints the
    error itself, in one line. They still reach the Prefect API (the run's logs)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno < logging.ERROR


def quiet_prefect() -> None:
    """Before a command that runs flows: quiet Prefect's terminal output, and bind its ephemeral
    API server (if one is needed) to this process, so a killed run leaves no server behind."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    import prefect.main  # noqa: F401 - configures Prefect's logging, so its handlers exist
    from prefect.logging.handlers import PrefectConsoleHandler

    from alvh.pipeline.server_guard import bind_ephemeral_server

    bind_ephemeral_server()
    if FLAGS.debug:
        return
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)  # each retry; the outcome is reported
    known = logging.Logger.manager.loggerDict.values()
    loggers = [logging.getLogger(), *(lg for lg in known if isinstance(lg, logging.Logger))]
    for logger in loggers:
        for handler in logger.handlers:
            if isinstance(handler, PrefectConsoleHandler) and not any(
                isinstance(f, _NoErrorLogs) for f in handler.filters
            ):
                handler.addFilter(_NoErrorLogs())
