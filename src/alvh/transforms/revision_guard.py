"""The revision guard: which files would rewrite too much stored history to be taken on trust.

A source may revise past values (CBOE and FRED do), one or a few recent rows at a time. A file
whose revisions touch more than ``max_rows`` stored rows, or more than ``max_share`` of the rows
already stored from it (counted from 2 rows on: a single revised row is never "many"), or change
a value dated before ``old_before`` by more than ``tolerance`` (relative), is *suspect*: the
caller refuses it whole unless the user accepted it by name. Pure: the caller supplies the
pending changes and the history counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import ClassVar

import polars as pl

from alvh.core.calendar import sessions_between

EXAMPLES = 3


@dataclass(frozen=True)
class RevisionGuard:
    """Limits on what one file may revise (see the module docstring).

    ``old_before``: values dated before this session count as old (``revision_max_age_sessions``
    sessions before the run date; see :func:`old_before`); ``tolerance``: relative change
    allowed on an old value (0.001 = 0.1 %); ``accepted``: file names applied on purpose.
    """

    SETTING_NAMES: ClassVar[dict[str, str]] = {
        "max_rows": "revision_max_rows",
        "max_share": "revision_max_share",
        "max_age_sessions": "revision_max_age_sessions",
        "tolerance": "revision_tolerance",
    }

    max_rows: int = 5
    max_share: float = 0.01
    old_before: date | None = None
    max_age_sessions: int = 10
    tolerance: float = 0.001
    accepted: frozenset[str] = frozenset()


def old_before(as_of: date, max_age_sessions: int) -> date:
    """The earliest session whose values are not yet old on ``as_of``: a value dated before it
    is more than ``max_age_sessions`` XNYS sessions before ``as_of``."""
    sessions = sessions_between(date.fromordinal(as_of.toordinal() - 3 * max_age_sessions - 15), as_of)
    return sessions[-(max_age_sessions + 1)] if len(sessions) > max_age_sessions else sessions[0]


def _beyond_tolerance(tolerance: float) -> pl.Expr:
    old = pl.col("old_value").cast(pl.Float64, strict=False)
    new = pl.col("new_value").cast(pl.Float64, strict=False)
    numeric = old.is_not_null() & new.is_not_null()
    relative = (new - old).abs() > tolerance * old.abs()
    return pl.when(numeric).then(relative).otherwise(pl.lit(True))


def _example(rows: pl.DataFrame) -> str:
    return "; ".join(
        f"{r['row_key']} {r['column_name']} {r['old_value']} → {r['new_value']}" for r in rows.head(EXAMPLES).to_dicts()
    )


def suspect_files(pending: pl.DataFrame, history: dict[str, int], guard: RevisionGuard) -> dict[str, str]:
    """File name → why it is suspect, for every file in ``pending`` that breaks a limit.

    ``pending``: the values a load would change (``source_file, row_key, row_date, column_name,
    old_value, new_value``); ``history``: rows already stored from each file name. The reason
    names the count and the first examples (old → new).
    """
    out: dict[str, str] = {}
    for (name,), changes in pending.sort("row_date", "row_key", "column_name").group_by(
        "source_file", maintain_order=True
    ):
        rows = changes["row_key"].n_unique()
        stored = history.get(str(name), 0)
        why = []
        if rows > guard.max_rows:
            why.append(f"more than revision_max_rows = {guard.max_rows}")
        if rows > 1 and rows > guard.max_share * stored:
            why.append(f"more than {guard.max_share:.1%} of the {stored} rows stored from it")
        old = pl.lit(False)
        if guard.old_before is not None:
            old = (pl.col("row_date") < pl.lit(guard.old_before)).fill_null(False)
        too_old = changes.filter(old & _beyond_tolerance(guard.tolerance))
        if not too_old.is_empty():
            why.append(
                f"{too_old['row_key'].n_unique()} of them older than {guard.max_age_sessions} sessions "
                f"(before {guard.old_before}) changed by more than {guard.tolerance:.1%}"
            )
        if why:
            shown = too_old if not too_old.is_empty() else changes
            out[str(name)] = (
                f"suspect revision: the file would revise {rows} stored row(s) ({'; '.join(why)}), "
                f"e.g. {_example(shown)}"
            )
    return out
