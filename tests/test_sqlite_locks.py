"""The app's SQLite file keeps its locks while the console and the analytics read it.

DuckDB's sqlite scanner carries its own copy of SQLite; used inside the app process it would drop the app's POSIX
locks on the database's WAL index, and another process could then reset the WAL under the app: committed writes
were lost that way once. These tests check, from another process, that the app still holds SQLite's lock on the
WAL index after console queries and an analytics refresh, and that every commit reaches the file.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import text

from analytics.snapshot import snapshot_for
from app import build_app

# Asks, from a separate process, whether another process holds a lock on byte 128 of the -shm file (SQLite's
# "DMS" lock, which every open WAL connection holds shared).
PROBE = """
import fcntl, os, struct, sys
fd = os.open(sys.argv[1], os.O_RDWR)
res = fcntl.fcntl(fd, fcntl.F_GETLK, struct.pack("hhqqh", fcntl.F_WRLCK, 0, 128, 1, 0))
print("locked" if struct.unpack("hhqqh", res)[0] != fcntl.F_UNLCK else "free")
"""


def wal_index_locked(db: Path) -> bool:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, f"{db}-shm"], capture_output=True, text=True, check=True
    )
    return out.stdout.strip() == "locked"


def test_console_and_analytics_leave_the_apps_sqlite_locks_alone(settings, tmp_path: Path) -> None:
    db = tmp_path / "athena.db"
    app = build_app(settings)
    try:
        with TestClient(app.api, base_url="http://127.0.0.1") as client:
            with app.store.write() as conn:
                conn.execute(text("INSERT INTO employees (id, name) VALUES ('L1', 'Lock One')"))
            assert wal_index_locked(db)
            for _ in range(3):
                reply = client.post("/api/query", json={"sql": "SELECT count(*) FROM employees"})
                assert reply.status_code == 200, reply.text
            snapshot_for(app.store).refresh()
            assert wal_index_locked(db), "the app lost its lock on the WAL index"
            with app.store.write() as conn:
                conn.execute(text("INSERT INTO employees (id, name) VALUES ('L2', 'Lock Two')"))
            reply = client.post("/api/query", json={"sql": "SELECT id FROM employees ORDER BY id"})
            assert reply.json()["rows"] == [["L1"], ["L2"]]
    finally:
        app.close()
    check = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sqlite3,sys; print(sqlite3.connect(sys.argv[1])"
            ".execute('select count(*) from employees').fetchone()[0])",
            str(db),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert check.stdout.strip() == "2"
