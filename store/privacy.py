"""Privacy operations: everything held on one employee, erasing it (with an audit record), transcript retention.

Audio is never stored anywhere, so there is none to export or erase. Audit records are kept on erasure: they
say who erased whom and when, and hold no interview content.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, RowMapping, delete, insert, select, update

from store import repo
from store.db import Store, StoreError
from store.schema import (
    audit_log,
    employees,
    interview_questions,
    interview_responses,
    interview_sessions,
    score_overrides,
    session_reports,
)

log = logging.getLogger(__name__)

# Keys in a response's evidence (and a session's scratch state) that hold what the candidate said.
TRANSCRIPT_KEYS = ("transcript", "model_answer_summary", "first_answer")
PURGED_MARK = "transcript_purged_at"


class PrivacyError(StoreError):
    """A privacy request cannot be carried out; the message says why."""


def _plain(row: RowMapping) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key in ("plan", "evidence", "details") and isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = repo.from_json(value)
        out[key] = value.isoformat() if hasattr(value, "isoformat") else value
    return out


def _session_ids(conn: Connection, employee_id: str) -> list[int]:
    rows = conn.execute(
        select(interview_sessions.c.id).where(interview_sessions.c.employee_id == employee_id)
    )
    return [int(r[0]) for r in rows]


def export_employee(store: Store, employee_id: str, *, actor: str) -> dict[str, Any]:
    """Every row held on this employee (sessions with questions, answers, scores, overrides, reports, and audit
    records that name them); the export itself is recorded in the audit log."""
    with store.read() as conn:
        employee = repo.get_employee(conn, employee_id)
        if employee is None:
            raise PrivacyError(f"There is no employee {employee_id!r} in {store.where}.")
        sessions = []
        for sid in sorted(_session_ids(conn, employee_id)):
            session = repo.get_session(conn, sid)
            assert session is not None
            responses = repo.list_responses(conn, sid)
            overrides = (
                conn.execute(
                    select(score_overrides)
                    .where(score_overrides.c.response_id.in_([r["id"] for r in responses]))
                    .order_by(score_overrides.c.id)
                )
                .mappings()
                .all()
                if responses
                else []
            )
            report = repo.get_report(conn, sid)
            sessions.append(
                {
                    **_plain(session),
                    "questions": [_plain(q) for q in repo.list_questions(conn, sid)],
                    "responses": [_plain(r) for r in responses],
                    "score_overrides": [_plain(o) for o in overrides],
                    "report": _plain(report) if report is not None else None,
                }
            )
        audits = (
            conn.execute(select(audit_log).where(audit_log.c.target == employee_id).order_by(audit_log.c.id))
            .mappings()
            .all()
        )
    with store.write() as conn:
        conn.execute(
            insert(audit_log).values(
                at=repo.utcnow(),
                actor=actor,
                action="export_employee",
                target=employee_id,
                detail=repo.to_json({"sessions": len(sessions)}),
            )
        )
    return {
        "employee": _plain(employee),
        "sessions": sessions,
        "audit_records": [_plain(a) for a in audits],
        "audio": "Athena never stores audio.",
        "exported_at": repo.utcnow().isoformat(),
    }


def erase_employee(store: Store, employee_id: str, *, actor: str) -> dict[str, int]:
    """Delete the employee and everything of theirs in one transaction, and record an audit entry."""
    with store.write() as conn:
        if repo.get_employee(conn, employee_id) is None:
            raise PrivacyError(f"There is no employee {employee_id!r} in {store.where}.")
        sids = _session_ids(conn, employee_id)
        counts = {"sessions": len(sids), "questions": 0, "responses": 0, "reports": 0, "score_overrides": 0}
        if sids:
            rids = select(interview_responses.c.id).where(interview_responses.c.session_id.in_(sids))
            counts["score_overrides"] = _delete(
                conn, score_overrides, score_overrides.c.response_id.in_(rids)
            )
            counts["reports"] = _delete(conn, session_reports, session_reports.c.session_id.in_(sids))
            counts["responses"] = _delete(
                conn, interview_responses, interview_responses.c.session_id.in_(sids)
            )
            counts["questions"] = _delete(
                conn, interview_questions, interview_questions.c.session_id.in_(sids)
            )
            _delete(conn, interview_sessions, interview_sessions.c.id.in_(sids))
        _delete(conn, employees, employees.c.id == employee_id)
        conn.execute(
            insert(audit_log).values(
                at=repo.utcnow(),
                actor=actor,
                action="erase_employee",
                target=employee_id,
                detail=repo.to_json(counts),
            )
        )
    log.info("employee erased", extra={"actor": actor, "sessions": counts["sessions"]})
    return counts


def _delete(conn: Connection, table: Any, condition: Any) -> int:
    return int(conn.execute(delete(table).where(condition)).rowcount or 0)


def _scrub(value: Any) -> Any:
    """The evidence with what the candidate said removed: transcript keys dropped, rubric quotes emptied."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key in TRANSCRIPT_KEYS:
                continue
            out[key] = None if key == "evidence" and isinstance(item, str) else _scrub(item)
        return out
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def purge_transcripts(store: Store, older_than_days: int, *, actor: str = "retention") -> int:
    """Remove answer transcripts from interviews that started more than N days ago; returns answers purged.

    Scores, feedback, the graded queries and reports stay; the answer text and any quotes of it go.
    """
    if older_than_days < 1:
        raise PrivacyError("The retention period must be at least 1 day.")
    cutoff = repo.utcnow() - timedelta(days=older_than_days)
    old = select(interview_sessions.c.id).where(interview_sessions.c.start_time < cutoff)
    purged = 0
    with store.write() as conn:
        rows = conn.execute(
            select(
                interview_responses.c.id, interview_responses.c.evidence, interview_responses.c.response_text
            ).where(interview_responses.c.session_id.in_(old))
        ).all()
        stamp = repo.utcnow().isoformat()
        for rid, evidence, response_text in rows:
            parsed = repo.from_json(evidence) if evidence else {}
            if response_text is None and isinstance(parsed, dict) and PURGED_MARK in parsed:
                continue
            scrubbed = _scrub(parsed) if isinstance(parsed, dict) else {}
            scrubbed[PURGED_MARK] = stamp
            conn.execute(
                update(interview_responses)
                .where(interview_responses.c.id == rid)
                .values(response_text=None, evidence=repo.to_json(scrubbed))
            )
            purged += 1
        for sid, plan in conn.execute(
            select(interview_sessions.c.id, interview_sessions.c.plan).where(
                interview_sessions.c.start_time < cutoff
            )
        ).all():
            parsed_plan = repo.from_json(plan) if plan else None
            if isinstance(parsed_plan, dict) and parsed_plan.get("scratch"):
                parsed_plan["scratch"] = _scrub(parsed_plan["scratch"])
                conn.execute(
                    update(interview_sessions)
                    .where(interview_sessions.c.id == sid)
                    .values(plan=repo.to_json(parsed_plan))
                )
        if purged:
            conn.execute(
                insert(audit_log).values(
                    at=repo.utcnow(),
                    actor=actor,
                    action="purge_transcripts",
                    target=None,
                    detail=repo.to_json({"older_than_days": older_than_days, "answers": purged}),
                )
            )
    if purged:
        log.info("transcripts purged", extra={"answers": purged, "older_than_days": older_than_days})
    return purged
