"""The interview engine: sessions, the adaptive plan, the seed's three tool operations, and the report.

Every brain (the keyless interviewer, the OpenAI Realtime agent) goes through these operations, so storage,
scoring and reports are the same whichever ran the interview. The checks here cannot be bypassed by a caller.
"""

from __future__ import annotations

import difflib
import hashlib
import logging
import math
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError

from interview.errors import (
    AlreadyEvaluated,
    InvalidInput,
    NothingToReport,
    QuestionNotAsked,
    SessionClosed,
    SessionNotFound,
)
from interview.questions import CATEGORIES, DIFFICULTIES, Question, QuestionBank
from interview.report import Report, build_report
from store import Store, repo

log = logging.getLogger(__name__)

EMPLOYEE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MAX_TEXT = 20_000
MAX_FEEDBACK = 4_000
STEP_UP_AT = 0.75  # a score at or above this moves a category to advanced
STEP_DOWN_BELOW = 0.4  # a score below this moves a category back to intermediate
# For hands-on answers, the execution grade weighs more than an interviewer's judgment of the explanation.
GRADE_WEIGHT = 0.7


@dataclass(frozen=True)
class EngineConfig:
    max_questions: int = 8
    max_minutes: int = 25
    recent_sessions: int = 3
    stale_after_minutes: int = 30


@dataclass(frozen=True)
class AskedQuestion:
    id: int
    position: int
    text: str
    category: str
    difficulty: str
    ref: str | None
    kind: str | None
    score: float | None = None
    response_text: str | None = None

    @property
    def evaluated(self) -> bool:
        return self.score is not None


@dataclass(frozen=True)
class SessionState:
    session_id: int
    employee_id: str
    employee_name: str
    status: str
    brain: str | None
    mode: str | None
    started_at: datetime | None
    deadline: datetime | None
    max_questions: int
    asked: list[AskedQuestion] = field(default_factory=list)
    has_report: bool = False

    @property
    def pending(self) -> AskedQuestion | None:
        """The question asked but not yet evaluated, if any (the latest)."""
        open_ = [q for q in self.asked if not q.evaluated]
        return open_[-1] if open_ else None

    @property
    def answered(self) -> list[AskedQuestion]:
        return [q for q in self.asked if q.evaluated]

    @property
    def is_open(self) -> bool:
        return self.status == "in_progress"

    def summary(self) -> str:
        """A short summary of where the interview stands (used to restore a renewed realtime session)."""
        lines = [
            f"Interview {self.session_id} with {self.employee_name} ({self.employee_id}): "
            f"{len(self.answered)} of {self.max_questions} questions answered."
        ]
        for q in self.asked:
            state = f"score {q.score:.2f}" if q.evaluated else "asked, not yet evaluated"
            lines.append(f"- Q{q.position} [{q.category}, {q.difficulty}] {q.text} — {state}")
        return "\n".join(lines)


@dataclass(frozen=True)
class Evaluation:
    response_id: int
    question_id: int
    score: float
    feedback: str


def _stable_rank(session_id: int, key: str) -> str:
    return hashlib.sha256(f"{session_id}:{key}".encode()).hexdigest()


def _check_score(value: Any, what: str = "Score") -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        try:
            value = float(str(value).strip())
        except ValueError:
            raise InvalidInput(f"{what} must be a number between 0.0 and 1.0; got {value!r}.") from None
    value = float(value)
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise InvalidInput(f"{what} must be between 0.0 and 1.0; got {value:g}.")
    return value


def _normalise(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


class InterviewEngine:
    """Domain operations over the store. Thread-safe: every operation is one store transaction."""

    def __init__(
        self,
        store: Store,
        bank: QuestionBank,
        config: EngineConfig | None = None,
        clock: Callable[[], datetime] = repo.utcnow,
    ):
        self.store = store
        self.bank = bank
        self.config = config or EngineConfig()
        self.clock = clock

    # ------------------------------------------------------------------ sessions
    def start_session(
        self,
        employee_id: str,
        *,
        name: str | None = None,
        department: str | None = None,
        role: str | None = None,
        brain: str = "keyless",
        mode: str = "text",
    ) -> SessionState:
        """Start an interview; the employee is created with name, department and role on first visit."""
        employee_id = (employee_id or "").strip()
        if not EMPLOYEE_ID.match(employee_id):
            raise InvalidInput(
                "Employee ID must be 1 to 64 letters, digits, dots, dashes or underscores, "
                "starting with a letter or digit (for example E1234)."
            )
        name, department, role = (_clean(v, 120) for v in (name, department, role))
        self.close_stale_sessions(employee_id)
        with self.store.write() as conn:
            known = repo.get_employee(conn, employee_id)
            if known is None and not name:
                raise InvalidInput(f"Employee {employee_id} is new here: please give your name to start.")
            repo.upsert_employee(conn, employee_id, name or known["name"], department, role)  # type: ignore[index]
            avoid = sorted(repo.recent_question_refs(conn, employee_id, self.config.recent_sessions))
            now = self.clock()
            plan = {
                "version": 1,
                "max_questions": self.config.max_questions,
                "deadline": (now + timedelta(minutes=self.config.max_minutes)).isoformat(),
                "avoid": avoid,
                "order": [],
                "token": secrets.token_urlsafe(16),
            }
            session_id = repo.create_session(conn, employee_id, brain=brain, mode=mode, plan=plan, now=now)
            order = sorted(CATEGORIES, key=lambda c: _stable_rank(session_id, c))
            self._touch(conn, session_id, plan={**plan, "order": order}, start_time=now)
        log.info("session started", extra={"session_id": session_id, "brain": brain, "mode": mode})
        return self.state(session_id)

    def state(self, session_id: int) -> SessionState:
        with self.store.read() as conn:
            return self._state(conn, session_id)

    def _state(self, conn: Any, session_id: int) -> SessionState:
        session = repo.get_session(conn, session_id)
        if session is None:
            raise SessionNotFound(f"There is no interview session {session_id}.")
        employee = repo.get_employee(conn, session["employee_id"])
        plan = repo.from_json(session["plan"]) or {}
        answers = {r["question_id"]: r for r in repo.list_responses(conn, session_id)}
        asked = [
            AskedQuestion(
                id=q["id"],
                position=q["position"] or i + 1,
                text=q["question_text"],
                category=q["category"],
                difficulty=q["difficulty"],
                ref=q["question_ref"],
                kind=q["kind"],
                score=answers[q["id"]]["score"] if q["id"] in answers else None,
                response_text=answers[q["id"]]["response_text"] if q["id"] in answers else None,
            )
            for i, q in enumerate(repo.list_questions(conn, session_id))
        ]
        deadline = datetime.fromisoformat(plan["deadline"]) if plan.get("deadline") else None
        return SessionState(
            session_id=session_id,
            employee_id=session["employee_id"],
            employee_name=employee["name"] if employee else session["employee_id"],
            status=session["status"],
            brain=session["brain"],
            mode=session["mode"],
            started_at=session["start_time"],
            deadline=deadline,
            max_questions=int(plan.get("max_questions", self.config.max_questions)),
            asked=asked,
            has_report=repo.get_report(conn, session_id) is not None,
        )

    # ------------------------------------------------------------------ session references and scratch state
    def session_ref(self, session_id: int) -> str:
        """An unguessable reference to a session ("id:token") that UIs hold instead of server-side state."""
        with self.store.read() as conn:
            return f"{session_id}:{self._plan(conn, session_id).get('token', '')}"

    def resolve_ref(self, ref: str) -> int:
        """The session id behind a reference; SessionNotFound when it is malformed or the token is wrong."""
        sid, _, token = (ref or "").partition(":")
        if not sid.isdigit() or not token:
            raise SessionNotFound("No interview is running here: enter your employee ID and start one.")
        with self.store.read() as conn:
            try:
                plan = self._plan(conn, int(sid))
            except SessionNotFound:
                plan = {}
        if not secrets.compare_digest(str(plan.get("token", "")), token):
            raise SessionNotFound(
                "This interview reference is not valid; start or resume the interview again."
            )
        return int(sid)

    def scratch(self, session_id: int) -> dict[str, Any]:
        """A brain's small working state kept with the session (e.g. a pending follow-up)."""
        with self.store.read() as conn:
            return dict(self._plan(conn, session_id).get("scratch") or {})

    def set_scratch(self, session_id: int, values: dict[str, Any]) -> None:
        with self.store.write() as conn:
            plan = self._plan(conn, session_id)
            plan["scratch"] = values
            self._touch(conn, session_id, plan=plan)

    def _touch(self, conn: Any, session_id: int, **values: Any) -> None:
        """Update a session row, stamping updated_at with the engine's clock."""
        repo.update_session(conn, session_id, updated_at=self.clock(), **values)

    def _plan(self, conn: Any, session_id: int) -> dict[str, Any]:
        session = repo.get_session(conn, session_id)
        if session is None:
            raise SessionNotFound(f"There is no interview session {session_id}.")
        return dict(repo.from_json(session["plan"]) or {})

    def _open_state(self, conn: Any, session_id: int) -> SessionState:
        state = self._state(conn, session_id)
        if state.status == "completed":
            raise SessionClosed(f"Interview {session_id} is finished; its report has been written.")
        if state.status != "in_progress":
            raise SessionClosed(f"Interview {session_id} was interrupted; resume it before recording more.")
        return state

    def close_stale_sessions(self, employee_id: str | None = None) -> int:
        """Mark sessions idle for too long as incomplete (resumable). Returns how many were closed."""
        cutoff = self.clock() - timedelta(minutes=self.config.stale_after_minutes)
        from sqlalchemy import and_, update

        from store.schema import interview_sessions as s

        cond = and_(s.c.status == "in_progress", s.c.updated_at < cutoff)
        if employee_id is not None:
            cond = and_(cond, s.c.employee_id == employee_id)
        with self.store.write() as conn:
            result = conn.execute(
                update(s)
                .where(cond)
                .values(status="incomplete", ended_reason="timeout", updated_at=self.clock())
            )
        return int(result.rowcount or 0)

    def abandon(self, session_id: int, reason: str = "disconnect") -> None:
        """Close a session as incomplete (disconnect, timeout); it can be resumed where it stopped."""
        with self.store.write() as conn:
            state = self._state(conn, session_id)
            if state.status != "in_progress":
                return
            plan = self._plan(conn, session_id)
            if state.deadline:
                plan["remaining_s"] = max(60.0, (state.deadline - self.clock()).total_seconds())
            self._touch(conn, session_id, status="incomplete", ended_reason=_clean(reason, 60), plan=plan)
        log.info("session interrupted", extra={"session_id": session_id, "reason": reason})

    def resumable_session(self, employee_id: str) -> int | None:
        """The employee's latest interrupted interview, if any."""
        with self.store.read() as conn:
            for session in repo.sessions_for_employee(conn, employee_id, limit=5):
                if session["status"] == "incomplete":
                    return int(session["id"])
        return None

    def resume_session(
        self, session_id: int, *, brain: str | None = None, mode: str | None = None
    ) -> SessionState:
        with self.store.write() as conn:
            state = self._state(conn, session_id)
            if state.status == "completed":
                raise SessionClosed(f"Interview {session_id} is already finished.")
            plan = self._plan(conn, session_id)
            remaining = float(plan.pop("remaining_s", self.config.max_minutes * 60))
            plan["deadline"] = (self.clock() + timedelta(seconds=remaining)).isoformat()
            values: dict[str, Any] = {"status": "in_progress", "ended_reason": None, "plan": plan}
            if brain:
                values["brain"] = brain
            if mode:
                values["mode"] = mode
            self._touch(conn, session_id, **values)
        log.info("session resumed", extra={"session_id": session_id})
        return self.state(session_id)

    # ------------------------------------------------------------------ the plan
    def finished(self, state: SessionState) -> bool:
        """True when the interview has asked and scored all its questions or run out of time."""
        if len(state.answered) >= state.max_questions:
            return True
        return state.deadline is not None and self.clock() >= state.deadline and state.pending is None

    def next_question(self, session_id: int) -> Question | None:
        """The question the adaptive plan asks next, or None when the interview should wrap up."""
        with self.store.read() as conn:
            state = self._open_state(conn, session_id)
            plan = self._plan(conn, session_id)
        if state.pending is not None:
            pending = self.bank.get(state.pending.ref) if state.pending.ref else None
            if pending is not None:
                return pending
        if self.finished(state) or len(state.asked) >= state.max_questions:
            return None
        return self._choose(state, plan)

    def _choose(self, state: SessionState, plan: dict[str, Any]) -> Question | None:
        asked_refs = {q.ref for q in state.asked if q.ref}
        avoid = set(plan.get("avoid", []))
        order = plan.get("order") or list(CATEGORIES)
        last = state.answered[-1] if state.answered else None
        visits: dict[str, int] = {}
        for q in state.asked:
            visits[q.category] = visits.get(q.category, 0) + 1
        revisits = sum(v - 1 for v in visits.values())

        category: str | None = None
        difficulty = "intermediate"
        if (
            last is not None
            and last.score is not None
            and visits.get(last.category, 0) == 1
            and revisits < state.max_questions // 3
        ):
            if last.difficulty == "intermediate" and last.score >= STEP_UP_AT:
                category, difficulty = last.category, "advanced"  # doing well: go deeper here
            elif last.difficulty == "advanced" and last.score < STEP_DOWN_BELOW:
                category, difficulty = last.category, "intermediate"  # struggling: step back here
        if category is None:
            unvisited = [c for c in order if c not in visits] or list(order)
            category = unvisited[0]
            scores = [q.score for q in state.answered if q.score is not None]
            if len(scores) >= 2 and sum(scores) / len(scores) >= 0.8:
                difficulty = "advanced"
        last_kind = state.asked[-1].kind if state.asked else None
        preferred_kind = {"hands_on": "conceptual", "conceptual": "hands_on"}.get(last_kind or "")
        pools = [
            lambda q: (
                q.category == category
                and q.difficulty == difficulty
                and q.kind == preferred_kind
                and q.id not in avoid
            ),
            lambda q: q.category == category and q.difficulty == difficulty and q.id not in avoid,
            lambda q: q.category == category and q.difficulty == difficulty,
            lambda q: q.category == category,
            lambda q: q.difficulty == difficulty,
            lambda q: True,
        ]
        for accept in pools:
            candidates = [q for q in self.bank.questions if q.id not in asked_refs and accept(q)]
            if candidates:
                return min(candidates, key=lambda q: _stable_rank(state.session_id, q.id))
        return None

    # ------------------------------------------------------------------ the seed's tool operations
    def log_question_asked(
        self,
        session_id: int,
        question: str,
        category: str,
        difficulty: str,
        *,
        question_ref: str | None = None,
    ) -> AskedQuestion:
        """Record that a question was asked (in the interviewer's own words)."""
        question = _clean(question, 2000) or ""
        if not question:
            raise InvalidInput("The question text is empty: say what was asked.")
        category = (category or "").strip().lower()
        difficulty = (difficulty or "").strip().lower()
        if category not in CATEGORIES:
            raise InvalidInput(f"Unknown category {category!r}; use one of: {', '.join(CATEGORIES)}.")
        if difficulty not in DIFFICULTIES:
            raise InvalidInput(f"Unknown difficulty {difficulty!r}; use one of: {', '.join(DIFFICULTIES)}.")
        bank_q = None
        if question_ref:
            bank_q = self.bank.get(question_ref)
            if bank_q is None:
                raise InvalidInput(f"There is no question {question_ref!r} in the question bank.")
            category, difficulty = bank_q.category, bank_q.difficulty
        with self.store.write() as conn:
            state = self._open_state(conn, session_id)
            if len(state.asked) >= state.max_questions:
                raise InvalidInput(
                    f"This interview has reached its {state.max_questions} questions; "
                    "generate the session report now."
                )
            if question_ref and any(q.ref == question_ref for q in state.asked):
                raise InvalidInput(f"Question {question_ref} was already asked in this interview.")
            position = len(state.asked) + 1
            qid = repo.add_question(
                conn,
                session_id,
                text=question,
                category=category,
                difficulty=difficulty,
                question_ref=question_ref,
                kind=bank_q.kind if bank_q else None,
                position=position,
            )
            self._touch(conn, session_id)
        return AskedQuestion(
            id=qid,
            position=position,
            text=question,
            category=category,
            difficulty=difficulty,
            ref=question_ref,
            kind=bank_q.kind if bank_q else None,
        )

    def find_asked(self, state: SessionState, question: str | int) -> AskedQuestion:
        """The asked question an evaluation refers to: by row id, bank id, or (close to) its text."""
        if isinstance(question, int) and not isinstance(question, bool):
            for q in state.asked:
                if q.id == question:
                    return q
        else:
            text = str(question or "").strip()
            for q in state.asked:
                if text and (text == q.ref or text == q.text):
                    return q
            wanted = _normalise(text)
            best, best_ratio = None, 0.0
            for q in state.asked:
                ratio = difflib.SequenceMatcher(None, wanted, _normalise(q.text)).ratio()
                if ratio > best_ratio:
                    best, best_ratio = q, ratio
            if best is not None and best_ratio >= 0.6:
                return best
        asked = "; ".join(f"Q{q.position}: {q.text[:80]}" for q in state.asked) or "none yet"
        raise QuestionNotAsked(
            f"That question was not asked in this interview, so it cannot be scored. "
            f"Questions asked so far: {asked}."
        )

    def log_response_evaluation(
        self,
        session_id: int,
        question: str | int,
        response_text: str | None,
        score: Any,
        feedback: str | None,
        *,
        scored_by: str,
        rubric_version: str | None = None,
        evidence: dict[str, Any] | None = None,
        sql_text: str | None = None,
        grade: dict[str, Any] | None = None,
    ) -> Evaluation:
        """Score one answer (0.0 to 1.0) with feedback; a hands-on answer's execution grade is combined in."""
        judged = _check_score(score)
        response_text = response_text or ""
        if len(response_text) > MAX_TEXT:
            raise InvalidInput(
                f"The answer is too long ({len(response_text):,} characters; the limit is {MAX_TEXT:,})."
            )
        if sql_text is not None and len(sql_text) > MAX_TEXT:
            raise InvalidInput(
                f"The query is too long ({len(sql_text):,} characters; the limit is {MAX_TEXT:,})."
            )
        feedback = _clean(feedback, MAX_FEEDBACK) or ""
        final = judged
        grade_score = grade_verdict = None
        if grade is not None:
            grade_score = _check_score(grade.get("score"), "The grade's score")
            grade_verdict = str(grade.get("verdict") or "")
            final = round(GRADE_WEIGHT * grade_score + (1 - GRADE_WEIGHT) * judged, 4)
        record = {
            "transcript": response_text,
            "scored_by": scored_by,
            "rubric_version": rubric_version,
            "judged_score": judged,
            "final_score": final,
            **({"grade": grade, "grade_weight": GRADE_WEIGHT} if grade is not None else {}),
            **(evidence or {}),
        }
        try:
            with self.store.write() as conn:
                state = self._open_state(conn, session_id)
                asked = self.find_asked(state, question)
                if asked.evaluated:
                    raise AlreadyEvaluated(
                        f"Q{asked.position} ({asked.text[:80]}) already has a score "
                        f"({asked.score:.2f}); each answer is scored once."
                    )
                response_id = repo.add_response(
                    conn,
                    session_id,
                    asked.id,
                    response_text=response_text,
                    score=final,
                    feedback=feedback,
                    scored_by=scored_by,
                    rubric_version=rubric_version,
                    evidence=record,
                    sql_text=sql_text,
                    grade_verdict=grade_verdict,
                    grade_score=grade_score,
                )
                self._touch(conn, session_id)
        except IntegrityError:
            raise AlreadyEvaluated(
                "That answer was scored at the same moment by another request; each answer is scored once."
            ) from None
        log.info(
            "answer scored",
            extra={"session_id": session_id, "question_id": asked.id, "score": final, "scored_by": scored_by},
        )
        return Evaluation(response_id=response_id, question_id=asked.id, score=final, feedback=feedback)

    def generate_session_report(self, session_id: int, *, reason: str = "completed") -> Report:
        """Write the report from the per-question records by category; ends the session."""
        with self.store.write() as conn:
            existing = repo.get_report(conn, session_id)
            if existing is not None:
                return Report.from_row(existing)
            state = self._state(conn, session_id)
            rows = _scored_rows(conn, session_id)
            if not rows:
                raise NothingToReport("No answer has been scored yet, so there is nothing to report.")
            report = build_report(
                state.employee_name, rows, asked=len(state.asked), planned=state.max_questions
            )
            repo.add_report(
                conn,
                session_id,
                strengths=report.strengths,
                weaknesses=report.weaknesses,
                recommendations=report.recommendations,
                overall_assessment=report.overall_assessment,
                details=report.details,
            )
            self._touch(
                conn,
                session_id,
                status="completed",
                end_time=self.clock(),
                overall_score=report.overall_score,
                ended_reason=reason,
            )
        log.info("session completed", extra={"session_id": session_id, "overall_score": report.overall_score})
        return report

    def get_report(self, session_id: int) -> Report | None:
        with self.store.read() as conn:
            row = repo.get_report(conn, session_id)
        return Report.from_row(row) if row is not None else None


def _scored_rows(conn: Any, session_id: int) -> list[dict[str, Any]]:
    questions = {q["id"]: q for q in repo.list_questions(conn, session_id)}
    rows = []
    for r in repo.list_responses(conn, session_id):
        q = questions.get(r["question_id"])
        if q is None:
            continue
        rows.append(
            {
                "category": q["category"],
                "difficulty": q["difficulty"],
                "score": float(r["score"]),
                "kind": q["kind"],
                "question": q["question_text"],
                "grade_verdict": r["grade_verdict"],
            }
        )
    return rows


def _clean(value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    value = " ".join(str(value).split()) if limit <= 200 else str(value).strip()
    return value[:limit] if value else None
