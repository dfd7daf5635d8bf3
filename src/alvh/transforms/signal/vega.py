"""The IC's vega to hedge (ALVH_METHOD.md §4) and the hedge's own vega.

Vega in dollars per vol point; the hedge's h = 100 × Δ × β dollars per VIX point per contract."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from alvh.transforms.ic_book import IcBook, mark_ic, open_model_ic_with_vega
from alvh.transforms.signal.inputs import DayInputs
from alvh.transforms.signal.params import HedgeParams


def program_vega(ic: IcBook, day: DayInputs, p: HedgeParams) -> tuple[float, dict[str, float]]:
    """(|V_ic|, the live mark of ``ic``).

    The model IC program is hedged on the vega of a *fresh* IC of the same size opened today at
    the method's strikes with ``program_dte`` calendar days to expiry — never the breached
    strikes of the cycle in force, whose 30-day vega flips sign when SPX runs through a wing. A
    user's own legs are re-priced at ``program_dte`` days, and ``|V_ic| = max(−V, 0)``: a book
    net long vega has nothing new to hedge."""
    assert day.spx is not None and day.vix is not None
    fresh_ic = ic.source == "model" and ic.contracts > 0
    live = mark_ic(ic, day.session, day.spx, day.vix, day.rate, p.ic, program=not fresh_ic)
    if fresh_ic:
        ic_p = replace(p.ic, contracts=ic.contracts)
        expiry = day.session + timedelta(days=p.ic.program_dte)
        _, v = open_model_ic_with_vega(day.session, expiry, day.spx, day.vix, day.rate, ic_p)
    else:
        v = live["program_vega_usd"]
    return max(-v, 0.0), live
