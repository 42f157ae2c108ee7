"""A lead overrides one answer's score, with a reason; the original is kept and the change audit-logged.

In one transaction: `interview_responses.score` takes the new score (so saved queries and reports read the
current value), a `score_overrides` row keeps the answer's original score (the score before any override, the
same in every row for that answer) with the new score, the reason, who and when; the interview's overall score
becomes the mean of its answers' scores again (interviews without an overall score yet, i.e. unfinished ones,
keep none: the engine computes it when they end); and `audit_log` records the change. Bad input writes nothing.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, update

from analytics.accounts import record_audit
from analytics.auth import Principal
from store import Store
from store.repo import utcnow
from store.schema import interview_responses, interview_sessions, score_overrides

log = logging.getLogger(__name__)

MAX_REASON = 1000
ACTION = "score_override"


class OverrideError(ValueError):
    """The override cannot be made; the message says why, fit for the lead who asked."""


@dataclass(frozen=True)
class OverrideResult:
    response_id: int
    session_id: int
    previous_score: float
    new_score: float
    original_score: float
    overall_score: float | None  # the interview's overall score after the change


def parse_score(value: Any) -> float:
    """A score from 0 to 1 from a number or numeric text; OverrideError otherwise."""
    if isinstance(value, str):
        text = value.strip()
        try:
            value = float(text)
        except ValueError:
            raise OverrideError(f"The new score must be a number from 0 to 1, not {text[:20]!r}.") from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise OverrideError("The new score must be a number from 0 to 1.")
    score = float(value)
    if not math.isfinite(score) or not 0.0 <= score <= 1.0:
        raise OverrideError(f"The new score must be from 0 to 1, not {value:g}.")
    return score


def parse_reason(value: Any) -> str:
    reason = " ".join(str(value or "").split())
    if not reason:
        raise OverrideError("Give a reason for the override: it is kept with the change.")
    if len(reason) > MAX_REASON:
        raise OverrideError(f"The reason is too long ({len(reason):,} characters; at most {MAX_REASON:,}).")
    return reason


def parse_response_id(value: Any) -> int:
    message = "Choose the answer to override (its answer id, a whole number)."
    if isinstance(value, bool):
        raise OverrideError(message)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise OverrideError(message) from None
    if not math.isfinite(number) or number != int(number) or number <= 0:
        raise OverrideError(message)
    return int(number)


def override_score(
    store: Store, principal: Principal, response_id: Any, new_score: Any, reason: Any
) -> OverrideResult:
    """Set one answer's score with a reason (lead or admin only); see the module docstring for what changes."""
    if principal.role not in ("lead", "admin"):
        raise OverrideError("Only a team lead or admin can override a score.")
    rid = parse_response_id(response_id)
    score = parse_score(new_score)
    why = parse_reason(reason)
    r, s, o = interview_responses, interview_sessions, score_overrides
    with store.write() as conn:
        row = conn.execute(select(r.c.id, r.c.session_id, r.c.score).where(r.c.id == rid)).first()
        if row is None:
            raise OverrideError(f"There is no answer with id {rid}.")
        previous = float(row.score)
        if math.isclose(previous, score, abs_tol=1e-9):
            raise OverrideError(f"Answer {rid} already has the score {score:g}; nothing to change.")
        first = conn.execute(
            select(o.c.original_score).where(o.c.response_id == rid).order_by(o.c.id).limit(1)
        ).scalar()
        original = float(first) if first is not None else previous
        now = utcnow()
        conn.execute(update(r).where(r.c.id == rid).values(score=score))
        conn.execute(
            insert(o).values(
                response_id=rid,
                original_score=original,
                new_score=score,
                reason=why,
                actor=principal.username,
                at=now,
            )
        )
        overall = None
        session = conn.execute(select(s.c.overall_score).where(s.c.id == row.session_id)).first()
        if session is not None and session.overall_score is not None:
            mean = conn.execute(select(func.avg(r.c.score)).where(r.c.session_id == row.session_id)).scalar()
            overall = round(float(mean), 4) if mean is not None else None
            conn.execute(
                update(s).where(s.c.id == row.session_id).values(overall_score=overall, updated_at=now)
            )
        elif session is not None:
            conn.execute(update(s).where(s.c.id == row.session_id).values(updated_at=now))
        record_audit(
            conn,
            principal.username,
            ACTION,
            f"interview_responses/{rid}",
            {
                "session_id": row.session_id,
                "from": previous,
                "to": score,
                "original": original,
                "reason": why,
                "overall_score": overall,
            },
        )
    log.info(
        "score overridden",
        extra={"response_id": rid, "session_id": row.session_id, "actor": principal.username},
    )
    return OverrideResult(
        response_id=rid,
        session_id=int(row.session_id),
        previous_score=previous,
        new_score=score,
        original_score=original,
        overall_score=overall,
    )
