"""Whole-book risk and the payoff grid on hand-worked books (ALVH_METHOD.md §3, §4, §7).

Expected numbers are worked by hand from the textbook formulas (values quoted below), or from a
ten-line reference Black-Scholes written here, never from the code under test."""

from __future__ import annotations

import math
from datetime import date, timedelta

import pytest

from alvh.transforms.book_risk import book_risk_row, book_risk_rows, bs_gamma
from alvh.transforms.ic_book import IcBook, IcLeg, IcParams
from alvh.transforms.payoff_grid import payoff_grid, payoff_grids
from alvh.transforms.vix_surface import LEGACY, VixSurface
from alvh.transforms.whole_book import HedgeLine, WholeBook
from tests.support.surface_by_hand import surface_sigma

D0 = date(2025, 1, 2)
# σ = a × VIX/100 at the money: a = 0.8, VIX 25 → σ = 0.20 (m = ln(K/S) = 0)
P = IcParams(dividend_yield=0.0, smile_a=0.8, smile_b_put=0.8, smile_b_call=0.15, smile_floor=0.05)


def n_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def ref_black(f: float, k: float, t: float, sigma: float, call: bool) -> float:
    """Undiscounted Black formula (r = 0 in every book here)."""
    sd = sigma * math.sqrt(t)
    d1 = math.log(f / k) / sd + sd / 2
    d2 = d1 - sd
    return f * n_cdf(d1) - k * n_cdf(d2) if call else k * n_cdf(-d2) - f * n_cdf(-d1)


def book(
    legs: tuple[IcLeg, ...],
    hedge: tuple[HedgeLine, ...] = (),
    spx: float = 100.0,
    vix: float = 25.0,
    surface: VixSurface = LEGACY,
) -> WholeBook:
    """A book at VVIX 100; VIX calls on the legacy σ = (30/dte)^0.30 unless ``surface`` says."""
    expiry = max((leg.expiry for leg in legs), default=D0 + timedelta(days=30))
    ic = IcBook(opened=D0, expiry=expiry, legs=legs)
    return WholeBook(D0, spx, vix, 100.0, 0.0, ic, hedge, P, surface)


def test_one_atm_call_has_the_textbook_greeks() -> None:
    """S = K = 100, T = 1 year, σ = 0.20, r = q = 0: d1 = 0.1, N(d1) = 0.5398278, φ(d1) = 0.3969525.
    Δ = 0.5398278; Γ = φ/(Sσ√T) = 0.01984763; vega = Sφ√T = 39.69525 per 1.00 of σ;
    θ = −Sφσ/(2√T) = −3.969525 a year = −0.01087541 a day; ×100 per contract."""
    leg = IcLeg(D0 + timedelta(days=365), 100.0, True, 1, 0.0)
    row = book_risk_row(book((leg,)))
    assert row["ic_delta_usd"] == pytest.approx(53.98278, abs=1e-4)
    assert row["ic_gamma_usd"] == pytest.approx(1.984763, abs=1e-5)
    assert row["ic_vega_usd"] == pytest.approx(39.69525, abs=1e-4)  # $ per vol point
    assert row["ic_theta_usd"] == pytest.approx(-1.087541, abs=1e-5)
    assert bs_gamma(100.0, 100.0, 1.0, 0.0, 0.2, 0.0) == pytest.approx(0.01984763, abs=1e-8)
    # a short leg is the mirror image
    short = book_risk_row(book((IcLeg(leg.expiry, 100.0, True, -1, 0.0),)))
    assert short["ic_delta_usd"] == pytest.approx(-53.98278, abs=1e-4)
    assert short["ic_vega_usd"] == pytest.approx(-39.69525, abs=1e-4)


def test_hedge_greeks_and_the_net_row() -> None:
    """10 VIX calls, F = K = 20, 30 days, VVIX 100 → σ = 1.00 (the 30-day point of the term decay),
    β = 0.5, r = 0: d1 = σ√T/2 = 0.1433455, N(d1) = 0.5569914, φ(d1) = 0.3948645.
    vega = 10 × 100 × 0.5569914 × 0.5 = $278.4957/VIX pt; θ = −10 × 100 × Fφσ/(2√T)/365 = −$37.73472/day."""
    call = HedgeLine(D0 + timedelta(days=30), 20.0, 10, 20.0, 0.5)
    leg = IcLeg(D0 + timedelta(days=365), 100.0, True, 1, 0.0)
    row = book_risk_row(book((leg,), (call,)))
    assert row["hedge_vega_usd"] == pytest.approx(278.4957, abs=1e-3)
    assert row["hedge_theta_usd"] == pytest.approx(-37.73472, abs=1e-4)
    assert row["hedge_delta_usd"] == 0.0 and row["hedge_gamma_usd"] == 0.0  # no SPX exposure in the model
    assert row["net_vega_usd"] == pytest.approx(39.69525 + 278.4957, abs=1e-3)
    assert row["net_theta_usd"] == pytest.approx(-1.087541 - 37.73472, abs=1e-3)
    assert row["net_delta_usd"] == pytest.approx(53.98278, abs=1e-4)
    assert row["hedge_contracts"] == 10 and row["ic_contracts"] == 0


def put_spread_with_calls(surface: VixSurface = LEGACY) -> WholeBook:
    """Short 1 put 95, long 1 put 90, 30 days; 10 calls K = 20 on F = 20 expiring in 10 days, β = 0.5."""
    legs = (
        IcLeg(D0 + timedelta(days=30), 95.0, False, -1, 0.0),
        IcLeg(D0 + timedelta(days=30), 90.0, False, 1, 0.0),
    )
    return book(legs, (HedgeLine(D0 + timedelta(days=10), 20.0, 10, 20.0, 0.5),), surface=surface)


def smile_sigma(s: float, k: float, days: float, vix: float) -> float:
    """§4's smile worked out here: max(0.05, 0.8 VIX/100 − b m √(30/dte)), b = 0.8 for puts."""
    m = math.log(k / s)
    b = 0.8 if m < 0 else 0.15
    return max(0.05, 0.8 * vix / 100 - b * m * math.sqrt(30 / days))


def test_extreme_cell_at_the_ic_expiry() -> None:
    """SPX −20 % (100 → 80) and VIX +40 at the IC expiry: the put spread pays its full width
    (−95 + 90 + ... = −(95 − 80) + (90 − 80) = −5 points = −$500); the calls expired on day 10 at
    their moved forward 20 + 0.5 × 40 = 40, worth 20 points × 10 × $100 = $20,000. P&L = value − today's mark."""
    wb = put_spread_with_calls()
    ic0 = 100 * (
        -ref_black(100, 95, 30 / 365, smile_sigma(100, 95, 30, 25), False)
        + ref_black(100, 90, 30 / 365, smile_sigma(100, 90, 30, 25), False)
    )
    sigma_call = 1.0 * (30 / 10) ** 0.30  # VVIX 100, 10 days
    h0 = 10 * 100 * ref_black(20, 20, 10 / 365, sigma_call, True)
    grid = payoff_grid(wb)
    cell = grid.filter((grid["horizon"] == "ic_expiry") & (grid["spx_move_pct"] == -20.0) & (grid["vix_move"] == 40.0))
    assert cell.height == 1 and cell["horizon_days"][0] == 30
    assert cell["ic_pnl_usd"][0] == pytest.approx(-500.0 - ic0, abs=1e-6)
    assert cell["hedge_pnl_usd"][0] == pytest.approx(20_000.0 - h0, abs=1e-6)
    assert cell["net_pnl_usd"][0] == pytest.approx(19_500.0 - ic0 - h0, abs=1e-6)
    # VIX −10 from 25 leaves the calls 20 − 5 = 15 < 20: expired worthless, the premium is lost
    low = grid.filter((grid["horizon"] == "ic_expiry") & (grid["spx_move_pct"] == 10.0) & (grid["vix_move"] == -10.0))
    assert low["hedge_pnl_usd"][0] == pytest.approx(-h0, abs=1e-6)
    assert low["ic_pnl_usd"][0] == pytest.approx(-ic0, abs=1e-6)  # both puts expire out of the money


def test_zero_move_at_one_day() -> None:
    """With the vol unchanged as time passes (an at-the-money leg: the smile's slope term is 0) the
    zero-move cell at 1 day is one day of theta; the method's vols do change with time to expiry
    (the VIX-call σ rises as (30/dte)^0.30, the put skew steepens as √(30/dte)), and the cell
    carries that roll-down: worked here from the reference formula at 29 and 9 days."""
    atm = book((IcLeg(D0 + timedelta(days=365), 100.0, True, 1, 0.0),))
    grid = payoff_grid(atm)
    zero = grid.filter((grid["horizon"] == "1d") & (grid["spx_move_pct"] == 0.0) & (grid["vix_move"] == 0.0))
    assert zero["net_pnl_usd"][0] == pytest.approx(-1.087541, rel=0.01)  # θ of the 1-year call
    wb = put_spread_with_calls()
    grid = payoff_grid(wb)
    zero = grid.filter((grid["horizon"] == "1d") & (grid["spx_move_pct"] == 0.0) & (grid["vix_move"] == 0.0))

    def spread(days: float) -> float:
        return 100 * (
            -ref_black(100, 95, days / 365, smile_sigma(100, 95, days, 25), False)
            + ref_black(100, 90, days / 365, smile_sigma(100, 90, days, 25), False)
        )

    def calls(days: float) -> float:
        return 10 * 100 * ref_black(20, 20, days / 365, (30 / days) ** 0.30, True)

    assert zero["ic_pnl_usd"][0] == pytest.approx(spread(29) - spread(30), abs=1e-6)
    assert zero["hedge_pnl_usd"][0] == pytest.approx(calls(9) - calls(10), abs=1e-6)
    assert grid.height == 3 * 11 * 9
    assert sorted(set(grid["horizon_days"].to_list())) == [1, 7, 30]


def test_one_day_vix_move_moves_each_forward_by_its_beta() -> None:
    """VIX +10 at 1 day: the calls' forward goes 20 → 25 (β 0.5); the value is Black-76 at 9 days."""
    wb = put_spread_with_calls()
    grid = payoff_grid(wb)
    cell = grid.filter((grid["horizon"] == "1d") & (grid["spx_move_pct"] == 0.0) & (grid["vix_move"] == 10.0))
    h0 = 10 * 100 * ref_black(20, 20, 10 / 365, (30 / 10) ** 0.30, True)
    h1 = 10 * 100 * ref_black(25, 20, 9 / 365, (30 / 9) ** 0.30, True)
    assert cell["hedge_pnl_usd"][0] == pytest.approx(h1 - h0, abs=1e-6)


def test_many_books_priced_together_equal_each_priced_alone() -> None:
    """The batch path (every book of a replay in one pricing call) sums each cell into its own book."""
    one = book(
        (IcLeg(D0 + timedelta(days=365), 100.0, True, 1, 0.0),),
        (HedgeLine(D0 + timedelta(days=30), 20.0, 10, 20.0, 0.5),),
    )
    two = put_spread_with_calls()
    flat = book((IcLeg(D0 + timedelta(days=30), 95.0, False, -2, 0.0),))  # no hedge at all
    books = [one, two, flat]
    assert book_risk_rows(books) == [book_risk_row(b) for b in books]
    together = payoff_grids(books, chunk=2)
    alone = [payoff_grid(b) for b in books]
    assert together.height == sum(a.height for a in alone)
    for i, want in enumerate(alone):  # all three books share a session date: compare in order
        assert together.slice(i * want.height, want.height).equals(want)


def test_one_day_vix_move_on_the_smile_reprices_at_the_new_moneyness() -> None:
    """The same cell on the default smile: the 20 strike is 20 % in the money after the move, so
    its σ falls with the skew (sticky moneyness) — hand-worked from the surface's formula."""
    wb = put_spread_with_calls(VixSurface())
    grid = payoff_grid(wb)
    cell = grid.filter((grid["horizon"] == "1d") & (grid["spx_move_pct"] == 0.0) & (grid["vix_move"] == 10.0))
    h0 = 10 * 100 * ref_black(20, 20, 10 / 365, surface_sigma(100.0, 20.0, 20.0, 10.0), True)
    h1 = 10 * 100 * ref_black(25, 20, 9 / 365, surface_sigma(100.0, 25.0, 20.0, 9.0), True)
    assert surface_sigma(100.0, 25.0, 20.0, 9.0) < surface_sigma(100.0, 20.0, 20.0, 10.0)
    assert cell["hedge_pnl_usd"][0] == pytest.approx(h1 - h0, abs=1e-6)
