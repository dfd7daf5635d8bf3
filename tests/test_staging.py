"""Staging transforms on small literal frames."""

from __future__ import annotations

from datetime import date

import polars as pl

from alvh.transforms.staging import build_stg_breadth, build_stg_index_daily, build_stg_vx_futures


def test_index_rows_on_nyse_holidays_are_excluded_and_counted() -> None:
    raw = pl.DataFrame(
        {
            "symbol": ["VIX", "VIX", "VIX"],
            "date": [date(2024, 6, 18), date(2024, 6, 19), date(2024, 6, 20)],  # 06-19 Juneteenth
            "open": [12.0, 12.5, 13.0],
            "high": [13.0, 13.5, 14.0],
            "low": [11.0, 12.0, 12.5],
            "close": [12.3, 12.9, 13.3],
        }
    )
    staged = build_stg_index_daily(raw)
    assert staged.frame["session_date"].to_list() == [date(2024, 6, 18), date(2024, 6, 20)]
    assert staged.excluded == 1 and "VIX 1" in staged.note


def vx_row(provider: str, settle: float, trade: date = date(2013, 5, 28), **kw: object) -> dict[str, object]:
    row: dict[str, object] = {
        "provider": provider,
        "contract_expiry": date(2014, 2, 19),
        "trade_date": trade,
        "futures_label": "G (Feb 2014)",
        "open": 0.0,
        "high": 0.0,
        "low": 0.0,
        "close": 0.0,
        "settle": settle,
        "change": 0.0,
        "volume": 0,
        "efp": 0,
        "open_interest": 0,
        "price_scale": 1.0,
        "is_monthly": True,
    }
    row.update(kw)
    return row


def test_vx_precedence_conflicts_and_zero_settles() -> None:
    raw = pl.DataFrame(
        [
            vx_row("cfe_current", 20.10),
            vx_row("cfe_legacy", 10.25),  # the real conflict of 2013-05-28
            vx_row("cfe_current", 0.0, date(2013, 5, 29)),  # no settlement in the current file
            vx_row("cfe_legacy", 20.05, date(2013, 5, 29)),
            vx_row("cfe_legacy", 19.90, date(2013, 5, 30)),
            vx_row("reconstructed", 19.90, date(2013, 5, 30)),  # agrees: not a conflict
        ]
    )
    staged = build_stg_vx_futures(raw)
    got = staged.frame.select("trade_date", "provider", "settle").rows()
    assert got == [
        (date(2013, 5, 28), "cfe_current", 20.10),
        (date(2013, 5, 29), "cfe_legacy", 20.05),
        (date(2013, 5, 30), "cfe_legacy", 19.90),
    ]
    assert staged.conflicts is not None
    assert staged.conflicts.rows() == [
        (date(2014, 2, 19), date(2013, 5, 28), "cfe_current", 20.10, "cfe_legacy", 10.25)
    ]


def test_vx_no_trade_prices_become_null_and_tdte() -> None:
    raw = pl.DataFrame(
        [
            vx_row("cfe_current", 18.0, date(2014, 2, 14), high=18.85, low=22.0),  # quotes, no trade
            vx_row(
                "cfe_current",
                18.2,
                date(2014, 2, 18),
                open=18.0,
                high=18.5,
                low=17.9,
                close=18.1,
                volume=10,
            ),
        ]
    )
    f = build_stg_vx_futures(raw).frame
    assert f["high"].to_list() == [None, 18.5] and f["open"].to_list() == [None, 18.0]
    # 2014-02-17 is Presidents' Day: 02-14 → 02-18, 02-19 = 2 sessions; calendar days 5
    assert f["tdte"].to_list() == [2, 1] and f["dte"].to_list() == [5, 1]


def breadth_rows(provider: str, days: list[date], adv: list[int], dec: list[int]) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for d, a, b in zip(days, adv, dec, strict=True):
        rows.append({"provider": provider, "series": "advn", "session_date": d, "value": a})
        rows.append({"provider": provider, "series": "decln", "session_date": d, "value": b})
    return rows


def test_breadth_glitch_quarantined_and_filled_by_next_provider() -> None:
    days = pl.date_range(date(2016, 1, 4), date(2016, 3, 31), eager=True).to_list()
    from alvh.core.calendar import is_session

    days = [d for d in days if is_session(d)]
    glitch = days.index(date(2016, 3, 11))
    adv = [1500] * len(days)
    dec = [1500] * len(days)
    adv[glitch], dec[glitch] = 38, 7
    raw = pl.DataFrame(
        breadth_rows("tradingview", days, adv, dec) + breadth_rows("other", [date(2016, 3, 11)], [1200], [1800])
    )
    staged = build_stg_breadth(raw, ["tradingview", "other"], glitch_fraction=0.5, glitch_window=20)
    day = staged.frame.filter(pl.col("session_date") == date(2016, 3, 11)).to_dicts()
    assert day == [
        {
            "session_date": date(2016, 3, 11),
            "advances": 1200,
            "declines": 1800,
            "unchanged": None,
            "adv_volume": None,
            "decl_volume": None,
            "provider": "other",
        }
    ]
    assert staged.quarantine is not None and staged.quarantine["session_date"].to_list() == [date(2016, 3, 11)]
    assert "below 0.5 x the trailing 20-session median 3000" in staged.quarantine["reason"][0]
    assert staged.frame.height == len(days)


def test_unicorn_volume_scaled_to_shares_before_june_2002() -> None:
    rows = breadth_rows("unicorn", [date(2002, 6, 19), date(2002, 6, 21)], [1500, 1500], [1500, 1500])
    rows += [
        {
            "provider": "unicorn",
            "series": "advv",
            "session_date": date(2002, 6, 19),
            "value": 313298,
        },
        {
            "provider": "unicorn",
            "series": "advv",
            "session_date": date(2002, 6, 21),
            "value": 552697470,
        },
    ]
    f = build_stg_breadth(pl.DataFrame(rows), ["unicorn"]).frame
    assert f["adv_volume"].to_list() == [313298000, 552697470]
