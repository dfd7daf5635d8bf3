"""Pure transforms: Polars/NumPy in, Polars/NumPy out; no I/O, no clock, no settings, no Prefect —
staging, indicators, forwards, pricing (``vix_surface``: the one compiled VIX-call vol; ``vix_chain``:
quotes against it), the IC book, the signal engine (``transforms.signal``: one function per rule,
the rules' arithmetic compiled once in ``compiled_rules``; ``signal_frames``: its rows as the
marts' typed frames), the backtest (``transforms.backtest``), research (``vxth_replica``,
``macro_event_study``, ``events``)."""
