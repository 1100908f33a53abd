"""Adapters: one module per technology, each behind a port from `nexod.ports`."""
