"""VX forwards by session and expiry: the actual settle, else linear interpolation in expiry date
between the contracts that bracket it (ALVH_METHOD.md §3, "A forward missing from the data").

Units: settles and forwards in index points; interpolation is linear in the expiry date measured
in calendar days. Pure: no I/O.

The rule, for a contract expiring ``expiry`` on session ``session``:

- its settle that session, when the data has one (``source = "settle"``);
- else the straight line in expiry date between the nearest contracts — weekly or monthly — that
  have a settle that session and bracket it: the latest expiring before ``expiry`` and the
  earliest expiring after it (``source = "interpolated"``). A contract expiring on ``session``
  itself (it has only its final settlement) is never a bracket;
- else, when no such pair exists, no forward (``None``).

Betas and every other statistic of *actual* settles must use :meth:`ForwardCurves.settle`, never
:meth:`ForwardCurves.forward`.

The rule's error is measured by :func:`leave_one_out_errors`: each monthly contract that is M1, M2
or M3 on a session and has a settle is hidden in turn and interpolated from the rest.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

SETTLE = "settle"
INTERPOLATED = "interpolated"
FORWARD_SOURCES = (SETTLE, INTERPOLATED)


@dataclass(frozen=True)
class Forward:
    """A contract's forward on one session, index points, and where it comes from."""

    value: float  # index points
    source: str  # "settle" or "interpolated"
    lower: date | None = None  # bracketing contract expiry below (None for "settle")
    upper: date | None = None  # bracketing contract expiry above (None for "settle")

    def basis(self) -> str | None:
        """The contracts an interpolated forward was drawn from; None for an actual settle."""
        if self.source != INTERPOLATED or self.lower is None or self.upper is None:
            return None
        return f"interpolated between the {self.lower.isoformat()} and {self.upper.isoformat()} contracts"


def _usable(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _between(expiries: Sequence[date], values: Sequence[float], expiry: date) -> Forward | None:
    """Interpolate at ``expiry`` on a curve sorted by expiry that holds only valid brackets
    (expiry after the session, finite settle) and not ``expiry`` itself."""
    hi = bisect_right(expiries, expiry)
    lo = bisect_left(expiries, expiry) - 1
    if lo < 0 or hi >= len(expiries):
        return None
    e0, e1 = expiries[lo], expiries[hi]
    v0, v1 = values[lo], values[hi]
    w = (expiry - e0).days / (e1 - e0).days
    return Forward(v0 + w * (v1 - v0), INTERPOLATED, e0, e1)


def interpolate_forward(curve: Mapping[date, float], session: date, expiry: date) -> Forward | None:
    """The forward of the contract expiring ``expiry`` on ``session``.

    ``curve`` maps every contract expiry (weekly and monthly) to its settle on ``session``
    (index points). Returns the exact settle when ``expiry`` is in ``curve`` (source
    ``"settle"``), else the linear interpolation in calendar days between the nearest expiries
    below and above it that expire after ``session`` (source ``"interpolated"``), else None.
    """
    own = curve.get(expiry)
    if own is not None and _usable(own):
        return Forward(float(own), SETTLE)
    points = sorted((e, float(v)) for e, v in curve.items() if e > session and e != expiry and _usable(v))
    return _between([e for e, _ in points], [v for _, v in points], expiry)


class ForwardCurves:
    """All VX settles by session; answers forward(session, expiry).

    ``settles`` maps ``(trade_date, contract_expiry)`` to the settle in index points (weekly and
    monthly contracts alike). A settle lookup is one dict access; the sorted curve a session
    needs for interpolation is built the first time that session is asked for.
    """

    def __init__(self, settles: Mapping[tuple[date, date], float]) -> None:
        self._settles: dict[tuple[date, date], float] = {}
        by_session: defaultdict[date, list[tuple[date, float]]] = defaultdict(list)
        for (session, expiry), value in settles.items():
            if not _usable(value):
                continue
            v = float(value)
            self._settles[(session, expiry)] = v
            if expiry > session:  # a contract expiring that session is never a bracket
                by_session[session].append((expiry, v))
        self._points = dict(by_session)
        self._curves: dict[date, tuple[list[date], list[float]]] = {}

    @classmethod
    def from_frame(cls, vx: pl.DataFrame) -> ForwardCurves:
        """From ``trade_date, contract_expiry, settle`` rows (nulls ignored; weeklies included)."""
        rows = vx.select("trade_date", "contract_expiry", "settle").drop_nulls()
        return cls(
            dict(
                zip(
                    zip(rows["trade_date"].to_list(), rows["contract_expiry"].to_list(), strict=True),
                    rows["settle"].to_list(),
                    strict=True,
                )
            )
        )

    def _curve(self, session: date) -> tuple[list[date], list[float]]:
        curve = self._curves.get(session)
        if curve is None:
            points = sorted(self._points.get(session, ()))
            curve = ([e for e, _ in points], [v for _, v in points])
            self._curves[session] = curve
        return curve

    def _interpolated(self, session: date, expiry: date) -> Forward | None:
        """Interpolation at ``expiry`` ignoring its own settle (strict brackets exclude it)."""
        expiries, values = self._curve(session)
        return _between(expiries, values, expiry)

    def forward(self, session: date, expiry: date) -> Forward | None:
        """The settle if the data has it, else the interpolated forward, else None."""
        own = self._settles.get((session, expiry))
        if own is not None:
            return Forward(own, SETTLE)
        return self._interpolated(session, expiry)

    def settle(self, session: date, expiry: date) -> float | None:
        """The actual settle only (None when the data lacks it)."""
        return self._settles.get((session, expiry))


def tenor_contracts(expected: pl.DataFrame, tenors: Sequence[int] = (1, 2, 3)) -> dict[str, list[tuple[date, date]]]:
    """``(session, expiry)`` pairs per tenor label ``"M1"``… from a frame with ``session_date``
    and ``m{i}_expiry`` columns (the output of ``term_structure.expected_contracts``)."""
    sessions = expected["session_date"].to_list()
    return {f"M{i}": list(zip(sessions, expected[f"m{i}_expiry"].to_list(), strict=True)) for i in tenors}


def leave_one_out(curves: ForwardCurves, contracts_by_tenor: Mapping[str, Iterable[tuple[date, date]]]) -> pl.DataFrame:
    """Hide each contract's known settle in turn and interpolate it from the rest.

    For every ``(session, expiry)`` of every tenor whose settle is known: one row with
    ``tenor, session_date, expiry, settle, forward, abs_error`` (index points) and the brackets
    ``lower, upper``; ``forward``/``abs_error`` are null when no pair brackets it.
    """
    rows: dict[str, list[object]] = {
        k: [] for k in ("tenor", "session_date", "expiry", "settle", "forward", "lower", "upper")
    }
    for tenor, pairs in contracts_by_tenor.items():
        for session, expiry in pairs:
            actual = curves.settle(session, expiry)
            if actual is None:
                continue
            f = curves._interpolated(session, expiry)
            for k, v in zip(
                rows,
                (
                    tenor,
                    session,
                    expiry,
                    actual,
                    None if f is None else f.value,
                    None if f is None else f.lower,
                    None if f is None else f.upper,
                ),
                strict=True,
            ):
                rows[k].append(v)
    schema = {
        "tenor": pl.String,
        "session_date": pl.Date,
        "expiry": pl.Date,
        "settle": pl.Float64,
        "forward": pl.Float64,
        "lower": pl.Date,
        "upper": pl.Date,
    }
    frame = pl.DataFrame(rows, schema=schema)
    return frame.with_columns((pl.col("forward") - pl.col("settle")).abs().alias("abs_error"))


def leave_one_out_errors(
    curves: ForwardCurves, contracts_by_tenor: Mapping[str, Iterable[tuple[date, date]]]
) -> dict[str, np.ndarray]:
    """Per tenor, the absolute leave-one-out errors in index points (contracts with a known
    settle and a bracketing pair; see :func:`leave_one_out`)."""
    detail = leave_one_out(curves, contracts_by_tenor)
    return {
        tenor: detail.filter((pl.col("tenor") == tenor) & pl.col("abs_error").is_not_null())["abs_error"].to_numpy()
        for tenor in contracts_by_tenor
    }
