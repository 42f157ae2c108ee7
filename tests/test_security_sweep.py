"""Once an account exists, nothing behind the Analytics and Console tabs answers an anonymous caller: every
FastAPI route under /api/ and every Gradio event handler of those two tabs, called through Gradio's own HTTP
API the way a script would call it (hiding a tab is not security)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from analytics import accounts

LEAD = ("lead.one", "lead-password")
ADMIN = ("boss", "boss-password")
LEAD_TABS = ("analytics", "console")
DENIAL_WORDS = ("sign in", "team lead or admin", "only an admin")
SECRET = "SECRET-SWEEP-MARKER"
# What a click on a table cell sends, so handlers that take gr.SelectData get as far as their role check.
EVENT_DATA = {"index": [0, 0], "value": "e1", "selected": True, "row_value": ["e1"], "col_value": ["e1"]}


@dataclass
class Sweep:
    app: Any
    client: TestClient


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sweep]:
    from app import build_app
    from settings import load_settings

    tmp = tmp_path_factory.mktemp("sweep")
    settings = load_settings(
        {
            "DATABASE_URL": f"sqlite:///{tmp / 'a.db'}",
            "ATHENA_LOG_FORMAT": "text",
            "ATHENA_LOCAL_VOICE": "false",
            "ATHENA_API_RATE_LIMIT": "0",  # this file sends hundreds of requests from one address
        },
        env_file=tmp / "none.env",
    )
    app = build_app(settings)
    accounts.create_account(app.store, *ADMIN, "admin", actor="test")
    accounts.create_account(app.store, *LEAD, "lead", actor="test")
    from sqlalchemy import text

    with app.store.write() as conn:  # something worth stealing
        conn.execute(
            text("INSERT INTO employees (id, name, department, role) VALUES ('e1', :n, 'eng', 'dev')"),
            {"n": SECRET},
        )
    with TestClient(app.api, base_url="http://127.0.0.1") as client:
        yield Sweep(app, client)
    app.close()


# ---- FastAPI routes
def api_routes(app: Any) -> list[tuple[str, str]]:
    return sorted(
        (route.path, method)
        for route in app.api.routes
        if isinstance(route, APIRoute) and route.path.startswith("/api/")
        for method in route.methods
        if method != "HEAD"
    )


def test_the_sweep_covers_the_console_api(sweep: Sweep) -> None:
    assert {("/api/query", "POST"), ("/api/whoami", "GET")} <= set(api_routes(sweep.app))


def test_every_api_route_refuses_anonymous_callers(sweep: Sweep) -> None:
    for path, method in api_routes(sweep.app):
        concrete = path.replace("{", "").replace("}", "")  # path parameters get a literal value
        for body in (None, {"sql": "SELECT * FROM employees"}):
            response = sweep.client.request(method, concrete, json=body)
            assert response.status_code in (401, 403), (
                method,
                path,
                response.status_code,
                response.text[:200],
            )
            assert SECRET not in response.text


def test_bad_credentials_are_refused_too(sweep: Sweep) -> None:
    for path, method in api_routes(sweep.app):
        for auth in (("lead.one", "wrong-password"), ("nobody", "x")):
            response = sweep.client.request(method, path, json={"sql": "SELECT 1"}, auth=auth)
            assert response.status_code in (401, 403, 429), (method, path, response.status_code)
        response = sweep.client.request(
            method, path, cookies={"athena_session": "forged.cookie"}, json={"sql": "SELECT 1"}
        )
        assert response.status_code in (401, 403), (method, path)


# ---- Gradio event handlers
def _descendant_ids(block: Any) -> set[int]:
    ids = {block._id}
    for child in getattr(block, "children", []) or []:
        ids |= _descendant_ids(child)
    return ids


def lead_tab_ids(blocks: Any) -> set[int]:
    ids: set[int] = set()
    found = set()
    for block in blocks.blocks.values():
        if type(block).__name__ in ("Tab", "TabItem") and getattr(block, "id", None) in LEAD_TABS:
            ids |= _descendant_ids(block)
            found.add(block.id)
    assert found == set(LEAD_TABS), f"lead tabs not found: {set(LEAD_TABS) - found}"
    return ids


def lead_handlers(blocks: Any) -> list[tuple[int, Any]]:
    ids = lead_tab_ids(blocks)
    handlers = []
    for fn_index, fn in blocks.fns.items():
        if fn.fn is None:  # runs in the browser only: no server endpoint
            continue
        touched = {t[0] if isinstance(t, tuple) else t for t in fn.targets}
        touched |= {c._id for c in fn.inputs} | {c._id for c in fn.outputs}
        if touched & ids:
            handlers.append((fn_index, fn))
    return handlers


def payload(component: Any) -> Any:
    kind = type(component).__name__
    if kind in ("Textbox", "Code"):
        return "SELECT * FROM employees"
    if kind in ("Dropdown", "Radio") and getattr(component, "choices", None):
        choice = component.choices[0]
        return choice[1] if isinstance(choice, tuple | list) else choice
    if kind in ("File", "UploadButton", "DownloadButton", "Image", "Audio", "Video", "Gallery"):
        return None
    try:
        return component.example_payload()
    except Exception:
        return None


def call(client: TestClient, fn_index: int, fn: Any, **kwargs: Any) -> dict[str, Any]:
    """Call one handler through Gradio's queue API, as any HTTP client can; the process_completed message."""
    session = uuid.uuid4().hex
    trigger = fn.targets[0][0] if fn.targets else None
    data = [payload(c) for c in fn.inputs]
    joined = client.post(
        "/gradio_api/queue/join",
        json={
            "data": data,
            "fn_index": fn_index,
            "session_hash": session,
            "event_data": EVENT_DATA,
            "trigger_id": trigger,
        },
        **kwargs,
    )
    assert joined.status_code == 200, joined.text
    with client.stream("GET", "/gradio_api/queue/data", params={"session_hash": session}, **kwargs) as stream:
        for line in stream.iter_lines():
            if line.startswith("data:"):
                message = json.loads(line[5:])
                if message.get("msg") == "process_completed":
                    return message
    raise AssertionError(f"no answer from handler {fn.name}")


def _harmless(value: Any) -> bool:
    """An output an anonymous caller may see: hidden components, empty values, the sign-in prompt."""
    if value is None or value == "" or value == [] or value == {}:
        return True
    if isinstance(value, str):
        return any(word in value.lower() for word in DENIAL_WORDS)
    if isinstance(value, dict):
        if (
            value.get("__type__") == "update"
        ):  # showing or hiding is fine; any value it carries must be harmless
            return all(
                _harmless(v) for k, v in value.items() if k not in ("__type__", "visible", "interactive")
            )
        if "headers" in value and "data" in value:  # a Dataframe
            return (
                not value["data"]
                or value["data"] == [[]]
                or value["data"] == [["" for _ in value["headers"]]]
            )
    return False


def test_the_sweep_finds_the_handlers(sweep: Sweep) -> None:
    names = {fn.name for _, fn in lead_handlers(sweep.app.blocks)}
    assert {"on_run", "on_add", "on_apply", "on_load", "visible"} <= names


def test_every_lead_handler_refuses_anonymous_callers(sweep: Sweep) -> None:
    leaks = []
    for fn_index, fn in lead_handlers(sweep.app.blocks):
        message = call(sweep.client, fn_index, fn)
        text = json.dumps(message)
        assert SECRET not in text, fn.name
        if not message.get("success"):
            error = str((message.get("output") or {}).get("error") or "").lower()
            if not any(word in error for word in DENIAL_WORDS):
                leaks.append(f"{fn.name}: failed without an access message: {error[:120]}")
            continue
        outputs = (message.get("output") or {}).get("data") or []
        if not all(_harmless(v) for v in outputs):
            leaks.append(f"{fn.name}: answered an anonymous caller with {json.dumps(outputs)[:200]}")
    assert not leaks, "\n".join(leaks)


def test_a_signed_in_lead_gets_answers_but_not_admin_powers(sweep: Sweep) -> None:
    handlers = {fn.name: (i, fn) for i, fn in lead_handlers(sweep.app.blocks)}
    lead = call(sweep.client, *handlers["on_run"], auth=LEAD)
    assert lead["success"] and SECRET in json.dumps(lead)  # the sweep would notice a real answer
    for name in ("on_add", "on_apply"):
        denied = call(sweep.client, *handlers[name], auth=LEAD)
        assert not denied["success"] and "only an admin" in denied["output"]["error"].lower()
    admin = call(sweep.client, *handlers["on_add"], auth=ADMIN)
    assert admin["success"]


def test_cookie_sign_in_reaches_the_handlers(sweep: Sweep) -> None:
    handlers = {fn.name: (i, fn) for i, fn in lead_handlers(sweep.app.blocks)}
    client = sweep.client
    response = client.post("/login", data={"username": LEAD[0], "password": LEAD[1]}, follow_redirects=False)
    assert response.status_code == 303
    try:
        shown = call(client, *handlers["visible"])
        assert shown["success"] and all(v.get("visible") is True for v in shown["output"]["data"])
        assert call(client, *handlers["on_run"])["success"]
    finally:
        client.get("/logout")
        client.cookies.clear()
    hidden = call(client, *handlers["visible"])
    assert all(v.get("visible") is False for v in hidden["output"]["data"])
