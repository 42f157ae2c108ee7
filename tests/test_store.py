"""The store: schema contract, migrations, pragmas, constraints and concurrent writers, on both backends."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from store import Store, StoreError, repo
from store.migrations import LATEST_VERSION, MIGRATIONS
from store.schema import SEED_TABLES, metadata

SEED_COLUMNS = {
    "employees": ["id", "name", "department", "role"],
    "interview_sessions": ["id", "employee_id", "start_time", "end_time", "overall_score"],
    "interview_questions": ["id", "session_id", "question_text", "category", "difficulty", "timestamp"],
    "interview_responses": [
        "id",
        "session_id",
        "question_id",
        "response_text",
        "score",
        "feedback",
        "timestamp",
    ],
    "session_reports": [
        "id",
        "session_id",
        "strengths",
        "weaknesses",
        "recommendations",
        "overall_assessment",
    ],
}


def test_migrated_columns_match_the_declared_schema(any_store: Store) -> None:
    insp = inspect(any_store.engine)
    for table in metadata.sorted_tables:
        actual = [c["name"] for c in insp.get_columns(table.name)]
        assert actual == [c.name for c in table.columns], table.name


def test_seed_tables_keep_their_names_and_columns_first(any_store: Store) -> None:
    insp = inspect(any_store.engine)
    for table in SEED_TABLES:
        columns = [c["name"] for c in insp.get_columns(table)]
        assert columns[: len(SEED_COLUMNS[table])] == SEED_COLUMNS[table]


def test_seed_indexes_exist(any_store: Store) -> None:
    insp = inspect(any_store.engine)
    found = {
        tuple(ix["column_names"])
        for table in ("interview_sessions", "interview_questions", "interview_responses")
        for ix in insp.get_indexes(table)
    }
    assert {("employee_id", "start_time"), ("session_id", "category"), ("session_id", "score")} <= found


def test_migrations_are_recorded_and_idempotent(any_store: Store) -> None:
    assert any_store.schema_version() == LATEST_VERSION
    assert any_store.migrate() == []
    with any_store.read() as conn:
        rows = conn.execute(text("SELECT version, name FROM schema_migrations ORDER BY version")).all()
    assert [(v, n) for v, n in rows] == [(m.version, m.name) for m in MIGRATIONS]


def test_a_database_from_a_newer_version_is_refused(any_store: Store) -> None:
    with any_store.write() as conn:
        conn.execute(
            text(
                "INSERT INTO schema_migrations (version, name, applied_at) "
                "VALUES (999, 'm999_future', CURRENT_TIMESTAMP)"
            )
        )
    with pytest.raises(
        StoreError, match=r"newer version of Athena \(schema version 999; this version knows up to"
    ):
        Store.open(any_store.url)


def _employee_and_session(store: Store) -> int:
    with store.write() as conn:
        repo.upsert_employee(conn, "E1", "Ada Lovelace", "Data", "Analyst")
        return repo.create_session(conn, "E1", brain="keyless", mode="text", plan={})


def test_foreign_keys_are_enforced(any_store: Store) -> None:
    with pytest.raises(IntegrityError), any_store.write() as conn:
        repo.create_session(conn, "nobody", brain="keyless", mode="text", plan={})
    with any_store.read() as conn:
        assert repo.counts(conn)["sessions"] == 0


@pytest.mark.parametrize("score", [-0.01, 1.01, 7.0])
def test_scores_outside_zero_to_one_are_refused_by_the_database(any_store: Store, score: float) -> None:
    session_id = _employee_and_session(any_store)
    with any_store.write() as conn:
        qid = repo.add_question(
            conn,
            session_id,
            text="Q",
            category="joins",
            difficulty="intermediate",
            question_ref=None,
            kind="conceptual",
            position=1,
        )
    with pytest.raises(IntegrityError), any_store.write() as conn:
        conn.execute(
            text("INSERT INTO interview_responses (session_id, question_id, score) VALUES (:s, :q, :x)"),
            {"s": session_id, "q": qid, "x": score},
        )


def test_one_evaluation_per_question(any_store: Store) -> None:
    session_id = _employee_and_session(any_store)
    with any_store.write() as conn:
        qid = repo.add_question(
            conn,
            session_id,
            text="Q",
            category="joins",
            difficulty="intermediate",
            question_ref=None,
            kind="conceptual",
            position=1,
        )
        repo.add_response(
            conn,
            session_id,
            qid,
            response_text="a",
            score=0.5,
            feedback="f",
            scored_by="t",
            rubric_version=None,
            evidence={},
        )
    with pytest.raises(IntegrityError), any_store.write() as conn:
        repo.add_response(
            conn,
            session_id,
            qid,
            response_text="b",
            score=0.6,
            feedback="f",
            scored_by="t",
            rubric_version=None,
            evidence={},
        )


def test_seed_defaults_fill_timestamps(any_store: Store) -> None:
    with any_store.write() as conn:
        conn.execute(text("INSERT INTO employees (id, name) VALUES ('E9', 'Grace')"))
        conn.execute(text("INSERT INTO interview_sessions (employee_id) VALUES ('E9')"))
        row = conn.execute(text("SELECT start_time, status FROM interview_sessions")).one()
    assert row.start_time is not None and row.status == "in_progress"


def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_store: Store) -> None:
    with sqlite_store.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


WRITERS, WRITES = 50, 100


def test_concurrent_writers_threads_and_asyncio_tasks(any_store: Store) -> None:
    """50 writers (25 threads, 25 asyncio tasks) x 100 writes each: every row is found afterwards."""
    session_id = _employee_and_session(any_store)
    errors: list[BaseException] = []

    def write_one(writer: int, i: int) -> None:
        with any_store.write() as conn:
            qid = repo.add_question(
                conn,
                session_id,
                text=f"w{writer}-{i}",
                category="joins",
                difficulty="intermediate",
                question_ref=f"w{writer}",
                kind="conceptual",
                position=i,
            )
            repo.add_response(
                conn,
                session_id,
                qid,
                response_text=f"answer {writer}-{i}",
                score=(i % 11) / 10,
                feedback=None,
                scored_by="test",
                rubric_version=None,
                evidence={"w": writer},
            )

    def thread_writer(writer: int) -> None:
        try:
            for i in range(WRITES):
                write_one(writer, i)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    async def task_writer(writer: int) -> None:
        for i in range(WRITES):
            await asyncio.to_thread(write_one, writer, i)

    async def run_tasks() -> None:
        await asyncio.gather(*(task_writer(w) for w in range(WRITERS // 2, WRITERS)))

    threads = [threading.Thread(target=thread_writer, args=(w,)) for w in range(WRITERS // 2)]
    for t in threads:
        t.start()
    asyncio.run(run_tasks())
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    with any_store.read() as conn:
        texts = {r[0] for r in conn.execute(text("SELECT question_text FROM interview_questions"))}
        n_resp = conn.execute(text("SELECT COUNT(*) FROM interview_responses")).scalar_one()
    assert texts == {f"w{w}-{i}" for w in range(WRITERS) for i in range(WRITES)}
    assert n_resp == WRITERS * WRITES


def test_unopenable_sqlite_path_gives_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as err:
        Store.open(f"sqlite:///{tmp_path / 'missing-folder' / 'x.db'}")
    assert "does not exist" in str(err.value) and "\n" not in str(err.value)


def test_a_file_that_is_not_a_database_gives_one_clear_line(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.db"
    bogus.write_bytes(b"this is not a sqlite database" * 100)
    with pytest.raises(
        StoreError, match=r"Cannot open the database \(SQLite file .*bogus.db\): file is not a database"
    ):
        Store.open(f"sqlite:///{bogus}")


def test_unreachable_postgres_gives_one_clear_line() -> None:
    with pytest.raises(StoreError) as err:
        Store.open("postgresql://nobody@127.0.0.1:1/none")
    message = str(err.value)
    assert (
        message.startswith("Cannot open the database (PostgreSQL 127.0.0.1:1/none)") and "\n" not in message
    )
