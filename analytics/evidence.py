"""The evidence behind each score of one interview, read straight from the store (indexed point lookups)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from store import Store, repo
from store.schema import employees, interview_questions, interview_responses, score_overrides


def session_evidence(store: Store, session_id: int) -> list[dict[str, Any]]:
    """The evidence behind each score of one interview, in question order: question, category, difficulty,
    transcript, SQL and its grade, feedback, the current score and, when overridden, the original score and the
    latest reason."""
    q, r, o = interview_questions, interview_responses, score_overrides
    with store.read() as conn:
        rows = (
            conn.execute(
                select(
                    q.c.id.label("question_id"),
                    q.c.position,
                    q.c.question_text,
                    q.c.question_ref,
                    q.c.category,
                    q.c.difficulty,
                    q.c.kind,
                    r.c.id.label("response_id"),
                    r.c.response_text,
                    r.c.sql_text,
                    r.c.grade_verdict,
                    r.c.grade_score,
                    r.c.feedback,
                    r.c.score,
                    r.c.scored_by,
                )
                .select_from(q.outerjoin(r, r.c.question_id == q.c.id))
                .where(q.c.session_id == session_id)
                .order_by(q.c.position, q.c.id)
            )
            .mappings()
            .all()
        )
        ids = [row["response_id"] for row in rows if row["response_id"] is not None]
        overrides: dict[int, list[Any]] = {}
        if ids:
            for ov in conn.execute(select(o).where(o.c.response_id.in_(ids)).order_by(o.c.id)).mappings():
                overrides.setdefault(ov["response_id"], []).append(ov)
    out = []
    for row in rows:
        item = dict(row)
        history = overrides.get(row["response_id"] or -1, [])
        item["original_score"] = history[0]["original_score"] if history else None
        item["override_reason"] = history[-1]["reason"] if history else None
        item["overridden_by"] = history[-1]["actor"] if history else None
        out.append(item)
    return out


def session_header(store: Store, session_id: int) -> dict[str, Any] | None:
    """The interview with its employee and report, for the drill-down heading."""
    with store.read() as conn:
        session = repo.get_session(conn, session_id)
        if session is None:
            return None
        person = (
            conn.execute(select(employees).where(employees.c.id == session["employee_id"])).mappings().first()
        )
        report = repo.get_report(conn, session_id)
    return {
        "session": dict(session),
        "employee": dict(person) if person else None,
        "report": dict(report) if report else None,
    }


def session_of_response(store: Store, response_id: int) -> int | None:
    with store.read() as conn:
        value = conn.execute(
            select(interview_responses.c.session_id).where(interview_responses.c.id == response_id)
        )
        return value.scalar()
