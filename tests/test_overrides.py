"""Score overrides: the current score moves, the original is kept with reason/actor/time, the interview's overall
score is recomputed and the audit log written, all at once; bad input writes nothing."""

from __future__ import annotations

import json
import math

import pytest
from sqlalchemy import select, text

from analytics import overrides
from analytics.auth import Principal
from analytics.overrides import OverrideError, override_score
from store import Store, repo
from store.schema import audit_log, interview_responses, interview_sessions, score_overrides

LEAD = Principal("lena", "lead")
ADMIN = Principal("ada", "admin")


def interview(store: Store, scores: list[float], *, finished: bool = True) -> tuple[int, list[int]]:
    with store.write() as conn:
        repo.upsert_employee(conn, "E1", "Eve One", "Data", "Analyst")
        sid = repo.create_session(conn, "E1", brain="keyless", mode="text", plan={})
        ids = []
        for i, score in enumerate(scores, 1):
            qid = repo.add_question(
                conn,
                sid,
                text=f"Question {i}",
                category="joins",
                difficulty="intermediate",
                question_ref=f"q-{i}",
                kind="conceptual",
                position=i,
            )
            ids.append(
                repo.add_response(
                    conn,
                    sid,
                    qid,
                    response_text="a",
                    score=score,
                    feedback="f",
                    scored_by="keyless-rubric",
                    rubric_version=None,
                    evidence={},
                )
            )
        if finished:
            repo.update_session(
                conn, sid, status="completed", overall_score=sum(scores) / len(scores), end_time=repo.utcnow()
            )
    return sid, ids


def state(store: Store) -> dict[str, list]:
    """Everything an override may touch."""
    with store.read() as conn:
        return {
            t: [tuple(r) for r in conn.execute(text(f"SELECT * FROM {t} ORDER BY id"))]
            for t in ("interview_responses", "interview_sessions", "score_overrides", "audit_log")
        }


def test_override_changes_score_keeps_original_and_audits(any_store: Store) -> None:
    sid, (r1, r2, r3) = interview(any_store, [0.2, 0.6, 1.0])
    with any_store.read() as conn:
        before = conn.execute(
            select(interview_sessions.c.updated_at).where(interview_sessions.c.id == sid)
        ).scalar()
    result = override_score(any_store, LEAD, r1, "0.8", "  The grader missed an equivalent\n query. ")
    assert (result.response_id, result.session_id, result.previous_score, result.new_score) == (
        r1,
        sid,
        0.2,
        0.8,
    )
    assert result.original_score == 0.2 and result.overall_score == pytest.approx(0.8)
    with any_store.read() as conn:
        assert (
            conn.execute(select(interview_responses.c.score).where(interview_responses.c.id == r1)).scalar()
            == 0.8
        )
        session = (
            conn.execute(select(interview_sessions).where(interview_sessions.c.id == sid)).mappings().one()
        )
        row = conn.execute(select(score_overrides)).mappings().one()
        audit = conn.execute(select(audit_log)).mappings().one()
    assert session["overall_score"] == pytest.approx((0.8 + 0.6 + 1.0) / 3) and session["updated_at"] > before
    assert (row["response_id"], row["original_score"], row["new_score"], row["actor"]) == (
        r1,
        0.2,
        0.8,
        "lena",
    )
    assert row["reason"] == "The grader missed an equivalent query." and row["at"] is not None
    assert (audit["actor"], audit["action"], audit["target"]) == (
        "lena",
        "score_override",
        f"interview_responses/{r1}",
    )
    assert json.loads(audit["detail"]) == {
        "session_id": sid,
        "from": 0.2,
        "to": 0.8,
        "original": 0.2,
        "reason": "The grader missed an equivalent query.",
        "overall_score": result.overall_score,
    }
    # a second change of the same answer still names the first original score
    again = override_score(any_store, ADMIN, r1, 0.5, "second look")
    assert (again.previous_score, again.original_score) == (0.8, 0.2)
    with any_store.read() as conn:
        rows = conn.execute(select(score_overrides).order_by(score_overrides.c.id)).mappings().all()
    assert [(r["original_score"], r["new_score"], r["actor"]) for r in rows] == [
        (0.2, 0.8, "lena"),
        (0.2, 0.5, "ada"),
    ]


def test_unfinished_interview_keeps_no_overall_score(any_store: Store) -> None:
    sid, (r1,) = interview(any_store, [0.3], finished=False)
    result = override_score(any_store, LEAD, r1, 0.9, "regraded")
    assert result.overall_score is None
    with any_store.read() as conn:
        assert (
            conn.execute(
                select(interview_sessions.c.overall_score).where(interview_sessions.c.id == sid)
            ).scalar()
            is None
        )


@pytest.mark.parametrize(
    ("response", "score", "reason", "message"),
    [
        ("first", 1.5, "why", "The new score must be from 0 to 1, not 1.5."),
        ("first", -0.01, "why", "The new score must be from 0 to 1, not -0.01."),
        ("first", math.nan, "why", "The new score must be from 0 to 1, not nan."),
        ("first", math.inf, "why", "The new score must be from 0 to 1, not inf."),
        ("first", "high", "why", "The new score must be a number from 0 to 1, not 'high'."),
        ("first", None, "why", "The new score must be a number from 0 to 1."),
        ("first", True, "why", "The new score must be a number from 0 to 1."),
        ("first", 0.5, "", "Give a reason for the override: it is kept with the change."),
        ("first", 0.5, " \n\t", "Give a reason for the override: it is kept with the change."),
        ("first", 0.5, None, "Give a reason for the override: it is kept with the change."),
        ("first", 0.5, "x" * 1001, "The reason is too long (1,001 characters; at most 1,000)."),
        ("first", 0.2, "same", "already has the score 0.2; nothing to change."),
        (999999, 0.5, "why", "There is no answer with id 999999."),
        (0, 0.5, "why", "Choose the answer to override (its answer id, a whole number)."),
        (-3, 0.5, "why", "Choose the answer to override (its answer id, a whole number)."),
        (2.5, 0.5, "why", "Choose the answer to override (its answer id, a whole number)."),
        ("abc", 0.5, "why", "Choose the answer to override (its answer id, a whole number)."),
        (None, 0.5, "why", "Choose the answer to override (its answer id, a whole number)."),
        (float("nan"), 0.5, "why", "Choose the answer to override (its answer id, a whole number)."),
    ],
)
def test_bad_input_is_a_clear_error_and_writes_nothing(
    any_store: Store, response, score, reason, message
) -> None:
    _, ids = interview(any_store, [0.2, 0.4])
    before = state(any_store)
    with pytest.raises(OverrideError) as err:
        override_score(any_store, LEAD, ids[0] if response == "first" else response, score, reason)
    assert message in str(err.value)
    assert state(any_store) == before


def test_only_leads_and_admins(sqlite_store: Store) -> None:
    _, ids = interview(sqlite_store, [0.2])
    before = state(sqlite_store)
    with pytest.raises(OverrideError, match="Only a team lead or admin can override a score."):
        override_score(sqlite_store, Principal("cand", "candidate"), ids[0], 0.9, "please")
    assert state(sqlite_store) == before


def test_a_failure_half_way_leaves_nothing_behind(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, ids = interview(sqlite_store, [0.2, 0.4])
    before = state(sqlite_store)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(overrides, "record_audit", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        override_score(sqlite_store, LEAD, ids[0], 0.9, "regraded")
    assert state(sqlite_store) == before


def test_the_database_refuses_an_out_of_range_score_even_past_the_checks(sqlite_store: Store) -> None:
    """Defence in depth: the schema's CHECK constraints hold even if code skipped parse_score."""
    from sqlalchemy.exc import IntegrityError

    _, ids = interview(sqlite_store, [0.2])
    with pytest.raises(IntegrityError), sqlite_store.write() as conn:
        conn.execute(
            score_overrides.insert().values(
                response_id=ids[0], original_score=0.2, new_score=2.0, reason="x", actor="y", at=repo.utcnow()
            )
        )
