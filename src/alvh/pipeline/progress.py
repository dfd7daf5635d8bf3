"""A process-wide progress hook: long loops report here, the CLI draws a bar.

Flows and tasks stay free of UI code; without a reporter installed, reports are dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

Reporter = Callable[[str, int, int], None]  # (label, done, total)
_reporter: Reporter | None = None


def report(label: str, done: int, total: int) -> None:
    """Tell the installed reporter that ``done`` of ``total`` units of ``label`` are finished."""
    if _reporter is not None:
        _reporter(label, done, total)


@contextmanager
def reporting(reporter: Reporter) -> Iterator[None]:
    """Install ``reporter`` for the duration of the block."""
    global _reporter
    previous, _reporter = _reporter, reporter
    try:
        yield
    finally:
        _reporter = previous
