"""The SQL console: what it runs, what it refuses (a hostile lead's attack table, on SQLite and PostgreSQL),
that refusals leave the database unchanged, time limit, row cap, memory cap, and POST /api/query's contract."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, text

from analytics import accounts
from analytics.console import Console, ConsoleError, ConsoleLimits
from analytics.console_ui import SAMPLES
from analytics.duck import SOURCE_CATALOG, extension_path
from settings import load_settings
from store import Store
from store.repo import utcnow
from store.schema import audit_log, users

SECRET_HASH = "argon2-SECRET-HASH-MARKER"
SECRET_AUDIT = "SECRET-AUDIT-MARKER"
LEAD = ("lead1", "lead-password-1")
TIMEOUT_S = 1.0
MAX_ROWS = 50


def seed(store: Store) -> None:
    """A small but real data set, plus private rows whose markers must never come back."""
    with store.write() as conn:
        conn.execute(
            text(
                "INSERT INTO employees (id, name, department, role) VALUES "
                "('e1','Ada','eng','analyst'),('e2','Bo','sales','manager'),('e3','Cy','eng','dev')"
            )
        )
        for sid, emp in ((1, "e1"), (2, "e2"), (3, "e1")):
            conn.execute(
                text(
                    "INSERT INTO interview_sessions (id, employee_id, start_time, overall_score, status) "
                    "VALUES (:i, :e, :t, :score, 'completed')"
                ),
                {"i": sid, "e": emp, "t": datetime(2025, 3, sid, 10), "score": 0.5 + sid / 10},
            )
            for pos in range(3):
                qid = sid * 10 + pos
                conn.execute(
                    text(
                        "INSERT INTO interview_questions (id, session_id, question_text, category, "
                        "difficulty, position) VALUES (:q, :s, 'Q' || :q, 'joins', 'easy', :p)"
                    ),
                    {"q": qid, "s": sid, "p": pos},
                )
                conn.execute(
                    text(
                        "INSERT INTO interview_responses (session_id, question_id, response_text, score, "
                        "feedback) VALUES (:s, :q, 'answer', :sc, 'ok')"
                    ),
                    {"s": sid, "q": qid, "sc": (pos + 1) / 4},
                )
        conn.execute(
            insert(users).values(
                username="victim",
                password_hash=SECRET_HASH,
                role="admin",
                disabled=False,
                created_at=utcnow(),
            )
        )
        conn.execute(
            insert(audit_log).values(at=utcnow(), actor="victim", action="x", target="y", detail=SECRET_AUDIT)
        )
    accounts.create_account(store, *LEAD, "lead", actor="test")
    if store.dialect == "postgresql":  # keep the sequences in step with the explicit ids above
        with store.write() as conn:
            for table in ("interview_sessions", "interview_questions"):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )


def fingerprint(store: Store) -> dict[str, Any]:
    """Every table's name, row count and content checksum; plus the SQLite file's hash."""
    out: dict[str, Any] = {}
    with store.read() as conn:
        if store.dialect == "sqlite":
            names = [
                r[0]
                for r in conn.execute(
                    text("SELECT name FROM sqlite_master WHERE type IN ('table','view') ORDER BY name")
                )
            ]
        else:
            names = [
                r[0]
                for r in conn.execute(
                    text(
                        "SELECT table_schema || '.' || table_name FROM information_schema.tables "
                        "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"
                    )
                )
            ]
        for name in names:
            rows = sorted(str(tuple(r)) for r in conn.execute(text(f"SELECT * FROM {name}")))
            out[name] = (len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest())
    if store.sqlite_path is not None:
        for suffix in ("", "-wal"):
            path = Path(str(store.sqlite_path) + suffix)
            out[f"file{suffix}"] = hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None
    return out


@dataclass
class Env:
    store: Store
    client: TestClient
    placeholders: dict[str, str]

    def fill(self, sql: str) -> str:
        for key, value in self.placeholders.items():
            sql = sql.replace("{" + key + "}", value)
        return sql

    def query(self, sql: str, auth: tuple[str, str] | None = LEAD) -> Any:
        return self.client.post("/api/query", json={"sql": sql}, auth=auth)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    from app import build_app

    tmp = tmp_path_factory.mktemp(f"console-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'athena.db'}"
    else:
        url = request.getfixturevalue("postgres_database")
        reset = Store.open(url, migrate=False)
        with reset.write() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        reset.close()
    settings = load_settings(
        {
            "DATABASE_URL": url,
            "ATHENA_LOG_FORMAT": "text",
            "ATHENA_CONSOLE_TIMEOUT_S": str(TIMEOUT_S),
            "ATHENA_CONSOLE_MAX_ROWS": str(MAX_ROWS),
            "ATHENA_API_RATE_LIMIT": "0",  # this file sends hundreds of requests from one address
        },
        env_file=tmp / "none.env",
    )
    app = build_app(settings)
    seed(app.store)
    if app.store.dialect == "sqlite":
        with app.store.write() as conn:
            conn.exec_driver_sql("COMMIT")  # the checkpoint below must run outside a transaction
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.exec_driver_sql("BEGIN")
    other = tmp / "other.db"
    other.write_bytes(b"")
    (tmp / "export").mkdir()  # a real export: parsing IMPORT DATABASE would read it on an unlocked connection
    (tmp / "export" / "schema.sql").write_text("CREATE TABLE planted (a INTEGER);\n")
    (tmp / "export" / "load.sql").write_text("")
    placeholders = {
        "db": str(app.store.sqlite_path or ""),
        "pg": url if request.param == "postgres" else "postgresql://postgres@127.0.0.1:5432/test",
        "other": str(other),
        "tmp": str(tmp),
        "ext": str(extension_path("sqlite")),
    }
    with TestClient(app.api, base_url="http://127.0.0.1") as client:
        env = Env(app.store, client, placeholders)
        env.query("SELECT 1")  # warm up: worker started, copy of the database built
        yield env
    app.close()
    if request.param == "postgres":
        cleanup = Store.open(url, migrate=False)
        with cleanup.write() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        cleanup.close()


# (id, sql, expected status, fragment of the error message)
ATTACKS: list[tuple[str, str, int, str]] = [
    # writes and DDL
    ("insert", "INSERT INTO employees VALUES ('x', 'x', 'x', 'x')", 400, "INSERT statements are not allowed"),
    ("update", "UPDATE interview_responses SET score = 1", 400, "UPDATE statements are not allowed"),
    ("delete", "DELETE FROM employees", 400, "DELETE statements are not allowed"),
    ("truncate", "TRUNCATE employees", 400, "statements are not allowed"),
    ("create", "CREATE TABLE t AS SELECT 1 AS a", 400, "CREATE statements are not allowed"),
    (
        "create-temp-view",
        f"CREATE TEMP VIEW v AS SELECT * FROM {SOURCE_CATALOG}.users",
        400,
        "CREATE statements",
    ),
    ("create-macro", "CREATE MACRO m() AS TABLE SELECT 1", 400, "CREATE statements are not allowed"),
    ("drop", "DROP TABLE employees", 400, "DROP statements are not allowed"),
    ("alter", "ALTER TABLE employees ADD COLUMN x INTEGER", 400, "ALTER statements are not allowed"),
    ("insert-via-cte", "WITH x AS (SELECT 1) INSERT INTO employees SELECT 'a','b','c','d'", 400, "INSERT"),
    # several statements, comment / case / whitespace tricks
    ("two-statements", "SELECT 1; DROP TABLE employees", 400, "one statement at a time"),
    ("two-selects", "SELECT 1; SELECT 2", 400, "one statement at a time"),
    ("comment-hides-drop", "/* harmless */ DROP TABLE employees", 400, "DROP statements are not allowed"),
    ("line-comment-then-drop", "SELECT 1 --\n; DROP TABLE employees", 400, "one statement at a time"),
    ("mixed-case-users", "sElEcT * fRoM UsErS", 400, "users is private"),
    ("quoted-users", 'SELECT * FROM "users"', 400, "users is private"),
    ("whitespace-users", "\n\t FROM\n\n  users\t;", 400, "users is private"),
    ("comment-glued-users", "SELECT * FROM/**/audit_log", 400, "audit_log is private"),
    # attaching, detaching, switching
    ("attach-app-db", "ATTACH '{db}' AS w", 400, "ATTACH statements are not allowed"),
    ("attach-app-db-writable", "ATTACH '{db}' AS w (TYPE sqlite, READ_WRITE)", 400, "ATTACH statements"),
    ("attach-other", "ATTACH '{other}' AS o", 400, "ATTACH statements are not allowed"),
    ("attach-memory", "ATTACH ':memory:' AS m", 400, "ATTACH statements are not allowed"),
    ("attach-postgres", "ATTACH '{pg}' AS p (TYPE postgres)", 400, "ATTACH statements are not allowed"),
    ("detach", f"DETACH {SOURCE_CATALOG}", 400, "DETACH statements are not allowed"),
    ("use", f"USE {SOURCE_CATALOG}", 400, "SET statements are not allowed"),
    # files out and in
    ("copy-to", "COPY employees TO '{tmp}/out.csv'", 400, "COPY statements are not allowed"),
    ("copy-query-to", "COPY (SELECT * FROM employees) TO '{tmp}/out.parquet' (FORMAT parquet)", 400, "COPY"),
    ("copy-from", "COPY employees FROM '{tmp}/in.csv'", 400, "COPY statements are not allowed"),
    ("export", "EXPORT DATABASE '{tmp}/export'", 400, "EXPORT statements are not allowed"),
    ("import", "IMPORT DATABASE '{tmp}/export'", 400, "file system operations are disabled"),
    ("read-csv", "SELECT * FROM read_csv('/etc/passwd')", 400, "read_csv() reads files"),
    ("read-csv-auto", "SELECT * FROM read_csv_auto('/etc/passwd')", 400, "reads files"),
    ("read-text", "SELECT * FROM read_text('/etc/passwd')", 400, "read_text() reads files"),
    ("read-blob-app-db", "SELECT * FROM read_blob('{db}')", 400, "read_blob() reads files"),
    ("read-json", "SELECT * FROM read_json('/etc/hostname')", 400, "read_json() reads files"),
    ("read-parquet", "SELECT * FROM read_parquet('{tmp}/x.parquet')", 400, "read_parquet() reads files"),
    ("glob", "SELECT * FROM glob('/*')", 400, "glob() reads files"),
    ("file-as-table", "SELECT * FROM '/etc/passwd'", 400, "Reading files is not allowed"),
    ("csv-replacement-scan", "FROM 'secrets.csv'", 400, "Reading files is not allowed"),
    ("sqlite-scan-app-users", "SELECT * FROM sqlite_scan('{db}', 'users')", 400, "sqlite_scan() reads files"),
    ("sqlite-scan-other", "SELECT * FROM sqlite_scan('{other}', 'x')", 400, "sqlite_scan() reads files"),
    ("sqlite-query", "SELECT * FROM sqlite_query('{db}', 'SELECT * FROM users')", 400, "reads files"),
    ("postgres-scan", "SELECT * FROM postgres_scan('{pg}', 'public', 'users')", 400, "postgres_scan() reads"),
    (
        "postgres-query",
        f"SELECT * FROM postgres_query('{SOURCE_CATALOG}', 'SELECT * FROM users')",
        400,
        "postgres_query() reads",
    ),
    (
        "postgres-execute",
        f"CALL postgres_execute('{SOURCE_CATALOG}', 'DROP TABLE employees')",
        400,
        "CALL statements are not allowed",
    ),
    (
        "postgres-execute-select",
        f"SELECT * FROM postgres_execute('{SOURCE_CATALOG}', 'DROP TABLE employees')",
        400,
        "postgres_execute() reads",
    ),
    # extensions and configuration
    ("install", "INSTALL httpfs", 400, "LOAD statements are not allowed"),
    ("load", "LOAD sqlite_scanner", 400, "LOAD statements are not allowed"),
    ("load-path", "LOAD '{ext}'", 400, "LOAD statements are not allowed"),
    ("set-external-access", "SET enable_external_access = true", 400, "SET statements are not allowed"),
    ("unlock-configuration", "SET lock_configuration = false", 400, "SET statements are not allowed"),
    ("reset", "RESET enable_external_access", 400, "SET statements are not allowed"),
    ("set-global", "SET GLOBAL threads = 1", 400, "SET statements are not allowed"),
    ("pragma-setting", "PRAGMA threads = 1", 400, "statements are not allowed"),
    ("pragma-profiling", "PRAGMA enable_profiling", 400, "statements are not allowed"),
    (
        "pragma-storage-info",
        "PRAGMA storage_info('employees')",
        400,
        "pragma_storage_info() is not available",
    ),
    ("pragma-database-list", "PRAGMA database_list", 400, "no table pragma_database_list"),
    ("call", "CALL pragma_version()", 400, "CALL statements are not allowed"),
    ("checkpoint", "CHECKPOINT", 400, "CALL statements are not allowed"),
    ("force-checkpoint", "FORCE CHECKPOINT", 400, "CALL statements are not allowed"),
    ("transaction", "BEGIN TRANSACTION", 400, "TRANSACTION statements are not allowed"),
    ("vacuum", "VACUUM", 400, "VACUUM statements are not allowed"),
    ("prepare", "PREPARE p AS SELECT * FROM employees", 400, "PREPARE statements are not allowed"),
    ("getenv", "SELECT getenv('HOME')", 400, "getenv() is not available"),
    ("current-setting", "SELECT current_setting('enable_external_access')", 400, "current_setting() is not"),
    ("settings-table", "SELECT * FROM duckdb_settings()", 400, "duckdb_settings() is not available"),
    ("databases-table", "SELECT * FROM duckdb_databases()", 400, "duckdb_databases() is not available"),
    ("databases-view", "SELECT * FROM duckdb_databases", 400, "There is no table duckdb_databases"),
    ("secrets", "SELECT * FROM duckdb_secrets()", 400, "duckdb_secrets() is not available"),
    ("logs", "SELECT * FROM duckdb_logs", 400, "There is no table duckdb_logs"),
    ("sleep", "SELECT sleep_ms(100000)", 400, "sleep_ms() is not available"),
    ("write-log", "SELECT write_log('x')", 400, "write_log() is not available"),
    # private tables, every way round
    ("users", "SELECT * FROM users", 400, "users is private"),
    ("audit-log", "SELECT * FROM audit_log", 400, "audit_log is private"),
    ("schema-migrations", "SELECT * FROM schema_migrations", 400, "schema_migrations is private"),
    ("source-users", f"SELECT * FROM {SOURCE_CATALOG}.users", 400, "users is private"),
    ("source-main-users", f"SELECT password_hash FROM {SOURCE_CATALOG}.main.users", 400, "users is private"),
    ("source-public-users", f"SELECT * FROM {SOURCE_CATALOG}.public.users", 400, "users is private"),
    ("source-employees", f"SELECT * FROM {SOURCE_CATALOG}.employees", 400, "not through athena_source"),
    ("main-users", "SELECT * FROM main.users", 400, "users is private"),
    (
        "scalar-subquery",
        f"SELECT (SELECT max(password_hash) FROM {SOURCE_CATALOG}.users)",
        400,
        "users is private",
    ),
    (
        "in-subquery",
        f"SELECT * FROM employees WHERE id IN (SELECT username FROM {SOURCE_CATALOG}.users)",
        400,
        "users is private",
    ),
    (
        "cte",
        f"WITH x AS (SELECT * FROM {SOURCE_CATALOG}.audit_log) SELECT * FROM x",
        400,
        "audit_log is private",
    ),
    (
        "union",
        f"SELECT name FROM employees UNION ALL SELECT detail FROM {SOURCE_CATALOG}.audit_log",
        400,
        "audit_log is private",
    ),
    ("lateral", f"SELECT * FROM employees, LATERAL (SELECT * FROM {SOURCE_CATALOG}.users) u", 400, "private"),
    (
        "query-table",
        f"SELECT * FROM query_table('{SOURCE_CATALOG}.users')",
        400,
        "query_table() is not available",
    ),
    (
        "query",
        f"SELECT * FROM query('SELECT * FROM {SOURCE_CATALOG}.users')",
        400,
        "query() is not available",
    ),
    ("summarize", f"SUMMARIZE {SOURCE_CATALOG}.users", 400, "users is private"),
    ("summarize-subquery", f"FROM (SUMMARIZE {SOURCE_CATALOG}.audit_log)", 400, "audit_log is private"),
    ("describe-private", "DESCRIBE users", 400, "users is private"),
    ("pivot", f"PIVOT {SOURCE_CATALOG}.users ON role USING count(*)", 400, "several"),
    (
        "pivot-in",
        f"PIVOT {SOURCE_CATALOG}.users ON role IN ('admin') USING max(password_hash)",
        400,
        "private",
    ),
    ("table-sample", f"SELECT * FROM duckdb_table_sample('{SOURCE_CATALOG}.users')", 400, "not available"),
    ("histogram", f"SELECT * FROM histogram({SOURCE_CATALOG}.users, username)", 400, "not available"),
    (
        "explain-analyze-users",
        f"EXPLAIN ANALYZE SELECT * FROM {SOURCE_CATALOG}.users",
        400,
        "users is private",
    ),
    ("explain-delete", "EXPLAIN ANALYZE DELETE FROM employees", 400, "EXPLAIN works on a SELECT"),
    ("explain-options", "EXPLAIN (FORMAT json) SELECT 1", 400, "EXPLAIN options are not supported"),
    (
        "unnest-subquery",
        f"SELECT unnest((SELECT list(password_hash) FROM {SOURCE_CATALOG}.users))",
        400,
        "private",
    ),
    (
        "lambda-subquery",
        f"SELECT list_transform([1], x -> (SELECT max(detail) FROM {SOURCE_CATALOG}.audit_log))",
        400,
        "audit_log is private",
    ),
    # odd input
    ("empty", "   ", 400, "Type a query first"),
    ("only-comment", "-- nothing", 400, "Type a query first"),
    ("nul", "SELECT 1\x00", 400, "NUL"),
    ("too-long", "SELECT 1" + " " * 25_000, 400, "too long"),
    ("parse-error", "SELEKT 1", 400, "Parser Error"),
    ("unknown-table", "SELECT * FROM nope", 400, "There is no table nope"),
    # runaway statements are stopped at the time limit
    (
        "cross-join",
        "SELECT count(*) FROM range(100000) a, range(100000) b, range(100000) c",
        400,
        "longer than",
    ),
    (
        "recursive-cte",
        "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) SELECT count(*) FROM t",
        400,
        "longer than",
    ),
    (
        "view-cross-join",
        "SELECT sum(a.score + b.score + c.score + d.score + e.score + f.score + g.score + h.score + i.score) "
        "FROM interview_responses a, interview_responses b, interview_responses c, interview_responses d, "
        "interview_responses e, interview_responses f, interview_responses g, interview_responses h, "
        "interview_responses i",
        400,
        "longer than",
    ),
    # memory: a single huge value fails in the worker, not in the app
    ("huge-list", "SELECT len(range(300000000))", 400, "memory"),
    ("huge-string", "SELECT length(repeat('x', 1500000000))", 400, "memory"),
]


@pytest.mark.parametrize(("sql", "status", "fragment"), [a[1:] for a in ATTACKS], ids=[a[0] for a in ATTACKS])
def test_attack_is_refused_and_changes_nothing(env: Env, sql: str, status: int, fragment: str) -> None:
    before = fingerprint(env.store)
    started = time.monotonic()
    response = env.query(env.fill(sql))
    took = time.monotonic() - started
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert fragment.lower() in body["error"].lower(), body["error"]
    assert SECRET_HASH not in response.text and SECRET_AUDIT not in response.text
    assert "postgresql://" not in body["error"] and "Traceback" not in body["error"]
    assert took < TIMEOUT_S + 4, f"took {took:.1f} s"
    assert fingerprint(env.store) == before


# Read-only statements of every allowed kind work, and none of them shows a private row.
ALLOWED: list[tuple[str, str]] = [
    ("select", "SELECT id, name FROM employees ORDER BY id"),
    ("from-first", "FROM employees SELECT count(*) AS n"),
    ("with", "WITH s AS (SELECT * FROM interview_sessions) SELECT count(*) FROM s"),
    ("values", "VALUES (1, 'a'), (2, 'b')"),
    ("describe", "DESCRIBE interview_responses"),
    ("show-tables", "SHOW TABLES"),
    ("show-all-tables", "SHOW ALL TABLES"),
    ("summarize", "SUMMARIZE interview_responses"),
    ("pragma-table-info", "PRAGMA table_info('employees')"),
    ("explain", "EXPLAIN SELECT * FROM employees"),
    ("explain-analyze", "EXPLAIN ANALYZE SELECT count(*) FROM interview_responses"),
    ("information-schema", "SELECT table_name, column_name FROM information_schema.columns"),
    ("duckdb-tables", "SELECT table_name, sql FROM duckdb_tables()"),
    ("sqlite-master", "SELECT name FROM sqlite_master"),
    ("cte-named-users", "WITH users AS (SELECT 1 AS id) SELECT * FROM users"),
    ("comment-first", "-- my query\n/* block */ SELECT 1 AS one;"),
    ("range", "SELECT sum(range) FROM range(1000)"),
    ("window", "SELECT employee_id, rank() OVER (ORDER BY overall_score DESC) FROM interview_sessions"),
    ("pivot-with-in", "PIVOT employees ON department IN ('eng', 'sales') USING count(*)"),
    *[(f"sample-{name}", sql) for name, sql in SAMPLES.items()],
]


@pytest.mark.parametrize("sql", [a[1] for a in ALLOWED], ids=[a[0] for a in ALLOWED])
def test_read_only_statements_run(env: Env, sql: str) -> None:
    before = fingerprint(env.store)
    response = env.query(sql)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"columns", "rows", "truncated", "elapsed_ms"}
    assert isinstance(body["columns"], list) and body["columns"]
    assert all(len(row) == len(body["columns"]) for row in body["rows"])
    assert SECRET_HASH not in response.text and SECRET_AUDIT not in response.text
    assert fingerprint(env.store) == before


def test_results_are_the_real_data(env: Env) -> None:
    body = env.query(
        "SELECT e.name, count(*) AS n, round(avg(r.score), 2) AS avg FROM interview_responses r "
        "JOIN interview_sessions s ON s.id = r.session_id JOIN employees e ON e.id = s.employee_id "
        "GROUP BY e.name ORDER BY e.name"
    ).json()
    assert body["columns"] == ["name", "n", "avg"]
    assert body["rows"] == [["Ada", 6, 0.5], ["Bo", 3, 0.5]]
    assert body["truncated"] is False and body["elapsed_ms"] >= 0


def test_new_rows_are_visible_at_once(env: Env) -> None:
    with env.store.write() as conn:
        conn.execute(text("INSERT INTO employees (id, name) VALUES ('fresh', 'Fresh')"))
    try:
        assert env.query("SELECT name FROM employees WHERE id = 'fresh'").json()["rows"] == [["Fresh"]]
    finally:
        with env.store.write() as conn:
            conn.execute(text("DELETE FROM employees WHERE id = 'fresh'"))


def test_row_cap_says_truncated(env: Env) -> None:
    body = env.query("SELECT * FROM range(100000)").json()
    assert len(body["rows"]) == MAX_ROWS and body["truncated"] is True
    exact = env.query(f"SELECT * FROM range({MAX_ROWS})").json()
    assert len(exact["rows"]) == MAX_ROWS and exact["truncated"] is False


def test_huge_values_are_shortened_and_flagged(env: Env) -> None:
    body = env.query("SELECT repeat('x', 50000) AS big").json()
    assert body["truncated"] is True and len(body["rows"][0][0]) <= 10_001


def test_values_become_json(env: Env) -> None:
    body = env.query(
        "SELECT 1.5::DECIMAL(4,2) AS d, DATE '2025-01-02' AS day, TIMESTAMP '2025-01-02 03:04:05' AS ts,"
        " 'nan'::DOUBLE AS nan, [1, 2] AS list, {'a': 1} AS struct, '\\x01'::BLOB AS blob, NULL AS n,"
        " INTERVAL 2 HOUR AS span, true AS flag"
    ).json()
    assert body["rows"] == [
        [1.5, "2025-01-02", "2025-01-02T03:04:05", None, [1, 2], {"a": 1}, "\\x01", None, "2:00:00", True]
    ]


class TestApiContract:
    def test_anonymous_gets_401_with_basic_challenge(self, env: Env) -> None:
        response = env.query("SELECT 1", auth=None)
        assert response.status_code == 401
        assert response.json() == {"error": "Sign in as a team lead or admin to use this."}
        assert response.headers["www-authenticate"].startswith("Basic")

    def test_wrong_password_gets_401(self, env: Env) -> None:
        assert env.query("SELECT 1", auth=(LEAD[0], "wrong-password")).status_code == 401

    def test_body_over_the_limit_gets_413(self, env: Env) -> None:
        response = env.client.post(
            "/api/query",
            content=json.dumps({"sql": "SELECT 1" + " " * 70_000}),
            headers={"content-type": "application/json"},
            auth=LEAD,
        )
        assert response.status_code == 413 and "larger than 65536 bytes" in response.json()["error"]

    def test_streamed_body_over_the_limit_gets_413(self, env: Env) -> None:
        def chunks() -> Iterator[bytes]:
            yield b'{"sql": "SELECT 1'
            for _ in range(100):
                yield b" " * 1000
            yield b'"}'

        response = env.client.post(
            "/api/query", content=chunks(), headers={"content-type": "application/json"}, auth=LEAD
        )
        assert response.status_code == 413

    @pytest.mark.parametrize(
        ("body", "content_type", "status", "fragment"),
        [
            (b'{"sql": "SELECT 1"}', "text/plain", 415, "Content-Type: application/json"),
            (b"not json", "application/json", 400, "not valid JSON"),
            (b"[" * 30000 + b"]" * 30000, "application/json", 400, "not valid JSON"),
            (b'{"query": "SELECT 1"}', "application/json", 400, 'exactly one field, "sql"'),
            (b'{"sql": 1}', "application/json", 400, 'exactly one field, "sql"'),
            (b'{"sql": "SELECT 1", "x": 1}', "application/json", 400, 'exactly one field, "sql"'),
        ],
    )
    def test_malformed_requests_say_what_is_wrong(
        self, env: Env, body: bytes, content_type: str, status: int, fragment: str
    ) -> None:
        response = env.client.post(
            "/api/query", content=body, headers={"content-type": content_type}, auth=LEAD
        )
        assert response.status_code == status and fragment in response.json()["error"]

    def test_cross_site_cookie_request_is_refused(self, env: Env) -> None:
        response = env.client.post(
            "/api/query", json={"sql": "SELECT 1"}, auth=LEAD, headers={"origin": "http://evil.example"}
        )
        assert response.status_code == 403


# ---- the worker process itself (one backend is enough: this is about processes, not SQL)
@pytest.fixture
def console(sqlite_store: Store) -> Iterator[Console]:
    seed(sqlite_store)
    console = Console(sqlite_store, ConsoleLimits(timeout_s=0.5, max_rows=10, workers=1))
    for _ in range(3):  # warm up: start the worker, build and open the copy (slow on a busy machine)
        try:
            console.run("SELECT 1")
            break
        except ConsoleError:
            pass
    yield console
    console.close()


def test_time_limit_is_kept(console: Console) -> None:
    console.run("SELECT 1")  # start the worker and build the copy first: neither counts against the limit
    started = time.monotonic()
    with pytest.raises(ConsoleError, match=r"ran longer than 0.5 s and was stopped"):
        console.run("WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) SELECT count(*) FROM t")
    assert time.monotonic() - started < 0.5 + 1.0
    assert console.run("SELECT 42 AS x").rows == [[42]]  # the same worker goes on serving


def test_a_worker_that_stops_answering_is_killed_and_replaced(console: Console) -> None:
    for _ in range(2):  # settle: the first copy of the database may be followed by one more (SQLite's WAL)
        console.run("SELECT 1")
    worker = console._idle[0]
    os.kill(worker.proc.pid, signal.SIGSTOP)  # it can no longer interrupt itself
    started = time.monotonic()
    with pytest.raises(ConsoleError, match="ran longer than"):
        console.run("SELECT 1")
    assert time.monotonic() - started < 0.5 + 2.0
    assert worker.proc.poll() is not None
    assert console.run("SELECT 2 AS x").rows == [[2]]


def test_worker_environment_holds_no_secrets(console: Console, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATHENA_ADMIN_PASSWORD", "do-not-leak")
    console.run("SELECT 1")
    worker = console._idle[0]
    environ = Path(f"/proc/{worker.proc.pid}/environ").read_bytes()
    assert b"do-not-leak" not in environ and b"DATABASE_URL" not in environ


def test_worker_cannot_write_files(console: Console) -> None:
    console.run("SELECT 1")
    limits = Path(f"/proc/{console._idle[0].proc.pid}/limits").read_text()
    file_size = next(line for line in limits.splitlines() if line.startswith("Max file size"))
    assert file_size.split()[3:5] == ["0", "0"]


# ---- the console's copy of the database
def test_the_copy_holds_only_the_exposed_tables(any_store: Store, tmp_path: Path) -> None:
    import duckdb

    from analytics.console_snapshot import ConsoleSnapshots
    from analytics.duck import exposed_tables

    seed(any_store)
    snapshots = ConsoleSnapshots(any_store, tmp_path)
    try:
        path = snapshots.current()
        con = duckdb.connect(str(path), read_only=True)
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        con.close()
        assert tables == set(exposed_tables())
        raw = path.read_bytes()
        assert SECRET_HASH.encode() not in raw and SECRET_AUDIT.encode() not in raw
        settled = snapshots.current()  # DuckDB's first read of a SQLite file bumps its data_version once
        assert snapshots.current() == settled  # unchanged data: the same copy
    finally:
        snapshots.close()


def test_a_slow_copy_is_rebuilt_in_the_background(sqlite_store: Store, tmp_path: Path) -> None:
    from analytics.console_snapshot import ConsoleSnapshots

    snapshots = ConsoleSnapshots(sqlite_store, tmp_path)
    try:
        snapshots.current()
        first = snapshots.current()  # settled (see test_the_copy_holds_only_the_exposed_tables)
        with sqlite_store.write() as conn:
            conn.execute(text("INSERT INTO employees (id, name) VALUES ('late', 'Late')"))
        snapshots._last_build_s = 60.0  # pretend a rebuild takes a minute: a big database
        assert snapshots.current() == first  # answered at once from the previous copy
        deadline = time.monotonic() + 30
        while snapshots.current() == first and time.monotonic() < deadline:
            time.sleep(0.05)
        assert snapshots.current() != first
    finally:
        snapshots.close()
