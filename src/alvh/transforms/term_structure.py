"""The VIX futures term structure by session: M1–M3 by the roll rule, contango, basis, betas.

Conventions (ALVH_METHOD.md §3): for each XNYS session ``d`` the monthly contracts are ranked by
expiry; ``M1`` is the nearest with ``tdte > roll_tdte`` (XNYS sessions in (d, expiry]), ``M2``
and ``M3`` the next two. Which contracts those are comes from the VIX expiration rule, not from
the data: when the data lacks one of them the settle is null and
``term_structure_complete = false`` — never silently filled with a neighbouring contract.

Forwards (:mod:`alvh.transforms.forwards`): ``m{i}_forward`` is the settle when the data has it, else
interpolated linearly in expiry date between the nearest contracts — weekly or monthly — that
have a settle that session and bracket it (``m{i}_forward_source = "interpolated"``,
``m{i}_forward_basis`` naming the two contracts); null only when no pair brackets it. Contango
and basis are computed from the forwards; betas and ``term_structure_complete`` from actual
settles only.

Futures beta of tenor i: the no-intercept slope of ΔF_i on ΔVIX, where ΔF_i is the day's change
of the *same* contract (not of the rolling M_i series, which jumps at rolls), over the trailing
``window`` valid (ΔF_i, ΔVIX) pairs, clipped to [lo, hi]; before ``window`` pairs exist, the
method's defaults (0.70, 0.50, 0.40). On a session without a valid pair the last beta carries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from alvh.core.calendar import sessions_between, vix_monthly_expirations
from alvh.core.settings import setting_default
from alvh.transforms.forwards import ForwardCurves


@dataclass(frozen=True)
class TermStructureParams:
    """M1–M3 by the roll rule and the futures betas (§3); defaults from the settings."""

    roll_tdte: int = setting_default("roll_tdte")
    beta_window: int = setting_default("beta_window")
    beta_defaults: tuple[float, float, float] = setting_default("beta_defaults")
    beta_clip: tuple[float, float] = setting_default("beta_clip")


def expected_contracts(sessions: pl.Series, roll_tdte: int) -> pl.DataFrame:
    """For each session, the expiries of M1, M2, M3 by the roll rule, with their dte and tdte."""
    days = sessions.cast(pl.Date)
    first, last = days.min(), days.max()
    assert isinstance(first, date) and isinstance(last, date)
    expiries = np.array(vix_monthly_expirations(first, date(last.year + 2, 12, 31)), dtype="datetime64[D]")
    all_sessions = np.array(
        sessions_between(date(first.year - 1, 1, 1), date(last.year + 2, 12, 31)), dtype="datetime64[D]"
    )
    d = days.to_numpy().astype("datetime64[D]")
    idx_d = np.searchsorted(all_sessions, d, side="right")
    idx_e = np.searchsorted(all_sessions, expiries, side="right")
    j = np.searchsorted(idx_e, idx_d + roll_tdte, side="right")  # first expiry with tdte > roll
    out: dict[str, object] = {"session_date": days}
    for i in range(3):
        e = expiries[j + i]
        out[f"m{i + 1}_expiry"] = pl.Series(e).cast(pl.Date)
        out[f"m{i + 1}_dte"] = pl.Series((e - d).astype(np.int64)).cast(pl.Int32)
        out[f"m{i + 1}_tdte"] = pl.Series(idx_e[j + i] - idx_d).cast(pl.Int32)
    return pl.DataFrame(out)


def add_forwards(exp: pl.DataFrame, curves: ForwardCurves) -> pl.DataFrame:
    """Add ``m{i}_forward`` (index points), ``m{i}_forward_source`` and ``m{i}_forward_basis``
    for i = 1..3 to a frame with ``session_date`` and ``m{i}_expiry``."""
    sessions = exp["session_date"].to_list()
    cols = []
    for i in (1, 2, 3):
        fwd = [curves.forward(s, e) for s, e in zip(sessions, exp[f"m{i}_expiry"].to_list(), strict=True)]
        cols += [
            pl.Series(f"m{i}_forward", [None if f is None else f.value for f in fwd], dtype=pl.Float64),
            pl.Series(f"m{i}_forward_source", [None if f is None else f.source for f in fwd], dtype=pl.String),
            pl.Series(f"m{i}_forward_basis", [None if f is None else f.basis() for f in fwd], dtype=pl.String),
        ]
    return exp.with_columns(cols)


FORWARD_COLUMNS = [f"m{i}_{c}" for i in (1, 2, 3) for c in ("forward", "forward_source", "forward_basis")]


def build_term_structure(
    sessions: pl.Series, vx: pl.DataFrame, vix: pl.DataFrame, params: TermStructureParams | None = None
) -> pl.DataFrame:
    """Per session: M1–M3 expiry/settle/dte/tdte, contango, basis, betas, completeness.

    Parameters
    ----------
    sessions
        XNYS sessions (pl.Date), ascending.
    vx
        ``staging.stg_vx_futures`` rows (``trade_date, contract_expiry, is_monthly, settle``),
        settle in index points; weeklies (``is_monthly`` false) serve as interpolation brackets.
    vix
        ``session_date, vix_close`` (index points).

    Returns
    -------
    pl.DataFrame
        ``session_date, m{1,2,3}_{expiry,settle,dte,tdte}, contango (M2/M1 − 1 on forwards,
        decimal), basis (M1 forward − VIX, index points), beta_{1,2,3}, term_structure_complete,
        m{1,2,3}_{forward,forward_source,forward_basis}``.
    """
    p = params or TermStructureParams()
    exp = add_forwards(expected_contracts(sessions, p.roll_tdte), ForwardCurves.from_frame(vx))
    settles = vx.filter(pl.col("is_monthly")).select("trade_date", "contract_expiry", "settle")
    prev_session = pl.col("session_date").shift(1)
    frame = exp.join(vix, on="session_date", how="left").with_columns(prev_session.alias("_prev"))
    for i in (1, 2, 3):
        m = f"m{i}"
        frame = frame.join(
            settles.rename({"trade_date": "session_date", "contract_expiry": f"{m}_expiry", "settle": f"{m}_settle"}),
            on=["session_date", f"{m}_expiry"],
            how="left",
        ).join(
            settles.rename({"trade_date": "_prev", "contract_expiry": f"{m}_expiry", "settle": f"_{m}_prev"}),
            on=["_prev", f"{m}_expiry"],
            how="left",
        )
    frame = frame.sort("session_date")
    dvix = pl.col("vix_close") - pl.col("vix_close").shift(1)
    lo, hi = p.beta_clip
    betas = []
    for i in (1, 2, 3):
        m = f"m{i}"
        df_ = pl.col(f"{m}_settle") - pl.col(f"_{m}_prev")
        pairs = frame.select("session_date", df_.alias("dF"), dvix.alias("dV")).drop_nulls()
        pairs = pairs.with_columns(
            (pl.col("dF") * pl.col("dV")).rolling_sum(p.beta_window, min_samples=p.beta_window).alias("_sxy"),
            (pl.col("dV") ** 2).rolling_sum(p.beta_window, min_samples=p.beta_window).alias("_sxx"),
        ).select(
            "session_date",
            pl.when(pl.col("_sxx") > 0)
            .then((pl.col("_sxy") / pl.col("_sxx")).clip(lo, hi))
            .otherwise(None)
            .alias(f"beta_{i}"),
        )
        betas.append(pairs)
    for b in betas:
        frame = frame.join(b, on="session_date", how="left")
    frame = frame.sort("session_date").with_columns(
        *[
            pl.col(f"beta_{i}").forward_fill().fill_null(d).alias(f"beta_{i}")
            for i, d in zip((1, 2, 3), p.beta_defaults, strict=True)
        ],
        (pl.col("m2_forward") / pl.col("m1_forward") - 1).alias("contango"),
        (pl.col("m1_forward") - pl.col("vix_close")).alias("basis"),
        pl.all_horizontal(pl.col(f"m{i}_settle").is_not_null() for i in (1, 2, 3)).alias("term_structure_complete"),
    )
    cols: Sequence[str] = [
        "session_date",
        *[f"m{i}_{c}" for i in (1, 2, 3) for c in ("expiry", "settle", "dte", "tdte")],
        "contango",
        "basis",
        "beta_1",
        "beta_2",
        "beta_3",
        "term_structure_complete",
        *FORWARD_COLUMNS,
    ]
    return frame.select(cols)
