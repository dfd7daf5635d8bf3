"""pandera model of the SPX legs a user imported from a broker file (OCC symbols or an IBKR Flex
Query): the IC book the next signals hedge instead of the model IC."""

from __future__ import annotations

from datetime import date, datetime

import pandera.polars as pa
import polars as pl


class IcLegImport(pa.DataFrameModel):
    """One row per import and SPX leg: signed contracts (negative = short), price per share."""

    import_id: str
    imported_at: datetime
    as_of: date = pa.Field(description="the first session that hedges these legs")
    source_file: str
    occ_symbol: str = pa.Field(description="the leg's OCC symbol, e.g. 'SPXW  260320P05600000'")
    expiry: date
    strike: float = pa.Field(gt=0, description="SPX points")
    put_call: str = pa.Field(isin=["P", "C"])
    qty: pl.Int64 = pa.Field(description="contracts, signed (negative = short)")
    entry_price: float = pa.Field(ge=0, description="average price per share, SPX points")

    class Config:
        strict = True
        coerce = True
        unique = ["import_id", "occ_symbol"]
