"""The next scheduled macro event after a session's close, and how alvh says it (information
only: no rule of the method reads it).

The events are the scheduled releases of ``staging.macro_event`` that move VIX most often (the
method's seed: FOMC decisions, CPI, PPI). For a session D, the next event is the first one whose
affected session is after D — released after D's close: before the next open, during a later
session, or on a day without a session — and its distance is the number of NYSE sessions from D
to the session it affects (1 = the next session). Two events affecting the same session are both
named (the earlier first). A session is covered only where the calendar lists each kind on both
sides of it; elsewhere (before its first or after its last release of any kind) the columns are
null rather than naming a later event while an earlier one is merely missing from the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from alvh.core.calendar import trading_days_to

NEXT_EVENT_KINDS = ("cpi", "ppi", "fomc_decision")
LABELS = {
    "cpi": "CPI",
    "ppi": "PPI",
    "nfp": "NFP",
    "fomc_decision": "FOMC decision",
    "fomc_intermeeting": "FOMC intermeeting action",
    "fomc_minutes": "FOMC minutes",
    "jackson_hole": "Jackson Hole",
    "election": "US election",
}
OPEN_ET = "09:30"
NEXT_EVENT_COLUMNS = (
    "next_event",
    "next_event_date",
    "next_event_time_et",
    "next_event_session",
    "next_event_sessions",
    "next_event_also",
)
_SCHEMA = {
    "session_date": pl.Date,
    "next_event": pl.String,
    "next_event_date": pl.Date,
    "next_event_time_et": pl.String,
    "next_event_session": pl.Date,
    "next_event_sessions": pl.Int32,
    "next_event_also": pl.String,
}


def label(kind: str) -> str:
    return LABELS.get(kind, kind)


def _when(release: date, time_et: str | None) -> str:
    return f"{release}, {time_et} ET" if time_et else f"{release}"


def next_events(sessions: pl.Series, calendar: pl.DataFrame, kinds: tuple[str, ...] = NEXT_EVENT_KINDS) -> pl.DataFrame:
    """One row per session: ``session_date`` and the ``NEXT_EVENT_COLUMNS`` (null where the
    calendar does not cover the session). ``calendar``: ``staging.macro_event`` rows (``event,
    release_date, time_et, session_date, scheduled``)."""
    base = pl.DataFrame({"session_date": sessions.cast(pl.Date)}).sort("session_date")
    events = calendar.filter(pl.col("event").is_in(list(kinds)) & pl.col("scheduled")).select(
        "event", "release_date", "time_et", pl.col("session_date").alias("next_event_session")
    )
    if events.is_empty() or base.is_empty():
        return base.with_columns(*(pl.lit(None, dtype=_SCHEMA[c]).alias(c) for c in NEXT_EVENT_COLUMNS)).select(
            list(_SCHEMA)
        )
    ordered = events.sort("next_event_session", "release_date", pl.col("time_et").fill_null("99:99"), "event")
    also_text = pl.format(
        "{} ({})",
        pl.col("event").replace_strict(LABELS, default=pl.col("event")),
        pl.when(pl.col("time_et").is_not_null())
        .then(pl.format("{}, {} ET", pl.col("release_date"), pl.col("time_et")))
        .otherwise(pl.col("release_date").cast(pl.String)),
    )
    per_session = ordered.group_by("next_event_session", maintain_order=True).agg(
        pl.col("event").first().alias("next_event"),
        pl.col("release_date").first().alias("next_event_date"),
        pl.col("time_et").first().alias("next_event_time_et"),
        also_text.slice(1).str.join("; ").alias("next_event_also"),
    )
    per_session = per_session.with_columns(
        pl.when(pl.col("next_event_also") == "")
        .then(None)
        .otherwise(pl.col("next_event_also"))
        .alias("next_event_also"),
        pl.col("next_event_session").alias("_key"),
    ).sort("_key")
    joined = base.join_asof(
        per_session, left_on="session_date", right_on="_key", strategy="forward", allow_exact_matches=False
    ).drop("_key")
    spans = events.group_by("event").agg(
        pl.col("next_event_session").min().alias("first"), pl.col("next_event_session").max().alias("last")
    )
    covered_from = spans["first"].max() if spans.height == len(kinds) else None
    covered_to = spans["last"].min() if spans.height == len(kinds) else None
    covered = (
        (pl.col("session_date") >= pl.lit(covered_from)) & (pl.col("session_date") < pl.lit(covered_to))
        if covered_from is not None and covered_to is not None
        else pl.lit(False)
    )
    joined = joined.with_columns(covered.fill_null(False).alias("_covered"))
    out = joined.with_columns(
        *(pl.when(pl.col("_covered")).then(pl.col(c)).otherwise(None).alias(c) for c in NEXT_EVENT_COLUMNS[:-2]),
        pl.when(pl.col("_covered")).then(pl.col("next_event_also")).otherwise(None).alias("next_event_also"),
    ).drop("_covered")
    have = out.filter(pl.col("next_event_session").is_not_null())
    distance = pl.DataFrame(
        {
            "session_date": have["session_date"],
            "next_event_sessions": trading_days_to(have["session_date"], have["next_event_session"]),
        }
    )
    return out.join(distance, on="session_date", how="left").select(list(_SCHEMA)).cast(_SCHEMA)  # type: ignore[arg-type]


@dataclass(frozen=True)
class NextEvent:
    """The next scheduled event after a session's close (a ``marts.indicators_daily`` row's
    ``next_event*`` columns)."""

    kind: str
    release_date: date
    time_et: str | None
    session: date
    sessions: int
    also: str | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> NextEvent | None:
        """From a mart row (None when the row has no next event, or predates the columns)."""
        kind, release, session, n = (
            row.get(c) for c in ("next_event", "next_event_date", "next_event_session", "next_event_sessions")
        )
        if kind is None or release is None or session is None or n is None:
            return None
        return cls(str(kind), release, row.get("next_event_time_et"), session, int(n), row.get("next_event_also"))

    @property
    def before_open(self) -> bool:
        """Released before the open of the session it affects (or on a day without a session)."""
        return self.release_date < self.session or (self.time_et is not None and self.time_et < OPEN_ET)

    def sentence(self) -> str:
        """In plain words, e.g. ``CPI before the next open (2026-01-13, 08:30 ET)``, ``FOMC decision
        during the next session (2026-01-28, 14:00 ET)``, ``PPI in 3 sessions (…)``."""
        what = label(self.kind)
        when = _when(self.release_date, self.time_et)
        if self.sessions == 1:
            where = "before the next open" if self.before_open else "during the next session"
            text = f"{what} {where} ({when})"
        else:
            text = f"{what} in {self.sessions} sessions ({when})"
        if self.also:
            text += f"; the same session: {self.also}"
        return text

    def trade_note(self) -> str:
        """What a trade made the session before the event says (empty further out)."""
        return f"; note: {self.sentence()}" if self.sessions == 1 else ""
