"""The app as a whole: it builds on a temp database, serves the three tabs, and fails start-up in one line."""

from __future__ import annotations

import inspect
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from app import build_app

ROOT = Path(__file__).resolve().parent.parent


def test_app_serves_three_tabs(settings) -> None:
    app = build_app(settings)
    try:
        with TestClient(app.api) as client:
            page = client.get("/")
            assert page.status_code == 200
            for label in ('"label":"Interview"', '"label":"Analytics"', '"label":"SQL Console"'):
                assert label in page.text
            assert "No interview running. Enter your employee ID to start." in page.text
    finally:
        app.close()


def run_app(env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", **env}
    return subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT, env=full, capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"ATHENA_PORT": "not-a-port"},
            "athena: ATHENA_PORT must be a whole number from 1 to 65535, not 'not-a-port'",
        ),
        (
            {"DATABASE_URL": "sqlite:////nonexistent-athena-dir/x.db"},
            "athena: Cannot open the database (SQLite file /nonexistent-athena-dir/x.db): the folder "
            "/nonexistent-athena-dir does not exist",
        ),
        (
            {"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"},
            "athena: Cannot open the database (PostgreSQL 127.0.0.1:1/none): ",
        ),
    ],
)
def test_bad_start_up_gives_one_line_not_a_traceback(env: dict[str, str], expected: str) -> None:
    result = run_app(env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(expected), result.stderr
    assert "Traceback" not in result.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_and_fetch(env: dict[str, str]) -> tuple[float, str]:
    port = _free_port()
    full = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "ATHENA_PORT": str(port), **env}
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "app.py"],
        cwd=ROOT,
        env=full,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = started + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError(f"app exited: {proc.stderr.read() if proc.stderr else ''}")
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                if page.status_code == 200:
                    return time.monotonic() - started, page.text
            except httpx.TransportError:
                time.sleep(0.2)
        raise AssertionError("app did not answer within 60 s")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_python_app_py_serves_on_sqlite(tmp_path: Path) -> None:
    _, page = _start_and_fetch({"DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}"})
    assert '"label":"SQL Console"' in page
    assert (tmp_path / "a.db").exists()


def test_python_app_py_serves_and_migrates_on_postgres(postgres_database: str) -> None:
    _, page = _start_and_fetch({"DATABASE_URL": postgres_database})
    assert '"label":"Interview"' in page
    from store import Store

    store = Store.open(postgres_database, migrate=False)
    try:
        from store.migrations import LATEST_VERSION

        assert store.schema_version() == LATEST_VERSION
    finally:
        store.close()


@pytest.mark.parametrize("api_key", ["", "sk-test-athena"], ids=["keyless", "realtime"])
def test_no_streaming_event_runs_unqueued(tmp_path: Path, api_key: str) -> None:
    """Gradio keys a stream's diffs by id() of its generator and never drops them for unqueued runs.

    Unqueued, every update is a new generator; once a freed one's address is reused, the page is sent a diff
    of an old run, cannot apply it and stops updating (the keyless voice page froze this way mid-interview).
    """
    from settings import load_settings

    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'athena.db'}",
        "ATHENA_LOG_FORMAT": "text",
        "ATHENA_LOCAL_VOICE": "true",
        "OPENAI_API_KEY": api_key,
    }
    app = build_app(load_settings(env, env_file=tmp_path / "absent.env"))
    try:
        streaming = [
            fn
            for fn in app.blocks.fns.values()
            if inspect.isgeneratorfunction(fn.fn) or inspect.isasyncgenfunction(fn.fn)
        ]
        assert streaming, "expected the voice components' update streams"
        unqueued = [f"{fn.name} -> {[o._id for o in fn.outputs]}" for fn in streaming if not fn.queue]
        assert unqueued == []
    finally:
        app.close()
