"""The current schema as SQLAlchemy Core tables: the seed's five tables (names and columns are a contract)
plus Athena's additions. Migrations in store/migrations.py build exactly this; a test checks they agree."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
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
)

metadata = MetaData()

# ---- the seed's tables (never rename; columns may only be added)
employees = Table(
    "employees",
    metadata,
    Column("id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("department", Text),
    Column("role", Text),
)

interview_sessions = Table(
    "interview_sessions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("employee_id", Text, ForeignKey("employees.id", ondelete="CASCADE")),
    Column("start_time", DateTime, server_default=func.current_timestamp()),
    Column("end_time", DateTime),
    Column("overall_score", Float),
    # added by m002
    Column("status", Text, nullable=False, server_default="in_progress"),
    Column("brain", Text),
    Column("mode", Text),
    Column("plan", Text),
    Column("updated_at", DateTime),
    Column("ended_reason", Text),
    sqlite_autoincrement=True,
)

interview_questions = Table(
    "interview_questions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("session_id", Integer, ForeignKey("interview_sessions.id", ondelete="CASCADE")),
    Column("question_text", Text, nullable=False),
    Column("category", Text, nullable=False),
    Column("difficulty", Text, nullable=False),
    Column("timestamp", DateTime, server_default=func.current_timestamp()),
    # added by m002
    Column("question_ref", Text),
    Column("kind", Text),
    Column("position", Integer),
    sqlite_autoincrement=True,
)

interview_responses = Table(
    "interview_responses",
    metadata,
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
    # added by m002
    Column("scored_by", Text),
    Column("rubric_version", Text),
    Column("evidence", Text),
    Column("sql_text", Text),
    Column("grade_verdict", Text),
    Column("grade_score", Float),
    sqlite_autoincrement=True,
)

session_reports = Table(
    "session_reports",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("session_id", Integer, ForeignKey("interview_sessions.id", ondelete="CASCADE"), unique=True),
    Column("strengths", Text),
    Column("weaknesses", Text),
    Column("recommendations", Text),
    Column("overall_assessment", Text),
    # added by m002
    Column("created_at", DateTime),
    Column("details", Text),
    sqlite_autoincrement=True,
)

Index("idx_sessions_employee_start", interview_sessions.c.employee_id, interview_sessions.c.start_time)
Index("idx_questions_session_category", interview_questions.c.session_id, interview_questions.c.category)
Index("idx_responses_session_score", interview_responses.c.session_id, interview_responses.c.score)
# added by m002: one evaluation per asked question, enforced by the database
Index("ux_responses_question", interview_responses.c.question_id, unique=True)
Index("idx_sessions_status", interview_sessions.c.status)

# ---- Athena's own tables
schema_migrations = Table(
    "schema_migrations",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("name", Text, nullable=False),
    Column("applied_at", DateTime, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", Text, nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("role", Text, CheckConstraint("role IN ('admin', 'lead')", name="ck_users_role"), nullable=False),
    Column("disabled", Boolean, nullable=False, server_default=false()),
    Column("created_at", DateTime, nullable=False),
    sqlite_autoincrement=True,
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime, nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("target", Text),
    Column("detail", Text),
    sqlite_autoincrement=True,
)

score_overrides = Table(
    "score_overrides",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("response_id", Integer, ForeignKey("interview_responses.id", ondelete="CASCADE"), nullable=False),
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
)

SEED_TABLES = (
    "employees",
    "interview_sessions",
    "interview_questions",
    "interview_responses",
    "session_reports",
)
# Tables never readable through the console or the analytics.
PRIVATE_TABLES = ("users", "audit_log", "schema_migrations")
