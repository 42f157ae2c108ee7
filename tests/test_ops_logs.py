"""Logs: a full keyless interview at LOG_LEVEL=DEBUG writes JSON lines with session ids, and never the
candidate's answers, their queries, secrets or session references."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app import build_app
from interview.keyless import KeylessInterviewer
from ops.logging import setup_logging
from settings import load_settings

ANSWER_MARK = "quokka-answer-7319"
SQL_MARK = "quokka_sql_4242"
SECRETS = {
    "ATHENA_ADMIN_PASSWORD": "admin-pass-Xy9-never-logged",
    "ATHENA_SESSION_SECRET": "session-secret-Q7-never-logged",
    "ATHENA_METRICS_TOKEN": "metrics-token-K2-never-logged",
}


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    root = logging.getLogger()
    level = root.level
    setup_logging("DEBUG", "json")
    monkeypatch.setattr(sys, "stderr", sys.__stderr__)
    yield stream
    for handler in [h for h in root.handlers if getattr(h, "_athena", False)]:
        root.removeHandler(handler)
    root.setLevel(level)


def test_a_full_interview_logs_json_with_session_ids_and_no_content(
    tmp_path: Path, captured: io.StringIO
) -> None:
    settings = load_settings(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'athena.db'}",
            "LOG_LEVEL": "DEBUG",
            "ATHENA_LOCAL_VOICE": "false",
            **SECRETS,
        },
        env_file=tmp_path / "absent.env",
    )
    app = build_app(settings)
    try:
        with TestClient(app.api, base_url="http://127.0.0.1", client=("127.0.0.1", 1)) as client:
            interviewer = KeylessInterviewer(app.interviews.engine)
            interviewer.start("E77", name="Katherine Johnson")
            ref = interviewer.ref
            answers = 0
            while interviewer.active:
                assert interviewer.question is not None
                if interviewer.question.kind == "hands_on":
                    interviewer.answer("", sql=f"SELECT 1 AS {SQL_MARK}")
                else:
                    interviewer.answer(f"{ANSWER_MARK}: an index speeds up lookups, a join combines rows.")
                answers += 1
            client.get("/ready")
            client.get("/metrics", headers={"Authorization": f"Bearer {SECRETS['ATHENA_METRICS_TOKEN']}"})
            client.get(f"/api/whoami?ref={ref}")
            logging.getLogger("uvicorn.access").info(
                '%s - "%s %s HTTP/%s" %d', "127.0.0.1:1", "GET", f"/interview/report?ref={ref}", "1.1", 200
            )
        sid = interviewer.session_id
    finally:
        app.close()

    lines = [line for line in captured.getvalue().splitlines() if line.strip()]
    assert answers >= 1 and len(lines) >= 4
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"ts", "level", "logger", "msg"} <= set(r) for r in records)
    messages = {r["msg"] for r in records if r.get("session_id") == sid}
    assert {"session started", "answer scored", "session completed"} <= messages
    text = captured.getvalue()
    for forbidden in (ANSWER_MARK, SQL_MARK, ref.split(":", 1)[1], *SECRETS.values()):
        assert forbidden not in text, f"{forbidden!r} leaked into the logs"
    assert any(
        r["logger"] == "uvicorn.access" for r in records
    )  # the access line is there, without its query
