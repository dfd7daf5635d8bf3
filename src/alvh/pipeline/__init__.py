"""The steps that join storage, sources and transforms — plain Python functions, no Prefect flow
(the flows in ``alvh.flows`` and the CLI call them)."""
