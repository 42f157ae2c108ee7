"""Realtime interviews end to end: the real openai-agents client against a fake Realtime server, over a real
WebSocket, with the app serving the interview over fastrtc's WebSocket transport under /interview.

Each scenario scripts the model's side (tests/fake_realtime.py) and plays the candidate with a voice client; the
assertions look at what reached the store and at what the client sent the service.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app import build_app
from interview.keyless import KeylessInterviewer
from interview.questions import load_bank
from settings import load_settings
from store import repo
from store.schema import interview_responses
from tests.fake_realtime import Call, Conversation, Fail, FakeRealtimeServer, Hear, Say, Script, Turn
from tests.realtime_client import VoiceClient, free_port, serve, speech, wait_until

KEY = "sk-test-athena"
BANK = load_bank()


def make_app(tmp_path: Path, url: str, **env: str) -> Any:
    values = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'athena.db'}",
        "ATHENA_LOG_FORMAT": "text",
        "OPENAI_API_KEY": KEY,
        "ATHENA_REALTIME_URL": url,
        "ATHENA_MAX_QUESTIONS": "2",
        "ATHENA_REALTIME_BACKOFF_S": "0.05",
        "ATHENA_REALTIME_VAD_SILENCE_MS": "400",
        "ATHENA_LOCAL_VOICE": "false",
        **env,
    }
    return build_app(load_settings(values, env_file=tmp_path / "absent.env"))


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Any]:
    """Start a fake Realtime server and the app pointed at it: running(script, **env) -> (fake, app, base_url)."""
    stack: list[Any] = []

    def start(
        scripts: Script | list[Script], fake_kwargs: dict[str, Any] | None = None, **env: str
    ) -> tuple[FakeRealtimeServer, Any, str]:
        fake = FakeRealtimeServer(scripts, **(fake_kwargs or {})).start()
        stack.append(fake.stop)
        app = make_app(tmp_path, env.pop("url", fake.url), **env)
        stack.append(app.close)
        server = serve(app.api)
        base = server.__enter__()
        stack.append(lambda: server.__exit__(None, None, None))
        return fake, app, base

    yield start
    for close in reversed(stack):
        close()


# ---------------------------------------------------------------------------------------------------- the model
def question(conv: Conversation) -> dict[str, Any]:
    """The open question: from next_question on this connection, else from the instructions of a renewed one."""
    if conv.outputs("next_question"):
        return conv.last_output("next_question")
    found = re.search(
        r"\(question_id ([a-z0-9-]+)\) is asked and not yet scored", conv.session.get("instructions", "")
    )
    assert found, "the renewed session's instructions do not name the open question"
    q = BANK[found.group(1)]
    return {
        "question_id": q.id,
        "kind": q.kind,
        "question": q.prompt,
        "category": q.category,
        "difficulty": q.difficulty,
    }


def interviewer(conv: Conversation, trigger: str) -> list[Any]:
    """A model that follows Athena's instructions, one response at a time."""
    if trigger == "start":
        return [Say("Hi Ada, I'm Athena. A couple of SQL questions today."), Call("next_question")]
    if trigger == "speech":
        q = question(conv)
        if q["kind"] == "hands_on":
            return (
                [Call("grade_query", {"question_id": q["question_id"], "sql": ""})]
                if conv.user_texts
                else [
                    Call(
                        "grade_query",
                        {"question_id": q["question_id"], "sql": BANK[q["question_id"]].reference_sql},
                    )
                ]
            )
        return [
            Call(
                "log_response_evaluation",
                {
                    "question_id": q["question_id"],
                    "score": 0.8,
                    "feedback": "Clear explanation.",
                    "evidence": "Named the key point and gave an example.",
                    "answer_summary": "A good explanation.",
                },
            )
        ]
    name, out = conv.last_tool
    if name == "next_question":
        if out["finished"]:
            return [Call("generate_session_report")]
        return [
            Say(out["question"]),
            Call(
                "log_question_asked",
                {
                    "question_id": out["question_id"],
                    "question_as_asked": out["question"],
                    "category": out["category"],
                    "difficulty": out["difficulty"],
                },
            ),
        ]
    if name == "log_question_asked":
        return []  # wait for the candidate
    if name == "grade_query":
        q = question(conv)
        return [
            Say(f"The grader says: {out['verdict']}."),
            Call(
                "log_response_evaluation",
                {
                    "question_id": q["question_id"],
                    "score": 0.9,
                    "feedback": "The query is right; well explained.",
                    "evidence": f"grader verdict {out['verdict']}",
                    "answer_summary": "Dictated a query.",
                },
            ),
        ]
    if name == "log_response_evaluation":
        return [Say("Thank you."), Call("next_question")]
    if name == "generate_session_report":
        return [Say(f"That's all. Your overall score is {out['overall_score']:.2f}. Goodbye!")]
    raise AssertionError(f"unexpected tool output {name}")


def candidate(conv: Conversation) -> str:
    """What the candidate says to the open question: the reference query for hands-on, an explanation otherwise."""
    q = question(conv)
    if q["kind"] == "hands_on":
        return BANK[q["question_id"]].reference_sql or ""
    return "You aggregate first, then join, so each row is counted once per key."


def responses(app: Any, sid: int) -> list[dict[str, Any]]:
    with app.store.read() as conn:
        rows = conn.execute(
            select(interview_responses)
            .where(interview_responses.c.session_id == sid)
            .order_by(interview_responses.c.question_id)
        )
        return [dict(r._mapping) for r in rows]


async def asked(app: Any, fake: FakeRealtimeServer, sid: int, n: int) -> None:
    """Wait until question n is asked and the model is waiting for the answer."""
    await wait_until(
        lambda: len(app.interviews.engine.state(sid).asked) >= n and fake.quiet(), 15, f"question {n}"
    )


async def answer_questions(
    client: VoiceClient, app: Any, fake: FakeRealtimeServer, sid: int, count: int
) -> None:
    for n in range(1, count + 1):
        await asked(app, fake, sid, n)
        await client.say()
        await wait_until(
            lambda n=n: len(app.interviews.engine.state(sid).answered) >= n, 15, f"answer {n} scored"
        )


# ---------------------------------------------------------------------------------------------------- scenarios
def test_a_full_interview_writes_every_tool_call_to_the_store(running) -> None:
    fake, app, base = running(Script(policy=interviewer, hearing=candidate))

    async def scenario() -> tuple[VoiceClient, int]:
        async with VoiceClient(base) as client:
            started = await client.start("E42", name="Ada Lovelace", department="Data", role="Analyst")
            await client.wait_for_status("live")
            await answer_questions(client, app, fake, started["session_id"], 2)
            await client.wait_for_status("finished")
            return client, started["session_id"]

    client, sid = asyncio.run(scenario())
    assert fake.problems == []
    engine = app.interviews.engine
    state = engine.state(sid)
    assert state.status == "completed" and state.brain == "realtime" and len(state.asked) == 2
    report = engine.get_report(sid)
    assert report is not None and 0 < report.overall_score <= 1
    conv = fake.conversations[0]
    for asked, row in zip(state.asked, responses(app, sid), strict=True):
        evidence = json.loads(row["evidence"])
        assert row["scored_by"] == "realtime:gpt-realtime"
        assert evidence["answer_source"] == "transcript" and evidence["model_evidence"]
        assert (
            row["response_text"] == conv.transcripts[asked.position - 1]
        )  # the candidate's words, transcribed
        if asked.kind == "hands_on":
            assert (
                row["grade_verdict"] == "correct"
                and row["sql_text"].strip() == BANK[asked.ref].reference_sql.strip()
            )
            assert row["score"] == pytest.approx(
                0.7 * 1.0 + 0.3 * 0.9
            )  # the grade weighs more than the judgment
        else:
            assert row["grade_verdict"] is None and row["score"] == pytest.approx(0.8)
    # What the client configured: audio formats, voice, VAD and transcription from the settings.
    session = conv.session
    assert conv.query["model"] == "gpt-realtime" and conv.headers["authorization"] == f"Bearer {KEY}"
    # Neither hop compresses the audio (the CPU cost per frame; BENCHMARKS.md, Capacity): Athena offers the service
    # no permessage-deflate, and refuses it to a candidate's client that offers it (websockets offers by default).
    assert "sec-websocket-extensions" not in conv.headers
    assert client.ws.request.headers.get("Sec-WebSocket-Extensions")
    assert client.ws.response.headers.get("Sec-WebSocket-Extensions") is None
    audio = session["audio"]
    assert audio["input"]["format"] == {"type": "audio/pcm", "rate": 24000} == audio["output"]["format"]
    assert audio["output"]["voice"] == "marin"
    assert audio["input"]["turn_detection"] == {
        "type": "server_vad",
        "threshold": 0.5,
        "silence_duration_ms": 400,
        "prefix_padding_ms": 300,
        "create_response": True,
        "interrupt_response": True,
    }
    assert audio["input"]["transcription"] == {"model": "gpt-4o-mini-transcribe", "language": "en"}
    assert {t["name"] for t in session["tools"]} == {
        "next_question",
        "log_question_asked",
        "grade_query",
        "log_response_evaluation",
        "generate_session_report",
    }
    assert "Ada Lovelace (employee E42)" in session["instructions"]
    # Audio went both ways: the candidate's speech reached the service, the interviewer's voice reached the client.
    assert conv.audio_bytes > 0 and client.audio_bytes > 24_000
    assert [line["role"] for line in client.last()["transcript"]][:2] == ["assistant", "assistant"]
    # The service's latency reached the metrics: the connection, and turn end to first audio for each answer.
    metrics = httpx.get(f"{base}/metrics").text
    connects = re.search(r'openai_api_latency_seconds_count\{operation="connect"\} (\d+)', metrics)
    responses_ = re.search(r'openai_api_latency_seconds_count\{operation="response"\} (\d+)', metrics)
    assert connects and int(connects.group(1)) >= 1, metrics[:2000]
    assert responses_ and int(responses_.group(1)) >= 2


def test_bad_tool_arguments_get_a_message_the_model_can_act_on(running) -> None:
    def args(conv: Conversation, **values: Any) -> dict[str, Any]:
        return {
            "question_id": question(conv)["question_id"],
            "score": 0.6,
            "feedback": "Partly right.",
            "evidence": "Named one of two points.",
            "answer_summary": "A partial answer.",
            **values,
        }

    attempts = [
        lambda c: {
            "question_id": question(c)["question_id"],
            "score": "excellent",
        },  # wrong type, missing fields
        lambda c: '{"question_id": "' + question(c)["question_id"] + '", "score": ',  # not JSON at all
        lambda c: args(c, question_id="no-such-question"),  # a question that was never asked
        lambda c: args(c, score=7),  # out of range
    ]

    def model(conv: Conversation, trigger: str) -> list[Any]:
        made = len(conv.outputs("log_response_evaluation"))
        if trigger == "speech" or (
            conv.tool_outputs
            and conv.last_tool[0] == "log_response_evaluation"
            and not conv.last_tool[1]["ok"]
        ):
            if made < len(attempts):
                return [Call("log_response_evaluation", attempts[made])]
            if question(conv)["kind"] == "hands_on" and not conv.outputs("grade_query"):
                if made == len(attempts):  # scoring a hands-on answer before grading it is refused too
                    return [Call("log_response_evaluation", args(conv))]
                return [
                    Call("grade_query", {"question_id": question(conv)["question_id"], "sql": "SELECT 1"})
                ]
            return [Call("log_response_evaluation", args(conv))]
        if conv.tool_outputs and conv.last_tool[0] == "grade_query":
            return [Call("log_response_evaluation", args(conv))]
        return interviewer(conv, trigger)

    fake, app, base = running(
        Script(policy=model, hearing=lambda c: "I would use a left join."), ATHENA_MAX_QUESTIONS="1"
    )

    async def scenario() -> int:
        async with VoiceClient(base) as client:
            sid = (await client.start("E7", name="Grace Hopper"))["session_id"]
            await asked(app, fake, sid, 1)
            await client.say()
            await client.wait_for_status("finished", 20)
            return sid

    sid = asyncio.run(scenario())
    outputs = fake.conversations[0].outputs("log_response_evaluation")
    errors = [o["error"] for o in outputs if not o["ok"]]
    assert errors[0] == (
        "log_response_evaluation was called with bad arguments: missing 'feedback'; missing "
        "'evidence'; missing 'answer_summary'; 'score' must be a number, not \"excellent\". Call it "
        "again with: question_id, score, feedback, evidence, answer_summary."
    )
    assert errors[1].startswith(
        "log_response_evaluation was called with bad arguments: the arguments are not valid JSON"
    )
    assert errors[2].startswith(
        "That question was not asked in this interview, so it cannot be scored. Questions asked so far: Q1: "
    )
    assert errors[3] == "Score must be between 0.0 and 1.0; got 7."
    first = app.interviews.engine.state(sid).asked[0]
    if first.kind == "hands_on":
        assert errors[4] == (
            "Q1 is a hands-on question: call grade_query with the candidate's query before scoring "
            "it (score 0.0 only if they gave no query at all)."
        )
    assert outputs[-1]["ok"] and len(errors) == len(outputs) - 1
    rows = responses(app, sid)
    assert (
        len(rows) == 1 and rows[0]["response_text"] == "I would use a left join."
    )  # only the good call counted
    assert fake.problems == []


def test_a_drop_mid_answer_is_followed_by_a_renewed_session_that_carries_the_interview_on(running) -> None:
    first = Script(policy=interviewer, heard=[Hear("I think you would", drop_after_ms=300)])
    second = Script(
        turns=[Turn([Say("Sorry, we lost the line for a moment. Please go on.")], trigger="start")],
        policy=interviewer,
        hearing=candidate,
    )
    fake, app, base = running([first, second], ATHENA_MAX_QUESTIONS="1")

    async def scenario() -> tuple[VoiceClient, int]:
        async with VoiceClient(base) as client:
            sid = (await client.start("E9", name="Edgar Codd"))["session_id"]
            await asked(app, fake, sid, 1)
            await client.send(speech(800))  # cut off mid-answer
            await wait_until(
                lambda: len(fake.conversations) == 2 and fake.conversations[1].sessions,
                15,
                "the second session",
            )
            await wait_until(fake.quiet, 15, "the apology")
            await client.say()
            await client.wait_for_status("finished", 20)
            return client, sid

    client, sid = asyncio.run(scenario())
    one, two = fake.conversations
    assert one.closed == "dropped" and "reconnecting" in client.statuses()
    # The new session was told where the interview stands, from the store.
    instructions = two.session["instructions"]
    q = app.interviews.engine.state(sid).asked[0]
    assert f"Q1 [{q.category}, {q.difficulty}] {q.text} — asked, not yet evaluated" in instructions
    assert "do not call log_question_asked for it again" in instructions
    assert any("dropped and is now restored" in t for t in two.system_texts)
    assert "response.create" in two.event_types()  # after a drop, the interviewer speaks first
    # Nothing was asked twice or lost; the answer given after the renewal is the one scored.
    state = app.interviews.engine.state(sid)
    assert len(state.asked) == 1 and state.status == "completed"
    assert responses(app, sid)[0]["response_text"] == two.transcripts[0]
    assert fake.problems == []


def test_the_session_is_renewed_before_the_service_limit_without_losing_the_open_question(running) -> None:
    first = Script(policy=interviewer)
    second = Script(policy=interviewer, hearing=candidate)
    fake, app, base = running([first, second], ATHENA_MAX_QUESTIONS="1", ATHENA_REALTIME_RENEW_MINUTES="0.02")

    async def scenario() -> int:
        async with VoiceClient(base) as client:
            sid = (await client.start("E11", name="Jim Gray"))["session_id"]
            await wait_until(
                lambda: len(fake.conversations) == 2 and fake.conversations[1].sessions,
                15,
                "the renewed session",
            )
            await wait_until(fake.quiet, 15, "the renewed session to settle")
            await client.say()
            await client.wait_for_status("finished", 20)
            return sid

    sid = asyncio.run(scenario())
    one, two = fake.conversations
    assert one.closed == "client"
    assert any("renewed to stay within the service's time limit" in t for t in two.system_texts)
    assert "response.create" not in two.event_types()[:3]  # silent: the candidate may be about to answer
    assert "asked, not yet evaluated" in two.session["instructions"]
    state = app.interviews.engine.state(sid)
    assert len(state.asked) == 1 and len(state.answered) == 1 and state.status == "completed"
    assert fake.problems == []


def test_a_refused_key_is_said_plainly_and_the_keyless_interviewer_carries_on(running) -> None:
    fake, app, base = running(Script(policy=interviewer), OPENAI_API_KEY="sk-not-a-valid-key-1234")
    engine = app.interviews.engine
    # An interview already under way: one answer recorded before the voice service was tried.
    state = engine.start_session("E5", name="Barbara Liskov", brain="realtime", mode="voice")
    q = engine.next_question(state.session_id)
    asked = engine.log_question_asked(state.session_id, q.prompt, q.category, q.difficulty, question_ref=q.id)
    engine.log_response_evaluation(state.session_id, asked.id, "an answer", 0.5, "ok", scored_by="test")
    engine.abandon(state.session_id, "disconnect")

    async def scenario() -> VoiceClient:
        async with VoiceClient(base) as client:
            started = await client.start("E5")
            assert started == {"session_id": state.session_id, "ref": started["ref"], "resumed": True}
            await client.wait_for_status("unavailable")
            return client

    client = asyncio.run(scenario())
    message = client.last()["message"]
    assert message == (
        "The OpenAI voice service refused this server's API key, so the voice interviewer cannot "
        "run. An administrator needs to check OPENAI_API_KEY. Your answers so far are saved. You "
        "can carry on with Athena's own interviewer instead: it works without the OpenAI service."
    )
    assert (
        fake.conversations[0].closed == "refused" and len(fake.conversations) == 1
    )  # no retry with a bad key
    after = engine.state(state.session_id)
    assert after.status == "incomplete" and len(after.answered) == 1
    # The keyless interviewer resumes the same interview, with the recorded answer intact.
    keyless = KeylessInterviewer(engine)
    turns = keyless.start("E5")
    assert keyless.session_id == state.session_id and "Welcome back" in turns[0].text
    assert engine.state(state.session_id).answered[0].score == 0.5


def test_an_unreachable_service_is_retried_then_reported(running, tmp_path: Path) -> None:
    fake, app, base = running(
        Script(policy=interviewer),
        url=f"ws://127.0.0.1:{free_port()}/v1/realtime",
        ATHENA_REALTIME_MAX_RECONNECTS="2",
    )

    async def scenario() -> VoiceClient:
        async with VoiceClient(base) as client:
            await client.start("E6", name="Michael Stonebraker")
            await client.wait_for_status("unavailable")
            return client

    client = asyncio.run(scenario())
    assert client.statuses().count("reconnecting") == 2
    assert client.last()["message"].startswith(
        "The OpenAI voice service cannot be reached right now, so the voice "
        "interviewer has stopped. Your answers so far are saved."
    )


def test_a_refused_handshake_and_a_rate_limit_back_off_and_recover(running) -> None:
    script = Script(turns=[Turn([Fail()], trigger="start")], policy=interviewer, hearing=candidate)
    fake, app, base = running(script, {"handshake_status": [503]}, ATHENA_MAX_QUESTIONS="1")

    async def scenario() -> VoiceClient:
        async with VoiceClient(base) as client:
            sid = (await client.start("E8", name="Donald Chamberlin"))["session_id"]
            await asked(app, fake, sid, 1)
            await client.say()
            await client.wait_for_status("finished", 20)
            return client

    client = asyncio.run(scenario())
    assert fake.handshakes == 2 and len(fake.conversations) == 1  # one 503, then a session
    conv = fake.conversations[0]
    assert conv.responses[0]["status"] == "failed" and conv.event_types().count("response.create") >= 2
    assert "waiting" in client.statuses()
    assert fake.problems == []


def test_report_route_and_start_errors(running) -> None:
    fake, app, base = running(Script(policy=interviewer))
    import httpx

    with httpx.Client(base_url=base) as http:
        assert (
            http.post("/interview/start", json={"websocket_id": "nope", "employee_id": "E1"}).status_code
            == 409
        )
        assert http.post("/interview/start", content=b"not json").json() == {
            "error": "The request body must be JSON."
        }
        assert http.get("/interview/report", params={"ref": "1:bad"}).json() == {
            "error": "This interview reference is not valid; start or resume the interview again."
        }

    async def scenario() -> None:
        async with VoiceClient(base) as client:
            reply = await httpx.AsyncClient(base_url=base).post(
                "/interview/start", json={"websocket_id": client.websocket_id, "employee_id": "new-person"}
            )
            assert reply.status_code == 400
            assert reply.json() == {
                "error": "Employee new-person is new here: please give your name to start."
            }
            started = await client.start("E12", name="Ted Codd")
            async with httpx.AsyncClient(base_url=base) as http:
                body = (await http.get("/interview/report", params={"ref": started["ref"]})).json()
            assert body == {
                "session_id": started["session_id"],
                "status": "in_progress",
                "answered": 0,
                "of": 2,
                "overall_score": None,
                "report_markdown": None,
            }

    asyncio.run(scenario())
    with app.store.read() as conn:
        assert repo.get_session(conn, 1)["brain"] == "realtime"
