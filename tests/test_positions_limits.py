"""Issue 21 item 4: `alvh positions import` keeps its promises — a huge quantity meets the limit
(not "not a whole number"), a negative one is named as such, UTF-16 is read and an undecodable file
says how to save it, a size cap refuses a file that cannot be a book, options on other underlyings
are left out on request (counted and listed), a future --as-of is refused like `run`'s."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from alvh.cli import app
from alvh.core.errors import ConfigError, SourceError
from alvh.core.settings import load_settings
from alvh.pipeline.positions import import_positions
from tests.test_exports_folder import published_warehouse

DAY = date(2025, 1, 2)  # the published session; holdings apply from 2025-01-03
JAN = "2025-01-22"  # the January 2025 VIX expiry, listed then
HEAD = "contract_expiry,strike,qty,avg_cost\n"


@pytest.fixture()
def wh(tmp_path: Path) -> Path:
    return published_warehouse(tmp_path / "alvh.duckdb", ((DAY, False, date(2025, 1, 22)),))


def imports(db: Path) -> int:
    with duckdb.connect(str(db), read_only=True) as con:
        return int(con.sql("SELECT count(*) FROM meta.position_import_run").fetchall()[0][0])


def put(tmp_path: Path, body: str | bytes, name: str = "book.csv") -> Path:
    f = tmp_path / name
    f.write_bytes(body if isinstance(body, bytes) else body.encode())
    return f


@pytest.mark.parametrize("qty", ["9e12", "9000000000000", "100001"])
def test_a_huge_quantity_meets_the_limit(wh: Path, tmp_path: Path, qty: str) -> None:
    f = put(tmp_path, HEAD + f"{JAN},19,{qty},1.2\n")
    with pytest.raises(SourceError) as err:
        import_positions(load_settings(warehouse=wh), f, DAY)
    msg = str(err.value)
    assert msg.startswith(f"file {f}, line 2, column 'qty': ") and "more than positions_max_qty = 100,000" in msg
    assert "not a whole number" not in msg and imports(wh) == 0


def test_a_huge_quantity_in_a_broker_file_meets_the_limit_too(wh: Path, tmp_path: Path) -> None:
    f = put(tmp_path, "symbol,qty\nVIX   250122C00019000,9e12\n")
    with pytest.raises(SourceError, match="more than positions_max_qty = 100,000 contracts on one line"):
        import_positions(load_settings(warehouse=wh), f, DAY)


def test_a_negative_quantity_is_named_as_such(wh: Path, tmp_path: Path) -> None:
    f = put(tmp_path, HEAD + f"{JAN},19,-40,1.2\n")
    with pytest.raises(SourceError) as err:
        import_positions(load_settings(warehouse=wh), f, DAY)
    assert str(err.value) == (
        f"file {f}, line 2, column 'qty': a negative quantity: the hedge ladder holds long VIX calls only "
        "(no short calls) (got '-40'); expected ≥ 0"
    )


def test_a_utf16_file_is_read(wh: Path, tmp_path: Path) -> None:
    f = put(tmp_path, (HEAD + f"{JAN},19,40,1.2\n").encode("utf-16"))  # with its byte-order mark
    res = import_positions(load_settings(warehouse=wh), f, DAY)
    assert res.holdings.select("strike", "qty").rows() == [(19.0, 40)] and res.applies_from == date(2025, 1, 3)


def test_an_undecodable_file_says_how_to_save_it(wh: Path, tmp_path: Path) -> None:
    f = put(tmp_path, (HEAD + f"{JAN},19,40,1.2 café\n").encode("latin-1"))
    with pytest.raises(SourceError) as err:
        import_positions(load_settings(warehouse=wh), f, DAY)
    assert "line 2 does not decode as UTF-8" in str(err.value) and 'save it as "CSV UTF-8"' in str(err.value)


def test_a_semicolon_separated_file_is_named(wh: Path, tmp_path: Path) -> None:
    f = put(tmp_path, f"contract_expiry;strike;qty\n{JAN};19;40\n")
    with pytest.raises(SourceError, match="separated by semicolons; alvh reads comma-separated CSV"):
        import_positions(load_settings(warehouse=wh), f, DAY)


def test_a_file_above_the_size_cap_is_refused_before_it_is_read(wh: Path, tmp_path: Path) -> None:
    f = put(tmp_path, HEAD + f"{JAN},19,1,1.2\n" * 200)
    with pytest.raises(SourceError) as err:
        import_positions(load_settings(warehouse=wh, positions_max_bytes=1000), f, DAY)
    size = f.stat().st_size
    assert f"the file is {size:,} bytes, above positions_max_bytes = 1,000" in str(err.value)
    assert "ALVH_POSITIONS_MAX_BYTES" in str(err.value) and imports(wh) == 0


FLEX_HEAD = (
    "ClientAccountID,CurrencyPrimary,AssetClass,Symbol,Description,Conid,ListingExchange,Quantity,MarkPrice,"
    "PositionValue,CostBasisPrice,CostBasisMoney,FifoPnlUnrealized,Side,ReportDate\n"
)
FLEX_VIX = (
    "U1234567,USD,OPT,VIX   250122C00019000,VIX 22JAN25 19 C,700000001,CBOE,40,1.25,5000,1.2,4800,200,Long,20250102\n"
)


def flex_file_of(size: int) -> bytes:
    """An IBKR Flex positions file of exactly ``size`` bytes: 40 VIX calls and as many stock lines
    (counted and left out by the import) as fill it — a large account's real shape."""
    stock = "U1234567,USD,STK,S{0:06d},STOCK NUMBER {0:06d} INC COMMON SHARES,{1},NYSE,100,12.34,1234,11.00,1100,134,Long,20250102\n"
    lines, used, i = [FLEX_HEAD, FLEX_VIX], len(FLEX_HEAD) + len(FLEX_VIX), 0
    while used + len(stock.format(i, 100_000_000 + i)) <= size:
        lines.append(stock.format(i, 100_000_000 + i))
        used += len(lines[-1])
        i += 1
    last = lines.pop()  # pad the last stock's description to the exact size
    lines.append(last.replace("COMMON SHARES", "COMMON SHARES" + "X" * (size - used), 1))
    body = "".join(lines).encode()
    assert len(body) == size
    return body


def test_the_default_size_cap_refuses_a_file_just_over_it_before_reading_it(
    wh: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the default ``positions_max_bytes`` (5 MB): a file one byte over is refused through the
    CLI in one line naming the file, its size and the setting to raise, without being read; the same
    file one byte shorter (exactly the cap) is not refused for size: it imports."""
    from alvh.core.settings import Settings

    monkeypatch.delenv("ALVH_POSITIONS_MAX_BYTES", raising=False)
    monkeypatch.delenv("ALVH_CONFIG", raising=False)
    cap = Settings.model_fields["positions_max_bytes"].default
    assert cap == 5_000_000 and load_settings(warehouse=wh).positions_max_bytes == cap
    at_cap = put(tmp_path, flex_file_of(cap), "at-cap.csv")
    over = put(tmp_path, at_cap.read_bytes() + b"\n", "over-cap.csv")  # one blank line more: 5,000,001 bytes
    read: list[Path] = []
    real_read = Path.read_bytes

    def spied(self: Path) -> bytes:
        read.append(self)
        return real_read(self)

    monkeypatch.setattr(Path, "read_bytes", spied)
    res = CliRunner().invoke(app, ["positions", "import", str(over), "--as-of", str(DAY), "--warehouse", str(wh)])
    assert res.exit_code == 1 and res.stdout == ""
    assert res.stderr.strip() == (
        f"error: file {over}: the file is 5,000,001 bytes, above positions_max_bytes = 5,000,000 (a book of "
        "positions is a few KB): check that it is the positions file, or raise ALVH_POSITIONS_MAX_BYTES — nothing "
        "was imported"
    )
    assert over not in read and imports(wh) == 0  # refused on its size alone, before a byte of it was read

    res = CliRunner().invoke(app, ["positions", "import", str(at_cap), "--as-of", str(DAY), "--warehouse", str(wh)])
    assert res.exit_code == 0, res.output
    assert at_cap in read and imports(wh) == 1
    skipped = at_cap.read_text().count(",STK,")
    assert " ".join(res.stdout.split()) == (
        f"imported 40 contracts at 1 expiry/strike pair(s); {skipped} line(s) of other asset classes left out; the "
        "signal for 2025-01-03 starts from them (2025-01-02 is not after the last published session, so they apply "
        "from the session after it)"
    )


BROKER = "Symbol,Quantity,AssetClass\nVIX   250122C00019000,40,OPT\nAAPL  250117C00150000,2,OPT\nMSFT,100,STK\n"


def test_another_underlying_refuses_the_file_and_names_the_flag(wh: Path, tmp_path: Path) -> None:
    f = put(tmp_path, BROKER)
    with pytest.raises(SourceError) as err:
        import_positions(load_settings(warehouse=wh), f, DAY)
    assert "line 3" in str(err.value) and "--skip-other-underlyings" in str(err.value) and imports(wh) == 0


def test_skip_other_underlyings_counts_and_lists_them(wh: Path, tmp_path: Path) -> None:
    f = put(tmp_path, BROKER)
    res = CliRunner().invoke(
        app, ["positions", "import", str(f), "--as-of", str(DAY), "--skip-other-underlyings", "--warehouse", str(wh)]
    )
    text = " ".join(res.output.split())
    assert res.exit_code == 0, res.output
    assert "left out 1 option line(s) on other underlyings: line 3 AAPL 250117C00150000" in text
    assert "imported 40 contracts at 1 expiry/strike pair(s); 1 line(s) of other asset classes left out" in text
    assert imports(wh) == 1


def test_a_future_as_of_is_refused_like_runs(wh: Path, tmp_path: Path) -> None:
    f = put(tmp_path, HEAD + f"{JAN},19,40,1.2\n")
    with pytest.raises(ConfigError, match=r"^--as-of 2025-01-04 is in the future \(today in New York is 2025-01-03\)"):
        import_positions(load_settings(warehouse=wh), f, date(2025, 1, 4), today=date(2025, 1, 3))
    res = CliRunner().invoke(app, ["positions", "import", str(f), "--as-of", "2099-01-02", "--warehouse", str(wh)])
    assert res.exit_code == 1 and "--as-of 2099-01-02 is in the future" in " ".join(res.output.split())
    assert imports(wh) == 0
