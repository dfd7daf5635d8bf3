"""Parsers on the real files (each documented quirk) and on small crafted files derived from the
real formats (one test per quarantine rule and per SourceError case)."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from alvh.core.errors import SourceError
from alvh.sources.breadth import parse_unicorn, parse_vendor_breadth
from alvh.sources.cboe import parse_cboe_index
from alvh.sources.cfe import expiry_from_name, parse_cfe
from alvh.sources.fred import parse_fred

CFE_HEADER = "Trade Date,Futures,Open,High,Low,Close,Settle,Change,Total Volume,EFP,Open Interest"


def data_rows(path: Path, skip: int = 1) -> int:
    """Independent row count: non-empty lines after the header/preamble."""
    lines = path.read_text(encoding="latin-1").splitlines()
    return sum(1 for line in lines[skip:] if line.strip())


def vendor(content: bytes, file: str = "tv.csv") -> pl.DataFrame:
    return parse_vendor_breadth(
        content,
        file,
        provider="tradingview",
        date_column="date",
        adv_column="adv_close",
        decl_column="decl_close",
    ).rows


# --- real files -------------------------------------------------------------------------------


def test_vix_history_real(data_dir: Path) -> None:
    f = data_dir / "cboe/indices/VIX_History.csv"
    p = parse_cboe_index(f.read_bytes(), str(f))
    assert p.rows.height == data_rows(f) and p.quarantine.is_empty()
    row = p.rows.filter(pl.col("date") == date(2018, 2, 5)).to_dicts()[0]
    assert (row["symbol"], row["close"]) == ("VIX", 37.32)
    # MM/DD/YYYY read month-first: 01/02/1990 is 2 January, not 1 February
    assert p.rows["date"].min() == date(1990, 1, 2)


def test_single_value_files_real(data_dir: Path) -> None:
    for name, sym in [("VVIX_History.csv", "VVIX"), ("SKEW_History.csv", "SKEW")]:
        f = data_dir / "cboe/indices" / name
        p = parse_cboe_index(f.read_bytes(), str(f))
        assert p.rows.height == data_rows(f)
        assert set(p.rows["symbol"]) == {sym}
        assert p.rows["open"].null_count() == p.rows.height
        assert p.rows["close"].null_count() == 0


def test_spx_file_keeps_float32_noise_and_all_rows(data_dir: Path) -> None:
    f = data_dir / "spx/SPX_History_yfinance_GSPC.csv"
    p = parse_cboe_index(f.read_bytes(), str(f))
    assert p.rows.height == data_rows(f)
    assert p.rows.filter(pl.col("date") == date(2020, 3, 16))["close"].round(2).item() == 2386.13


def test_vix6m_real_high_below_low_is_quarantined_with_location(data_dir: Path) -> None:
    f = data_dir / "cboe/indices/VIX6M_History.csv"
    p = parse_cboe_index(f.read_bytes(), str(f))
    q = p.quarantine.to_dicts()
    assert len(q) == 1 and q[0]["reason"] == "High < Low"
    assert q[0]["raw_text"].startswith("07/05/2019,")
    assert f.read_text().splitlines()[q[0]["line_no"] - 1] == q[0]["raw_text"]


def test_cfe_current_real_crlf_and_four_decimals(data_dir: Path) -> None:
    f = data_dir / "cboe/vx_futures/cfe_current/VX_2024-08-21.csv"
    assert b"\r\n" in f.read_bytes()
    p = parse_cfe(f.read_bytes(), str(f), expiry_from_name(f.name), "cfe_current")
    assert p.rows.height == data_rows(f)
    assert p.rows.filter(pl.col("trade_date") == date(2024, 8, 5))["settle"].item() == 32.0986
    assert p.rows["is_monthly"].all()


def test_cfe_no_trade_rows_with_high_below_low_are_kept(data_dir: Path) -> None:
    f = data_dir / "cboe/vx_futures/cfe_current/VX_2024-08-21.csv"
    p = parse_cfe(f.read_bytes(), str(f), date(2024, 8, 21), "cfe_current")
    row = p.rows.filter(pl.col("trade_date") == date(2023, 11, 20)).to_dicts()[0]
    assert (row["open"], row["high"], row["low"], row["volume"]) == (0.0, 18.85, 22.0, 0)
    assert p.quarantine.is_empty()


def test_weekly_contract_with_monthly_label_is_flagged(data_dir: Path) -> None:
    f = data_dir / "cboe/vx_futures/cfe_current/VX_2018-02-21.csv"
    p = parse_cfe(f.read_bytes(), str(f), expiry_from_name(f.name), "cfe_current")
    assert set(p.rows["futures_label"]) == {"G (Feb 2018)"}
    assert not p.rows["is_monthly"].any()


def test_legacy_disclaimer_and_times_ten_prices(data_dir: Path) -> None:
    f = data_dir / "cboe/vx_futures/cfe_legacy_2008_2015/CFE_G08_VX.csv"
    lines = f.read_text().splitlines()
    raw = {r[0]: r for r in csv.reader(lines) if r and r[0] == "02/20/2007"}
    p = parse_cfe(f.read_bytes(), str(f), expiry_from_name(f.name), "cfe_legacy")
    row = p.rows.filter(pl.col("trade_date") == date(2007, 2, 20)).to_dicts()[0]
    assert row["settle"] == pytest.approx(float(raw["02/20/2007"][6]) / 10)
    assert row["price_scale"] == 10.0
    later = p.rows.filter(pl.col("trade_date") >= date(2007, 3, 26))
    assert (later["price_scale"] == 1.0).all()


def test_legacy_file_with_disclaimer_line(data_dir: Path) -> None:
    f = data_dir / "cboe/vx_futures/cfe_legacy_2008_2015/CFE_Z15_VX.csv"
    assert f.read_text().startswith("CFE data is compiled")
    p = parse_cfe(f.read_bytes(), str(f), expiry_from_name(f.name), "cfe_legacy")
    assert p.rows.height == data_rows(f, skip=2)
    assert expiry_from_name(f.name) == date(2015, 12, 16)


def test_reconstructed_file_settle_only(data_dir: Path) -> None:
    f = data_dir / "cboe/vx_futures/reconstructed/VX_2018-02-14.csv"
    p = parse_cfe(f.read_bytes(), str(f), expiry_from_name(f.name), "reconstructed")
    row = p.rows.filter(pl.col("trade_date") == date(2018, 2, 5)).to_dicts()[0]
    assert row["settle"] == 33.225 and row["provider"] == "reconstructed"


def test_unicorn_real_no_header(data_dir: Path) -> None:
    f = data_dir / "breadth/unicorn_nyse/NYSE_advn.csv"
    p = parse_unicorn(f.read_bytes(), str(f))
    assert p.rows.height == data_rows(f, skip=0)
    assert p.rows.filter(pl.col("session_date") == date(2015, 8, 24))["value"].item() == 161


def test_vendor_breadth_real(data_dir: Path) -> None:
    f = data_dir / "breadth/tradingview_usi_pynecore/tv_nyse_adv_decl_daily.csv"
    rows = vendor(f.read_bytes(), str(f))
    day = rows.filter(pl.col("session_date") == date(2018, 2, 5)).sort("series")
    assert day["value"].to_list() == [318, 2747]  # advn, decln


def test_fred_missing_values_skipped(data_dir: Path) -> None:
    f = data_dir / "rates/DTB3.csv"
    p = parse_fred(f.read_bytes(), str(f), "DTB3")
    empty = sum(1 for line in f.read_text().splitlines()[1:] if line.endswith(","))
    assert p.rows.height == data_rows(f) - empty and p.quarantine.is_empty()
    g = data_dir / "rates/DGS3MO.csv"
    old = parse_fred(g.read_bytes(), str(g), "DGS3MO")
    dots = sum(1 for line in g.read_text().splitlines()[1:] if line.endswith(",."))
    assert old.rows.height == data_rows(g) - dots


# --- quarantine rules (crafted) ------------------------------------------------------------------


def cfe(*rows: str) -> bytes:
    return ("\r\n".join([CFE_HEADER, *rows]) + "\r\n").encode()


OK_ROW = "2020-03-16,H (Mar 2020),54.0000,76.2500,54.0000,72.0500,72.625,0,73205,0,75724"


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (
            "2020-03-13,H (Mar 2020),54.0,76.25,54.0,72.05,abc,0,10,0,75724",
            "unparseable number in column 'settle'",
        ),
        (
            "2020-03-13,H (Mar 2020),54.0,76.25,-54.0,72.05,70.0,0,10,0,75724",
            "negative price or count",
        ),
        (
            "2020-03-13,H (Mar 2020),54.0,0,54.0,72.05,70.0,0,10,0,75724",
            "zero price (High or Low) on a row that traded",
        ),
        (
            "2020-03-13,H (Mar 2020),54.0,50.0,54.0,52.0,52.0,0,10,0,75724",
            "High < Low on a row that traded",
        ),
        ("13/03/2020,H (Mar 2020),54.0,76.25,54.0,72.05,70.0,0,10,0,75724", "unparseable date"),
        ("2020-03-13,H (Mar 2020),54.0,76.25,54.0,72.05", "expected 11 fields, found 6"),
        (
            "2020-03-19,H (Mar 2020),54.0,76.25,54.0,72.05,70.0,0,10,0,75724",
            "trade date after the contract's expiry",
        ),
    ],
)
def test_cfe_row_rules_quarantine(row: str, reason: str) -> None:
    p = parse_cfe(cfe(OK_ROW, row), "VX_2020-03-18.csv", date(2020, 3, 18), "cfe_current")
    assert p.rows["trade_date"].to_list() == [date(2020, 3, 16)]
    q = p.quarantine.to_dicts()
    assert len(q) == 1
    assert q[0]["line_no"] == 3 and q[0]["raw_text"] == row and q[0]["file"] == "VX_2020-03-18.csv"
    assert reason in q[0]["reason"]


def test_cfe_same_date_twice_with_different_values_quarantines_both() -> None:
    other = OK_ROW.replace("72.625", "71.000")
    p = parse_cfe(cfe(OK_ROW, other), "VX_2020-03-18.csv", date(2020, 3, 18), "cfe_current")
    assert p.rows.is_empty()
    assert sorted(p.quarantine["line_no"].to_list()) == [2, 3]
    assert all("twice" in r for r in p.quarantine["reason"])


def test_cfe_identical_duplicate_rows_collapse() -> None:
    p = parse_cfe(cfe(OK_ROW, OK_ROW), "VX_2020-03-18.csv", date(2020, 3, 18), "cfe_current")
    assert p.rows.height == 1 and p.quarantine.is_empty()


def test_cfe_zero_settle_is_missing_not_bad() -> None:
    row = "2013-01-02,F (Jan 2013),16.8000,16.9000,16.4000,16.5000,0.0000,0,1000,0,5000"
    p = parse_cfe(cfe(row), "VX_2013-01-16.csv", date(2013, 1, 16), "cfe_current")
    assert p.rows.height == 1 and p.quarantine.is_empty()


INDEX_HEADER = "DATE,OPEN,HIGH,LOW,CLOSE"
INDEX_OK = "02/05/2018,17.420000,38.800000,16.800000,37.320000"


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("02/06/2018,37.3,50.3,n/a,29.98", "unparseable number in column 'low'"),
        ("02/06/2018,37.3,50.3,22.4,-29.98", "non-positive index value"),
        ("02/06/2018,37.3,50.3,22.4,0", "non-positive index value"),
        ("02/06/2018,37.3,20.0,22.4,21.0", "High < Low"),
        ("2018-02-06,37.3,50.3,22.4,29.98", "unparseable date"),
    ],
)
def test_index_row_rules_quarantine(row: str, reason: str) -> None:
    content = "\n".join([INDEX_HEADER, INDEX_OK, row]).encode() + b"\n"
    p = parse_cboe_index(content, "VIX_History.csv")
    assert p.rows.height == 1
    assert p.quarantine.height == 1 and reason in p.quarantine["reason"][0]
    assert p.quarantine["line_no"][0] == 3


def test_index_same_date_twice_different_values() -> None:
    content = "\n".join([INDEX_HEADER, INDEX_OK, INDEX_OK.replace("37.320000", "37.000000")]).encode() + b"\n"
    p = parse_cboe_index(content, "VIX_History.csv")
    assert p.rows.is_empty() and p.quarantine.height == 2


def test_unicorn_row_rules() -> None:
    content = b"20150824, 161\n20150825, x\n20150826, -4\n20150827, 2.5\n"
    p = parse_unicorn(content, "NYSE_advn.csv")
    assert p.rows["value"].to_list() == [161]
    reasons = p.quarantine.sort("line_no")["reason"].to_list()
    assert "unparseable number" in reasons[0] and "negative" in reasons[1] and "non-integer" in reasons[2]


def test_vendor_breadth_bad_count_quarantined() -> None:
    content = b"date,adv_close,decl_close\n2018-02-05,318,2747\n2018-02-06,abc,2000\n"
    p = parse_vendor_breadth(
        content,
        "tv.csv",
        provider="tv",
        date_column="date",
        adv_column="adv_close",
        decl_column="decl_close",
    )
    assert p.rows.height == 2 and p.quarantine.height == 1


# --- SourceError: the file is not what it claims ------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "empty"),
        (b"   \n\n", "empty"),
        (b"<!DOCTYPE html><html><body>Access Denied</body></html>", "HTML"),
        (b"Date,Price\n2020-03-16,1\n", "wrong header"),
        (CFE_HEADER.encode() + b"\r\n", "no data rows"),
        (cfe(OK_ROW)[:-2] + b"\r\n2020-03-17,H (Mar 2020),60.0,61", "truncated"),
    ],
)
def test_cfe_source_errors(content: bytes, expected: str) -> None:
    with pytest.raises(SourceError) as err:
        parse_cfe(content, "VX_2020-03-18.csv", date(2020, 3, 18), "cfe_current")
    assert expected in str(err.value)
    assert "VX_2020-03-18.csv" in str(err.value)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"<html><head><title>404</title></head></html>", "HTML"),
        (b"Date,Open,High\n01/02/2024,1,2\n", "wrong header"),
        (b"DATE,OPEN,HIGH,LOW,CLOSE\n01/02/2024,13.2,14.1,13.0,13.", None),
        (b"DATE,OPEN,HIGH,LOW,CLOSE\n01/02/2024,13.2,14.1", "truncated"),
    ],
)
def test_index_source_errors(content: bytes, expected: str | None) -> None:
    if expected is None:  # a last line without newline but with every field is complete
        assert parse_cboe_index(content, "VIX_History.csv").rows.height == 1
        return
    with pytest.raises(SourceError) as err:
        parse_cboe_index(content, "VIX_History.csv")
    assert expected in str(err.value) and "VIX_History.csv" in str(err.value)


def test_unicorn_with_a_header_is_rejected() -> None:
    with pytest.raises(SourceError, match="no header"):
        parse_unicorn(b"date,value\n20150824, 161\n", "NYSE_advn.csv")


def test_vendor_breadth_missing_column_named() -> None:
    with pytest.raises(SourceError, match="decl_close"):
        vendor(b"date,adv_close,declines\n2018-02-05,318,2747\n")


def test_fred_wrong_series_header() -> None:
    with pytest.raises(SourceError, match="observation_date,DTB3"):
        parse_fred(b"observation_date,DGS10\n2020-01-02,1.5\n", "DTB3.csv", "DTB3")


def test_file_names_that_do_not_name_a_contract() -> None:
    with pytest.raises(SourceError, match="does not name a VX contract"):
        expiry_from_name("VX_March.csv")


def test_legacy_dates_without_zero_padding(data_dir: Path) -> None:
    f = data_dir / "cboe/vx_futures/cfe_legacy_2008_2015/CFE_Q09_VX.csv"
    assert "\n8/17/2009," in f.read_text()
    p = parse_cfe(f.read_bytes(), str(f), expiry_from_name(f.name), "cfe_legacy")
    assert p.quarantine.is_empty()
    assert p.rows.filter(pl.col("trade_date") == date(2009, 8, 17))["settle"].item() == 27.6
    assert p.rows["trade_date"].max() == date(2009, 8, 19)


# --- strict formats (issue 12) --------------------------------------------------------------------


def quoted_like_excel(text: str) -> bytes:
    """The vendor file as a spreadsheet would save it: BOM, every field quoted, counts of 1,000
    or more with a thousands separator (``"2,747"``), CRLF."""
    out = []
    for i, line in enumerate(text.splitlines()):
        fields = line.split(",")
        if i:
            fields = [fields[0]] + [f"{int(float(v)):,}" for v in fields[1:]]
        out.append(",".join(f'"{f}"' for f in fields))
    return ("\ufeff" + "\r\n".join(out) + "\r\n").encode("utf-8")


def test_quoted_vendor_breadth_loads_exactly_like_the_plain_file(data_dir: Path) -> None:
    f = data_dir / "breadth/tradingview_usi_pynecore/tv_nyse_adv_decl_daily.csv"
    quoted = quoted_like_excel(f.read_text())
    line = '"2018-02-05","2","1,218","2","318","14","2,768","14","2,747"'
    assert quoted.startswith(b'\xef\xbb\xbf"date","adv_open"') and f"\r\n{line}\r\n".encode() in quoted
    plain = vendor(f.read_bytes(), "tv.csv")
    got = vendor(quoted, "tv.csv")
    assert got.height == plain.height == 2 * 5656
    assert got.drop("raw_text").equals(plain.drop("raw_text"))
    day = got.filter(pl.col("session_date") == date(2018, 2, 5)).sort("series")
    assert day["value"].to_list() == [318, 2747]
    assert day["raw_text"].to_list() == [line, line]  # the line as read, quotes and all


@pytest.mark.parametrize(
    ("name", "header", "ok"),
    [
        ("VVIX_History.csv", "DATE,VVIX", True),  # CBOE's one-value file
        ("VVIX_History.csv", "DATE,OPEN,HIGH,LOW,CLOSE", True),  # and the OHLC variant
        ("SKEW_History.csv", "DATE,SKEW", True),
        ("VXN_History.csv", "DATE,VXN", True),  # a user-configured symbol: its own name
        ("VIX_History.csv", "DATE,VIX", False),  # the VIX family publishes OHLC only
        ("VIX_History.csv", "Date,Price", False),
        ("VVIX_History.csv", "DATE,SKEW", False),
    ],
)
def test_index_header_variants(name: str, header: str, ok: bool) -> None:
    n = header.count(",")
    content = f"{header}\n01/02/2024,{','.join(['13.2'] * n)}\n".encode()
    if ok:
        assert parse_cboe_index(content, name).rows.height == 1
        return
    with pytest.raises(SourceError, match=f"wrong header for {name.split('_')[0]}"):
        parse_cboe_index(content, name)


def test_day_first_legacy_vx_file_is_refused_whole(data_dir: Path) -> None:
    f = data_dir / "cboe/vx_futures/cfe_legacy_2008_2015/CFE_Q09_VX.csv"
    lines = f.read_text().splitlines()
    swapped = []
    for ln in lines:
        parts = ln.split(",")
        if parts[0].count("/") == 2:
            m, d, y = parts[0].split("/")
            parts[0] = f"{d}/{m}/{y}"
        swapped.append(",".join(parts))
    with pytest.raises(SourceError, match="dates are not month-first") as err:
        parse_cfe(("\n".join(swapped) + "\n").encode(), f.name, expiry_from_name(f.name), "cfe_legacy")
    assert "CFE_Q09_VX.csv" in str(err.value)


def test_many_unparseable_dates_refuse_a_file_one_is_quarantined() -> None:
    rows = [f"2018-02-{d:02d},300,2700" for d in range(1, 28)]
    one_bad = "date,adv_close,decl_close\n" + "\n".join([*rows, "2018-02-30,1,1"]) + "\n"
    p = vendor(one_bad.encode())
    assert p.height == 2 * 27
    two_bad = one_bad + "2018-02-31,1,1\n"
    with pytest.raises(SourceError, match=r"2 of 29 dates .* do not parse as %Y-%m-%d"):
        vendor(two_bad.encode())


@pytest.mark.parametrize("value", ["NaN", "inf", "-Infinity"])
def test_non_finite_numbers_are_quarantined(value: str) -> None:
    p = parse_fred(f"observation_date,DTB3\n2020-01-02,1.5\n2020-01-03,{value}\n".encode(), "DTB3.csv", "DTB3")
    assert p.rows["value"].to_list() == [1.5]
    assert p.quarantine.to_dicts() == [
        {
            "file": "DTB3.csv",
            "line_no": 3,
            "raw_text": f"2020-01-03,{value}",
            "reason": f"not a finite number in column 'value': {value}",
        }
    ]


def test_legacy_vix_header_is_a_known_variant(data_dir: Path) -> None:
    """CBOE's old vixcurrent.csv (``Date,VIX Open,…``, unpadded dates, then ``, `` separators
    from 2013-11-01) reads as a VIX history."""
    f = data_dir / "cboe/legacy/vixcurrent.csv"
    p = parse_cboe_index(f.read_bytes(), "VIX_History.csv")
    assert p.rows.height == data_rows(f) == 3846 and p.quarantine.is_empty()
    row = p.rows.filter(pl.col("date") == date(2013, 11, 1)).select("open", "high", "low", "close").row(0)
    assert row == (13.46, 13.92, 13.22, 13.28)
