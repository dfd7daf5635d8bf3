"""Method parameters from the settings object (transforms never read settings), and the hash
of those parameters recorded with every published row."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import date

from alvh.core.errors import AlvhError
from alvh.core.settings import Settings, params_from
from alvh.transforms.backtest.readable import Costs
from alvh.transforms.ic_book import IcBook, IcParams
from alvh.transforms.indicators_daily import IndicatorParams
from alvh.transforms.signal import HedgeParams
from alvh.transforms.term_structure import TermStructureParams


def indicator_params(settings: Settings) -> IndicatorParams:
    """§3's parameters, built from the settings by construction (no field-by-field copy)."""
    return params_from(IndicatorParams, settings, term=params_from(TermStructureParams, settings))


def hedge_params(settings: Settings) -> HedgeParams:
    """§4–§6's parameters, built from the settings by construction."""
    return params_from(HedgeParams, settings, ic=params_from(IcParams, settings))


def costs_params(settings: Settings) -> Costs:
    """§9's trading costs, built from the settings by construction."""
    return params_from(Costs, settings)


def method_hash(settings: Settings) -> str:
    """sha256 (16 hex) of every method parameter: equal hashes ⇒ the same rules produced the rows."""
    payload = {
        "indicators": dataclasses.asdict(indicator_params(settings)),
        "hedge": dataclasses.asdict(hedge_params(settings)),
        "positions_file": str(settings.positions_file) if settings.positions_file else None,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]


def load_user_ic(settings: Settings, last: date | None = None) -> IcBook | None:
    """The SPX book of ``positions_file`` (None without one). ``last``: the last session it is
    used for; a leg that expired before it is refused (the file no longer describes the book)."""
    if settings.positions_file is None:
        return None
    from alvh.pipeline.positions import positions_file_book

    path = settings.positions_file
    kind = "toml" if path.suffix.lower() == ".toml" else "csv"
    try:
        book = positions_file_book(path.read_text(), kind, settings.positions_max_qty)
    except (OSError, ValueError) as exc:
        raise AlvhError(f"cannot read the positions file: {exc}", file=str(path)) from None
    gone = [(i, leg) for i, leg in enumerate(book.legs, start=1) if last is not None and leg.expiry < last]
    if gone:
        i, leg = gone[0]
        raise AlvhError(
            f"positions file leg {i} expired on {leg.expiry}, before the session {last}: update the file "
            "(or unset ALVH_POSITIONS_FILE) so it holds the book you have",
            file=str(path),
        )
    return book
