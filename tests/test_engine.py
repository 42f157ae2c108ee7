"""The interview engine: sessions, the adaptive plan, the seed's tool operations and their checks, the report."""

from __future__ import annotations

import math
import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from interview.engine import EngineConfig, InterviewEngine
from interview.errors import (
    AlreadyEvaluated,
    InvalidInput,
    NothingToReport,
    QuestionNotAsked,
    SessionClosed,
    SessionNotFound,
)
from interview.questions import CATEGORIES, load_bank
from store import Store, repo
from store.schema import interview_questions, interview_responses, session_reports


@pytest.fixture(scope="module")
def bank():
    return load_bank()


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 5, 9, 0, 0)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def engine(any_store: Store, bank, clock: Clock) -> InterviewEngine:
    return InterviewEngine(
        any_store, bank, EngineConfig(max_questions=8, max_minutes=25, recent_sessions=3), clock=clock
    )


def start(engine: InterviewEngine, employee: str = "E100", **kw):
    return engine.start_session(
        employee, name=kw.pop("name", "Ada Lovelace"), department="Data", role="Analyst", **kw
    )


def ask_next(engine: InterviewEngine, sid: int):
    q = engine.next_question(sid)
    assert q is not None
    return q, engine.log_question_asked(sid, q.prompt, q.category, q.difficulty, question_ref=q.id)


def count(store: Store, table) -> int:
    with store.read() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


# ---------------------------------------------------------------- starting
@pytest.mark.parametrize("bad", ["", "   ", "a b", "x" * 65, "-lead", "E1;DROP", "名前"])
def test_employee_id_is_validated(engine: InterviewEngine, bad: str) -> None:
    with pytest.raises(
        InvalidInput, match="Employee ID must be 1 to 64 letters, digits, dots, dashes or underscores"
    ):
        engine.start_session(bad, name="X")


def test_a_new_employee_needs_a_name_and_is_created_on_first_visit(engine: InterviewEngine) -> None:
    with pytest.raises(InvalidInput, match="Employee E7 is new here: please give your name to start."):
        engine.start_session("E7")
    state = engine.start_session("E7", name="Grace Hopper", department="Engineering", role="Lead")
    with engine.store.read() as conn:
        employee = repo.get_employee(conn, "E7")
    assert dict(employee) == {"id": "E7", "name": "Grace Hopper", "department": "Engineering", "role": "Lead"}
    assert state.status == "in_progress" and state.employee_name == "Grace Hopper"
    # A second visit needs no name.
    assert engine.start_session("E7").employee_name == "Grace Hopper"


# ---------------------------------------------------------------- the plan
def test_first_question_is_intermediate_and_categories_are_covered(engine: InterviewEngine) -> None:
    sid = start(engine).session_id
    seen = []
    for i in range(8):
        q, asked = ask_next(engine, sid)
        if i == 0:
            assert q.difficulty == "intermediate"
        seen.append(q.category)
        engine.log_response_evaluation(sid, asked.id, "answer", 0.6, "ok", scored_by="test")
    assert len(set(seen)) == 8  # middling answers: no revisits, eight different categories
    assert engine.next_question(sid) is None  # bounded at 8 questions


def test_doing_well_moves_up_in_that_category_and_struggling_moves_back(engine: InterviewEngine) -> None:
    sid = start(engine).session_id
    q1, a1 = ask_next(engine, sid)
    engine.log_response_evaluation(sid, a1.id, "great", 0.9, "good", scored_by="test")
    q2, a2 = ask_next(engine, sid)
    assert (q2.category, q2.difficulty) == (q1.category, "advanced")
    engine.log_response_evaluation(sid, a2.id, "meh", 0.5, "ok", scored_by="test")
    q3, a3 = ask_next(engine, sid)
    assert q3.category != q1.category  # each category is revisited at most once
    engine.log_response_evaluation(sid, a3.id, "no", 0.1, "weak", scored_by="test")
    q4, _ = ask_next(engine, sid)
    assert q4.category != q3.category  # a weak intermediate answer does not trigger a revisit
    # Advanced and weak -> back to intermediate in the same category.
    sid2 = start(engine, "E200").session_id
    for _ in range(2):  # two strong answers: new categories start at advanced
        _, a = ask_next(engine, sid2)
        engine.log_response_evaluation(sid2, a.id, "great", 0.95, "good", scored_by="test")
    state = engine.state(sid2)
    q, a = ask_next(engine, sid2)
    assert q.difficulty == "advanced" and q.category not in {x.category for x in state.asked}
    engine.log_response_evaluation(sid2, a.id, "no", 0.1, "weak", scored_by="test")
    back, _ = ask_next(engine, sid2)
    assert (back.category, back.difficulty) == (q.category, "intermediate")


def test_questions_from_recent_sessions_are_avoided(engine: InterviewEngine) -> None:
    asked_before: set[str] = set()
    for _ in range(3):
        sid = start(engine).session_id
        refs = set()
        for _ in range(8):
            q, a = ask_next(engine, sid)
            refs.add(q.id)
            engine.log_response_evaluation(sid, a.id, "x", 0.6, "ok", scored_by="test")
        engine.generate_session_report(sid)
        assert not refs & asked_before
        asked_before |= refs


def test_the_time_limit_ends_the_interview(engine: InterviewEngine, clock: Clock) -> None:
    sid = start(engine).session_id
    _, a = ask_next(engine, sid)
    engine.log_response_evaluation(sid, a.id, "x", 0.5, "ok", scored_by="test")
    clock.now += timedelta(minutes=26)
    assert engine.next_question(sid) is None


# ---------------------------------------------------------------- the tool operations
@pytest.mark.parametrize(
    ("category", "difficulty", "message"),
    [
        ("cooking", "intermediate", "Unknown category 'cooking'; use one of: joins"),
        ("joins", "expert", "Unknown difficulty 'expert'; use one of: intermediate, advanced."),
    ],
)
def test_log_question_asked_checks_its_arguments(
    engine: InterviewEngine, category, difficulty, message
) -> None:
    sid = start(engine).session_id
    with pytest.raises(InvalidInput, match=message):
        engine.log_question_asked(sid, "What is a join?", category, difficulty)
    with pytest.raises(InvalidInput, match="There is no question 'nope' in the question bank."):
        engine.log_question_asked(sid, "What is a join?", "joins", "intermediate", question_ref="nope")
    assert count(engine.store, interview_questions) == 0


def test_an_ad_hoc_question_can_be_asked_and_scored(engine: InterviewEngine) -> None:
    sid = start(engine).session_id
    asked = engine.log_question_asked(
        sid, "Tell me about a query you optimised.", "Indexing_Performance", "Advanced"
    )
    assert (asked.category, asked.difficulty, asked.ref) == ("indexing_performance", "advanced", None)
    ev = engine.log_response_evaluation(
        sid, "Tell me about a query you optimised", "I added an index", 0.7, "ok", scored_by="openai:test"
    )
    assert ev.question_id == asked.id


@pytest.mark.parametrize("score", [-0.1, 1.1, math.nan, math.inf, "high", None, True])
def test_a_score_outside_zero_to_one_is_refused_and_writes_nothing(engine: InterviewEngine, score) -> None:
    sid = start(engine).session_id
    _, asked = ask_next(engine, sid)
    with pytest.raises(InvalidInput, match="must be"):
        engine.log_response_evaluation(sid, asked.id, "answer", score, "fb", scored_by="test")
    assert count(engine.store, interview_responses) == 0


def test_an_evaluation_for_a_question_not_asked_is_refused(engine: InterviewEngine) -> None:
    sid = start(engine).session_id
    with pytest.raises(QuestionNotAsked, match="That question was not asked in this interview.*none yet"):
        engine.log_response_evaluation(sid, "Explain window functions", "x", 0.5, "f", scored_by="test")
    _, asked = ask_next(engine, sid)
    other = start(engine, "E300").session_id
    _, theirs = ask_next(engine, other)
    with pytest.raises(QuestionNotAsked):  # a question of another session
        engine.log_response_evaluation(sid, theirs.id, "x", 0.5, "f", scored_by="test")
    with pytest.raises(QuestionNotAsked):
        engine.log_response_evaluation(sid, "What is your favourite colour?", "x", 0.5, "f", scored_by="test")
    assert count(engine.store, interview_responses) == 0
    # The asked question can be named by row id, bank id or its text.
    engine.log_response_evaluation(sid, asked.text, "x", 0.5, "f", scored_by="test")


def test_a_second_evaluation_of_the_same_question_is_refused(engine: InterviewEngine) -> None:
    sid = start(engine).session_id
    _, asked = ask_next(engine, sid)
    engine.log_response_evaluation(sid, asked.id, "first", 0.4, "f", scored_by="test")
    with pytest.raises(AlreadyEvaluated, match=r"already has a score \(0.40\); each answer is scored once"):
        engine.log_response_evaluation(sid, asked.id, "second", 0.9, "f", scored_by="test")
    with engine.store.read() as conn:
        assert [r["response_text"] for r in repo.list_responses(conn, sid)] == ["first"]


def test_concurrent_evaluations_of_one_question_record_exactly_one(engine: InterviewEngine) -> None:
    sid = start(engine).session_id
    _, asked = ask_next(engine, sid)
    outcomes: list[str] = []

    def evaluate(i: int) -> None:
        try:
            engine.log_response_evaluation(sid, asked.id, f"a{i}", 0.5, "f", scored_by="test")
            outcomes.append("ok")
        except AlreadyEvaluated:
            outcomes.append("refused")

    threads = [threading.Thread(target=evaluate, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ok"] + ["refused"] * 7
    assert count(engine.store, interview_responses) == 1


def test_hands_on_scores_combine_the_execution_grade_and_keep_evidence(engine: InterviewEngine) -> None:
    sid = start(engine).session_id
    asked = engine.log_question_asked(sid, "Write a query", "joins", "intermediate")
    grade = {"verdict": "partial", "score": 0.5, "message": "wrong on a hidden dataset"}
    ev = engine.log_response_evaluation(
        sid,
        asked.id,
        "SELECT 1",
        1.0,
        "explained well",
        scored_by="openai:m",
        rubric_version="r1",
        sql_text="SELECT 1",
        grade=grade,
    )
    assert ev.score == pytest.approx(0.7 * 0.5 + 0.3 * 1.0)
    with engine.store.read() as conn:
        r = repo.list_responses(conn, sid)[0]
    evidence = repo.from_json(r["evidence"])
    assert (r["grade_verdict"], r["grade_score"], r["sql_text"], r["scored_by"], r["rubric_version"]) == (
        "partial",
        0.5,
        "SELECT 1",
        "openai:m",
        "r1",
    )
    assert (
        evidence["grade"] == grade
        and evidence["judged_score"] == 1.0
        and evidence["transcript"] == "SELECT 1"
    )


def test_huge_answers_are_refused_with_a_clear_message(engine: InterviewEngine) -> None:
    sid = start(engine).session_id
    _, asked = ask_next(engine, sid)
    with pytest.raises(
        InvalidInput, match=r"The answer is too long \(20,001 characters; the limit is 20,000\)"
    ):
        engine.log_response_evaluation(sid, asked.id, "x" * 20_001, 0.5, "f", scored_by="test")


# ---------------------------------------------------------------- report, interruption, resumption
def test_no_report_before_any_answer(engine: InterviewEngine) -> None:
    sid = start(engine).session_id
    ask_next(engine, sid)
    with pytest.raises(NothingToReport, match="No answer has been scored yet"):
        engine.generate_session_report(sid)
    assert count(engine.store, session_reports) == 0
    assert engine.state(sid).status == "in_progress"


def test_the_report_ends_the_session_and_is_written_once(engine: InterviewEngine, clock: Clock) -> None:
    sid = start(engine).session_id
    for score in (1.0, 0.5):
        _, a = ask_next(engine, sid)
        engine.log_response_evaluation(sid, a.id, "x", score, "f", scored_by="test")
    clock.now += timedelta(minutes=3)
    report = engine.generate_session_report(sid)
    assert report.overall_score == 0.75
    with engine.store.read() as conn:
        session = repo.get_session(conn, sid)
    assert session["status"] == "completed" and session["overall_score"] == 0.75
    assert session["end_time"] == clock.now
    assert engine.generate_session_report(sid).overall_assessment == report.overall_assessment
    assert count(engine.store, session_reports) == 1
    with pytest.raises(SessionClosed, match="is finished"):
        engine.log_question_asked(sid, "More?", "joins", "intermediate")


def test_an_interrupted_session_resumes_where_it_stopped(engine: InterviewEngine, clock: Clock) -> None:
    sid = start(engine).session_id
    _, a1 = ask_next(engine, sid)
    engine.log_response_evaluation(sid, a1.id, "x", 0.5, "f", scored_by="test")
    q2, a2 = ask_next(engine, sid)
    engine.abandon(sid, "disconnect")
    assert engine.state(sid).status == "incomplete"
    with pytest.raises(SessionClosed, match="was interrupted"):
        engine.log_response_evaluation(sid, a2.id, "x", 0.5, "f", scored_by="test")
    clock.now += timedelta(hours=5)  # long after the original deadline
    assert engine.resumable_session("E100") == sid
    state = engine.resume_session(sid)
    assert state.status == "in_progress" and state.pending is not None and state.pending.id == a2.id
    assert engine.next_question(sid).id == q2.id  # the unanswered question comes back first
    assert state.deadline is not None and state.deadline > clock.now


def test_stale_sessions_are_closed_as_incomplete(engine: InterviewEngine, clock: Clock) -> None:
    sid = start(engine).session_id
    clock.now += timedelta(minutes=31)
    assert engine.close_stale_sessions() == 1
    assert engine.state(sid).status == "incomplete"


def test_session_references_are_unguessable(engine: InterviewEngine) -> None:
    sid = start(engine).session_id
    ref = engine.session_ref(sid)
    assert engine.resolve_ref(ref) == sid
    for bad in ("", f"{sid}", f"{sid}:wrong", "x:y", f"{sid + 1}:{ref.split(':')[1]}"):
        with pytest.raises(SessionNotFound):
            engine.resolve_ref(bad)


def test_every_category_has_questions_for_the_plan(bank) -> None:
    for c in CATEGORIES:
        assert {q.difficulty for q in bank.questions if q.category == c} == {"intermediate", "advanced"}
