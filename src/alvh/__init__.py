"""alvh — Adaptive Layered VIX Hedge: daily hedge signals for SPX iron condors protected by a
laddered book of long VIX calls.

Sub-packages, lowest layer first: ``core`` (settings, errors, calendar), ``schemas`` (pandera
models, GX suites), ``sources`` (where files come from, how each format is parsed),
``transforms`` (pure Polars/NumPy), ``warehouse`` (DuckDB storage only), ``report`` (rendering),
``pipeline`` (Prefect flows joining the layers) and ``cli``.
"""
