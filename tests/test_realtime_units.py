"""Narrower Realtime tests: the configuration sent to the service, the tools through the SDK's ScriptedRealtimeModel,
and the audio handler driven directly against the fake server (barge-in, SQL editor submissions, page inputs)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import numpy as np
import pytest
from agents.realtime import RealtimeRunner
from agents.realtime.model_events import RealtimeModelToolCallEvent
from agents.realtime.model_inputs import RealtimeModelSendToolOutput
from agents.realtime.testing import ScriptedRealtimeModel

from interview.engine import EngineConfig, InterviewEngine
from interview.questions import load_bank
from interview.realtime import TOOLS, InterviewContext, _argument_problems, briefing, build_agent
from interview.realtime_audio import RealtimeInterviewHandler
from interview.realtime_session import RealtimeConfig
from settings import load_settings
from store import Store
from tests.fake_realtime import Call, Conversation, FakeRealtimeServer, Say, Script, Turn
from tests.realtime_client import silence, speech

BANK = load_bank()
HANDS_ON = next(q for q in BANK.questions if q.kind == "hands_on")


@pytest.fixture
def engine(sqlite_store: Store) -> InterviewEngine:
    return InterviewEngine(sqlite_store, BANK, EngineConfig(max_questions=2))


def start(engine: InterviewEngine, employee: str = "E1") -> int:
    return engine.start_session(employee, name="Ada Lovelace", brain="realtime", mode="voice").session_id


# ---------------------------------------------------------------------------------------------------- configuration
def test_the_session_configuration_comes_from_the_settings(tmp_path) -> None:
    settings = load_settings(
        {
            "OPENAI_API_KEY": "sk-x",
            "ATHENA_REALTIME_URL": "wss://example.test/v1/realtime?x=1",
            "ATHENA_REALTIME_VAD": "semantic_vad",
            "ATHENA_REALTIME_VAD_EAGERNESS": "medium",
            "ATHENA_REALTIME_NOISE_REDUCTION": "off",
            "ATHENA_REALTIME_TRANSCRIPTION_LANGUAGE": "",
            "ATHENA_REALTIME_VOICE": "cedar",
            "ATHENA_REALTIME_RENEW_MINUTES": "20",
            "ATHENA_REALTIME_BACKOFF_S": "0.5",
            "ATHENA_REALTIME_BACKOFF_MAX_S": "3",
        },
        env_file=tmp_path / "none.env",
    )
    config = RealtimeConfig.from_settings(settings)
    assert config.connect_url == "wss://example.test/v1/realtime?x=1&model=gpt-realtime"
    assert config.renew_after_s == 1200
    assert [config.backoff(n) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert config.model_settings() == {
        "model_name": "gpt-realtime",
        "voice": "cedar",
        "modalities": ["audio"],
        "input_audio_format": "pcm16",
        "output_audio_format": "pcm16",
        "input_audio_transcription": {"model": "gpt-4o-mini-transcribe"},
        "input_audio_noise_reduction": None,
        "turn_detection": {
            "type": "semantic_vad",
            "eagerness": "medium",
            "create_response": True,
            "interrupt_response": True,
        },
    }


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "ATHENA_REALTIME_VAD",
            "push_to_talk",
            "ATHENA_REALTIME_VAD must be one of server_vad, semantic_vad",
        ),
        (
            "ATHENA_REALTIME_VAD_SILENCE_MS",
            "50",
            "ATHENA_REALTIME_VAD_SILENCE_MS must be a whole number from 200",
        ),
        (
            "ATHENA_REALTIME_TRANSCRIPTION_LANGUAGE",
            "english",
            "ATHENA_REALTIME_TRANSCRIPTION_LANGUAGE must be a two- or three-letter language code such as en",
        ),
        ("ATHENA_REALTIME_VOICE", "robot", "ATHENA_REALTIME_VOICE must be one of marin, cedar"),
    ],
)
def test_bad_realtime_settings_name_the_setting(tmp_path, name: str, value: str, message: str) -> None:
    from settings import SettingsError

    with pytest.raises(SettingsError, match=message):
        load_settings({name: value}, env_file=tmp_path / "none.env")


def test_tool_descriptions_are_written_for_the_model() -> None:
    by_name = {t.name: t for t in TOOLS}
    assert set(by_name) == {
        "next_question",
        "log_question_asked",
        "grade_query",
        "log_response_evaluation",
        "generate_session_report",
    }
    evaluation = by_name["log_response_evaluation"].params_json_schema
    assert evaluation["required"] == ["question_id", "score", "feedback", "evidence", "answer_summary"]
    assert "1.0 complete and correct" in evaluation["properties"]["score"]["description"]
    assert (
        "empty string to grade the query the candidate"
        in by_name["grade_query"].params_json_schema["properties"]["sql"]["description"]
    )
    assert by_name["next_question"].description.startswith("Get the question the interview plan asks next.")


@pytest.mark.parametrize(
    ("raw", "problems"),
    [
        (
            "{",
            "the arguments are not valid JSON (Expecting property name enclosed in double quotes at character 1)",
        ),
        ("[1]", "the arguments must be a JSON object"),
        (
            '{"question_id": 3, "score": true, "feedback": "", "evidence": "", "answer_summary": "", "x": 1}',
            "unknown argument 'x'; 'question_id' must be a string, not 3; 'score' must be a number, not true",
        ),
    ],
)
def test_argument_problems_are_precise(raw: str, problems: str) -> None:
    tool = next(t for t in TOOLS if t.name == "log_response_evaluation")
    assert _argument_problems(tool, raw) == problems


# ---------------------------------------------------------------------------------------------------- tools via the SDK
async def call_tool(ic: InterviewContext, name: str, arguments: dict[str, Any] | str) -> dict[str, Any]:
    """Have the SDK run one tool call from a scripted model; returns the output it would send the service."""
    model = ScriptedRealtimeModel(strict=False)
    session = await RealtimeRunner(build_agent(), model=model).run(context=ic)
    async with session:
        raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
        await model.emit(
            RealtimeModelToolCallEvent(name=name, call_id=f"call-{name}", arguments=raw, id="item-1")
        )
        async for event in session:
            if event.type == "tool_end":
                break
    outputs = [e for e in model.sent_events if isinstance(e, RealtimeModelSendToolOutput)]
    assert len(outputs) == 1 and outputs[0].start_response
    return json.loads(outputs[0].output)


def test_tools_drive_the_engine_and_refuse_what_the_engine_refuses(engine: InterviewEngine) -> None:
    sid = start(engine)
    ic = InterviewContext(engine, sid, model="gpt-realtime")

    async def scenario() -> None:
        early = await call_tool(ic, "generate_session_report", {})
        assert early == {
            "ok": False,
            "error": "No answer has been scored yet, so there is nothing to report.",
        }
        q = await call_tool(ic, "next_question", {})
        assert q["ok"] and not q["already_asked"] and q["number"] == 1 and q["of"] == 2
        unasked = await call_tool(
            ic,
            "log_response_evaluation",
            {
                "question_id": q["question_id"],
                "score": 0.5,
                "feedback": "f",
                "evidence": "e",
                "answer_summary": "s",
            },
        )
        assert unasked == {
            "ok": False,
            "error": "That question was not asked in this interview, so it cannot be "
            "scored. Questions asked so far: none yet.",
        }
        logged = await call_tool(
            ic,
            "log_question_asked",
            {
                "question_id": q["question_id"],
                "question_as_asked": "In my words...",
                "category": q["category"],
                "difficulty": q["difficulty"],
            },
        )
        assert logged["ok"] and logged["question_number"] == 1 and ic.open_question is not None
        again = await call_tool(ic, "next_question", {})
        assert again["already_asked"] and again["question_id"] == q["question_id"]

    asyncio.run(scenario())
    state = engine.state(sid)
    assert [a.text for a in state.asked] == ["In my words..."] and not state.answered


def test_a_hands_on_answer_combines_the_grade_with_the_models_score(engine: InterviewEngine) -> None:
    sid = start(engine)
    asked = engine.log_question_asked(
        sid, HANDS_ON.prompt, HANDS_ON.category, HANDS_ON.difficulty, question_ref=HANDS_ON.id
    )
    ic = InterviewContext(engine, sid, model="gpt-realtime", open_question=asked.id)
    ic.note_heard("Here is my query.")
    ic.editor_sql = "SELECT 1 AS x"

    async def scenario() -> None:
        graded = await call_tool(ic, "grade_query", {"question_id": HANDS_ON.id, "sql": ""})
        assert graded["ok"] and graded["verdict"] in ("incorrect", "error") and graded["findings"]
        assert all(d["hidden"] is False or "rows" not in d for d in graded["datasets"])
        done = await call_tool(
            ic,
            "log_response_evaluation",
            {
                "question_id": HANDS_ON.id,
                "score": 0.5,
                "feedback": "Wrong columns.",
                "evidence": "grader",
                "answer_summary": "s",
            },
        )
        assert done["ok"] and done["recorded_score"] == pytest.approx(
            round(0.7 * graded["score"] + 0.15, 4), abs=0.01
        )

    asyncio.run(scenario())
    with engine.store.read() as conn:
        from store import repo

        row = repo.list_responses(conn, sid)[0]
    assert row["sql_text"] == "SELECT 1 AS x" and row["response_text"] == "Here is my query."
    assert row["scored_by"] == "realtime:gpt-realtime" and json.loads(row["evidence"])["grade"]["verdict"]


def test_the_briefing_restores_the_interview_state(engine: InterviewEngine) -> None:
    sid = start(engine)
    asked = engine.log_question_asked(
        sid, HANDS_ON.prompt, HANDS_ON.category, HANDS_ON.difficulty, question_ref=HANDS_ON.id
    )
    ic = InterviewContext(engine, sid, open_question=asked.id)
    ic.note_heard("I'd start with a left join")
    text = briefing(ic, "reconnect", [{"role": "assistant", "content": "Question one..."}])
    assert "The candidate is Ada Lovelace (employee E1). The interview has 2 questions." in text
    assert f"Question 1 (question_id {HANDS_ON.id}) is asked and not yet scored" in text
    assert 'The candidate has said so far: "I\'d start with a left join"' in text
    assert "- assistant: Question one..." in text
    assert "already under way" not in briefing(InterviewContext(engine, start(engine, "E2")), "start", [])


# ---------------------------------------------------------------------------------------------------- the handler
class DirectHandler:
    """Drive the fastrtc handler as fastrtc would, without a transport: inputs, audio in, queued audio out."""

    def __init__(self, engine: InterviewEngine, url: str, ref: str) -> None:
        config = RealtimeConfig(
            api_key="sk-test-athena", url=url, model="gpt-realtime", vad_silence_ms=300, backoff_s=0.05
        )
        self.handler = RealtimeInterviewHandler(engine, config).copy()
        self.link = {"ref": ref, "dialect": "duckdb", "message": None}
        self.handler.set_args(["webrtc-test", dict(self.link)])  # what the page's inputs look like
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> DirectHandler:
        self.handler._loop = asyncio.get_running_loop()
        self.task = asyncio.create_task(self.handler.start_up())
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.handler.shutdown()
        assert self.task is not None
        await asyncio.wait_for(self.task, 10)

    async def send(self, samples: np.ndarray) -> None:
        for i in range(0, len(samples), 480):
            await self.handler.receive((24_000, samples[i : i + 480].reshape(1, -1)))

    def queued_audio(self) -> int:
        return sum(1 for item in list(self.handler.out._queue) if isinstance(item, tuple))  # type: ignore[attr-defined]

    def message(self, **fields: Any) -> None:
        self.link["message"] = {"id": f"m{id(fields)}", **fields}
        self.handler.set_args(["webrtc-test", dict(self.link)])


async def until(predicate: Any, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.02)


def test_barge_in_clears_the_interviewers_queued_audio(engine: InterviewEngine) -> None:
    sid = start(engine)
    script = Script(
        turns=[Turn([Say("A long introduction " * 20, audio_ms=4000)], trigger="start")],
        heard=["Sorry, can I ask something?"],
    )
    with FakeRealtimeServer(script, pace=0.5) as fake:

        async def scenario() -> tuple[int, int]:
            async with DirectHandler(engine, fake.url, engine.session_ref(sid)) as direct:
                await until(
                    lambda: direct.queued_audio() >= 3
                )  # the interviewer is talking; nothing played yet
                before = direct.queued_audio()
                await direct.send(np.concatenate([speech(300), silence(100)]))  # the candidate talks over it
                await until(lambda: fake.conversations[0].cancelled == 1)
                await until(lambda: direct.queued_audio() == 0)
                return before, direct.queued_audio()

        before, after = asyncio.run(scenario())
    conv = fake.conversations[0]
    assert before >= 3 and after == 0
    assert (
        conv.responses[0]["status"] == "cancelled"
        and conv.responses[0]["status_details"]["reason"] == "turn_detected"
    )
    assert "conversation.item.truncate" in conv.event_types()  # the service is told how much was heard
    assert fake.problems == []


def test_sql_editor_submissions_reach_the_model_as_the_candidates_answer(engine: InterviewEngine) -> None:
    sid = start(engine)

    def log_it(conv: Conversation) -> dict[str, Any]:
        return {
            "question_id": HANDS_ON.id,
            "question_as_asked": "Write the query.",
            "category": HANDS_ON.category,
            "difficulty": HANDS_ON.difficulty,
        }

    script = Script(
        turns=[
            Turn([Say("Hi."), Call("log_question_asked", log_it)], trigger="start"),
            Turn([], trigger="tool_output"),
            Turn([Call("grade_query", {"question_id": HANDS_ON.id, "sql": ""})], trigger="text"),
            Turn(
                [
                    Call(
                        "log_response_evaluation",
                        {
                            "question_id": HANDS_ON.id,
                            "score": 1.0,
                            "feedback": "Right.",
                            "evidence": "grader: correct",
                            "answer_summary": "query",
                        },
                    )
                ],
                trigger="tool_output",
            ),
            Turn([Say("Well done.")], trigger="tool_output"),
        ]
    )
    with FakeRealtimeServer(script) as fake:

        async def scenario() -> None:
            async with DirectHandler(engine, fake.url, engine.session_ref(sid)) as direct:
                await until(lambda: len(engine.state(sid).asked) == 1 and fake.quiet())
                direct.message(sql=HANDS_ON.reference_sql)
                await until(lambda: len(engine.state(sid).answered) == 1)

        asyncio.run(scenario())
    conv = fake.conversations[0]
    assert conv.user_texts == [
        f"I submitted this query in the SQL editor:\n```sql\n{HANDS_ON.reference_sql.strip()}\n```"
    ]
    assert conv.last_output("grade_query")["verdict"] == "correct"
    with engine.store.read() as conn:
        from store import repo

        row = repo.list_responses(conn, sid)[0]
    assert row["grade_verdict"] == "correct" and row["score"] == pytest.approx(1.0)
    assert fake.problems == []
    # The candidate left (the handler shut down) with the interview unfinished: it stays resumable.
    assert engine.state(sid).status == "incomplete"


# ---------------------------------------------------------------------------------------------------- the page
def test_the_page_offers_the_realtime_interviewer_only_with_a_key(tmp_path) -> None:
    from fastapi.testclient import TestClient

    from app import build_app

    base = {"DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}", "ATHENA_LOCAL_VOICE": "false"}
    for key, expected in (("sk-test-athena", True), ("", False)):
        app = build_app(load_settings({**base, "OPENAI_API_KEY": key}, env_file=tmp_path / "none.env"))
        try:
            with TestClient(app.api) as client:
                assert ("Talk to the interviewer" in client.get("/").text) is expected
                reply = client.post("/interview/start", json={"websocket_id": "x", "employee_id": "E1"})
                assert (reply.status_code == 409) is expected
        finally:
            app.close()


def test_page_controls_send_answers_to_the_model_and_fall_back_to_the_keyless_interviewer(tmp_path) -> None:
    import gradio as gr

    from app import build_app
    from interview.realtime_ui import RealtimeControls
    from interview.ui import InterviewTab

    settings = load_settings(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}",
            "OPENAI_API_KEY": "sk-test-athena",
            "ATHENA_LOCAL_VOICE": "false",
        },
        env_file=tmp_path / "none.env",
    )
    app = build_app(settings)
    try:
        services = app.interviews
        controls = RealtimeControls(
            services=services, tab=InterviewTab(services, None), link=None, voice=None
        )
        ref, _, status, _, link = controls.start("E1", "Ada Lovelace", "", "", "postgres", "", "")
        assert link == {"ref": ref, "dialect": "postgres", "message": None} and "Ada Lovelace" in status
        assert services.engine.state(services.engine.resolve_ref(ref)).brain == "realtime"
        with pytest.raises(gr.Error, match="The voice interviewer is not connected: press Record first"):
            controls.submit_sql("SELECT 1", ref, "postgres", "reconnecting")
        *_, sent = controls.submit_sql("SELECT 1", ref, "postgres", "live")
        assert sent["message"]["sql"] == "SELECT 1" and sent["ref"] == ref
        cleared, *_, typed = controls.answer("Because of NULLs.", ref, "postgres", "live")
        assert cleared == "" and typed["message"]["text"] == "Because of NULLs."
        assert typed["message"]["id"] != sent["message"]["id"]
        # The service refused the key: the keyless interviewer resumes the same interview.
        new_ref, chat, status, _, voice, _, note = controls.keyless(ref, "postgres")
        sid = services.engine.resolve_ref(new_ref)
        assert new_ref == ref and services.engine.state(sid).brain == "keyless" and voice == "keyless"
        assert "Question 1" in chat[-1]["content"] and "Athena's own interviewer" in note
        *_, unchanged = controls.answer("I don't know", ref, "postgres", "keyless")
        assert (
            len(services.engine.state(sid).answered) == 1 and unchanged == gr.skip()
        )  # the link is left alone
    finally:
        app.close()
