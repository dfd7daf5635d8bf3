"""What the daily page of a session shows, read from the warehouse (read-only queries), and the
page files written beside the exports (``<export_dir>/pages/<session>.html`` + ``index.html``, and
the one plotly.js file the pages share)."""

from __future__ import annotations

import os
import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from alvh.warehouse.published import session_plan

PAGES_DIR = "pages"
INDEX = "index.html"

# input → query of its last date on or before the session ($d)
FRESHNESS = {
    "VIX close": "SELECT max(session_date) FROM staging.stg_index_daily WHERE symbol = 'VIX' AND session_date <= $d",
    "VVIX close": "SELECT max(session_date) FROM staging.stg_index_daily WHERE symbol = 'VVIX' AND session_date <= $d",
    "SPX close": "SELECT max(session_date) FROM staging.stg_index_daily WHERE symbol = 'SPX' AND session_date <= $d",
    "VX futures": "SELECT max(trade_date) FROM staging.stg_vx_futures WHERE is_monthly AND trade_date <= $d",
    "NYSE breadth": "SELECT max(session_date) FROM staging.stg_breadth WHERE session_date <= $d",
}


def _rows(con: duckdb.DuckDBPyConnection, sql: str, d: date) -> list[dict[str, Any]]:
    return con.sql(sql, params={"d": d}).pl().to_dicts()


def page_inputs(con: duckdb.DuckDBPyConnection, d: date, history_days: int = 365) -> dict[str, Any]:
    """The rows of session ``d``'s page: signal, layers, orders, positions, stress, book risk,
    payoff grid, the last ``history_days`` calendar days of R/r*/regime and SPX, the VX curve
    (monthly settles of the session; M1–M3 forwards where a settle is missing), the indicators row
    and the freshness of each input. ``signal`` is None when ``d`` is not published."""
    plan = session_plan(con, d)
    if plan is None:
        return {"signal": None}
    lo = d - timedelta(days=history_days)
    ind = _rows(con, "SELECT * FROM marts.indicators_daily WHERE session_date = $d", d)
    settles = con.sql(
        "SELECT contract_expiry, settle AS forward, 'settle' AS source FROM staging.stg_vx_futures "
        "WHERE is_monthly AND trade_date = $d AND settle IS NOT NULL AND contract_expiry > $d ORDER BY contract_expiry",
        params={"d": d},
    ).pl()
    curve = settles
    if ind:
        row = ind[0]
        extra = [
            {"contract_expiry": row[f"m{i}_expiry"], "forward": row[f"m{i}_forward"], "source": "interpolated"}
            for i in (1, 2, 3)
            if row.get(f"m{i}_forward_source") == "interpolated" and row.get(f"m{i}_forward") is not None
        ]
        if extra:
            curve = pl.concat([settles, pl.DataFrame(extra, schema=settles.schema)]).sort("contract_expiry")
    return {
        "signal": plan[0],
        "layers": plan[1],
        "orders": _rows(con, "SELECT * FROM marts.hedge_order WHERE session_date = $d ORDER BY ticket", d),
        "positions": _rows(
            con, "SELECT * FROM marts.hedge_position WHERE session_date = $d ORDER BY contract_expiry, strike", d
        ),
        "stress": _rows(con, "SELECT * FROM marts.stress_scenario WHERE session_date = $d", d),
        "quote_check": _rows(
            con, "SELECT * FROM marts.quote_check WHERE session_date = $d ORDER BY layer, contract_expiry, strike", d
        ),
        "risk": next(iter(_rows(con, "SELECT * FROM marts.book_risk WHERE session_date = $d", d)), None),
        "grid": con.sql("SELECT * FROM marts.payoff_grid WHERE session_date = $d", params={"d": d}).pl(),
        "history": con.sql(
            "SELECT session_date, ratio_current, ratio_target, regime FROM marts.hedge_signal_daily "
            "WHERE session_date BETWEEN $lo AND $d ORDER BY session_date",
            params={"lo": lo, "d": d},
        ).pl(),
        "spx": con.sql(
            "SELECT session_date, spx_close FROM marts.indicators_daily "
            "WHERE session_date BETWEEN $lo AND $d AND spx_close IS NOT NULL ORDER BY session_date",
            params={"lo": lo, "d": d},
        ).pl(),
        "curve": curve,
        "indicators": ind[0] if ind else None,
        "freshness": {name: con.execute(sql, {"d": d}).fetchall()[0][0] for name, sql in FRESHNESS.items()},
    }


def published_summaries(con: duckdb.DuckDBPyConnection) -> dict[date, str]:
    """Every published session's actions summary (for the index page)."""
    return dict(con.execute("SELECT session_date, actions_summary FROM marts.hedge_signal_daily").fetchall())


def page_path(export_dir: Path, d: date) -> Path:
    return export_dir / PAGES_DIR / f"{d.isoformat()}.html"


def pages_present(export_dir: Path) -> list[tuple[date, str]]:
    """(session, file name) of every page written so far."""
    folder = export_dir / PAGES_DIR
    out = []
    for p in folder.glob("*.html") if folder.is_dir() else []:
        try:
            out.append((date.fromisoformat(p.stem), p.name))
        except ValueError:  # index.html and anything else
            continue
    return sorted(out)


def write_if_changed(path: Path, text: str) -> bool:
    """Write ``text`` to ``path`` (atomically, see ``write_text_atomic``) unless the file already
    holds exactly that; returns whether it was written. For the file every page shares: written
    once per folder, rewritten only if missing or different (e.g. cut short by hand)."""
    try:
        if path.read_bytes() == text.encode("utf-8"):
            return False
    except OSError:  # missing or unreadable: write it
        pass
    write_text_atomic(path, text)
    return True


def write_text_atomic(path: Path, text: str, *, hint: str = "--export-dir / ALVH_EXPORT_DIR") -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and one rename
    (readers never see half); the temporary file is removed on any failure.

    Raises
    ------
    ExportError
        The folder cannot be made or written (read-only, no permission), the disk is full or a
        file-size limit was hit: one line naming ``path`` and ``hint`` (the option that moves it).
    """
    from alvh.core.errors import ExportError
    from alvh.warehouse.export import disk_error

    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".page-", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        full = disk_error(exc, path)
        if full is not None:
            raise ExportError(
                f"{full.message.split(' while writing ')[0]} while writing {path}; the partial file was removed — "
                f"free space (or raise the limit) and run again, or choose another place with {hint}"
            ) from None
        raise ExportError(f"cannot write {path} ({exc.strerror or exc}); choose a writable place with {hint}") from None
    except BaseException:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise
