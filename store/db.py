"""One store for SQLite and PostgreSQL: engine set-up, connection pragmas, transactions, migrations."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from store import migrations

log = logging.getLogger(__name__)


class StoreError(RuntimeError):
    """The database cannot be opened or used; the message says which and why, in one line."""


def normalise_url(url: str) -> str:
    """postgresql:// and postgres:// use the psycopg 3 driver; sqlite URLs stay as they are."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def describe_url(url: str) -> str:
    """The database named without its password, for messages and logs."""
    try:
        parsed = make_url(normalise_url(url))
    except ArgumentError:
        return "(unparseable URL)"
    if parsed.get_backend_name() == "sqlite":
        return f"SQLite file {parsed.database}"
    return f"PostgreSQL {parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database or ''}"


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    msg = str(orig).strip().splitlines()
    return msg[0] if msg else type(orig).__name__


class Store:
    """A database handle shared by the whole process. Thread-safe; every unit of work is a transaction."""

    def __init__(self, engine: Engine, url: str):
        self.engine = engine
        self.url = url
        self.dialect = engine.dialect.name  # "sqlite" | "postgresql"
        self.where = describe_url(url)

    # ---- opening
    @classmethod
    def open(cls, url: str, *, pool_size: int = 10, migrate: bool = True) -> Store:
        """Open (creating a SQLite file if needed), check it answers, and bring the schema up to date."""
        url = normalise_url(url)
        try:
            parsed = make_url(url)
        except ArgumentError:
            raise StoreError(f"DATABASE_URL is not a database URL: {url!r}") from None
        backend = parsed.get_backend_name()
        if backend == "sqlite":
            engine = cls._sqlite_engine(parsed.database or "")
        elif backend == "postgresql":
            engine = create_engine(
                url, pool_size=pool_size, max_overflow=pool_size * 2, pool_pre_ping=True, pool_timeout=60
            )
        else:
            raise StoreError(f"DATABASE_URL must be SQLite or PostgreSQL, not {backend}")
        store = cls(engine, url)
        try:
            with store.read() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            engine.dispose()
            raise StoreError(f"Cannot open the database ({store.where}): {_first_line(exc)}") from None
        if migrate:
            store.migrate()
        return store

    @staticmethod
    def _sqlite_engine(database: str) -> Engine:
        if not database or database == ":memory:":
            raise StoreError(
                "DATABASE_URL must name a SQLite file; an in-memory database would lose every interview"
            )
        path = Path(database)
        if not path.parent.exists():
            from settings import DEFAULT_SQLITE_PATH

            if path.resolve().parent == DEFAULT_SQLITE_PATH.parent:
                path.parent.mkdir(parents=True, exist_ok=True)
            else:
                raise StoreError(
                    f"Cannot open the database (SQLite file {path}): the folder {path.parent} does not exist"
                )
        engine = create_engine(
            f"sqlite:///{path}",
            connect_args={"timeout": 30, "check_same_thread": False},
            pool_size=20,
            max_overflow=40,
            pool_timeout=60,
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (below)
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            # Writers take the write lock up front so that a read-then-write transaction never fails with
            # SQLITE_BUSY half-way; readers use a plain deferred BEGIN and run alongside under WAL.
            immediate = conn.get_execution_options().get("athena_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine

    # ---- units of work
    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction: committed when the block ends, rolled back on any exception."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(athena_write=True)
            with conn.begin():
                yield conn

    # ---- schema
    def migrate(self) -> list[str]:
        try:
            applied = migrations.migrate(self.write, self.where)
        except migrations.MigrationError as exc:
            raise StoreError(str(exc)) from None
        except (DBAPIError, SQLAlchemyError) as exc:
            raise StoreError(f"Cannot migrate the database ({self.where}): {_first_line(exc)}") from None
        if applied:
            log.info("database migrated", extra={"applied": applied, "database": self.where})
        return applied

    def schema_version(self) -> int:
        with self.read() as conn:
            return max(migrations.applied_versions(conn), default=0)

    @property
    def sqlite_path(self) -> Path | None:
        if self.dialect != "sqlite":
            return None
        return Path(make_url(self.url).database or "")

    def close(self) -> None:
        self.engine.dispose()
