"""Typed inputs of one session, read from a ``marts.indicators_daily`` row and the VX quotes.

Units: VIX, VVIX, SPX and futures in index points; ``dte`` calendar days, ``tdte`` XNYS sessions;
rates decimal."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from alvh.transforms.events import NextEvent
from alvh.transforms.signal.option_quotes import Chain, chain_of
from alvh.transforms.signal.params import LAYERS, HedgeParams, rate_of


class ForwardQuote(Protocol):
    """A VX forward: the settle, or one interpolated between bracketing contracts (§3)."""

    @property
    def value(self) -> float: ...
    @property
    def source(self) -> str: ...  # "settle" or "interpolated"
    def basis(self) -> str | None: ...  # the contracts used, for reasons (None for a settle)


class Quotes(Protocol):
    """What the engine reads of the VX market besides the mart row."""

    def forward(self, session: date, expiry: date) -> ForwardQuote | None:
        """The forward of ``expiry`` at the close of ``session`` (None when no pair brackets it)."""
        ...

    def final_settlement(self, expiry: date) -> tuple[float, str] | None:
        """(value, where it came from) of an expired contract's final settlement."""
        ...

    def option_calls(self, session: date, expiry: date) -> Sequence[tuple[float, float, float]]:
        """Imported two-sided end-of-day calls ``(strike, bid, ask)`` of ``expiry`` (empty: none)."""
        ...


@dataclass(frozen=True)
class LayerInputs:
    """Monthly contract M_i of the session."""

    expiry: date
    dte: int
    tdte: int
    forward: float | None
    forward_source: str | None  # "settle" / "interpolated" / None (missing)
    forward_basis: str | None
    beta: float
    chain: Chain = field(default_factory=dict)  # imported quotes of this contract (§4), by strike


@dataclass(frozen=True)
class DayInputs:
    session: date
    vix: float | None
    vvix: float | None
    spx: float | None
    rate: float
    rsi: float  # the A/D RSI, or the neutral centre when breadth is missing
    breadth_missing: bool
    hist: float | None
    cross: int | None
    regime: str | None
    layers: tuple[LayerInputs, LayerInputs, LayerInputs]
    next_event: NextEvent | None = None  # the next scheduled FOMC/CPI/PPI release (information only)

    @property
    def expiries(self) -> list[date]:
        return [x.expiry for x in self.layers]

    def layer_of(self, expiry: date) -> int | None:
        """0-based layer index of a contract expiry, None if it is not M1–M3 today."""
        for j, x in enumerate(self.layers):
            if x.expiry == expiry:
                return j
        return None


def day_inputs(row: dict[str, Any], quotes: Quotes, p: HedgeParams) -> DayInputs:
    """The session's inputs; each layer's forward comes from ``quotes`` (settle or interpolated)."""
    d: date = row["session_date"]
    layers = []
    for i in LAYERS:
        exp = row[f"m{i}_expiry"]
        fwd = quotes.forward(d, exp)
        beta = row.get(f"beta_{i}")
        layers.append(
            LayerInputs(
                expiry=exp,
                dte=int(row[f"m{i}_dte"]),
                tdte=int(row[f"m{i}_tdte"]),
                forward=None if fwd is None else float(fwd.value),
                forward_source=None if fwd is None else fwd.source,
                forward_basis=None if fwd is None else fwd.basis(),
                beta=float(beta) if beta is not None else float("nan"),
                chain=chain_at(quotes, d, exp, fwd, int(row[f"m{i}_dte"]), rate_of(row, p.default_rate)),
            )
        )
    rsi_raw = row.get("ad_rsi")

    def num(col: str) -> float | None:
        v = row.get(col)
        return None if v is None else float(v)

    return DayInputs(
        session=d,
        vix=num("vix_close"),
        vvix=num("vvix_close"),
        spx=num("spx_close"),
        rate=rate_of(row, p.default_rate),
        rsi=p.rsi_center if rsi_raw is None else float(rsi_raw),
        breadth_missing=bool(row.get("breadth_missing")) or rsi_raw is None,
        hist=num("macd_hist"),
        cross=row.get("macd_cross"),
        regime=row.get("regime"),
        layers=(layers[0], layers[1], layers[2]),
        next_event=NextEvent.from_row(row),
    )


def chain_at(quotes: Quotes, session: date, expiry: date, fwd: ForwardQuote | None, dte: int, rate: float) -> Chain:
    """The imported quotes of one contract with their greeks on the session's forward (empty
    without quotes or without a forward)."""
    calls = quotes.option_calls(session, expiry)
    if not calls or fwd is None:
        return {}
    return chain_of(calls, float(fwd.value), dte, rate)


def stale_reason(day: DayInputs) -> str | None:
    """Why a session cannot be signalled, in plain words (None if every input is there). A VX
    contract missing from the data is not a cause while its forward can be interpolated (§3)."""
    causes = [
        f"{name} has no close for this session"
        for name, v in (("VIX", day.vix), ("VVIX", day.vvix), ("SPX", day.spx))
        if v is None
    ]
    missing = [f"M{i} ({x.expiry})" for i, x in zip(LAYERS, day.layers, strict=True) if x.forward is None]
    if missing:
        causes.append("no VX settle and no bracketing contracts to interpolate for " + ", ".join(missing))
    if any(x.beta != x.beta for x in day.layers):  # NaN: no beta in the mart row
        causes.append("no futures beta for this session")
    return "; ".join(causes) or None
