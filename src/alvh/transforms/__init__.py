"""Pure transforms: Polars/NumPy in, Polars/NumPy out; no I/O, no clock, no settings, no Prefect."""

from alvh.transforms._alloc import keep_large_allocations_on_heap

keep_large_allocations_on_heap()
