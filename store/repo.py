"""Repository functions: the only SQL the domain runs. Each takes a Connection inside a Store transaction."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, func, insert, select, update

from store.schema import (
    employees,
    interview_questions,
    interview_responses,
    interview_sessions,
    session_reports,
)


def utcnow() -> datetime:
    """Naive UTC timestamps, the way both backends store TIMESTAMP."""
    return datetime.now(UTC).replace(tzinfo=None)


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def from_json(value: str | None) -> Any:
    return json.loads(value) if value else None


# ---- employees
def get_employee(conn: Connection, employee_id: str) -> RowMapping | None:
    return conn.execute(select(employees).where(employees.c.id == employee_id)).mappings().first()


def upsert_employee(
    conn: Connection, employee_id: str, name: str, department: str | None, role: str | None
) -> bool:
    """Create the employee on first visit, or refresh name/department/role when given; True if created."""
    existing = get_employee(conn, employee_id)
    if existing is None:
        conn.execute(insert(employees).values(id=employee_id, name=name, department=department, role=role))
        return True
    changes = {k: v for k, v in (("name", name), ("department", department), ("role", role)) if v}
    if changes:
        conn.execute(update(employees).where(employees.c.id == employee_id).values(**changes))
    return False


# ---- sessions
def create_session(
    conn: Connection, employee_id: str, *, brain: str, mode: str, plan: Any, now: datetime | None = None
) -> int:
    now = now or utcnow()
    result = conn.execute(
        insert(interview_sessions)
        .values(
            employee_id=employee_id,
            start_time=now,
            updated_at=now,
            status="in_progress",
            brain=brain,
            mode=mode,
            plan=to_json(plan),
        )
        .returning(interview_sessions.c.id)
    )
    return int(result.scalar_one())


def get_session(conn: Connection, session_id: int) -> RowMapping | None:
    return (
        conn.execute(select(interview_sessions).where(interview_sessions.c.id == session_id))
        .mappings()
        .first()
    )


def update_session(conn: Connection, session_id: int, **values: Any) -> None:
    if "plan" in values and not isinstance(values["plan"], str | None):
        values["plan"] = to_json(values["plan"])
    values.setdefault("updated_at", utcnow())
    conn.execute(update(interview_sessions).where(interview_sessions.c.id == session_id).values(**values))


def sessions_for_employee(conn: Connection, employee_id: str, limit: int = 50) -> list[RowMapping]:
    return list(
        conn.execute(
            select(interview_sessions)
            .where(interview_sessions.c.employee_id == employee_id)
            .order_by(interview_sessions.c.start_time.desc(), interview_sessions.c.id.desc())
            .limit(limit)
        ).mappings()
    )


def recent_question_refs(
    conn: Connection, employee_id: str, sessions: int, exclude_session: int | None = None
) -> set[str]:
    """Bank ids of the questions asked in the employee's last `sessions` sessions."""
    if sessions <= 0:
        return set()
    recent = (
        select(interview_sessions.c.id)
        .where(interview_sessions.c.employee_id == employee_id)
        .order_by(interview_sessions.c.start_time.desc(), interview_sessions.c.id.desc())
        .limit(sessions)
    )
    if exclude_session is not None:
        recent = recent.where(interview_sessions.c.id != exclude_session)
    rows = conn.execute(
        select(interview_questions.c.question_ref).where(
            interview_questions.c.session_id.in_(recent.scalar_subquery())
        )
    )
    return {r[0] for r in rows if r[0]}


# ---- questions and responses
def add_question(
    conn: Connection,
    session_id: int,
    *,
    text: str,
    category: str,
    difficulty: str,
    question_ref: str | None,
    kind: str | None,
    position: int,
) -> int:
    result = conn.execute(
        insert(interview_questions)
        .values(
            session_id=session_id,
            question_text=text,
            category=category,
            difficulty=difficulty,
            question_ref=question_ref,
            kind=kind,
            position=position,
            timestamp=utcnow(),
        )
        .returning(interview_questions.c.id)
    )
    return int(result.scalar_one())


def list_questions(conn: Connection, session_id: int) -> list[RowMapping]:
    return list(
        conn.execute(
            select(interview_questions)
            .where(interview_questions.c.session_id == session_id)
            .order_by(interview_questions.c.position, interview_questions.c.id)
        ).mappings()
    )


def add_response(
    conn: Connection,
    session_id: int,
    question_id: int,
    *,
    response_text: str | None,
    score: float,
    feedback: str | None,
    scored_by: str,
    rubric_version: str | None,
    evidence: Any,
    sql_text: str | None = None,
    grade_verdict: str | None = None,
    grade_score: float | None = None,
) -> int:
    result = conn.execute(
        insert(interview_responses)
        .values(
            session_id=session_id,
            question_id=question_id,
            response_text=response_text,
            score=score,
            feedback=feedback,
            timestamp=utcnow(),
            scored_by=scored_by,
            rubric_version=rubric_version,
            evidence=to_json(evidence),
            sql_text=sql_text,
            grade_verdict=grade_verdict,
            grade_score=grade_score,
        )
        .returning(interview_responses.c.id)
    )
    return int(result.scalar_one())


def list_responses(conn: Connection, session_id: int) -> list[RowMapping]:
    return list(
        conn.execute(
            select(interview_responses)
            .where(interview_responses.c.session_id == session_id)
            .order_by(interview_responses.c.id)
        ).mappings()
    )


# ---- reports
def add_report(
    conn: Connection,
    session_id: int,
    *,
    strengths: str,
    weaknesses: str,
    recommendations: str,
    overall_assessment: str,
    details: Any,
) -> int:
    result = conn.execute(
        insert(session_reports)
        .values(
            session_id=session_id,
            strengths=strengths,
            weaknesses=weaknesses,
            recommendations=recommendations,
            overall_assessment=overall_assessment,
            created_at=utcnow(),
            details=to_json(details),
        )
        .returning(session_reports.c.id)
    )
    return int(result.scalar_one())


def get_report(conn: Connection, session_id: int) -> RowMapping | None:
    return (
        conn.execute(select(session_reports).where(session_reports.c.session_id == session_id))
        .mappings()
        .first()
    )


# ---- overview
def counts(conn: Connection) -> dict[str, int]:
    """How much is stored: employees, sessions (all / completed / in progress), answers."""

    def scalar(stmt: Any) -> int:
        return int(conn.execute(stmt).scalar_one() or 0)

    return {
        "employees": scalar(select(func.count()).select_from(employees)),
        "sessions": scalar(select(func.count()).select_from(interview_sessions)),
        "completed": scalar(
            select(func.count())
            .select_from(interview_sessions)
            .where(interview_sessions.c.status == "completed")
        ),
        "in_progress": scalar(
            select(func.count())
            .select_from(interview_sessions)
            .where(interview_sessions.c.status == "in_progress")
        ),
        "responses": scalar(select(func.count()).select_from(interview_responses)),
    }
