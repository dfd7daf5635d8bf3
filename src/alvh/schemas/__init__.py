"""The contracts: one pandera model per warehouse table (DDL and the GX suites derive from them)
and the backtest's result record."""
