"""`python -m store`: backup and restore, SQLite -> PostgreSQL copy, employee export and erasure, retention."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from interview.engine import EngineConfig, InterviewEngine
from interview.questions import load_bank
from store import Store, repo
from store.__main__ import main
from store.copy import copy_tables, table_checksum
from store.schema import audit_log, employees, interview_responses, interview_sessions, score_overrides, users

SECRET_ANSWER = "A LEFT JOIN keeps unmatched rows from the left table, zebra-marker-4711."


@pytest.fixture(scope="module")
def bank():
    return load_bank()


@pytest.fixture(autouse=True)
def _no_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.delenv("DATABASE_URL", raising=False)


def interview(store: Store, bank, employee: str, *, when: datetime | None = None, answers: int = 2) -> int:
    """A finished interview with `answers` scored answers, started at `when` (default: now)."""
    clock = (lambda: when) if when is not None else repo.utcnow
    engine = InterviewEngine(store, bank, EngineConfig(max_questions=answers), clock=clock)
    sid = engine.start_session(employee, name=f"Person {employee}", department="Data").session_id
    for i in range(answers):
        q = engine.next_question(sid)
        assert q is not None
        asked = engine.log_question_asked(sid, q.prompt, q.category, q.difficulty, question_ref=q.id)
        engine.log_response_evaluation(
            sid,
            asked.id,
            f"{SECRET_ANSWER} #{i}",
            0.5 + i / 10,
            "Fair.",
            scored_by="test",
            evidence={"rubric": {"key_points": [{"id": "k", "made": True, "evidence": SECRET_ANSWER}]}},
        )
    engine.generate_session_report(sid)
    with store.write() as conn:  # a lead's override, so the child-of-child table has a row
        rid = conn.execute(
            select(interview_responses.c.id).where(interview_responses.c.session_id == sid)
        ).first()
        conn.execute(
            score_overrides.insert().values(
                response_id=rid[0],
                original_score=0.5,
                new_score=0.6,
                reason="re-listened",
                actor="lead",
                at=repo.utcnow(),
            )
        )
    return sid


def checksums(store: Store) -> dict[str, tuple[int, str]]:
    with store.read() as conn:
        return {t.name: table_checksum(conn, t) for t in copy_tables()}


def run(*argv: str, stdin: str = "") -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), stdin=io.StringIO(stdin), stdout=out)
    return code, out.getvalue()


def count(store: Store, table, *where) -> int:
    with store.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


# ---------------------------------------------------------------- backup and restore
def test_backup_and_restore_round_trip(any_store: Store, bank, tmp_path: Path) -> None:
    interview(any_store, bank, "E1")
    interview(any_store, bank, "E2")
    before = checksums(any_store)
    dest = tmp_path / "backup.bin"
    code, out = run("--database-url", any_store.url, "backup", str(dest))
    assert code == 0, out
    assert dest.stat().st_size > 0
    assert ("sqlite-backup-api" if any_store.dialect == "sqlite" else "pg_dump") in out

    interview(any_store, bank, "E3")  # changes after the backup
    from store.privacy import erase_employee

    erase_employee(any_store, "E1", actor="test")
    assert checksums(any_store) != before

    code, out = run("--database-url", any_store.url, "restore", str(dest), "--yes")
    assert code == 0, out
    assert checksums(any_store) == before
    assert count(any_store, employees, employees.c.id == "E3") == 0
    # the app keeps working on the restored database: new rows get fresh ids
    interview(any_store, bank, "E4")
    assert count(any_store, employees) == 3


def test_backup_is_consistent_while_interviews_write(sqlite_store: Store, bank, tmp_path: Path) -> None:
    import threading

    interview(sqlite_store, bank, "E0")
    stop = threading.Event()

    def writer() -> None:
        n = 0
        while not stop.is_set():
            interview(sqlite_store, bank, f"W{n}", answers=1)
            n += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for i in range(3):
            code, out = run("--database-url", sqlite_store.url, "backup", str(tmp_path / f"b{i}.db"))
            assert code == 0, out
    finally:
        stop.set()
        thread.join()
    for i in range(3):
        copy = Store.open(f"sqlite:///{tmp_path / f'b{i}.db'}", migrate=False)
        with copy.read() as conn:  # every completed session in a backup has its report: no torn transactions
            done = conn.execute(
                text("SELECT COUNT(*) FROM interview_sessions WHERE status='completed'")
            ).scalar()
            reports = conn.execute(text("SELECT COUNT(*) FROM session_reports")).scalar()
            assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        copy.close()
        assert done == reports and done >= 1


def test_backup_never_overwrites_and_restore_refuses_a_foreign_file(
    sqlite_store: Store, tmp_path: Path
) -> None:
    existing = tmp_path / "exists.db"
    existing.write_text("keep me")
    code, _ = run("--database-url", sqlite_store.url, "backup", str(existing))
    assert code == 1 and existing.read_text() == "keep me"

    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    err = io.StringIO()
    import contextlib

    with contextlib.redirect_stderr(err):
        code, _ = run("--database-url", sqlite_store.url, "restore", str(junk), "--yes")
        assert code == 1
        code2, _ = run("--database-url", sqlite_store.url, "restore", str(tmp_path / "missing.db"), "--yes")
        assert code2 == 1
    assert "is not an Athena SQLite backup" in err.getvalue()
    assert f"There is no backup file {tmp_path / 'missing.db'}" in err.getvalue()
    assert sqlite_store.schema_version() > 0  # untouched


def test_restore_asks_first(sqlite_store: Store, bank, tmp_path: Path) -> None:
    interview(sqlite_store, bank, "E1")
    run("--database-url", sqlite_store.url, "backup", str(tmp_path / "b.db"))
    interview(sqlite_store, bank, "E2")
    code, out = run("--database-url", sqlite_store.url, "restore", str(tmp_path / "b.db"), stdin="no\n")
    assert code == 1 and "Nothing was changed" in out
    assert count(sqlite_store, employees) == 2


# ---------------------------------------------------------------- copy SQLite -> PostgreSQL
def test_copy_sqlite_to_postgresql_is_verified_and_safe_to_repeat(
    sqlite_store: Store, postgres_store: Store, bank, tmp_path: Path
) -> None:
    for e in ("E1", "E2", "E3"):
        interview(sqlite_store, bank, e, answers=3)
    with sqlite_store.write() as conn:  # the private tables are copied too
        conn.execute(
            users.insert().values(
                username="lead1", password_hash="x", role="lead", disabled=True, created_at=repo.utcnow()
            )
        )
        conn.execute(
            audit_log.insert().values(at=repo.utcnow(), actor="admin", action="create_user", target="lead1")
        )
    code, out = run("--database-url", sqlite_store.url, "copy", "--to", postgres_store.url)
    assert code == 0, out
    assert "every table's row count and checksum match" in out
    assert checksums(sqlite_store) == checksums(postgres_store)

    code, out = run("--database-url", sqlite_store.url, "copy", "--to", postgres_store.url)  # again
    assert code == 0, out
    assert " 0 inserted" in out and "inserted" in out
    assert all(", 0 inserted," in line for line in out.splitlines() if "inserted" in line)

    interview(sqlite_store, bank, "E4")  # new rows since: a third run copies just those
    code, out = run("--database-url", sqlite_store.url, "copy", "--to", postgres_store.url)
    assert code == 0 and checksums(sqlite_store) == checksums(postgres_store)

    # sequences moved past the copied ids: the app can keep writing on PostgreSQL
    before = count(postgres_store, interview_sessions)
    interview(postgres_store, bank, "E5")
    assert count(postgres_store, interview_sessions) == before + 1


def test_copy_reports_a_target_that_holds_different_rows(
    sqlite_store: Store, postgres_store: Store, bank
) -> None:
    interview(sqlite_store, bank, "E1")
    with postgres_store.write() as conn:
        conn.execute(employees.insert().values(id="E1", name="Someone Else"))
    code, out = run("--database-url", sqlite_store.url, "copy", "--to", postgres_store.url)
    assert code == 1
    assert "employees: 1 rows, 0 inserted, target has 1, CHECKSUMS DIFFER" in out
    assert "does NOT match" in out


def test_copy_refuses_a_sqlite_target(sqlite_store: Store, tmp_path: Path, capsys) -> None:
    code, _ = run("--database-url", sqlite_store.url, "copy", "--to", f"sqlite:///{tmp_path / 'other.db'}")
    assert code == 1
    assert "The target must be a PostgreSQL database" in capsys.readouterr().err


# ---------------------------------------------------------------- privacy
def test_export_employee_holds_everything_and_is_audited(any_store: Store, bank, tmp_path: Path) -> None:
    sid = interview(any_store, bank, "E1", answers=2)
    interview(any_store, bank, "E2")
    out_file = tmp_path / "e1.json"
    code, out = run(
        "--database-url",
        any_store.url,
        "export-employee",
        "E1",
        "-o",
        str(out_file),
        "--actor",
        "dpo@example.com",
    )
    assert code == 0, out
    data = json.loads(out_file.read_text())
    assert data["employee"] == {"id": "E1", "name": "Person E1", "department": "Data", "role": None}
    assert [s["id"] for s in data["sessions"]] == [sid]
    session = data["sessions"][0]
    assert len(session["questions"]) == 2 and len(session["responses"]) == 2
    assert session["responses"][0]["response_text"].startswith(SECRET_ANSWER)
    assert session["report"]["overall_assessment"]
    assert len(session["score_overrides"]) == 1
    assert "E2" not in json.dumps(data)
    with any_store.read() as conn:
        audit = (
            conn.execute(select(audit_log).where(audit_log.c.action == "export_employee")).mappings().one()
        )
    assert audit["actor"] == "dpo@example.com" and audit["target"] == "E1"

    code, stdout = run("--database-url", any_store.url, "export-employee", "E1")  # to standard output
    assert json.loads(stdout)["employee"]["id"] == "E1"


def test_erase_employee_removes_every_row_and_writes_an_audit_record(any_store: Store, bank, capsys) -> None:
    interview(any_store, bank, "E1", answers=3)
    interview(any_store, bank, "E1", answers=1)
    interview(any_store, bank, "E2", answers=2)
    keep = checksums(any_store)
    code, out = run("--database-url", any_store.url, "erase-employee", "E1", stdin="no\n")
    assert code == 1 and checksums(any_store) == keep

    code, out = run("--database-url", any_store.url, "erase-employee", "E1", "--yes", "--actor", "admin")
    assert code == 0, out
    assert "2 sessions, 4 questions, 4 responses, 2 reports, 2 score_overrides" in out
    assert count(any_store, employees, employees.c.id == "E1") == 0
    assert count(any_store, interview_sessions, interview_sessions.c.employee_id == "E1") == 0
    assert count(any_store, interview_responses) == 2  # E2's remain
    with any_store.read() as conn:
        audit = conn.execute(select(audit_log).where(audit_log.c.action == "erase_employee")).mappings().one()
    assert audit["actor"] == "admin" and audit["target"] == "E1"
    assert json.loads(audit["detail"])["responses"] == 4
    assert SECRET_ANSWER not in (audit["detail"] or "")

    code, _ = run("--database-url", any_store.url, "erase-employee", "E1", "--yes")
    assert code == 1
    assert "There is no employee 'E1'" in capsys.readouterr().err


def test_transcript_retention_purges_old_answers_only(any_store: Store, bank) -> None:
    old = interview(any_store, bank, "E1", when=repo.utcnow() - timedelta(days=40))
    new = interview(any_store, bank, "E2")
    code, out = run("--database-url", any_store.url, "purge-transcripts", "--days", "30")
    assert code == 0 and "Removed the transcripts of 2 answers" in out
    with any_store.read() as conn:
        rows = {sid: repo.list_responses(conn, sid) for sid in (old, new)}
    for r in rows[old]:
        assert r["response_text"] is None
        assert SECRET_ANSWER not in r["evidence"] and "transcript_purged_at" in r["evidence"]
        assert r["score"] is not None and r["feedback"] == "Fair."
    assert all(r["response_text"].startswith(SECRET_ANSWER) for r in rows[new])
    code, out = run("--database-url", any_store.url, "purge-transcripts", "--days", "30")  # idempotent
    assert "Removed the transcripts of 0 answers" in out
    code, out = run("--database-url", any_store.url, "purge-transcripts")
    assert code == 2 and "No retention period" in out


def test_bad_database_url_is_a_one_line_error(tmp_path: Path, capsys) -> None:
    code, _ = run("--database-url", f"sqlite:///{tmp_path / 'nope' / 'x.db'}", "migrate")
    assert code == 2
    assert "does not exist" in capsys.readouterr().err
