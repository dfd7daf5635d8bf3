"""Write the shared data as it was known on an evening: every row dated after ``cutoff``
removed, files with no row left omitted (contracts not listed yet)."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

PATTERNS = (
    (re.compile(r"^(\d{1,2}/\d{1,2}/\d{4}),"), "%m/%d/%Y"),
    (re.compile(r"^(\d{4}-\d{2}-\d{2}),"), "%Y-%m-%d"),
    (re.compile(r"^(\d{8}),"), "%Y%m%d"),
)
WANTED = (
    "cboe/indices",
    "spx",
    "cboe/vx_futures/cfe_current",
    "cboe/vx_futures/cfe_legacy_2008_2015",
    "cboe/vx_futures/reconstructed",
    "breadth/unicorn_nyse",
    "breadth/tradingview_usi_pynecore",
    "rates",
)


def row_date(line: str) -> date | None:
    for pat, fmt in PATTERNS:
        m = pat.match(line)
        if m:
            return datetime.strptime(m.group(1), fmt).date()
    return None


def truncate_tree(src: Path, dst: Path, cutoff: date) -> None:
    for sub in WANTED:
        for f in sorted((src / sub).glob("*.csv")):
            raw = f.read_bytes()
            newline = "\r\n" if b"\r\n" in raw else "\n"
            kept, rows = [], 0
            for line in raw.decode("latin-1").splitlines():
                d = row_date(line)
                if d is None:
                    kept.append(line)  # header or disclaimer
                elif d <= cutoff:
                    kept.append(line)
                    rows += 1
            if rows:
                out = dst / sub / f.name
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes((newline.join(kept) + newline).encode("latin-1"))
