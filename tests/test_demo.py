"""Demo data: realistic, marked, deterministic, re-runnable, and never touching real interviews."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from analytics import demo
from analytics.demo_content import QUESTIONS_DIR, BankQuestion, DemoError, load_demo_bank
from analytics.demo_model import REFERENCE_DATE, WINDOW_DAYS
from store import Store, repo
from store.schema import (
    employees,
    interview_questions,
    interview_responses,
    interview_sessions,
    score_overrides,
    session_reports,
)

VERDICTS = {"correct", "partial", "wrong", "error"}


@pytest.fixture(scope="module")
def bank() -> list[BankQuestion]:
    """The repo's real question bank, read from its YAML files."""
    return load_demo_bank(QUESTIONS_DIR)


def rows(store: Store, table) -> list[dict]:
    with store.read() as conn:
        return [dict(r) for r in conn.execute(select(table).order_by(table.c.id)).mappings()]


def test_demo_rows_are_realistic_and_marked(any_store: Store, bank: list[BankQuestion]) -> None:
    summary = demo.generate(any_store, 80, seed=3, bank=bank)
    assert summary.sessions == 80
    by_ref = {q.ref: q for q in bank}
    sessions = rows(any_store, interview_sessions)
    questions = rows(any_store, interview_questions)
    responses = rows(any_store, interview_responses)
    reports = {r["session_id"]: r for r in rows(any_store, session_reports)}
    people = rows(any_store, employees)
    assert len(sessions) == 80 and len(responses) == summary.responses and len(questions) == summary.questions
    assert all(p["id"].startswith("DEMO-") for p in people)
    assert len({p["department"] for p in people}) >= 4 and len({p["role"] for p in people}) >= 4
    assert {s["brain"] for s in sessions} == {"demo"}
    assert {s["status"] for s in sessions} <= {"completed", "incomplete"}
    assert sum(s["status"] == "completed" for s in sessions) > 60  # mostly completed
    assert {r["scored_by"] for r in responses} == {"demo"}
    window_start = REFERENCE_DATE.replace(hour=0) - timedelta(days=WINDOW_DAYS)
    assert all(window_start <= s["start_time"] < s["end_time"] <= REFERENCE_DATE for s in sessions)
    # questions come from the real bank, text and all
    for q in questions:
        src = by_ref[q["question_ref"]]
        assert (q["question_text"], q["category"], q["difficulty"], q["kind"]) == (
            src.prompt,
            src.category,
            src.difficulty,
            src.kind,
        )
    per_session = defaultdict(list)
    for q in questions:
        per_session[q["session_id"]].append(q)
    answers = defaultdict(list)
    for r in responses:
        answers[r["session_id"]].append(r)
    for s in sessions:
        asked = per_session[s["id"]]
        assert [q["position"] for q in asked] == list(range(1, len(asked) + 1))
        if s["status"] == "completed":
            assert 5 <= len(asked) <= 10 and len(answers[s["id"]]) == len(asked)
            mean = sum(r["score"] for r in answers[s["id"]]) / len(asked)
            assert s["overall_score"] == pytest.approx(mean, abs=0.001)
            report = reports[s["id"]]
            assert report["strengths"] and report["weaknesses"] and report["recommendations"]
            assert json.loads(report["details"])["overall_score"] == pytest.approx(s["overall_score"])
        else:  # interrupted: some answers, no report, no overall score yet (as the engine leaves it)
            assert 1 <= len(answers[s["id"]]) < 10 and s["id"] not in reports and s["overall_score"] is None
    for r in responses:
        assert 0.0 <= r["score"] <= 1.0 and r["feedback"] and r["response_text"]
        evidence = json.loads(r["evidence"])
        assert evidence["transcript"] == r["response_text"] and evidence["scored_by"] == "demo"
        ref = evidence["question_ref"]
        if by_ref[ref].kind == "hands_on":
            assert r["grade_verdict"] in VERDICTS and r["sql_text"] and 0 <= r["grade_score"] <= 1
            assert evidence["grade"]["verdict"] == r["grade_verdict"]
            if r["grade_verdict"] == "correct":
                assert r["sql_text"] == by_ref[ref].reference_sql
        else:
            assert r["grade_verdict"] is None and r["sql_text"] is None
            assert {p["id"] for p in evidence["rubric"]["key_points"]} == {
                k for k, _, _ in by_ref[ref].key_points
            }


def test_same_seed_same_interviews(tmp_path: Path, bank: list[BankQuestion]) -> None:
    def dump(name: str, seed: int) -> list:
        store = Store.open(f"sqlite:///{tmp_path / name}")
        try:
            demo.generate(store, 40, seed=seed, bank=bank)
            with store.read() as conn:
                return [
                    list(conn.execute(text(f"SELECT * FROM {t} ORDER BY id")).all())
                    for t in (
                        "employees",
                        "interview_sessions",
                        "interview_questions",
                        "interview_responses",
                        "session_reports",
                    )
                ]
        finally:
            store.close()

    first = dump("a.db", 7)
    assert first == dump("b.db", 7)
    assert first != dump("c.db", 8)


def _real_interview(store: Store) -> int:
    with store.write() as conn:
        repo.upsert_employee(conn, "E-REAL", "Real Person", "Finance", "Analyst")
        sid = repo.create_session(conn, "E-REAL", brain="keyless", mode="text", plan={})
        qid = repo.add_question(
            conn,
            sid,
            text="What does a LEFT JOIN keep?",
            category="joins",
            difficulty="intermediate",
            question_ref=None,
            kind="conceptual",
            position=1,
        )
        repo.add_response(
            conn,
            sid,
            qid,
            response_text="all left rows",
            score=0.8,
            feedback="ok",
            scored_by="keyless-rubric",
            rubric_version=None,
            evidence={},
        )
    return sid


def test_rerun_refuses_replace_and_clear_keep_real_rows(any_store: Store, bank: list[BankQuestion]) -> None:
    real = _real_interview(any_store)
    first = demo.generate(any_store, 30, seed=1, bank=bank)
    with pytest.raises(DemoError, match="already holds 30 demo interviews. Run again with --replace"):
        demo.generate(any_store, 30, seed=1, bank=bank)
    with any_store.write() as conn:  # an override of a demo answer goes with the demo rows
        rid = conn.execute(select(func.max(interview_responses.c.id))).scalar_one()
        conn.execute(
            score_overrides.insert().values(
                response_id=rid,
                original_score=0.1,
                new_score=0.2,
                reason="test",
                actor="lead",
                at=repo.utcnow(),
            )
        )
    second = demo.generate(any_store, 25, seed=2, bank=bank, replace=True)
    with any_store.read() as conn:
        assert demo.demo_counts(conn) == {"sessions": 25, "employees": second.employees}
        assert conn.execute(select(func.count()).select_from(score_overrides)).scalar_one() == 0
    assert first.sessions == 30
    assert demo.clear_demo(any_store) == 25
    with any_store.read() as conn:
        assert demo.demo_counts(conn) == {"sessions": 0, "employees": 0}
        assert [r.id for r in conn.execute(select(interview_sessions.c.id))] == [real]
        assert conn.execute(select(func.count()).select_from(interview_responses)).scalar_one() == 1
        assert conn.execute(select(employees.c.id)).scalars().all() == ["E-REAL"]
    # ids keep counting after explicit-id inserts: a real interview can still be written (PostgreSQL sequences)
    assert _real_interview(any_store) > real


def test_the_data_tells_a_story(sqlite_store: Store, bank: list[BankQuestion]) -> None:
    demo.generate(sqlite_store, 600, seed=7, bank=bank)
    sql = """SELECT e.department, q.category, r.score, s.start_time FROM interview_responses r
             JOIN interview_questions q ON q.id = r.question_id JOIN interview_sessions s ON s.id = r.session_id
             JOIN employees e ON e.id = s.employee_id"""
    with sqlite_store.read() as conn:
        data = conn.execute(text(sql)).all()

    def mean(pred) -> float:
        scores = [r.score for r in data if pred(r)]
        return sum(scores) / len(scores)

    assert mean(lambda r: r.department == "Data") > mean(lambda r: r.department == "Sales") + 0.1
    assert mean(lambda r: r.department == "Engineering" and r.category == "indexing_performance") > mean(
        lambda r: r.department == "Engineering" and r.category == "window_functions"
    )
    middle = str(REFERENCE_DATE.replace(year=REFERENCE_DATE.year - 1, month=12))
    assert mean(lambda r: str(r.start_time) >= middle) > mean(lambda r: str(r.start_time) < middle)


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert demo.main(["--sessions", "12", "--seed", "5", "--database-url", url]) == 0
    assert "Wrote 12 demo interviews" in capsys.readouterr().out
    assert demo.main(["--sessions", "12", "--database-url", url]) == 2
    assert "already holds 12 demo interviews" in capsys.readouterr().err
    assert demo.main(["--sessions", "8", "--replace", "--questions", "6-6", "--database-url", url]) == 0
    assert "Wrote 8 demo interviews" in capsys.readouterr().out
    assert demo.main(["--clear", "--database-url", url]) == 0
    assert "Removed 8 demo interviews" in capsys.readouterr().out
    assert demo.main(["--sessions", "0", "--database-url", url]) == 2
    assert "--sessions must be from 1 to 5,000,000, not 0" in capsys.readouterr().err
    assert demo.main(["--sessions", "5", "--questions", "9-3", "--database-url", url]) == 2
    assert "such as 5-10, not 9-3" in capsys.readouterr().err
    assert demo.main(["--sessions", "5", "--database-url", "sqlite:////no/such/folder/x.db"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_bank_through_the_loader_matches_the_yaml(bank: list[BankQuestion]) -> None:
    loaded = load_demo_bank()  # via interview.questions.load_bank(), which validates the bank
    assert [q.ref for q in loaded] == [q.ref for q in bank]
    assert loaded == bank


def test_bank_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(DemoError, match="No questions found"):
        load_demo_bank(tmp_path)
    (tmp_path / "broken.yaml").write_text("questions: [\n", encoding="utf-8")
    with pytest.raises(DemoError, match="Cannot read the question bank file broken.yaml"):
        load_demo_bank(tmp_path)
