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

import json
import logging
import os
import select
import subprocess
import sys
import threading
import time
from contextlib import suppress
from pathlib import Path

import duckdb

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
from settings import ROOT
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


class ChildBuilder:
    """A long-lived child process that keeps DuckDB attached to a SQLite app database and copies it on request.

    DuckDB's sqlite scanner carries its own copy of SQLite; opening the app's file with it in the app process
    would drop the app's own POSIX locks on the database and its WAL index (see analytics.duck), so SQLite
    copies are made in this child. It stays up between copies: attaching again costs more than copying.
    Protocol: one JSON line with the source, then one JSON line per request ({"out": path}) and per reply.
    """

    def __init__(self, source: DuckSource):
        self.source = source
        self._proc: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()

    def build(self, path: Path) -> list[str]:
        with self._lock:
            try:
                proc = self._ensure()
                assert proc.stdin is not None and proc.stdout is not None
                proc.stdin.write(json.dumps({"out": str(path)}) + "\n")
                proc.stdin.flush()
                ready, _, _ = select.select([proc.stdout], [], [], BUILD_TIMEOUT_S)
                line = proc.stdout.readline() if ready else ""
                reply = json.loads(line) if line.strip() else {}
            except (OSError, ValueError) as exc:
                reply = {"error": f"the copying process failed ({exc})"}
            if not reply.get("ok"):
                self._stop()
                detail = reply.get("error") or f"no answer within {BUILD_TIMEOUT_S} s"
                raise DuckError(
                    f"cannot copy the app database for the console: {scrub(str(detail), self.source)}"
                )
            return list(reply.get("tables", []))

    def _ensure(self) -> subprocess.Popen[str]:
        if self._proc is None or self._proc.poll() is not None:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "analytics.console_snapshot"],
                cwd=ROOT,
                text=True,
                bufsize=1,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
            assert self._proc.stdin is not None
            self._proc.stdin.write(json.dumps({"source": self.source.to_dict()}) + "\n")
            self._proc.stdin.flush()
        return self._proc

    def _stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            with suppress(OSError):
                proc.kill()
            proc.wait()

    def close(self) -> None:
        with self._lock:
            self._stop()


def main() -> int:
    """Child-process entry (see ChildBuilder): attach once, then make one copy per request line."""
    source: DuckSource | None = None
    builder: duckdb.DuckDBPyConnection | None = None
    for line in sys.stdin:
        try:
            request = json.loads(line)
            if source is None:
                source = DuckSource.from_dict(request["source"])
                continue
            if builder is None:
                builder = open_builder(source)
            reply: dict[str, object] = {
                "ok": True,
                "tables": copy_exposed(builder, source, Path(request["out"])),
            }
        except Exception as exc:  # reported to the parent, which restarts this process
            message = " ".join(str(exc).split())[:500] or type(exc).__name__
            reply = {"ok": False, "error": scrub(message, source) if source is not None else message}
        print(json.dumps(reply), flush=True)
    return 0


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
        self._child: ChildBuilder | None = None
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
            if self.source.kind == "sqlite":  # never in this process: see ChildBuilder
                if self._child is None:
                    self._child = ChildBuilder(self.source)
                tables = self._child.build(path)
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
        child, self._child = self._child, None
        if child is not None:
            child.close()

    def close(self) -> None:
        self._token.close()
        with self._lock:
            self._closed = True
            building = self._building
        if not building:  # a running build closes nothing under it; its thread ends with the process
            self._close_builder()


if __name__ == "__main__":
    sys.exit(main())
