"""Staging transforms: raw rows → ``staging.stg_*`` (rename, cast, align to XNYS sessions,
resolve providers, de-duplicate — nothing else). Pure: frames in, frames out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import polars as pl

from alvh.core.calendar import next_session, session_mask, trading_days_to
from alvh.schemas.raw import DATASHOP_QUOTES_HEADER

VX_PRECEDENCE = ("cfe_current", "cfe_legacy", "reconstructed")
UNICORN_VOLUME_SHARES_FROM = date(2002, 6, 21)


@dataclass
class Staged:
    """A staging table plus what was left out of it."""

    frame: pl.DataFrame
    excluded: int
    note: str
    quarantine: pl.DataFrame | None = None
    conflicts: pl.DataFrame | None = None


def build_stg_index_daily(raw: pl.DataFrame) -> Staged:
    """Index closes on XNYS sessions only.

    CBOE publishes VIX values on some NYSE holidays since 2022 (Global Trading Hours); those rows
    are excluded (and counted) so they never feed indicators.
    """
    on_session = raw.with_columns(session_mask(raw["date"]).alias("_s"))
    kept = on_session.filter(pl.col("_s"))
    excluded = on_session.filter(~pl.col("_s"))
    by_symbol = excluded.group_by("symbol").len().sort("symbol")
    note = "non-session rows excluded: " + (", ".join(f"{s} {n}" for s, n in by_symbol.iter_rows()) or "none")
    frame = kept.select(pl.col("date").alias("session_date"), "symbol", "open", "high", "low", "close").sort(
        "symbol", "session_date"
    )
    return Staged(frame=frame, excluded=excluded.height, note=note)


def build_stg_vx_futures(raw: pl.DataFrame, precedence: Sequence[str] = VX_PRECEDENCE) -> Staged:
    """One settlement per contract and trade date, chosen by provider precedence.

    Rules: a ``settle`` of 0 is "no settlement published" and never chosen; among the providers
    with a settlement the first in ``precedence`` wins; every other provider whose settlement
    differs is reported in ``conflicts``. Prices of 0 become null (no trade); on rows with no
    volume High/Low are quotes, not trades, and become null too. Reconstructed rows have unknown
    volume and open interest (null).
    """
    rank = {p: i for i, p in enumerate(precedence)}
    with_settle = raw.filter(pl.col("settle") > 0).with_columns(
        pl.col("provider").replace_strict(rank, default=len(rank)).alias("_rank")
    )
    ordered = with_settle.sort("contract_expiry", "trade_date", "_rank")
    chosen = ordered.unique(subset=["contract_expiry", "trade_date"], keep="first", maintain_order=True)
    others = ordered.join(
        chosen.select(
            "contract_expiry",
            "trade_date",
            pl.col("provider").alias("chosen_provider"),
            pl.col("settle").alias("chosen_settle"),
        ),
        on=["contract_expiry", "trade_date"],
    ).filter(pl.col("provider") != pl.col("chosen_provider"))
    conflicts = (
        others.filter((pl.col("settle") - pl.col("chosen_settle")).abs() > 1e-9)
        .select(
            "contract_expiry",
            "trade_date",
            "chosen_provider",
            "chosen_settle",
            pl.col("provider").alias("other_provider"),
            pl.col("settle").alias("other_settle"),
        )
        .sort("contract_expiry", "trade_date", "other_provider")
    )
    recon = pl.col("provider") == "reconstructed"
    no_trade = pl.col("volume") == 0

    def price(c: str, quote: bool) -> pl.Expr:
        col = pl.col(c)
        null_when = (col == 0) | recon
        if quote:
            null_when = null_when | no_trade
        return pl.when(null_when).then(None).otherwise(col).alias(c)

    frame = (
        chosen.with_columns(
            trading_days_to(chosen["trade_date"], chosen["contract_expiry"]).alias("tdte"),
            (pl.col("contract_expiry") - pl.col("trade_date")).dt.total_days().cast(pl.Int32).alias("dte"),
            session_mask(chosen["trade_date"]).alias("is_xnys_session"),
        )
        .select(
            "trade_date",
            "contract_expiry",
            "is_monthly",
            price("open", False),
            price("high", True),
            price("low", True),
            price("close", False),
            "settle",
            pl.when(recon).then(None).otherwise(pl.col("volume")).alias("volume"),
            pl.when(recon).then(None).otherwise(pl.col("open_interest")).alias("open_interest"),
            "tdte",
            "dte",
            "provider",
            "futures_label",
            "is_xnys_session",
        )
        .sort("contract_expiry", "trade_date")
    )
    excluded = raw.height - with_settle.height
    note = (
        f"{excluded} provider rows without a settlement; {others.height} rows superseded by a "
        f"higher-precedence provider, {conflicts.height} of them with a different settle"
    )
    return Staged(frame=frame, excluded=excluded, note=note, conflicts=conflicts)


def build_stg_breadth(
    raw: pl.DataFrame,
    precedence: Sequence[str],
    *,
    glitch_fraction: float = 0.5,
    glitch_window: int = 20,
) -> Staged:
    """NYSE advancing/declining issues per XNYS session from the best available provider.

    Glitch rule: a provider's day whose advances + declines is below ``glitch_fraction`` × the
    median of that provider's previous ``glitch_window`` sessions is quarantined (not used); the
    next provider in ``precedence`` fills the day when it has it. Unicorn volumes before
    2002-06-21 are in thousands of shares and are scaled to shares.
    """
    wide = raw.filter(pl.col("series").is_in(["advn", "decln", "unchn", "advv", "declv"])).pivot(
        on="series", index=["provider", "session_date"], values="value", aggregate_function="first"
    )
    for c in ["advn", "decln", "unchn", "advv", "declv"]:
        if c not in wide.columns:
            wide = wide.with_columns(pl.lit(None, dtype=pl.Int64).alias(c))
    wide = wide.filter(pl.col("advn").is_not_null() & pl.col("decln").is_not_null())
    on_session = wide.with_columns(session_mask(wide["session_date"]).alias("_s"))
    excluded_non_session = on_session.filter(~pl.col("_s")).height
    total = pl.col("advn") + pl.col("decln")
    scored = (
        on_session.filter(pl.col("_s"))
        .sort("provider", "session_date")
        .with_columns(
            total.shift(1).rolling_median(glitch_window, min_samples=glitch_window).over("provider").alias("_median")
        )
        .with_columns((total < glitch_fraction * pl.col("_median")).fill_null(False).alias("_glitch"))
    )
    glitches = scored.filter(pl.col("_glitch"))
    order = list(precedence) + sorted(set(scored["provider"].unique()) - set(precedence))
    rank = {p: i for i, p in enumerate(order)}
    scale = (
        pl.when((pl.col("provider") == "unicorn") & (pl.col("session_date") < UNICORN_VOLUME_SHARES_FROM))
        .then(1000)
        .otherwise(1)
    )
    frame = (
        scored.filter(~pl.col("_glitch"))
        .with_columns(pl.col("provider").replace_strict(rank).alias("_rank"))
        .sort("session_date", "_rank")
        .unique(subset=["session_date"], keep="first", maintain_order=True)
        .select(
            "session_date",
            pl.col("advn").alias("advances"),
            pl.col("decln").alias("declines"),
            pl.col("unchn").alias("unchanged"),
            (pl.col("advv") * scale).alias("adv_volume"),
            (pl.col("declv") * scale).alias("decl_volume"),
            "provider",
        )
    )
    quarantine = glitches.select(
        "provider",
        "session_date",
        pl.format("advances={}, declines={} (provider {})", "advn", "decln", "provider").alias("raw_text"),
        pl.format(
            "breadth glitch: advances + declines = {} is below {} x the trailing {}-session median {}",
            total,
            pl.lit(glitch_fraction),
            pl.lit(glitch_window),
            pl.col("_median"),
        ).alias("reason"),
    )
    note = (
        f"{glitches.height} glitch days quarantined; {excluded_non_session} non-session rows "
        "excluded; providers by precedence: " + ", ".join(order)
    )
    return Staged(
        frame=frame,
        excluded=glitches.height + excluded_non_session,
        note=note,
        quarantine=quarantine,
    )


def build_stg_rates(raw: pl.DataFrame) -> Staged:
    """FRED observations as they are (percent per annum); missing days were never loaded."""
    frame = raw.select("date", "series", "value").sort("series", "date")
    return Staged(frame=frame, excluded=0, note="")


OPTION_KEY = ("quote_date", "root", "expiration", "strike", "option_type")
# columns both DataShop layouts carry: where an option is in both, they must agree
OPTION_QUOTE_COLUMNS = tuple(c for c in DATASHOP_QUOTES_HEADER if c not in OPTION_KEY)


def build_stg_option_quote(raw: pl.DataFrame) -> Staged:
    """One row per quote date and option from ``raw.option_quote`` rows (both layouts).

    Rules: the Calcs layout's row is taken when there is one (its calcs columns are the only
    ones); an option in both layouts whose quote columns (``OPTION_QUOTE_COLUMNS``) differ is
    left out and both lines are quarantined (which is right is not ours to guess). ``two_sided``:
    bid_eod > 0, ask_eod > 0 and ask_eod ≥ bid_eod; ``mid`` only then. ``raw`` carries
    ``source_file, line_no, raw_text, sha256`` (the quarantine points back to the lines).
    """
    key = list(OPTION_KEY)
    calcs = raw.filter(pl.col("layout") == "calcs")
    quotes = raw.filter(pl.col("layout") == "quotes")
    both = calcs.join(quotes, on=key, how="inner", suffix="_q")
    differs = [
        pl.when(pl.col(c).ne_missing(pl.col(f"{c}_q"))).then(
            pl.format(f"{c} {{}} vs {{}}", *(pl.col(x).cast(pl.String).fill_null("null") for x in (c, f"{c}_q")))
        )
        for c in OPTION_QUOTE_COLUMNS
    ]
    conflicts = both.with_columns(pl.concat_str(differs, separator="; ", ignore_nulls=True).alias("_diff")).filter(
        pl.col("_diff") != ""
    )
    key_text = pl.concat_str([pl.col(k).cast(pl.String) for k in key], separator=" ")
    quarantine = pl.concat(
        [
            conflicts.select(
                pl.col(f"source_file{s}").alias("file"),
                pl.col(f"line_no{s}").alias("line_no"),
                pl.col(f"raw_text{s}").alias("raw_text"),
                pl.format(
                    f"the {layout} layout's quote columns disagree with the {other} layout's "
                    "({} line {}): {}: {}",
                    pl.col(f"source_file{o}"),
                    pl.col(f"line_no{o}"),
                    key_text,
                    pl.col("_diff"),
                ).alias("reason"),
                pl.col(f"sha256{s}").alias("sha256"),
            )
            for s, o, layout, other in (("", "_q", "Calcs", "Quotes"), ("_q", "", "Quotes", "Calcs"))
        ]
    )
    chosen = pl.concat([calcs, quotes.join(calcs.select(key), on=key, how="anti")]).join(
        conflicts.select(key), on=key, how="anti"
    )
    bid, ask = pl.col("bid_eod"), pl.col("ask_eod")
    two_sided = (bid > 0) & (ask > 0) & (ask >= bid)
    frame = chosen.select(
        *key,
        "underlying_symbol",
        "bid_eod",
        "ask_eod",
        pl.when(two_sided).then((bid + ask) / 2).otherwise(None).alias("mid"),
        two_sided.alias("two_sided"),
        "bid_size_eod",
        "ask_size_eod",
        "bid_1545",
        "ask_1545",
        "underlying_bid_eod",
        "underlying_ask_eod",
        "underlying_bid_1545",
        "underlying_ask_1545",
        pl.col("implied_underlying_price_1545").alias("implied_underlying_1545"),
        pl.col("implied_volatility_1545").alias("iv_1545"),
        "delta_1545",
        "gamma_1545",
        "theta_1545",
        "vega_1545",
        "open_interest",
        "trade_volume",
        "layout",
        "source_file",
        "run_id",
    ).sort(key)
    one_sided = frame.height - int(frame["two_sided"].sum())
    note = (
        f"{frame.height} options ({one_sided} without a two-sided close); {quotes.height - both.height} "
        f"from the Quotes layout alone; {conflicts.height} in both layouts with quote columns that "
        "disagree, left out (both lines quarantined)"
    )
    return Staged(frame=frame, excluded=conflicts.height, note=note, quarantine=quarantine)


OPEN_ET, CLOSE_ET = "09:30", "16:00"  # NYSE regular hours, New York time (HH:MM compares as text)
FOMC_ACTIONS = ("fomc_decision", "fomc_intermeeting")


def affected_sessions(
    release_date: pl.Series, time_et: pl.Series, after_close_by_default: pl.Series
) -> tuple[pl.Series, pl.Series]:
    """(session, timing) of each release: the NYSE session it affects and when it falls. Before
    09:30 ET → ``before_open``, that session; 09:30–16:00 → ``during_session``, that session; at or
    after 16:00 → ``after_close``, the next session; a day that is not a session → ``no_session``,
    the next session. A release without a time is ``during_session`` (``after_close`` where
    ``after_close_by_default``: an election's results)."""
    days = release_date.cast(pl.Date)
    on_session = session_mask(days)
    nxt = {d: next_session(d) for d in days.unique().drop_nulls().to_list()}
    frame = pl.DataFrame(
        {"d": days, "t": time_et.cast(pl.String), "s": on_session, "late": after_close_by_default.cast(pl.Boolean)}
    )
    timing = (
        pl.when(~pl.col("s"))
        .then(pl.lit("no_session"))
        .when(pl.col("t").is_null())
        .then(pl.when(pl.col("late")).then(pl.lit("after_close")).otherwise(pl.lit("during_session")))
        .when(pl.col("t") < OPEN_ET)
        .then(pl.lit("before_open"))
        .when(pl.col("t") < CLOSE_ET)
        .then(pl.lit("during_session"))
        .otherwise(pl.lit("after_close"))
    )
    frame = frame.with_columns(timing.alias("timing")).with_columns(
        pl.when(pl.col("timing").is_in(["no_session", "after_close"]))
        .then(pl.col("d").replace_strict(nxt, default=None, return_dtype=pl.Date))
        .otherwise(pl.col("d"))
        .alias("session")
    )
    return frame["session"].alias("session_date"), frame["timing"]


def build_stg_macro_event(raw: pl.DataFrame) -> Staged:
    """The macro calendar: every ``raw.macro_event`` row of the ``macro_events`` layout with the
    session it affects (:func:`affected_sessions`), ``scheduled`` (false for intermeeting FOMC
    actions), and for an FOMC decision or intermeeting action the ``fomc_dates`` surprise
    ``mp1`` of the session it affects (null where that file has none or its sentinel). ``raw``
    carries ``source_file, line_no``."""
    cal = raw.filter(pl.col("calendar") == "macro_events").sort("release_date", "event")
    session, timing = affected_sessions(cal["release_date"], cal["time_et"], cal["event"] == "election")
    cal = cal.with_columns(session, timing)
    fomc = raw.filter(pl.col("calendar") == "fomc_dates")
    f_session, _ = affected_sessions(fomc["release_date"], fomc["time_et"], pl.Series([False] * fomc.height))
    surprise = (
        fomc.with_columns(f_session)
        .group_by("session_date")
        .agg(pl.col("mp1").first(), pl.len().alias("_n"), pl.col("release_date").min().alias("_fomc_date"))
        .filter(pl.col("_n") == 1)  # two actions affecting one session: which surprise is whose is unknown
    )
    is_action = pl.col("event").is_in(list(FOMC_ACTIONS))
    joined = cal.join(surprise, on="session_date", how="left", suffix="_bm")
    frame = joined.select(
        "event",
        "release_date",
        "time_et",
        "session_date",
        "timing",
        (pl.col("event") != "fomc_intermeeting").alias("scheduled"),
        "period",
        "ref_period",
        "detail",
        pl.when(is_action).then(pl.col("mp1_bm")).otherwise(None).alias("mp1"),
        "source_page",
        "source_file",
        "line_no",
    ).sort("release_date", "event")
    by_kind = frame.group_by("event").len().sort("event")
    note = f"{frame.height} releases ({', '.join(f'{e} {n}' for e, n in by_kind.iter_rows())})"
    if fomc.height:
        f_sessions = fomc.with_columns(f_session)["session_date"]
        lo, hi = f_sessions.min(), f_sessions.max()
        assert isinstance(lo, date) and isinstance(hi, date)
        actions = joined.filter(is_action & pl.col("session_date").is_between(lo, hi))
        matched = actions.filter(pl.col("_fomc_date").is_not_null())
        with_mp1 = matched.filter(pl.col("mp1_bm").is_not_null()).height
        in_span = f_sessions.filter(f_sessions >= cal["session_date"].min()) if cal.height else f_sessions.clear()
        unmatched = int((~in_span.is_in(matched["session_date"].implode())).sum())
        note += (
            f"; FOMC actions within fomc_dates.csv's span ({lo} → {hi}): {matched.height} of {actions.height} "
            f"found there, {with_mp1} with an MP1 surprise; {unmatched} of its {in_span.len()} rows from the "
            "calendar's start match no FOMC action of the calendar"
        )
    return Staged(frame=frame, excluded=0, note=note)
