"""Two app processes on one PostgreSQL: both start (racing the migrations), both are ready, and interviews run
through two processes at once (several threads each) without conflicts or lost writes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from store import Store

ROOT = Path(__file__).resolve().parent.parent

WORKER = textwrap.dedent("""
    import sys, threading
    from interview.keyless import KeylessInterviewer
    from interview.services import build_interview_services
    from settings import load_settings
    from store import Store

    settings = load_settings()
    store = Store.open(settings.database_url, pool_size=4)
    services = build_interview_services(settings, store)
    prefix, count = sys.argv[1], int(sys.argv[2])
    failures = []

    def run(i):
        try:
            interviewer = KeylessInterviewer(services.engine)
            interviewer.start(f"{prefix}{i}", name=f"Worker {prefix} {i}")
            while interviewer.active:
                if interviewer.question.kind == "hands_on":
                    interviewer.answer("", sql="SELECT 1")
                else:
                    interviewer.answer("An index is a sorted structure that speeds up lookups.")
        except Exception as exc:
            failures.append(repr(exc))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads: t.start()
    for t in threads: t.join()
    store.close()
    print("FAILURES", failures)
    sys.exit(1 if failures else 0)
""")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    return {
        **env,
        "DATABASE_URL": url,
        "GRADIO_ANALYTICS_ENABLED": "False",
        "ATHENA_LOCAL_VOICE": "false",
        "ATHENA_MAX_QUESTIONS": "4",
        "ATHENA_SESSION_SECRET": "shared-between-replicas",
        **extra,
    }


def test_two_app_processes_and_two_interview_processes_share_one_postgresql(
    postgres_store: Store, tmp_path: Path
) -> None:
    url = postgres_store.url.replace("postgresql+psycopg://", "postgresql://")
    with postgres_store.write() as conn:  # a blank database: the two servers race to migrate it
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    postgres_store.engine.dispose()

    ports = [_free_port(), _free_port()]
    servers = [
        subprocess.Popen(
            [sys.executable, str(ROOT / "app.py")],
            cwd=tmp_path,
            env=_env(url, ATHENA_PORT=str(p)),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for p in ports
    ]
    try:
        deadline = time.monotonic() + 90
        ready = set()
        while len(ready) < 2 and time.monotonic() < deadline:
            for port, server in zip(ports, servers, strict=True):
                assert server.poll() is None, server.communicate()[0]
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2).status_code == 200:
                        ready.add(port)
                except httpx.HTTPError:
                    pass
            time.sleep(0.3)
        assert len(ready) == 2, "both servers should become ready"

        script = tmp_path / "worker.py"
        script.write_text(WORKER)
        workers = [
            subprocess.Popen(
                [sys.executable, str(script), prefix, "4"],
                cwd=ROOT,
                env=_env(url, PYTHONPATH=str(ROOT)),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for prefix in ("A", "B")
        ]
        outputs = [w.communicate(timeout=240)[0] for w in workers]
        assert [w.returncode for w in workers] == [0, 0], outputs

        for port in ports:  # both servers still serve and see the same data
            ready_body = httpx.get(f"http://127.0.0.1:{port}/ready", timeout=5).json()
            assert ready_body["checks"]["database"]["ok"], ready_body
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            try:
                server.wait(timeout=40)
            except subprocess.TimeoutExpired:
                server.kill()

    store = Store.open(url, migrate=False)
    try:
        with store.read() as conn:
            sessions = conn.execute(
                text("SELECT status, COUNT(*) FROM interview_sessions GROUP BY status")
            ).all()
            assert dict(sessions) == {"completed": 8}
            per_session = conn.execute(
                text(
                    "SELECT s.id, COUNT(DISTINCT q.position), COUNT(q.id), COUNT(r.id) FROM interview_sessions s "
                    "JOIN interview_questions q ON q.session_id = s.id "
                    "LEFT JOIN interview_responses r ON r.question_id = q.id GROUP BY s.id"
                )
            ).all()
            assert len(per_session) == 8
            assert all(positions == asked == scored == 4 for _, positions, asked, scored in per_session)
            assert conn.execute(text("SELECT COUNT(*) FROM session_reports")).scalar() == 8
            migrations = conn.execute(
                text("SELECT COUNT(*), COUNT(DISTINCT version) FROM schema_migrations")
            ).one()
            assert migrations[0] == migrations[1]  # each migration applied once despite the race
    finally:
        store.close()
    for server in servers:  # graceful shutdown on SIGTERM (uvicorn re-raises the signal once it is done)
        output = server.communicate()[0]
        assert server.returncode in (0, -15), output
        assert "Application shutdown complete" in output, output


@pytest.fixture(autouse=True)
def _needs_postgres() -> None:
    if not os.environ.get("ATHENA_TEST_POSTGRES_URL"):
        pytest.skip("needs ATHENA_TEST_POSTGRES_URL")
