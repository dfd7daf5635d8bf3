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
    live = mark_ic(ic, day.session, day.spx, day.vix, day.rate, p.ic, program=not _fresh(ic))
    v = _fresh_ic_vega(ic, day, p) if _fresh(ic) else live["program_vega_usd"]
    return max(-v, 0.0), live


def vega_to_hedge(ic: IcBook, day: DayInputs, p: HedgeParams) -> float:
    """|V_ic| exactly as :func:`program_vega` computes it, without the live mark of a model IC
    (sizing needs none; the compiled engine's preparation calls this)."""
    if _fresh(ic):
        return max(-_fresh_ic_vega(ic, day, p), 0.0)
    return program_vega(ic, day, p)[0]


def _fresh(ic: IcBook) -> bool:
    return ic.source == "model" and ic.contracts > 0


def _fresh_ic_vega(ic: IcBook, day: DayInputs, p: HedgeParams) -> float:
    """The vega (dollars per vol point) of a fresh model IC of ``ic``'s size opened today."""
    assert day.spx is not None and day.vix is not None
    ic_p = replace(p.ic, contracts=ic.contracts)
    expiry = day.session + timedelta(days=p.ic.program_dte)
    return open_model_ic_with_vega(day.session, expiry, day.spx, day.vix, day.rate, ic_p)[1]
