"""The keyless interviewer end to end over the real bank, grader and store; and the terminal interview."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from interview.engine import EngineConfig, InterviewEngine
from interview.errors import InvalidInput, SessionNotFound
from interview.keyless import KeylessInterviewer, extract_sql
from interview.questions import load_bank
from store import Store, repo

ROOT = Path(__file__).resolve().parent.parent
ANSWERS = yaml.safe_load((ROOT / "tests" / "data" / "conceptual_answers.yaml").read_text())


@pytest.fixture(scope="module")
def bank():
    return load_bank()


@pytest.fixture
def engine(sqlite_store: Store, bank) -> InterviewEngine:
    return InterviewEngine(sqlite_store, bank, EngineConfig(max_questions=8))


def strong_answer(interviewer: KeylessInterviewer) -> tuple[str, str | None]:
    q = interviewer.question
    assert q is not None
    if q.kind == "hands_on":
        return "", q.reference_sql
    return ANSWERS[q.id]["strong"], None


def run_interview(interviewer: KeylessInterviewer, answer) -> list:
    turns = interviewer.start("E42", name="Ada Lovelace", department="Data", role="Analyst")
    guard = 0
    while interviewer.active:
        guard += 1
        assert guard < 40, "the interview did not end"
        text, sql = answer(interviewer)
        turns += interviewer.answer(text, sql=sql)
    return turns


def test_i_dont_know_to_everything_scores_at_most_point_one(engine: InterviewEngine) -> None:
    interviewer = KeylessInterviewer(engine)
    turns = run_interview(interviewer, lambda i: ("I don't know", None))
    assert interviewer.report is not None and interviewer.report.overall_score <= 0.1
    assert turns[-1].kind == "report"
    assert not [t for t in turns if t.kind == "follow_up"]  # no follow-up after a plain "I don't know"
    with engine.store.read() as conn:
        session = repo.get_session(conn, interviewer.session_id)
        assert len(repo.list_responses(conn, interviewer.session_id)) == 8
    assert session["status"] == "completed" and session["overall_score"] <= 0.1


def test_strong_answers_and_correct_queries_score_at_least_point_eight(engine: InterviewEngine) -> None:
    interviewer = KeylessInterviewer(engine)
    run_interview(interviewer, strong_answer)
    report = interviewer.report
    assert report is not None and report.overall_score >= 0.8, report.to_text()
    with engine.store.read() as conn:
        responses = repo.list_responses(conn, interviewer.session_id)
    hands_on = [r for r in responses if r["sql_text"]]
    assert hands_on and all(r["grade_verdict"] == "correct" and r["score"] == 1.0 for r in hands_on)
    conceptual = [r for r in responses if not r["sql_text"]]
    assert conceptual and all(repo.from_json(r["evidence"])["rubric"]["key_points"] for r in conceptual)


def _until_kind(interviewer: KeylessInterviewer, kind: str) -> None:
    while interviewer.question is not None and interviewer.question.kind != kind:
        interviewer.answer("I don't know")


def test_one_follow_up_when_a_key_point_is_missing(engine: InterviewEngine) -> None:
    interviewer = KeylessInterviewer(engine)
    interviewer.start("E43", name="Alan Turing")
    _until_kind(interviewer, "conceptual")
    q = interviewer.question
    turns = interviewer.answer(ANSWERS[q.id]["mediocre"])
    assert [t.kind for t in turns] == ["follow_up"] and turns[0].text == q.follow_ups[0]
    # The follow-up survives a reattach (the database holds it), and the second answer is scored on both.
    again = KeylessInterviewer.attach(engine, interviewer.ref)
    turns = again.answer("I'm not sure what else to add.")
    assert turns[0].kind == "feedback" and turns[0].text.startswith("Score ")
    with engine.store.read() as conn:
        r = repo.list_responses(conn, interviewer.session_id)[-1]
    evidence = repo.from_json(r["evidence"])
    assert evidence["follow_up"] == q.follow_ups[0]
    assert ANSWERS[q.id]["mediocre"].split()[0] in r["response_text"]


def test_hands_on_answers_are_graded_by_running_them(engine: InterviewEngine) -> None:
    interviewer = KeylessInterviewer(engine)
    interviewer.start("E44", name="Edgar Codd")
    _until_kind(interviewer, "hands_on")
    turns = interviewer.answer("", sql="SELECT 1 AS nothing_useful")
    assert turns[0].kind == "feedback"
    with engine.store.read() as conn:
        r = repo.list_responses(conn, interviewer.session_id)[-1]
    assert r["grade_verdict"] in ("incorrect", "partial") and r["score"] < 0.5
    assert r["sql_text"] == "SELECT 1 AS nothing_useful"


@pytest.mark.parametrize(
    ("text", "sql", "message"),
    [
        ("", None, "The answer is empty."),
        ("   ", "  ", "The answer is empty."),
        ("x" * 20_001, None, r"The answer is too long \(20,001 characters; the limit is 20,000\)"),
    ],
)
def test_empty_and_huge_answers_get_a_clear_message_and_record_nothing(engine, text, sql, message) -> None:
    interviewer = KeylessInterviewer(engine)
    interviewer.start("E45", name="Barbara Liskov")
    with pytest.raises(InvalidInput, match=message):
        interviewer.answer(text, sql=sql)
    with engine.store.read() as conn:
        assert repo.list_responses(conn, interviewer.session_id) == []


def test_a_non_sql_answer_to_a_hands_on_question_gets_a_clear_message(engine: InterviewEngine) -> None:
    interviewer = KeylessInterviewer(engine)
    interviewer.start("E46", name="Jim Gray")
    _until_kind(interviewer, "hands_on")
    before = len(engine.state(interviewer.session_id).answered)
    with pytest.raises(InvalidInput, match="This question asks for a query"):
        interviewer.answer("I would join the two tables and count them")
    assert len(engine.state(interviewer.session_id).answered) == before


def test_a_broken_query_is_scored_zero_with_the_error_explained(engine: InterviewEngine) -> None:
    interviewer = KeylessInterviewer(engine)
    interviewer.start("E47", name="Jim Gray")
    _until_kind(interviewer, "hands_on")
    turns = interviewer.answer("", sql="SELECT FROM WHERE")
    assert turns[0].text.startswith("Score 0.00.")
    interviewer2 = KeylessInterviewer(engine)
    interviewer2.start("E48", name="Jim Gray")
    _until_kind(interviewer2, "hands_on")
    interviewer2.answer("", sql="DROP TABLE customers")  # an attack is an error verdict, not a crash
    with engine.store.read() as conn:
        r = repo.list_responses(conn, interviewer2.session_id)[-1]
    assert r["grade_verdict"] == "error" and r["score"] == 0.0


def test_a_disconnect_keeps_everything_and_the_interview_resumes(engine: InterviewEngine) -> None:
    interviewer = KeylessInterviewer(engine)
    interviewer.start("E49", name="Frances Allen")
    interviewer.answer("I don't know")
    pending = interviewer.current
    interviewer.disconnect()
    assert engine.state(interviewer.session_id).status == "incomplete"
    back = KeylessInterviewer(engine)
    turns = back.start("E49")
    assert back.session_id == interviewer.session_id
    assert "Welcome back" in turns[0].text and back.current.id == pending.id
    assert len(engine.state(back.session_id).answered) == 1


def test_a_bad_reference_is_refused(engine: InterviewEngine) -> None:
    with pytest.raises(SessionNotFound):
        KeylessInterviewer.attach(engine, "1:forged")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("select name from customers", "select name from customers"),
        ("Here it is:\n```sql\nSELECT 1\n```", "SELECT 1"),
        ("  WITH x AS (SELECT 1) SELECT * FROM x", "WITH x AS (SELECT 1) SELECT * FROM x"),
        ("-- my answer\nSELECT 2", "-- my answer\nSELECT 2"),
        ("I would select the customers", None),
    ],
)
def test_extract_sql(text: str, expected: str | None) -> None:
    assert extract_sql(text) == expected


def test_terminal_interview_runs_on_stdin_and_writes_the_store(tmp_path: Path) -> None:
    db = tmp_path / "terminal.db"
    answers = "".join("I don't know\n.\n" for _ in range(8))
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}", "ATHENA_MAX_QUESTIONS": "8"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "interview",
            "--employee-id",
            "E123",
            "--name",
            "Ada Lovelace",
            "--department",
            "Data",
            "--role",
            "Analyst",
        ],
        input=answers,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("ATHENA> ") >= 8 and "Question 8:" in result.stdout
    assert "Overall score: 0.00" in result.stdout and "Recommendations:" in result.stdout
    store = Store.open(f"sqlite:///{db}")
    try:
        with store.read() as conn:
            counts = repo.counts(conn)
    finally:
        store.close()
    assert counts == {"employees": 1, "sessions": 1, "completed": 1, "in_progress": 0, "responses": 8}


def test_terminal_interview_end_of_input_saves_and_exits(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 't.db'}"}
    result = subprocess.run(
        [sys.executable, "-m", "interview", "--employee-id", "E124", "--name", "Bob"],
        input="I don't know\n.\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert result.returncode == 1
    assert "the interview is saved and can be resumed" in result.stdout


def test_terminal_interview_bad_employee_id_is_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 't.db'}"}
    result = subprocess.run(
        [sys.executable, "-m", "interview", "--employee-id", "bad id", "--name", "Bob"],
        input="",
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert result.returncode == 2
    assert (
        result.stderr.strip().startswith("interview: Employee ID must be")
        and "Traceback" not in result.stderr
    )
