"""Building blocks for locked-down, read-only DuckDB over the app's own database (SQLite file or PostgreSQL).

- ``DuckSource`` describes the database (a SQLite path or PostgreSQL parameters) and travels to child
  processes as a dict; ``attach_source`` attaches it ``READ_ONLY`` through the bundled extension wheels (no
  download); ``open_locked``/``lock`` give a DuckDB whose configuration is locked and external access off;
  ``ChangeToken`` tells cheaply whether anyone committed since it last looked (SQLite ``PRAGMA data_version``,
  PostgreSQL's transaction snapshot); ``exposed_tables()`` lists what may be read (never the private tables
  ``users``, ``audit_log``, ``schema_migrations``).
- Never attach a SQLite app database with DuckDB inside the app process: DuckDB's sqlite scanner carries its
  own copy of SQLite, and two copies of SQLite in one process drop each other's POSIX locks on the database
  and its WAL index — SQLite documents this as a way to corrupt a database, and we saw committed writes lost
  that way. Every reader of the SQLite file here runs in a child process (``analytics.snapshot_build``,
  ``analytics.console_snapshot``), which SQLite's cross-process locking protects.
- Untrusted SQL never reaches these connections: the console runs it in a memory-capped worker process on a
  copy holding only the exposed tables (``analytics.console_snapshot``), after checking it
  (``analytics.console_guard``).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb
from sqlalchemy import text
from sqlalchemy.engine import make_url

from store import Store
from store.db import normalise_url
from store.schema import PRIVATE_TABLES, metadata

log = logging.getLogger(__name__)

SOURCE_CATALOG = "athena_source"
_SECRET_NAME = "athena_source_secret"
_EXTENSION_PACKAGES = {
    "sqlite": "duckdb_extension_sqlite_scanner",
    "postgres": "duckdb_extension_postgres_scanner",
}
_EXTENSION_FILES = {
    "sqlite": "sqlite_scanner.duckdb_extension",
    "postgres": "postgres_scanner.duckdb_extension",
}


class DuckError(RuntimeError):
    """DuckDB cannot be set up over the app database; the message says why, in one line."""


def exposed_tables() -> tuple[str, ...]:
    """Tables readable through DuckDB: every table of the schema except the private ones."""
    return tuple(name for name in metadata.tables if name not in PRIVATE_TABLES)


def extension_path(kind: str) -> Path:
    """The .duckdb_extension file shipped in the extension wheel for `kind` ("sqlite" or "postgres")."""
    import importlib.util

    package = _EXTENSION_PACKAGES[kind]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise DuckError(f"the {package} package is not installed (pip install -r requirements.txt)")
    root = Path(next(iter(spec.submodule_search_locations)))
    matches = sorted(root.glob(f"extensions/v{duckdb.__version__}/{_EXTENSION_FILES[kind]}"))
    if not matches:
        raise DuckError(f"{package} has no extension for DuckDB {duckdb.__version__} (versions must match)")
    return matches[0]


@dataclass(frozen=True)
class DuckSource:
    """Where the app's data lives, in the form DuckDB needs; serialisable so a worker process can open it."""

    kind: str  # "sqlite" | "postgres"
    sqlite_path: str = ""
    pg_params: dict[str, str] = field(default_factory=dict)  # host, port, database, user, password
    pg_options: str = ""  # other libpq keywords, e.g. "sslmode=require"
    pg_schema: str = "public"

    @classmethod
    def from_store(cls, store: Store) -> DuckSource:
        if store.dialect == "sqlite":
            path = store.sqlite_path
            if path is None:
                raise DuckError("the SQLite store has no file path")
            return cls(kind="sqlite", sqlite_path=str(path.resolve()))
        if store.dialect == "postgresql":
            with store.read() as conn:
                schema = conn.execute(text("SELECT current_schema()")).scalar_one() or "public"
            return cls.from_postgres_url(store.url, schema=str(schema))
        raise DuckError(f"DuckDB cannot read a {store.dialect} database")

    @classmethod
    def from_postgres_url(cls, url: str, schema: str = "public") -> DuckSource:
        parsed = make_url(normalise_url(url))
        query = {k: (v if isinstance(v, str) else v[-1]) for k, v in parsed.query.items()}
        params = {
            "host": parsed.host or query.pop("host", "") or "",
            "port": str(parsed.port or query.pop("port", 5432)),
            "database": parsed.database or "",
            "user": parsed.username or "",
            "password": parsed.password or "",
        }
        options = " ".join(f"{k}={_libpq_quote(v)}" for k, v in sorted(query.items()))
        return cls(
            kind="postgres",
            pg_params={k: v for k, v in params.items() if v},
            pg_options=options,
            pg_schema=schema,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DuckSource:
        return cls(**data)

    def secrets(self) -> list[str]:
        """Strings that must never appear in a message shown to a user (passwords, connection details)."""
        values = [self.pg_params.get("password", ""), self.pg_options]
        return [v for v in values if v and len(v) >= 3]


def _libpq_quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def create_base_file(workdir: Path) -> Path:
    """An empty DuckDB database file: the read-only main catalog of a locked-down instance."""
    path = workdir / "analytics.duckdb"
    if not path.exists():
        duckdb.connect(str(path)).close()
    return path


def base_config(threads: int | None, memory_limit: str) -> dict[str, Any]:
    """DuckDB settings every instance of ours starts with: no Python replacement scans, no extension downloads."""
    return {
        "python_enable_replacements": False,
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        "allow_community_extensions": False,
        "memory_limit": memory_limit,
        "threads": threads or max(1, os.cpu_count() or 1),
    }


def lock(con: duckdb.DuckDBPyConnection) -> None:
    """No files, no network, no further configuration changes for this instance."""
    con.execute("SET enable_progress_bar = false")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


def attach_source(con: duckdb.DuckDBPyConnection, source: DuckSource) -> None:
    """Load the bundled extension and attach the app database read-only as `athena_source`."""
    con.execute(f"LOAD {sql_string(str(extension_path(source.kind)))}")
    if source.kind == "sqlite":
        con.execute(f"ATTACH {sql_string(source.sqlite_path)} AS {SOURCE_CATALOG} (TYPE sqlite, READ_ONLY)")
    else:
        parts = ", ".join(f"{k.upper()} {sql_string(v)}" for k, v in source.pg_params.items())
        con.execute(f"CREATE TEMPORARY SECRET {_SECRET_NAME} (TYPE postgres{', ' + parts if parts else ''})")
        con.execute(
            f"ATTACH {sql_string(source.pg_options)} AS {SOURCE_CATALOG} "
            f"(TYPE postgres, SECRET {_SECRET_NAME}, READ_ONLY)"
        )


def scrub(message: str, source: DuckSource) -> str:
    """The message with the source's password and connection options replaced by ***."""
    for secret in source.secrets():
        message = message.replace(secret, "***")
    return message


def open_locked(
    source: DuckSource, base_file: Path, *, threads: int | None = None, memory_limit: str = "1GB"
) -> duckdb.DuckDBPyConnection:
    """Open a read-only DuckDB instance over `source`, attach it read-only and lock the configuration.

    The returned connection has the views (see `add_views`); further connections come from `.cursor()`
    followed by `add_views(cursor, source)`.
    """
    try:
        con = duckdb.connect(str(base_file), read_only=True, config=base_config(threads, memory_limit))
    except duckdb.Error as exc:
        raise DuckError(f"cannot open DuckDB: {first_line(exc)}") from None
    try:
        attach_source(con, source)
        lock(con)
        add_views(con, source)
    except duckdb.Error as exc:
        con.close()
        raise DuckError(
            f"cannot attach the app database to DuckDB: {scrub(first_line(exc), source)}"
        ) from None
    return con


class ChangeToken:
    """A cheap value that changes whenever the app database may have changed (see DuckPool.change_token)."""

    def __init__(self, store: Store):
        self.source_kind = "sqlite" if store.dialect == "sqlite" else "postgres"
        self._sqlite_path = str(store.sqlite_path.resolve()) if store.sqlite_path is not None else ""
        self._engine = store.engine  # not the Store: holders must not keep their Store alive
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def __call__(self) -> str:
        if self.source_kind == "sqlite":
            with self._lock:
                if self._conn is None:
                    uri = Path(self._sqlite_path).as_uri() + "?mode=ro"
                    self._conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
                version = self._conn.execute("PRAGMA data_version").fetchone()[0]
            return f"sqlite:{version}"
        with self._engine.connect() as conn:
            snapshot = conn.execute(text("SELECT txid_current_snapshot()::text")).scalar_one()
        return f"postgres:{snapshot}"

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def source_tables(con: duckdb.DuckDBPyConnection, source: DuckSource) -> set[str]:
    """Names of the tables that exist in the attached app database."""
    schema = "main" if source.kind == "sqlite" else source.pg_schema
    rows = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = ?",
        [SOURCE_CATALOG, schema],
    ).fetchall()
    return {str(r[0]) for r in rows}


def add_views(con: duckdb.DuckDBPyConnection, source: DuckSource) -> list[str]:
    """Create this connection's temporary views, one per exposed table present in the source."""
    schema = "main" if source.kind == "sqlite" else source.pg_schema
    present = source_tables(con, source)
    made = []
    for name in exposed_tables():
        if name in present:
            con.execute(
                f"CREATE OR REPLACE TEMP VIEW {quote_ident(name)} AS "
                f"SELECT * FROM {SOURCE_CATALOG}.{quote_ident(schema)}.{quote_ident(name)}"
            )
            made.append(name)
    return made


def first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
