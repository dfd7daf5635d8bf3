"""Prefect's ephemeral API server never outlives the ``alvh`` process that started it.

With no ``PREFECT_API_URL`` configured, Prefect starts a temporary API server (``uvicorn``, about
200 MB) as a child process and stops it at exit. A run killed with SIGKILL (or by the OOM killer)
cannot stop it, so it used to stay behind. ``bind_ephemeral_server`` makes Prefect start that
child through this module's ``main``, which runs uvicorn unchanged plus a watcher thread: when the
parent process is gone (the child's parent PID changes), the server is sent SIGTERM (uvicorn's
graceful shutdown) and, should that hang, exits after ``EXIT_GRACE_S``.

A configured ``PREFECT_API_URL`` (``prefect server start``, Prefect Cloud, ``alvh serve``) needs
none of this: nothing is started, nothing is patched.
"""

from __future__ import annotations

import os
import runpy
import signal
import subprocess
import sys
import threading
import time
from typing import Any

POLL_S = 0.5  # how often the server checks that its parent is alive (seconds)
EXIT_GRACE_S = 10.0  # after SIGTERM, the server is forced out after this long (seconds)


def _watch_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(POLL_S)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(EXIT_GRACE_S)
    os._exit(1)


def main(argv: list[str]) -> None:
    """``python -m alvh.pipeline.server_guard PARENT_PID <uvicorn args…>``."""
    parent_pid = int(argv[0])
    threading.Thread(target=_watch_parent, args=(parent_pid,), name="alvh-parent-watch", daemon=True).start()
    sys.argv = ["uvicorn", *argv[1:]]
    runpy.run_module("uvicorn", run_name="__main__", alter_sys=True)


class _GuardedSubprocess:
    """Stands in for the ``subprocess`` module inside Prefect's server module: identical, except
    that ``python -m uvicorn …`` is started through ``main`` above."""

    def __getattr__(self, name: str) -> Any:
        return getattr(subprocess, name)

    @staticmethod
    def Popen(args: list[str], *rest: Any, **kwargs: Any) -> subprocess.Popen[Any]:
        if len(args) > 2 and args[1:3] == ["-m", "uvicorn"]:
            args = [args[0], "-m", __name__, str(os.getpid()), *args[3:]]
        return subprocess.Popen(args, *rest, **kwargs)


def bind_ephemeral_server() -> bool:
    """When no Prefect API is configured, make the ephemeral server this process will start exit
    with it. Returns whether it was bound (False: an API URL is configured)."""
    from prefect.settings import get_current_settings

    if get_current_settings().api.url:
        return False
    from prefect.server.api import server

    if not isinstance(server.subprocess, _GuardedSubprocess):
        server.subprocess = _GuardedSubprocess()  # type: ignore[assignment]
    return True


if __name__ == "__main__":  # pragma: no cover - the server child
    main(sys.argv[1:])
