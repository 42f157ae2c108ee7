"""An in-process DuckDB snapshot of the columns the Analytics tab aggregates, kept current by cheap deltas.

Why: DuckDB's sqlite scanner reads a 1M-answer SQLite file in 0.3-0.8 s a scan, so charts scanning the app
database would blow the 300 ms refresh budget. Instead the snapshot holds a few in-memory tables shaped for the
charts (analytics.snapshot_sql), and every refresh first makes sure they match the database:

- A change token tells in microseconds whether anyone, in any process, committed since the last check: SQLite's
  `PRAGMA data_version` on a private read-only connection, PostgreSQL's transaction snapshot. If not, the
  snapshot is current.
- Otherwise a fingerprint of the source tables is read in one consistent read transaction (row counts, highest
  ids, latest session update, highest override id, a hash of the employees), and in the same transaction the
  rows that changed: new answers (id above the last seen), new or updated interviews (updated_at at or after the
  last seen), answers with new score overrides, and the employees if any changed. They are upserted by key, so
  applying a delta twice is harmless, and the result must match the fingerprint's counts.
- Anything a delta cannot explain (rows deleted, counts that don't add up, a very large delta) rebuilds the
  snapshot: a separate process (analytics.snapshot_build) reads the database read-only with DuckDB and writes a
  file that is loaded here. In-process, the snapshot reads the database only through the store (SQLAlchemy):
  DuckDB's own copy of SQLite in this process would drop the app's file locks (see analytics.snapshot_build).

The snapshot's DuckDB instance is in memory, with external access disabled and its configuration locked once
loaded: it cannot open files, so it has no way to reach the app database except the rows handed to it. It runs
fixed SQL with bound parameters only (no user SQL reaches it), and the private tables (users, audit_log,
schema_migrations) are never read into it. Scores change only through analytics.overrides, which records each
change in score_overrides: that is what the override delta relies on.
"""

from __future__ import annotations

import logging
import sqlite3
import tempfile
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
from sqlalchemy import Connection, func, select
from sqlalchemy.exc import SQLAlchemyError

from analytics import snapshot_sql
from analytics.child import ChildFailed, run_child
from analytics.duck import DuckError, DuckSource
from analytics.snapshot_build import QUESTION_KEY_CHARS
from store import Store
from store.schema import (
    employees,
    interview_questions,
    interview_responses,
    interview_sessions,
    score_overrides,
)

log = logging.getLogger(__name__)

REBUILD_ABOVE = 100_000  # a delta bigger than this is cheaper as a rebuild
BUILD_TIMEOUT_S = 900
ROOT = Path(__file__).resolve().parent.parent


class SnapshotError(RuntimeError):
    """The analytics snapshot cannot be built from the database; the message says why."""


@dataclass(frozen=True)
class Fingerprint:
    responses: int
    max_response: int
    sessions: int
    max_session: int
    session_updated: datetime | None
    overrides: int
    max_override: int
    employees: int  # hash of every employee row


@dataclass
class SnapshotStats:
    rebuilds: int = 0
    deltas: int = 0
    checks: int = 0
    last_action: str = ""
    last_ms: float = 0.0
    built_at: float = 0.0


def _counts(conn: Connection) -> dict[str, int]:
    """The fingerprint without the latest session update (which needs a scan of the sessions)."""

    # count(*) and max(id) are separate statements on purpose: SQLite answers count(*) from the smallest index
    # and max(id) from the end of the primary key, but scans the whole table for both in one statement.
    def scalar(stmt: Any) -> int:
        return int(conn.execute(stmt).scalar() or 0)

    r, s, o, e = interview_responses, interview_sessions, score_overrides, employees
    people = conn.execute(select(e.c.id, e.c.name, e.c.department, e.c.role).order_by(e.c.id)).all()
    return {
        "responses": scalar(select(func.count()).select_from(r)),
        "max_response": scalar(select(func.max(r.c.id))),
        "sessions": scalar(select(func.count()).select_from(s)),
        "max_session": scalar(select(func.max(s.c.id))),
        "overrides": scalar(select(func.count()).select_from(o)),
        "max_override": scalar(select(func.max(o.c.id))),
        "employees": hash(tuple(tuple(p) for p in people)),
    }


def _fingerprint(conn: Connection) -> Fingerprint:
    latest = conn.execute(select(func.max(interview_sessions.c.updated_at))).scalar()
    return Fingerprint(**_counts(conn), session_updated=latest)


class AnalyticsSnapshot:
    """The snapshot of one database, shared by every Analytics handler of the process (thread-safe)."""

    def __init__(self, store: Store, *, rebuild_above: int = REBUILD_ABOVE):
        # A Store of its own on the same engine: the registry below is keyed weakly by the caller's Store, and a
        # strong reference from here would keep that key alive forever.
        self.store = Store(store.engine, store.url)
        self.rebuild_above = rebuild_above
        self.stats = SnapshotStats()
        self._lock = threading.Lock()
        self._db: duckdb.DuckDBPyConnection | None = None
        self._fp: Fingerprint | None = None
        self._token: str | None = None
        self._probe: sqlite3.Connection | None = None

    # ---- public
    @contextmanager
    def reading(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor over a snapshot that matches the database as of this call (closed after the block)."""
        self.refresh()
        assert self._db is not None
        cursor = self._db.cursor()
        try:
            yield cursor
        finally:
            cursor.close()

    def refresh(self) -> str:
        """Bring the snapshot up to date; returns 'unchanged', 'delta' or 'rebuilt'."""
        with self._lock:
            began = time.perf_counter()
            action = self._refresh()
            self.stats.last_action = action
            self.stats.last_ms = (time.perf_counter() - began) * 1000
            if action != "unchanged":
                log.info(
                    "analytics snapshot refreshed",
                    extra={"action": action, "ms": round(self.stats.last_ms, 1)},
                )
            return action

    def warm_in_background(self) -> threading.Thread:
        """Build the snapshot on a daemon thread (at start-up), so the first lead to open the tab doesn't wait."""

        def warm() -> None:
            try:
                self.refresh()
            except (SnapshotError, duckdb.Error, SQLAlchemyError) as exc:
                log.warning("analytics snapshot warm-up failed", extra={"error": str(exc)[:300]})

        thread = threading.Thread(target=warm, name="analytics-snapshot-warmup", daemon=True)
        thread.start()
        return thread

    def invalidate(self) -> None:
        """Make the next refresh read the fingerprint even if the database reports no commit."""
        with self._lock:
            self._token = None

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
            if self._probe is not None:
                self._probe.close()
                self._probe = None
            self._fp = self._token = None

    # ---- internals
    def _change_token(self) -> str:
        """A value that changes whenever any process may have committed to the database."""
        path = self.store.sqlite_path
        if path is not None:
            if self._probe is None:  # Python's sqlite3, the same SQLite library the store uses
                self._probe = sqlite3.connect(
                    f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False
                )
            return f"sqlite:{self._probe.execute('PRAGMA data_version').fetchone()[0]}"
        with self.store.engine.connect() as conn:
            return "postgres:" + str(conn.exec_driver_sql("SELECT txid_current_snapshot()::text").scalar())

    @contextmanager
    def _consistent_read(self) -> Iterator[Connection]:
        """One read transaction whose statements all see the same database state."""
        if self.store.dialect == "postgresql":
            with self.store.engine.connect() as conn:
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
                with conn.begin():
                    yield conn
        else:
            with self.store.read() as conn:  # SQLite: a deferred BEGIN reads one snapshot under WAL
                yield conn

    def _refresh(self) -> str:
        self.stats.checks += 1
        token = self._change_token()
        if self._db is not None and token == self._token:
            return "unchanged"
        delta, fp = None, None
        with self._consistent_read() as conn:
            old = self._fp
            if self._db is not None and old is not None:
                counts = _counts(conn)
                if self._delta_fits(old, counts):
                    delta = self._read_delta(conn, old, counts)
                    seen = [old.session_updated] if old.session_updated is not None else []
                    updated = [
                        pd.Timestamp(v).to_pydatetime()
                        for v in delta["sessions"]["updated_at"]
                        if pd.notna(v)
                    ]
                    fp = Fingerprint(**counts, session_updated=max([*seen, *updated], default=None))
                    if fp == old:  # a commit elsewhere (say, the audit log): nothing the charts read changed
                        self._token = token
                        return "unchanged"
            if delta is None:
                fp = _fingerprint(conn)  # read before the rebuild: a later delta re-applies, harmlessly
        assert fp is not None
        if delta is not None and self._apply_delta(delta, fp):
            self._fp, self._token = fp, token
            self.stats.deltas += 1
            return "delta"
        self._rebuild()
        self._fp, self._token = fp, token
        self.stats.rebuilds += 1
        self.stats.built_at = time.time()
        return "rebuilt"

    def _delta_fits(self, old: Fingerprint, counts: dict[str, int]) -> bool:
        """Whether the changes can be applied as a delta: nothing deleted, and not too many new rows."""
        return (
            old.responses <= counts["responses"] <= old.responses + self.rebuild_above
            and old.sessions <= counts["sessions"] <= old.sessions + self.rebuild_above
            and counts["overrides"] >= old.overrides
        )

    def _read_delta(self, conn: Connection, old: Fingerprint, counts: dict[str, int]) -> dict[str, Any]:
        """The rows changed since `old`, read in the same transaction as `counts` (one scan of the sessions)."""
        r, q, s, o = interview_responses, interview_questions, interview_sessions, score_overrides
        key = func.coalesce(q.c.question_ref, func.substr(q.c.question_text, 1, QUESTION_KEY_CHARS))
        answers = (
            select(
                r.c.id.label("response_id"),
                r.c.session_id,
                r.c.score,
                key.label("question_key"),
                q.c.category,
                q.c.difficulty,
                q.c.kind,
            )
            .select_from(r.outerjoin(q, q.c.id == r.c.question_id))
            .where(r.c.id > old.max_response)
        )
        changed = s.c.id > old.max_session
        if old.session_updated is not None:
            changed = changed | (s.c.updated_at >= old.session_updated)
        sessions = select(
            s.c.id.label("session_id"),
            s.c.employee_id,
            s.c.start_time,
            s.c.end_time,
            s.c.status,
            s.c.overall_score,
            s.c.updated_at,
        ).where(changed)
        rescored = select(r.c.id.label("response_id"), r.c.score).where(
            r.c.id.in_(select(o.c.response_id).where(o.c.id > old.max_override).scalar_subquery())
        )
        people = select(
            employees.c.id.label("employee_id"), employees.c.name, employees.c.department, employees.c.role
        )

        def frame(stmt: Any) -> pd.DataFrame:
            result = conn.execute(stmt)
            return pd.DataFrame(result.all(), columns=list(result.keys()))

        return {
            "employees": frame(people) if counts["employees"] != old.employees else None,
            "sessions": frame(sessions),
            "answers": frame(answers),
            "rescored": frame(rescored) if counts["max_override"] > old.max_override else None,
        }

    def _apply_delta(self, delta: dict[str, pd.DataFrame | None], fp: Fingerprint) -> bool:
        """Load the changed rows in one DuckDB transaction; False (and nothing changed) when the counts still
        disagree with the database."""
        assert self._db is not None
        db = self._db.cursor()
        db.execute("BEGIN")
        try:
            snapshot_sql.load_frames(db, delta)
            row = db.execute(
                "SELECT (SELECT count(*) FROM facts), (SELECT count(*) FROM sessions)"
            ).fetchone()
            counts = (int(row[0]), int(row[1])) if row else None
            if counts != (fp.responses, fp.sessions):
                db.execute("ROLLBACK")
                log.info(
                    "analytics snapshot delta does not add up; rebuilding",
                    extra={"counts": counts, "responses": fp.responses, "sessions": fp.sessions},
                )
                return False
            db.execute("COMMIT")
            return True
        except duckdb.Error:
            db.execute("ROLLBACK")
            raise
        finally:
            db.close()

    def _rebuild(self) -> None:
        """Load a fresh snapshot from the builder process's file, then swap it in (readers finish on the old)."""
        try:
            source = DuckSource.from_store(self.store)
        except DuckError as exc:
            raise SnapshotError(f"Cannot read the interviews for the analytics: {exc}") from None
        with tempfile.TemporaryDirectory(prefix="athena-snapshot-") as tmp:
            out = Path(tmp) / "source.duckdb"
            _run_builder(source, out)
            db = duckdb.connect(
                ":memory:", config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
            )
            try:
                db.execute(f"ATTACH '{str(out).replace(chr(39), chr(39) * 2)}' AS src (READ_ONLY)")
                names = {"employees", "sessions", "answers"}
                for name in names:
                    db.execute(f"CREATE TEMP VIEW delta_{name} AS SELECT * FROM src.{name}")
                db.execute("BEGIN")
                snapshot_sql.create_schema(db)
                snapshot_sql.load(db, names)
                db.execute("COMMIT")
                for name in names:
                    db.execute(f"DROP VIEW delta_{name}")
                db.execute("DETACH src")
                db.execute("SET enable_external_access = false")
                db.execute("SET lock_configuration = true")
            except duckdb.Error as exc:
                db.close()
                raise SnapshotError(f"Cannot load the analytics snapshot: {exc}") from None
        self._db = db  # the old instance closes when its last reader lets go


def _run_builder(source: DuckSource, out: Path) -> None:
    try:
        run_child("analytics.snapshot_build", source, {"out": str(out)}, timeout_s=BUILD_TIMEOUT_S)
    except ChildFailed as exc:
        if exc.timed_out:
            raise SnapshotError(
                f"Reading the interviews for the analytics took over {BUILD_TIMEOUT_S} s."
            ) from None
        raise SnapshotError(f"Cannot read the interviews for the analytics: {exc}") from None


_snapshots: weakref.WeakKeyDictionary[Store, AnalyticsSnapshot] = weakref.WeakKeyDictionary()
_snapshots_lock = threading.Lock()


def snapshot_for(store: Store) -> AnalyticsSnapshot:
    """The process-wide snapshot of this Store's database (built on first use, closed with the Store)."""
    with _snapshots_lock:
        snap = _snapshots.get(store)
        if snap is None:
            snap = AnalyticsSnapshot(store)
            _snapshots[store] = snap
            weakref.finalize(store, snap.close)
        return snap


def close_snapshot(store: Store) -> None:
    """Drop the Store's analytics snapshot now, if it has one (e.g. before the Store itself is closed)."""
    with _snapshots_lock:
        snap = _snapshots.pop(store, None)
    if snap is not None:
        snap.close()
