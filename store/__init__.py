"""Athena's storage: one code path for SQLite and PostgreSQL."""

from store.db import Store, StoreError

__all__ = ["Store", "StoreError"]
