"""Pure transforms: Polars/NumPy in, Polars/NumPy out; no I/O, no clock, no settings, no Prefect."""
