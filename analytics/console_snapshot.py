"""The console's copy of the app database: the exposed tables in a DuckDB file, rebuilt when the data changes.

Console statements run on this copy, never on the app database itself, so the worker that runs them loads no
extension, holds no database credentials and has no private table to reach, and aggregates over a million
answers take milliseconds (DuckDB's own storage) instead of a scan through SQLite or PostgreSQL.

Freshness: before each statement the console compares the database's change token with the copy's. When they
differ, the copy is rebuilt; while rebuilding takes less than `SYNC_REBUILD_S` (any database of ordinary
size) the statement waits for it and so sees every committed change. Past that (hundreds of thousands of
answers) the statement runs on the previous copy while the new one is built in the background, so results may
lag the database by the few seconds a rebuild takes.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from contextlib import suppress
from pathlib import Path

import duckdb

from analytics.child import ChildFailed, child_main, run_child
from analytics.duck import (
    SOURCE_CATALOG,
    ChangeToken,
    DuckError,
    DuckSource,
    attach_source,
    base_config,
    exposed_tables,
    first_line,
    lock,
    quote_ident,
    scrub,
    source_tables,
    sql_string,
)
from store import Store

log = logging.getLogger(__name__)

SYNC_REBUILD_S = 1.0
KEEP_FILES = 3
_SNAPSHOT_CATALOG = "athena_snapshot_build"


def open_builder(
    source: DuckSource, *, threads: int | None = None, memory_limit: str = "1GB"
) -> duckdb.DuckDBPyConnection:
    """An in-process DuckDB with the app database attached read-only, for `copy_exposed` only.

    Trusted code only: no user SQL ever runs on it (it can write the snapshot files it attaches).
    """
    con = duckdb.connect(":memory:", config=base_config(threads, memory_limit))
    try:
        attach_source(con, source)
        con.execute("SET enable_progress_bar = false")
    except duckdb.Error as exc:
        con.close()
        raise DuckError(
            f"cannot attach the app database to DuckDB: {scrub(first_line(exc), source)}"
        ) from None
    return con


def copy_exposed(con: duckdb.DuckDBPyConnection, source: DuckSource, path: Path) -> list[str]:
    """Copy the exposed tables into a new DuckDB file at `path` (written aside, then renamed into place).

    Only exposed tables are copied, so a snapshot holds no credentials or audit records at all.
    """
    partial = path.with_name(path.name + ".partial")
    for leftover in (partial, partial.with_name(partial.name + ".wal")):
        leftover.unlink(missing_ok=True)
    schema = "main" if source.kind == "sqlite" else source.pg_schema
    try:
        if source.kind == "postgres":
            con.execute("SELECT * FROM pg_clear_cache()").fetchall()  # see tables added since the last copy
        present = source_tables(con, source)
        copied = [name for name in exposed_tables() if name in present]
        con.execute(f"ATTACH {sql_string(str(partial))} AS {_SNAPSHOT_CATALOG}")
        try:
            con.execute("BEGIN TRANSACTION")
            for name in copied:
                con.execute(
                    f"CREATE TABLE {_SNAPSHOT_CATALOG}.main.{quote_ident(name)} AS "
                    f"SELECT * FROM {SOURCE_CATALOG}.{quote_ident(schema)}.{quote_ident(name)}"
                )
            con.execute("COMMIT")
            con.execute(f"CHECKPOINT {_SNAPSHOT_CATALOG}")
        finally:
            with suppress(duckdb.Error):
                con.execute("ROLLBACK")
            con.execute(f"DETACH {_SNAPSHOT_CATALOG}")
    except duckdb.Error as exc:
        partial.unlink(missing_ok=True)
        raise DuckError(
            f"cannot copy the app database for the console: {scrub(first_line(exc), source)}"
        ) from None
    os.replace(partial, path)
    return copied


def build_snapshot(source: DuckSource, path: Path) -> list[str]:
    """`copy_exposed` with a builder opened and closed for this one copy."""
    con = open_builder(source)
    try:
        return copy_exposed(con, source, path)
    finally:
        con.close()


BUILD_TIMEOUT_S = 600


def build_in_subprocess(source: DuckSource, path: Path) -> list[str]:
    """`build_snapshot` in a child process (`python -m analytics.console_snapshot`); returns the tables copied."""
    try:
        reply = run_child("analytics.console_snapshot", source, {"out": str(path)}, timeout_s=BUILD_TIMEOUT_S)
    except ChildFailed as exc:
        raise DuckError(f"cannot copy the app database for the console: {exc}") from None
    return list(reply.get("tables", []))


def main() -> int:
    """Child-process entry: build the copy named in the request."""
    return child_main(lambda source, request: {"tables": build_snapshot(source, Path(request["out"]))})


def open_snapshot(
    path: Path, *, threads: int | None = None, memory_limit: str = "1GB"
) -> duckdb.DuckDBPyConnection:
    """Open a snapshot file read-only, with no extension loaded and the configuration locked."""
    try:
        con = duckdb.connect(str(path), read_only=True, config=base_config(threads, memory_limit))
        lock(con)
    except duckdb.Error as exc:
        raise DuckError(f"cannot open the console's copy of the database: {first_line(exc)}") from None
    return con


class ConsoleSnapshots:
    """Builds and hands out snapshot files in `workdir`; thread-safe; one build at a time."""

    def __init__(self, store: Store, workdir: Path):
        self.source = DuckSource.from_store(store)
        self._token = ChangeToken(store)
        self._workdir = workdir
        self._lock = threading.Lock()
        self._built = threading.Condition(self._lock)
        self._building = False
        self._current: Path | None = None
        self._current_token: str | None = None
        self._last_build_s = 0.0
        self._sequence = 0
        self._error: Exception | None = None
        # The builder stays open between copies: attaching the database again costs more than copying it.
        self._builder: duckdb.DuckDBPyConnection | None = None
        self._closed = False

    def current(self) -> Path:
        """The newest snapshot fit to answer now (see the module docstring for the freshness rule)."""
        token = self._token()
        deadline = time.monotonic() + 120
        with self._lock:
            while True:
                if self._current is not None and token == self._current_token:
                    return self._current
                if not self._building:
                    self._building, self._error = True, None
                    threading.Thread(
                        target=self._build, args=(token,), name="console-snapshot", daemon=True
                    ).start()
                if self._current is not None and self._last_build_s >= SYNC_REBUILD_S:
                    return self._current  # big database: answer from the previous copy meanwhile
                while self._building and time.monotonic() < deadline:
                    self._built.wait(timeout=1)
                if self._error is not None:  # the rebuild failed: the previous copy, if any, must do
                    if self._current is None:
                        raise self._error
                    return self._current
                if time.monotonic() >= deadline:
                    if self._current is None:
                        raise TimeoutError("the console's copy of the database is not ready")
                    return self._current

    def _build(self, token: str) -> None:
        started = time.monotonic()
        with self._lock:
            self._sequence += 1
            path = self._workdir / f"snapshot_{self._sequence:06d}.duckdb"
        try:
            if self.source.kind == "sqlite":
                # DuckDB's sqlite scanner carries its own copy of SQLite; opening the app's file with it in
                # this process would drop the app's own POSIX locks on the database and its WAL index, which
                # SQLite documents as a way to corrupt or lose data. So SQLite copies are made in a child.
                tables = build_in_subprocess(self.source, path)
            else:
                if self._builder is None:
                    self._builder = open_builder(self.source)
                tables = copy_exposed(self._builder, self.source, path)
        except Exception as exc:  # reported to the waiting statement; the next one tries again afresh
            log.error("console snapshot failed", extra={"error": str(exc)})
            self._close_builder()
            with self._lock:
                self._error = exc
                self._building = False
                self._built.notify_all()
            return
        took = time.monotonic() - started
        if self._closed:
            self._close_builder()
        with self._lock:
            self._current, self._current_token, self._last_build_s = path, token, took
            self._error = None
            self._building = False
            self._built.notify_all()
        log.info("console snapshot built", extra={"tables": len(tables), "seconds": round(took, 3)})
        self._prune()

    def _prune(self) -> None:
        files = sorted(self._workdir.glob("snapshot_*.duckdb"))
        for old in files[:-KEEP_FILES]:  # workers still reading an older file keep their open handle
            old.unlink(missing_ok=True)
            old.with_name(old.name + ".wal").unlink(missing_ok=True)

    def _close_builder(self) -> None:
        builder, self._builder = self._builder, None
        if builder is not None:
            builder.close()

    def close(self) -> None:
        self._token.close()
        with self._lock:
            self._closed = True
            building = self._building
        if not building:  # a running build closes nothing under it; its thread ends with the process
            self._close_builder()


if __name__ == "__main__":
    sys.exit(main())
