"""The keyless interviewer: Athena's own brain, used when no OpenAI key is set.

It asks the engine's planned questions, scores conceptual answers against the question's rubric (with one
follow-up when a key point is missing) and hands-on answers by running them (the grader), and writes everything
through the engine, so storage and reports are the same as with the Realtime agent.
One instance holds one candidate's conversation; it is not shared between connections.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from interview import grading
from interview.engine import AskedQuestion, InterviewEngine, SessionState
from interview.errors import InterviewError, InvalidInput
from interview.questions import Question, question_datasets
from interview.report import Report, label
from interview.rubric import is_no_answer, score_answer

log = logging.getLogger(__name__)

SCORED_BY_RUBRIC = "keyless-rubric"
SCORED_BY_GRADER = "keyless-grader"
_SQL_START = re.compile(
    r"^\s*(?:--[^\n]*\n\s*|/\*.*?\*/\s*)*\(?\s*(select|with|values|from|table)\b", re.I | re.S
)
_FENCE = re.compile(r"```(?:sql)?\s*(.*?)```", re.I | re.S)


@dataclass(frozen=True)
class Turn:
    """One line of the conversation: who said it and what kind of line it is."""

    role: str  # "interviewer" | "candidate"
    text: str
    kind: str = "say"  # "question" | "follow_up" | "feedback" | "report" | "say"


def extract_sql(text: str) -> str | None:
    """The query in a typed or transcribed answer: a ```sql block, or the whole text when it reads as SQL."""
    fenced = _FENCE.search(text or "")
    if fenced:
        return fenced.group(1).strip() or None
    if _SQL_START.match(text or ""):
        return text.strip()
    return None


def spoken_question(q: Question) -> str:
    """The question as the interviewer says it, with a pointer to the editor for hands-on ones."""
    if q.kind == "hands_on":
        return f"{q.prompt.strip()} Write your query in the SQL editor and submit it when you're ready."
    return q.prompt.strip()


class KeylessInterviewer:
    """One candidate's interview with the keyless brain."""

    def __init__(
        self,
        engine: InterviewEngine,
        *,
        mode: str = "text",
        grading_timeout_s: float = 2.0,
        dialect: str = "duckdb",
    ):
        self.engine = engine
        self.mode = mode
        self.grading_timeout_s = grading_timeout_s
        self.dialect = dialect
        self.session_id: int | None = None
        self.current: AskedQuestion | None = None
        self.question: Question | None = None
        self.first_answer: str | None = None  # set while a follow-up is pending
        self.report: Report | None = None

    # ---------------------------------------------------------------- lifecycle
    @classmethod
    def attach(cls, engine: InterviewEngine, ref: str, **kwargs: Any) -> KeylessInterviewer:
        """Pick up a running interview from its session reference; the database holds the whole state."""
        interviewer = cls(engine, **kwargs)
        interviewer._load(engine.resolve_ref(ref))
        return interviewer

    def _load(self, session_id: int) -> None:
        state = self.engine.state(session_id)
        self.session_id = session_id
        self.report = self.engine.get_report(session_id) if state.status == "completed" else None
        self.current = state.pending if state.is_open else None
        self.question = self.engine.bank.get(self.current.ref) if self.current and self.current.ref else None
        scratch = self.engine.scratch(session_id)
        if self.current is not None and scratch.get("follow_up_for") == self.current.id:
            self.first_answer = scratch.get("first_answer")

    @property
    def ref(self) -> str:
        return self.engine.session_ref(self._sid)

    @property
    def active(self) -> bool:
        return self.session_id is not None and self.report is None

    def start(
        self,
        employee_id: str,
        *,
        name: str | None = None,
        department: str | None = None,
        role: str | None = None,
        resume: bool = True,
    ) -> list[Turn]:
        """Start (or resume the latest interrupted) interview and return the greeting and first question."""
        if self.active:
            raise InvalidInput("An interview is already running here; finish or end it first.")
        state: SessionState | None = None
        resumed = False
        if resume:
            previous = self.engine.resumable_session((employee_id or "").strip())
            if previous is not None:
                state = self.engine.resume_session(previous, brain="keyless", mode=self.mode)
                resumed = True
        if state is None:
            state = self.engine.start_session(
                employee_id, name=name, department=department, role=role, brain="keyless", mode=self.mode
            )
        self.session_id = state.session_id
        self.report = None
        first = state.employee_name.split()[0] if state.employee_name else "there"
        if resumed:
            greeting = (
                f"Welcome back, {first}. Let's pick up interview {state.session_id} where it stopped: "
                f"{len(state.answered)} of {state.max_questions} questions are already answered."
            )
        else:
            greeting = (
                f"Hi {first}, I'm Athena. I'll ask you {state.max_questions} questions on SQL, some to "
                'explain and some to write a query for. Say "I don\'t know" to move on at any time.'
            )
        return [Turn("interviewer", greeting), *self._advance(state)]

    def disconnect(self) -> None:
        """The candidate went away mid-interview: keep everything, close the session as resumable."""
        if self.active and self.session_id is not None:
            self.engine.abandon(self.session_id, "disconnect")
        self.current = None

    def end(self) -> list[Turn]:
        """The candidate ends early: report on what was answered, or close the session if nothing was."""
        if not self.active or self.session_id is None:
            return []
        state = self.engine.state(self.session_id)
        if not state.answered:
            self.engine.abandon(self.session_id, "ended by candidate")
            self.session_id, self.current = None, None
            return [
                Turn(
                    "interviewer",
                    "The interview is closed without a report, since no question was answered. "
                    "You can resume it later with the same employee ID.",
                )
            ]
        return self._finish("ended by candidate")

    # ---------------------------------------------------------------- answers
    def answer(self, text: str, sql: str | None = None) -> list[Turn]:
        """Take the candidate's answer (spoken/typed text, and for hands-on questions the SQL) and reply."""
        if not self.active or self.session_id is None:
            raise InvalidInput("There is no interview running: enter your employee ID and start one.")
        if self.current is None or self.question is None:
            raise InvalidInput("There is no open question right now.")
        text = (text or "").strip()
        sql = (sql or "").strip() or None
        if not text and not sql:
            raise InvalidInput(
                'The answer is empty. Say or type your answer, or say "I don\'t know" to move on.'
            )
        for what, value in (("answer", text), ("query", sql or "")):
            if len(value) > grading_limit():
                raise InvalidInput(
                    f"The {what} is too long ({len(value):,} characters; the limit is "
                    f"{grading_limit():,}). Please shorten it."
                )
        if self.question.kind == "hands_on":
            return self._hands_on(text, sql)
        return self._conceptual(text)

    def _conceptual(self, text: str) -> list[Turn]:
        q = self.question
        assert q is not None and q.rubric is not None and self.current is not None
        combined = f"{self.first_answer}\n{text}" if self.first_answer else text
        result = score_answer(combined, q.rubric.key_points, q.rubric.misconceptions)
        if self.first_answer is None and result.missed and not result.no_answer and q.follow_ups:
            self.first_answer = text
            self.engine.set_scratch(self._sid, {"follow_up_for": self.current.id, "first_answer": text})
            return [Turn("interviewer", q.follow_ups[0], "follow_up")]
        follow_up = q.follow_ups[0] if self.first_answer is not None else None
        if self.first_answer is not None:
            self.first_answer = None
            self.engine.set_scratch(self._sid, {})
        evidence = {"rubric": result.to_dict(), "follow_up": follow_up, "question_ref": q.id}
        feedback = result.feedback()
        self.engine.log_response_evaluation(
            self._sid,
            self.current.id,
            combined,
            result.score,
            feedback,
            scored_by=SCORED_BY_RUBRIC,
            rubric_version=f"{q.id}@v{q.rubric.version}",
            evidence=evidence,
        )
        return [Turn("interviewer", _scored_line(result.score, feedback), "feedback"), *self._advance()]

    def _hands_on(self, text: str, sql: str | None) -> list[Turn]:
        q = self.question
        # The bank refuses a hands-on question without reference SQL.
        assert q is not None and q.reference_sql is not None and self.current is not None
        query = sql or extract_sql(text)
        if query is None:
            if is_no_answer(text):
                feedback = "No query was given, so this question scores 0."
                self.engine.log_response_evaluation(
                    self._sid,
                    self.current.id,
                    text,
                    0.0,
                    feedback,
                    scored_by=SCORED_BY_GRADER,
                    rubric_version=f"{q.id}@grader",
                    evidence={"question_ref": q.id, "no_answer": True},
                )
                return [Turn("interviewer", _scored_line(0.0, feedback), "feedback"), *self._advance()]
            raise InvalidInput(
                "This question asks for a query. Write it in the SQL editor (or type a SELECT "
                'statement), or say "I don\'t know" to move on.'
            )
        result = grading.grade(
            query,
            q.reference_sql,
            question_datasets(q),
            dialect=self.dialect,
            order_matters=q.order_matters,
            timeout_s=self.grading_timeout_s,
        )
        candidate_feedback = _candidate_feedback(result)
        self.engine.log_response_evaluation(
            self._sid,
            self.current.id,
            text or query,
            result.score,
            candidate_feedback,
            scored_by=SCORED_BY_GRADER,
            rubric_version=f"{q.id}@grader",
            evidence={"question_ref": q.id, "dialect": self.dialect},
            sql_text=query,
            grade=result.to_dict(),
        )
        return [
            Turn("interviewer", _scored_line(result.score, candidate_feedback), "feedback"),
            *self._advance(),
        ]

    # ---------------------------------------------------------------- flow
    @property
    def _sid(self) -> int:
        assert self.session_id is not None
        return self.session_id

    def _advance(self, state: SessionState | None = None) -> list[Turn]:
        """Ask the next planned question (re-asking an unanswered one after a resume), or finish."""
        state = state or self.engine.state(self._sid)
        pending = state.pending
        if pending is not None and pending.ref:
            self.current, self.question = pending, self.engine.bank.get(pending.ref)
            if self.question is not None:
                return [
                    Turn(
                        "interviewer",
                        f"Question {pending.position}: {spoken_question(self.question)}",
                        "question",
                    )
                ]
        nxt = self.engine.next_question(self._sid)
        if nxt is None:
            return self._finish("completed")
        self.current = self.engine.log_question_asked(
            self._sid, nxt.prompt, nxt.category, nxt.difficulty, question_ref=nxt.id
        )
        self.question = nxt
        return [Turn("interviewer", f"Question {self.current.position}: {spoken_question(nxt)}", "question")]

    def _finish(self, reason: str) -> list[Turn]:
        self.report = self.engine.generate_session_report(self._sid, reason=reason)
        self.current, self.question = None, None
        return [
            Turn(
                "interviewer",
                f"That's the end of the interview. Your overall score is "
                f"{self.report.overall_score:.2f}. {self.report.overall_assessment}",
                "report",
            ),
        ]

    # ---------------------------------------------------------------- helpers for UIs
    def current_category(self) -> str | None:
        return label(self.question.category) if self.question else None

    def try_query(self, sql: str) -> grading.QueryResult:
        """Run the candidate's draft query on the visible practice data (never the hidden variants)."""
        if not (sql or "").strip():
            raise InvalidInput("The SQL editor is empty.")
        datasets = (
            question_datasets(self.question)
            if self.question is not None and self.question.kind == "hands_on"
            else None
        )
        visible = next((d for d in datasets or [] if not d.hidden), None)
        if visible is None:
            from interview.questions import load_dataset

            visible = load_dataset("company")
        try:
            return grading.run_query(
                sql, visible, dialect=self.dialect, timeout_s=self.grading_timeout_s, max_rows=200
            )
        except InterviewError:
            raise
        except Exception as exc:  # the grader's sandbox errors carry a message fit for the candidate
            raise InvalidInput(str(exc)) from None


def grading_limit() -> int:
    from interview.engine import MAX_TEXT

    return MAX_TEXT


def _scored_line(score: float, feedback: str) -> str:
    return f"Score {score:.2f}. {feedback}".strip()


def _candidate_feedback(result: Any) -> str:
    """What the candidate may see: the grade's message without rows from hidden datasets."""
    feedback = getattr(result, "feedback", None)
    if callable(feedback):
        return str(feedback(redact_hidden=True))
    return str(result.message)
