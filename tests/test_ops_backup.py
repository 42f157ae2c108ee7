"""Scheduled backups: one per interval, the newest N kept, other files left alone; retention runs with them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from ops.backup import BackupScheduler, existing_backups
from settings import load_settings
from store import Store


def scheduler(store: Store, tmp_path: Path, **env: str) -> BackupScheduler:
    settings = load_settings({"DATABASE_URL": store.url, **env}, env_file=tmp_path / "absent.env")
    return BackupScheduler(store, settings)


def test_backups_are_made_when_due_and_pruned_to_the_newest(any_store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    (folder / "keep-me.txt").write_text("not a backup")
    jobs = scheduler(
        any_store,
        tmp_path,
        ATHENA_BACKUP_DIR=str(folder),
        ATHENA_BACKUP_INTERVAL_HOURS="1",
        ATHENA_BACKUP_KEEP="3",
    )
    start = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    made = [jobs.run_once(start + timedelta(minutes=m)) for m in (0, 30, 61, 122, 183, 244)]
    assert [m is not None for m in made] == [True, False, True, True, True, True]
    names = [p.name for p in existing_backups(folder)]
    suffix = "db" if any_store.dialect == "sqlite" else "dump"
    assert names == [f"athena-20260301T{t}Z.{suffix}" for t in ("100200", "110300", "120400")]
    assert (folder / "keep-me.txt").exists()
    if any_store.dialect == "sqlite":  # a backup is a working database
        copy = Store.open(f"sqlite:///{folder / names[-1]}", migrate=False)
        assert copy.schema_version() == any_store.schema_version()
        copy.close()


def test_a_failed_backup_is_logged_not_raised(sqlite_store: Store, tmp_path: Path, caplog) -> None:
    folder = tmp_path / "backups"
    folder.write_text("a file where the folder should be")
    jobs = scheduler(sqlite_store, tmp_path, ATHENA_BACKUP_DIR=str(folder))
    assert jobs.run_once() is None
    failed = [r for r in caplog.records if r.message == "scheduled backup failed"]
    assert failed and "does not exist" in failed[0].error


def test_retention_runs_with_the_schedule(sqlite_store: Store, tmp_path: Path) -> None:
    with sqlite_store.write() as conn:
        conn.execute(text("INSERT INTO employees (id, name) VALUES ('E1', 'Ada')"))
        conn.execute(
            text(
                "INSERT INTO interview_sessions (id, employee_id, start_time) "
                "VALUES (1, 'E1', '2020-01-01 00:00:00')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO interview_questions (id, session_id, question_text, category, difficulty) "
                "VALUES (1, 1, 'Q?', 'joins', 'intermediate')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO interview_responses (session_id, question_id, response_text, score) "
                "VALUES (1, 1, 'my old answer', 0.5)"
            )
        )
    jobs = scheduler(sqlite_store, tmp_path, ATHENA_TRANSCRIPT_RETENTION_DAYS="30")
    assert jobs.enabled and jobs.run_once() is None
    with sqlite_store.read() as conn:
        assert conn.execute(text("SELECT response_text, score FROM interview_responses")).one() == (None, 0.5)


def test_nothing_scheduled_by_default(sqlite_store: Store, tmp_path: Path) -> None:
    jobs = scheduler(sqlite_store, tmp_path)
    assert not jobs.enabled
    jobs.start()
    assert jobs._thread is None
