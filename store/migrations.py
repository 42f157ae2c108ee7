"""Named, ordered schema migrations. Each runs in one transaction and is recorded in schema_migrations.

A migration declares the tables it creates as they were at that version (a snapshot), never by importing
store.schema, so that later changes to the current schema don't rewrite history.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Connection,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    false,
    func,
    inspect,
    text,
)

log = logging.getLogger(__name__)


class MigrationError(RuntimeError):
    """The database cannot be brought to this version's schema."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    apply: Callable[[Connection], None]


def m001_initial(conn: Connection) -> None:
    """The seed schema: five tables and their indexes, foreign keys enforced, scores kept in 0..1."""
    md = MetaData()
    Table(
        "employees",
        md,
        Column("id", Text, primary_key=True),
        Column("name", Text, nullable=False),
        Column("department", Text),
        Column("role", Text),
    )
    sessions = Table(
        "interview_sessions",
        md,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("employee_id", Text, ForeignKey("employees.id", ondelete="CASCADE")),
        Column("start_time", DateTime, server_default=func.current_timestamp()),
        Column("end_time", DateTime),
        Column("overall_score", Float),
        sqlite_autoincrement=True,
    )
    questions = Table(
        "interview_questions",
        md,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("session_id", Integer, ForeignKey("interview_sessions.id", ondelete="CASCADE")),
        Column("question_text", Text, nullable=False),
        Column("category", Text, nullable=False),
        Column("difficulty", Text, nullable=False),
        Column("timestamp", DateTime, server_default=func.current_timestamp()),
        sqlite_autoincrement=True,
    )
    responses = Table(
        "interview_responses",
        md,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("session_id", Integer, ForeignKey("interview_sessions.id", ondelete="CASCADE")),
        Column("question_id", Integer, ForeignKey("interview_questions.id", ondelete="CASCADE")),
        Column("response_text", Text),
        Column(
            "score",
            Float,
            CheckConstraint("score >= 0.0 AND score <= 1.0", name="ck_responses_score_range"),
            nullable=False,
        ),
        Column("feedback", Text),
        Column("timestamp", DateTime, server_default=func.current_timestamp()),
        sqlite_autoincrement=True,
    )
    Table(
        "session_reports",
        md,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("session_id", Integer, ForeignKey("interview_sessions.id", ondelete="CASCADE"), unique=True),
        Column("strengths", Text),
        Column("weaknesses", Text),
        Column("recommendations", Text),
        Column("overall_assessment", Text),
        sqlite_autoincrement=True,
    )
    Index("idx_sessions_employee_start", sessions.c.employee_id, sessions.c.start_time)
    Index("idx_questions_session_category", questions.c.session_id, questions.c.category)
    Index("idx_responses_session_score", responses.c.session_id, responses.c.score)
    md.create_all(conn, checkfirst=False)


def _add_columns(conn: Connection, table: str, columns: list[tuple[str, str]]) -> None:
    for name, ddl in columns:
        conn.execute(text(f'ALTER TABLE {table} ADD COLUMN "{name}" {ddl}'))


def m002_interview_evidence(conn: Connection) -> None:
    """Session state (status, brain, plan), the bank id of each question, and the evidence behind each score."""
    ts = "TIMESTAMP"
    _add_columns(
        conn,
        "interview_sessions",
        [
            ("status", "TEXT NOT NULL DEFAULT 'in_progress'"),
            ("brain", "TEXT"),
            ("mode", "TEXT"),
            ("plan", "TEXT"),
            ("updated_at", ts),
            ("ended_reason", "TEXT"),
        ],
    )
    _add_columns(
        conn, "interview_questions", [("question_ref", "TEXT"), ("kind", "TEXT"), ("position", "INTEGER")]
    )
    _add_columns(
        conn,
        "interview_responses",
        [
            ("scored_by", "TEXT"),
            ("rubric_version", "TEXT"),
            ("evidence", "TEXT"),
            ("sql_text", "TEXT"),
            ("grade_verdict", "TEXT"),
            ("grade_score", "REAL" if conn.dialect.name == "sqlite" else "DOUBLE PRECISION"),
        ],
    )
    _add_columns(conn, "session_reports", [("created_at", ts), ("details", "TEXT")])
    conn.execute(text("CREATE UNIQUE INDEX ux_responses_question ON interview_responses (question_id)"))
    conn.execute(text("CREATE INDEX idx_sessions_status ON interview_sessions (status)"))


def m003_accounts_and_audit(conn: Connection) -> None:
    """Lead and admin accounts, the audit log, and score overrides that keep the original score."""
    md = MetaData()
    Table("interview_responses", md, Column("id", Integer, primary_key=True))  # referenced only
    new = [
        Table(
            "users",
            md,
            Column("id", Integer, primary_key=True, autoincrement=True),
            Column("username", Text, nullable=False, unique=True),
            Column("password_hash", Text, nullable=False),
            Column(
                "role",
                Text,
                CheckConstraint("role IN ('admin', 'lead')", name="ck_users_role"),
                nullable=False,
            ),
            Column("disabled", Boolean, nullable=False, server_default=false()),
            Column("created_at", DateTime, nullable=False),
            sqlite_autoincrement=True,
        ),
        Table(
            "audit_log",
            md,
            Column("id", Integer, primary_key=True, autoincrement=True),
            Column("at", DateTime, nullable=False),
            Column("actor", Text, nullable=False),
            Column("action", Text, nullable=False),
            Column("target", Text),
            Column("detail", Text),
            sqlite_autoincrement=True,
        ),
        Table(
            "score_overrides",
            md,
            Column("id", Integer, primary_key=True, autoincrement=True),
            Column(
                "response_id",
                Integer,
                ForeignKey("interview_responses.id", ondelete="CASCADE"),
                nullable=False,
            ),
            Column("original_score", Float, nullable=False),
            Column(
                "new_score",
                Float,
                CheckConstraint("new_score >= 0.0 AND new_score <= 1.0", name="ck_override_range"),
                nullable=False,
            ),
            Column("reason", Text, nullable=False),
            Column("actor", Text, nullable=False),
            Column("at", DateTime, nullable=False),
            sqlite_autoincrement=True,
        ),
    ]
    md.create_all(conn, tables=new, checkfirst=False)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "m001_initial", m001_initial),
    Migration(2, "m002_interview_evidence", m002_interview_evidence),
    Migration(3, "m003_accounts_and_audit", m003_accounts_and_audit),
)
LATEST_VERSION = MIGRATIONS[-1].version

_LEDGER_DDL = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMP NOT NULL)"
)


def applied_versions(conn: Connection) -> dict[int, str]:
    if not inspect(conn).has_table("schema_migrations"):
        return {}
    rows = conn.execute(text("SELECT version, name FROM schema_migrations")).all()
    return {int(v): str(n) for v, n in rows}


def check_not_newer(applied: dict[int, str], where: str) -> None:
    newest = max(applied, default=0)
    if newest > LATEST_VERSION:
        raise MigrationError(
            f"The database {where} was written by a newer version of Athena (schema version {newest}; "
            f"this version knows up to {LATEST_VERSION}). Upgrade Athena, or point DATABASE_URL at another database."
        )


def _lock(conn: Connection) -> None:
    """Serialise migrators: two processes starting at once must not both apply the same step."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(7428361)"))


def migrate(begin_write: Callable[[], object], where: str) -> list[str]:
    """Apply every pending migration, each in its own transaction; return the names applied."""
    done: list[str] = []
    with begin_write() as conn:  # type: ignore[attr-defined]
        _lock(conn)
        conn.execute(text(_LEDGER_DDL))
        check_not_newer(applied_versions(conn), where)
    for migration in MIGRATIONS:
        with begin_write() as conn:  # type: ignore[attr-defined]
            _lock(conn)
            applied = applied_versions(conn)
            check_not_newer(applied, where)
            if migration.version in applied:
                if applied[migration.version] != migration.name:
                    raise MigrationError(
                        f"The database {where} recorded migration {migration.version} as "
                        f"{applied[migration.version]!r}, but this version calls it {migration.name!r}."
                    )
                continue
            log.info("applying migration", extra={"migration": migration.name})
            migration.apply(conn)
            conn.execute(
                text("INSERT INTO schema_migrations (version, name, applied_at) VALUES (:v, :n, :t)"),
                {"v": migration.version, "n": migration.name, "t": datetime.now(UTC).replace(tzinfo=None)},
            )
            done.append(migration.name)
    return done
