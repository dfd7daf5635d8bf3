"""The engine's view of the VX market: forwards (settle or interpolated, §3), final settlements
of expired contracts (the expiry-day settle; else the VIX open of that day) and the VIX calls'
end-of-day quotes the user imported (§4)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from alvh.transforms.forwards import Forward, ForwardCurves

FINAL_SETTLEMENT = "final settlement"  # the source of a true final settlement (else a proxy)


class CurveQuotes:
    """:class:`~alvh.transforms.signal.inputs.Quotes` over every VX settle and the VIX opens."""

    def __init__(
        self,
        curves: ForwardCurves,
        vix_open: Mapping[date, float],
        option_calls: Mapping[tuple[date, date], Sequence[tuple[float, float, float]]] | None = None,
    ) -> None:
        self.curves = curves
        self.vix_open = vix_open
        self.calls = option_calls or {}

    def option_calls(self, session: date, expiry: date) -> Sequence[tuple[float, float, float]]:
        """The imported two-sided calls ``(strike, bid, ask)`` of ``expiry`` at ``session``'s close."""
        return self.calls.get((session, expiry), ())

    def forward(self, session: date, expiry: date) -> Forward | None:
        return self.curves.forward(session, expiry)

    def final_settlement(self, expiry: date) -> tuple[float, str] | None:
        v = self.curves.settle(expiry, expiry)
        if v is not None:
            return v, FINAL_SETTLEMENT
        o = self.vix_open.get(expiry)
        if o is not None:
            return o, "VIX open (no final settlement in the data)"
        return None
