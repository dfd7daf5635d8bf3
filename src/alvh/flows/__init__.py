"""The Prefect flows, one module per flow — ``daily`` (the evening job), ``ingest``, ``backfill``,
``backtest`` (the replay, the sweep, the timing-luck study), ``walk_forward`` — and the
``deployment`` that schedules the daily one. A flow only joins the steps of ``alvh.pipeline``;
the CLI calls flows and pipeline functions."""
