"""Copy a SQLite database into PostgreSQL: every table, checked by row counts and checksums, safe to run again.

Rows are inserted in foreign-key order with ON CONFLICT DO NOTHING, so a second run adds only what is new; a row
the target already holds with different values is reported (the checksums differ), never overwritten. Identity
sequences are moved past the largest copied id, so the app keeps inserting after the copy.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert

from store import migrations
from store.db import Store, StoreError
from store.schema import metadata

log = logging.getLogger(__name__)

BATCH = 1000
SKIP = ("schema_migrations",)  # the target records its own migrations


class CopyError(StoreError):
    """The copy cannot be made or does not check out; the message says which table and why."""


@dataclass(frozen=True)
class TableCopy:
    table: str
    source_rows: int
    inserted: int
    target_rows: int
    checksum: str
    matches: bool


@dataclass
class CopyReport:
    tables: list[TableCopy] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(t.matches for t in self.tables)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "tables": [t.__dict__ for t in self.tables]}


def copy_tables() -> list[Table]:
    """Athena's tables in foreign-key order (parents first)."""
    return [t for t in metadata.sorted_tables if t.name not in SKIP]


def _normal(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="microseconds")
    if isinstance(value, float):
        return repr(round(value, 12))
    return value


def _rows(conn: Connection, table: Table) -> Iterator[Any]:
    pk = list(table.primary_key.columns)
    result = conn.execution_options(stream_results=True, yield_per=BATCH).execute(select(table).order_by(*pk))
    yield from result


def table_checksum(conn: Connection, table: Table) -> tuple[int, str]:
    """Row count and a SHA-256 over every row in primary-key order, with values normalised across backends."""
    digest = hashlib.sha256()
    count = 0
    for row in _rows(conn, table):
        digest.update(json.dumps([_normal(v) for v in row], default=str).encode())
        digest.update(b"\n")
        count += 1
    return count, digest.hexdigest()


def _insert_batch(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> int:
    pk = list(table.primary_key.columns)
    stmt = pg_insert(table).values(rows).on_conflict_do_nothing().returning(pk[0])
    return len(conn.execute(stmt).all())


def _reset_sequence(conn: Connection, table: Table) -> None:
    pk = list(table.primary_key.columns)
    if len(pk) != 1 or not pk[0].autoincrement or pk[0].type.python_type is not int:
        return
    col = pk[0].name
    conn.execute(
        text(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', '{col}'), COALESCE(MAX({col}), 1), "
            f"MAX({col}) IS NOT NULL) FROM {table.name}"
        )
    )


def copy_database(source: Store, target: Store, progress: Callable[[str], None] | None = None) -> CopyReport:
    """Copy every row of `source` (SQLite) into `target` (PostgreSQL, migrated) and verify the result."""
    if source.dialect != "sqlite":
        raise CopyError(f"The source must be a SQLite database; {source.where} is not.")
    if target.dialect != "postgresql":
        raise CopyError(f"The target must be a PostgreSQL database; {target.where} is not.")
    src_version, dst_version = source.schema_version(), target.schema_version()
    if src_version != migrations.LATEST_VERSION:
        raise CopyError(
            f"{source.where} is at schema version {src_version}, not {migrations.LATEST_VERSION}: "
            "start this version of Athena on it once (it migrates at start) and copy again."
        )
    if dst_version != migrations.LATEST_VERSION:
        raise CopyError(
            f"{target.where} is at schema version {dst_version}, not {migrations.LATEST_VERSION}."
        )
    report = CopyReport()
    for table in copy_tables():
        inserted = 0
        with source.read() as src, target.write() as dst:
            batch: list[dict[str, Any]] = []
            for row in _rows(src, table):
                batch.append(dict(row._mapping))
                if len(batch) >= BATCH:
                    inserted += _insert_batch(dst, table, batch)
                    batch = []
            if batch:
                inserted += _insert_batch(dst, table, batch)
            _reset_sequence(dst, table)
        with source.read() as src, target.read() as dst:
            src_count, src_sum = table_checksum(src, table)
            dst_count, dst_sum = table_checksum(dst, table)
        entry = TableCopy(
            table.name, src_count, inserted, dst_count, src_sum, src_count == dst_count and src_sum == dst_sum
        )
        report.tables.append(entry)
        log.info(
            "table copied",
            extra={"table": table.name, "rows": src_count, "inserted": inserted, "matches": entry.matches},
        )
        if progress is not None:
            progress(
                f"{table.name}: {src_count} rows, {inserted} inserted, target has {dst_count}, "
                f"{'checksums match' if entry.matches else 'CHECKSUMS DIFFER'}"
            )
    return report
