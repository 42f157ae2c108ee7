"""The HTTP edge: /health, /ready, /metrics (and who may read it), security headers, body and rate limits,
metrics fed by a real interview, and interviews checkpointed as resumable on shutdown."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from app import AthenaApp, build_app
from interview.keyless import KeylessInterviewer
from settings import load_settings


def make_settings(tmp_path: Path, **env: str):
    base = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'athena.db'}",
        "ATHENA_LOG_FORMAT": "text",
        "ATHENA_LOCAL_VOICE": "false",
    }
    return load_settings({**base, **env}, env_file=tmp_path / "absent.env")


@pytest.fixture
def app(tmp_path: Path) -> Iterator[AthenaApp]:
    built = build_app(make_settings(tmp_path, ATHENA_API_RATE_LIMIT="5", ATHENA_MAX_REQUEST_MB="1"))
    yield built
    built.close()


def client_for(app: AthenaApp, host: str = "127.0.0.1", **kw) -> TestClient:
    return TestClient(app.api, base_url=f"http://{host}", client=("127.0.0.1", 50000), **kw)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def finish_interview(app: AthenaApp, employee: str) -> int:
    interviewer = KeylessInterviewer(app.interviews.engine)
    interviewer.start(employee, name="Grace Hopper")
    while interviewer.active:
        interviewer.answer("I don't know")
    assert interviewer.session_id is not None
    return interviewer.session_id


# ---------------------------------------------------------------- health and readiness
def test_health_and_ready(app: AthenaApp) -> None:
    with client_for(app) as client:
        health = client.get("/health")
        assert health.status_code == 200 and health.json() == {"status": "ok"}
        ready = client.get("/ready")
        assert ready.status_code == 200, ready.text
        body = ready.json()
        assert body["status"] == "ready"
        assert body["checks"]["database"]["ok"] and body["checks"]["database"]["backend"] == "sqlite"
        assert body["checks"]["interviewer"] == {"ok": True, "brain": "keyless", "local_voice": False}
        assert body["checks"]["disk"]["ok"] and body["checks"]["disk"]["free_mb"] > 0


def test_ready_is_503_when_the_disk_is_full_or_the_database_is_behind(tmp_path: Path) -> None:
    built = build_app(make_settings(tmp_path, ATHENA_MIN_FREE_DISK_MB="9999999"))
    try:
        with client_for(built) as client:
            ready = client.get("/ready")
            assert ready.status_code == 503
            assert ready.json()["checks"]["disk"]["detail"].startswith("only ")
            from sqlalchemy import text

            with built.store.write() as conn:
                conn.execute(
                    text(
                        "DELETE FROM schema_migrations WHERE version = (SELECT MAX(version) "
                        "FROM schema_migrations)"
                    )
                )
            db = client.get("/ready").json()["checks"]["database"]
            assert db["ok"] is False and db["detail"].startswith("schema version ")
            assert client.get("/health").status_code == 200  # alive all the same
    finally:
        built.close()


# ---------------------------------------------------------------- metrics
def test_metrics_count_a_real_interview_and_database_time(app: AthenaApp) -> None:
    sid = finish_interview(app, "E42")
    with client_for(app) as client:
        response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    got = samples(response.text)
    assert got[("interview_sessions_completed_total", (("brain", "keyless"),))] == 1
    assert got[("interview_sessions_active", ())] == 0
    n_answers = len(app.interviews.engine.state(sid).answered)
    assert got[("question_response_seconds_count", ())] == n_answers
    assert got[("database_query_duration_seconds_count", (("operation", "insert"),))] >= n_answers
    for name in ("openai_api_latency_seconds", "stream_connections_active", "errors_total"):
        assert f"# TYPE {name}" in response.text


def test_metrics_count_interview_errors_by_kind(app: AthenaApp) -> None:
    from interview.errors import InvalidInput

    with pytest.raises(InvalidInput):
        app.interviews.engine.start_session("bad id!", name="X")
    text = app.api.state.athena_ops.metrics.exposition().decode()
    assert samples(text)[("errors_total", (("kind", "interview.InvalidInput"),))] == 1


@pytest.mark.parametrize(
    ("env", "host", "headers", "status"),
    [
        ({}, "127.0.0.1", {}, 200),  # local (default): this machine may read it
        ({}, "10.1.2.3", {}, 404),  # ...others may not
        ({"ATHENA_METRICS_TOKEN": "s3cret-token"}, "10.1.2.3", {"Authorization": "Bearer s3cret-token"}, 200),
        ({"ATHENA_METRICS_TOKEN": "s3cret-token"}, "10.1.2.3", {"Authorization": "Bearer wrong"}, 404),
        ({"ATHENA_METRICS": "on"}, "10.1.2.3", {}, 200),
        ({"ATHENA_METRICS": "on", "ATHENA_METRICS_TOKEN": "t0k"}, "10.1.2.3", {}, 404),
        ({"ATHENA_METRICS": "off"}, "127.0.0.1", {}, 404),
    ],
)
def test_metrics_are_exposed_only_as_the_operator_allows(tmp_path: Path, env, host, headers, status) -> None:
    built = build_app(make_settings(tmp_path, **env))
    try:
        client = TestClient(built.api, base_url="http://127.0.0.1", client=(host, 50000))
        assert client.get("/metrics", headers=headers).status_code == status
    finally:
        built.close()


# ---------------------------------------------------------------- the edge
def test_security_headers_on_pages_and_hsts_only_over_tls(app: AthenaApp) -> None:
    with client_for(app) as client:
        page = client.get("/")
        assert page.status_code == 200
        csp = page.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["x-frame-options"] == "DENY"
        assert "strict-transport-security" not in page.headers
    with TestClient(app.api, base_url="https://127.0.0.1") as tls:
        assert tls.get("/health").headers["strict-transport-security"].startswith("max-age=31536000")


def test_frame_ancestors_setting_lets_a_space_embed_the_app(tmp_path: Path) -> None:
    built = build_app(make_settings(tmp_path, ATHENA_FRAME_ANCESTORS="https://huggingface.co"))
    try:
        headers = TestClient(built.api, base_url="http://127.0.0.1").get("/health").headers
        assert "frame-ancestors https://huggingface.co" in headers["content-security-policy"]
        assert "x-frame-options" not in headers
    finally:
        built.close()


def test_request_bodies_over_the_limit_get_413(app: AthenaApp) -> None:
    with client_for(app) as client:
        big = b"x" * (1024 * 1024 + 1)
        response = client.post("/gradio_api/upload", content=big, headers={"content-type": "text/plain"})
        assert response.status_code == 413
        assert response.json() == {"error": "The request body is larger than 1 MB."}

        def chunks():  # no Content-Length: counted as it streams
            for _ in range(5):
                yield b"y" * 300_000

        streamed = client.post("/api/query", content=chunks(), headers={"content-type": "application/json"})
        assert streamed.status_code == 413


def test_api_rate_limit_per_ip(app: AthenaApp) -> None:
    with client_for(app) as client:
        codes = [client.get("/api/whoami").status_code for _ in range(7)]
        assert codes[:5] == [200] * 5 and codes[5:] == [429, 429]
        limited = client.get("/api/whoami")
        assert limited.json()["error"].startswith("Too many requests; try again in ")
        assert int(limited.headers["retry-after"]) >= 1
        assert client.get("/health").status_code == 200  # not an API route
    other = TestClient(app.api, base_url="http://127.0.0.1", client=("127.0.0.9", 1))
    assert other.get("/api/whoami").status_code == 200  # another address has its own budget


def test_api_rate_limit_per_user_across_addresses(app: AthenaApp) -> None:
    import base64

    auth = {"Authorization": "Basic " + base64.b64encode(b"lead:whatever").decode()}
    codes = []
    for i in range(7):  # a new address every time: the per-user budget still runs out
        client = TestClient(app.api, base_url="http://127.0.0.1", client=(f"127.0.1.{i}", 1))
        codes.append(client.get("/api/whoami", headers=auth).status_code)
    assert codes.count(429) == 2 and 429 not in codes[:5]


def test_shutdown_checkpoints_running_interviews_as_resumable(app: AthenaApp) -> None:
    with client_for(app):  # the lifespan starts with the client and ends when it closes
        interviewer = KeylessInterviewer(app.interviews.engine)
        interviewer.start("E7", name="Alan Turing")
        sid = interviewer.session_id
        assert app.api.state.athena_ops.metrics.active_sessions() == [sid]
    state = app.interviews.engine.state(sid)
    assert state.status == "incomplete"
    assert app.interviews.engine.resumable_session("E7") == sid
    assert app.api.state.athena_ops.readiness.draining
