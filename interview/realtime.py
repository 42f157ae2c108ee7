"""The OpenAI Realtime interviewer: a RealtimeAgent whose tools are the interview engine.

The agent asks the engine's planned questions in its own words and scores answers through the engine, so storage,
scoring and reports are the same as with the keyless interviewer. This is the only module that imports `agents`:
`interview.realtime_session` runs the conversation (renewal, reconnection, back-off) through `open_session` and
`send_raw`, and `interview.realtime_audio` bridges the audio.

Dependencies reach the tools through the run context (`InterviewContext`), never through globals. The tools are
plain functions that the SDK runs in worker threads; the engine is thread-safe (one store transaction per
operation). Tool docstrings are prompt text. A tool refused by the domain, or called with bad arguments, returns
`{"ok": false, "error": ...}` with a message the model can act on.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agents import RunContextWrapper, function_tool
from agents.realtime import RealtimeAgent, RealtimeRunConfig, RealtimeRunner, RealtimeSession
from agents.realtime.model_inputs import (
    RealtimeModelSendAudio,
    RealtimeModelSendRawMessage,
    RealtimeModelSendToolOutput,
)
from agents.realtime.openai_realtime import _USER_AGENT, OpenAIRealtimeWebSocketModel, TransportConfig
from agents.tool import FunctionTool
from agents.tool_context import ToolContext
from openai.types.realtime.response_audio_delta_event import ResponseAudioDeltaEvent
from openai.types.realtime.response_create_event import ResponseCreateEvent as OpenAIResponseCreateEvent

from interview import grading
from interview.engine import AskedQuestion, InterviewEngine
from interview.errors import InterviewError, InvalidInput
from interview.questions import Question, question_datasets
from interview.report import label

if TYPE_CHECKING:
    from interview.realtime_session import RealtimeConfig

log = logging.getLogger(__name__)

SCORED_BY_PREFIX = "realtime"


# ---------------------------------------------------------------------------------------------------- run context
@dataclass
class InterviewContext:
    """What the agent's tools work on: the engine, the session, and what the candidate said or submitted."""

    engine: InterviewEngine
    session_id: int
    model: str = "gpt-realtime"
    dialect: str = "duckdb"
    grading_timeout_s: float = 2.0
    briefing: str = ""  # the per-session part of the instructions (who, how long, and the state on renewal)
    open_question: int | None = None  # row id of the question asked and not yet scored
    heard: dict[int, list[str]] = field(default_factory=dict)  # question row id -> candidate's words
    grades: dict[int, tuple[str, dict[str, Any]]] = field(default_factory=dict)  # row id -> (sql, grade)
    editor_sql: str | None = None  # the last query submitted in the SQL editor
    report_ready: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def note_heard(self, text: str) -> None:
        """Keep what the candidate said (transcribed or typed) with the question it answers."""
        text = (text or "").strip()
        with self.lock:
            if text and self.open_question is not None:
                self.heard.setdefault(self.open_question, []).append(text)


def _ok(**values: Any) -> dict[str, Any]:
    return {"ok": True, **values}


def _error(message: str) -> dict[str, Any]:
    return {"ok": False, "error": message}


def _asked(ic: InterviewContext, question_id: str) -> AskedQuestion:
    state = ic.engine.state(ic.session_id)
    return ic.engine.find_asked(state, (question_id or "").strip())


def _guarded(name: str, ic: InterviewContext, work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run a tool's work; a domain error goes back to the model as a message it can act on (and is logged)."""
    try:
        return work()
    except InterviewError as exc:
        log.info("tool refused", extra={"tool": name, "session_id": ic.session_id, "error": str(exc)})
        return _error(str(exc))


def _as_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _rubric_version(q: Question | None) -> str | None:
    """What the score was judged against: the question's rubric version, or the grader for hands-on ones."""
    if q is None:
        return None
    return f"{q.id}@v{q.rubric.version}" if q.rubric is not None else f"{q.id}@grader"


def _argument_problems(tool: FunctionTool, raw: str) -> str:
    """Say precisely what is wrong with a tool call's arguments, judged against the tool's JSON schema."""
    try:
        args = json.loads(raw or "{}")
    except json.JSONDecodeError as exc:
        return f"the arguments are not valid JSON ({exc.msg} at character {exc.pos})"
    if not isinstance(args, dict):
        return "the arguments must be a JSON object"
    schema = tool.params_json_schema
    props: dict[str, Any] = schema.get("properties", {})
    problems = [f"missing {name!r}" for name in schema.get("required", []) if name not in args]
    problems += [f"unknown argument {name!r}" for name in args if name not in props]
    kinds = {"string": (str,), "number": (int, float), "integer": (int,), "boolean": (bool,)}
    for name, value in args.items():
        expected = props.get(name, {}).get("type")
        ok = kinds.get(expected) if isinstance(expected, str) else None
        if ok and (not isinstance(value, ok) or (expected != "boolean" and isinstance(value, bool))):
            problems.append(f"{name!r} must be a {expected}, not {json.dumps(value)[:60]}")
    return "; ".join(problems) or "the arguments do not match the tool's parameters"


def tool_failure_message(ctx: RunContextWrapper[Any], error: Exception) -> str:
    """What the model is told when a tool call fails outside the domain's own checks (bad arguments, a bug)."""
    if isinstance(ctx, ToolContext):
        tool = next((t for t in TOOLS if t.name == ctx.tool_name), None)
        if tool is not None and str(error).startswith("Invalid JSON input for tool"):
            problems = _argument_problems(tool, ctx.tool_arguments)
            # Logged without the values: they may quote the candidate.
            log.info("tool arguments rejected", extra={"tool": ctx.tool_name})
            return json.dumps(
                _error(
                    f"{ctx.tool_name} was called with bad arguments: {problems}. Call it again "
                    f"with: {', '.join(tool.params_json_schema.get('required', [])) or 'no arguments'}."
                )
            )
    log.error("tool failed", extra={"tool": getattr(ctx, "tool_name", "?")}, exc_info=error)
    return json.dumps(
        _error(
            "The tool failed because of an internal problem (it has been logged). Carry on with "
            "the interview; if it keeps failing, tell the candidate there is a technical problem "
            "and call generate_session_report."
        )
    )


# ---------------------------------------------------------------------------------------------------- tools
@function_tool(failure_error_function=tool_failure_message)
def next_question(ctx: RunContextWrapper[InterviewContext]) -> dict[str, Any]:
    """Get the question the interview plan asks next. Call it whenever you are ready to move on.

    Ask the returned question in your own words (short and natural; never read out ids, categories or
    difficulty), then call log_question_asked. If `already_asked` is true, the candidate still owes an answer to
    it: remind them of it briefly instead. When `finished` is true, call generate_session_report.
    """
    ic = ctx.context

    def work() -> dict[str, Any]:
        q = ic.engine.next_question(ic.session_id)
        state = ic.engine.state(ic.session_id)
        if q is None:
            return _ok(
                finished=True,
                answered=len(state.answered),
                next_step="All questions are done or the time is up: call generate_session_report now.",
            )
        pending = state.pending if state.pending is not None and state.pending.ref == q.id else None
        out: dict[str, Any] = {
            "finished": False,
            "question_id": q.id,
            "question": " ".join(q.prompt.split()),
            "topic": label(q.category),
            "category": q.category,
            "difficulty": q.difficulty,
            "kind": q.kind,
            "already_asked": pending is not None,
            "number": pending.position if pending else len(state.asked) + 1,
            "of": state.max_questions,
            "possible_follow_ups": list(q.follow_ups),
        }
        if q.kind == "hands_on":
            out["how_to_answer"] = (
                "The candidate writes a query in the SQL editor on their screen (or dictates "
                "it) and submits it; then call grade_query."
            )
        elif q.rubric is not None:
            out["listen_for"] = [" ".join(p.text.split()) for p in q.rubric.key_points]
            out["common_misconceptions"] = [" ".join(m.text.split()) for m in q.rubric.misconceptions]
        return _ok(**out)

    return _guarded("next_question", ic, work)


@function_tool(failure_error_function=tool_failure_message)
def log_question_asked(
    ctx: RunContextWrapper[InterviewContext],
    question_id: str,
    question_as_asked: str,
    category: str,
    difficulty: str,
) -> dict[str, Any]:
    """Record that you asked a question. Call it once per question, right after asking it.

    Args:
        question_id: The question_id that next_question returned.
        question_as_asked: The question in the words you used.
        category: The category next_question returned (e.g. joins).
        difficulty: The difficulty next_question returned: intermediate or advanced.
    """
    ic = ctx.context

    def work() -> dict[str, Any]:
        qid = (question_id or "").strip()
        if not qid:
            raise InvalidInput("question_id is empty: pass the question_id that next_question returned.")
        state = ic.engine.state(ic.session_id)
        already = next((q for q in state.asked if q.ref == qid), None)
        if already is not None and not already.evaluated:
            with ic.lock:
                ic.open_question = already.id
            return _ok(
                question_number=already.position,
                note="This question was already logged; wait for the candidate's answer.",
            )
        asked = ic.engine.log_question_asked(
            ic.session_id, question_as_asked, category, difficulty, question_ref=qid
        )
        with ic.lock:
            ic.open_question = asked.id
        return _ok(
            question_number=asked.position,
            next_step="Listen to the answer. For a hands-on question, "
            "call grade_query once the candidate submits a query.",
        )

    return _guarded("log_question_asked", ic, work)


@function_tool(failure_error_function=tool_failure_message)
def grade_query(ctx: RunContextWrapper[InterviewContext], question_id: str, sql: str) -> dict[str, Any]:
    """Run the candidate's query for a hands-on question on the practice data and compare it with the answer.

    The result says whether the query is correct, partly right (with what is missing or extra) or wrong, and
    why. Discuss the findings with the candidate in your own words; never read out the expected answer. You may
    grade again if the candidate fixes the query.

    Args:
        question_id: The question_id of the hands-on question being answered.
        sql: The candidate's query exactly as given. Pass an empty string to grade the query the candidate
            submitted in the SQL editor.
    """
    ic = ctx.context

    def work() -> dict[str, Any]:
        asked = _asked(ic, question_id)
        q = ic.engine.bank.get(asked.ref) if asked.ref else None
        if q is None or q.kind != "hands_on" or not q.reference_sql:
            raise InvalidInput(
                f"Q{asked.position} is not a hands-on question; score the spoken answer with "
                "log_response_evaluation instead."
            )
        if asked.evaluated:
            raise InvalidInput(f"Q{asked.position} is already scored; move on with next_question.")
        query = (sql or "").strip() or (ic.editor_sql or "").strip()
        if not query:
            raise InvalidInput(
                "There is no query to grade: the candidate has not submitted one in the SQL "
                "editor. Ask them to write it there (or dictate it) and submit it."
            )
        try:
            result = grading.grade(
                query,
                q.reference_sql,
                question_datasets(q),
                dialect=ic.dialect,
                order_matters=q.order_matters,
                timeout_s=ic.grading_timeout_s,
            )
        except grading.GradingError as exc:
            raise InvalidInput(f"The query could not be graded: {exc}") from None
        with ic.lock:
            ic.grades[asked.id] = (query, result.to_dict())
        safe = result.to_dict(redact_hidden=True)
        return _ok(
            verdict=result.verdict,
            score=round(result.score, 2),
            findings=result.feedback(redact_hidden=True),
            datasets=[
                {"name": d["name"], "hidden": d["hidden"], "verdict": d["verdict"], "message": d["message"]}
                for d in safe.get("datasets", [])
            ],
            next_step="Tell the candidate what the grader found, then call log_response_evaluation.",
        )

    return _guarded("grade_query", ic, work)


@function_tool(failure_error_function=tool_failure_message)
def log_response_evaluation(
    ctx: RunContextWrapper[InterviewContext],
    question_id: str,
    score: float,
    feedback: str,
    evidence: str,
    answer_summary: str,
) -> dict[str, Any]:
    """Record your score for the candidate's answer to a question you asked. Call it once per question.

    For hands-on questions, call grade_query first: the grader's result is combined with your score.

    Args:
        question_id: The question_id of the question answered.
        score: From 0.0 to 1.0: 1.0 complete and correct; 0.7 right with small gaps; 0.4 partly right;
            0.1 mostly wrong; 0.0 no answer.
        feedback: One or two sentences for the candidate: what was good and what to improve.
        evidence: Why this score: what the candidate said or did (and what the grader found).
        answer_summary: A short summary of the candidate's answer in your words.
    """
    ic = ctx.context

    def work() -> dict[str, Any]:
        asked = _asked(ic, question_id)
        q = ic.engine.bank.get(asked.ref) if asked.ref else None
        with ic.lock:
            graded = ic.grades.get(asked.id)
            heard = list(ic.heard.get(asked.id, []))
        hands_on = q is not None and q.kind == "hands_on"
        if hands_on and graded is None and 0 < _as_float(score) <= 1:  # the engine checks the range
            raise InvalidInput(
                f"Q{asked.position} is a hands-on question: call grade_query with the candidate's "
                "query before scoring it (score 0.0 only if they gave no query at all)."
            )
        response_text = "\n".join(heard) if heard else (answer_summary or "").strip()
        evaluation = ic.engine.log_response_evaluation(
            ic.session_id,
            asked.id,
            response_text,
            score,
            feedback,
            scored_by=f"{SCORED_BY_PREFIX}:{ic.model}",
            rubric_version=_rubric_version(q),
            evidence={
                "model_evidence": (evidence or "").strip()[:4000],
                "model_answer_summary": (answer_summary or "").strip()[:2000],
                "answer_source": "transcript" if heard else "model_summary",
                "question_ref": asked.ref,
            },
            sql_text=graded[0] if graded else None,
            grade=graded[1] if graded else None,
        )
        with ic.lock:
            if ic.open_question == asked.id:
                ic.open_question = None
        state = ic.engine.state(ic.session_id)
        return _ok(
            recorded_score=evaluation.score,
            answered=len(state.answered),
            of=state.max_questions,
            next_step="Give the candidate the feedback briefly, then call next_question.",
        )

    return _guarded("log_response_evaluation", ic, work)


@function_tool(failure_error_function=tool_failure_message)
def generate_session_report(ctx: RunContextWrapper[InterviewContext]) -> dict[str, Any]:
    """Write the end-of-interview report and end the interview. Call it when next_question says finished, or
    when the candidate wants to stop (after scoring the open question, if they answered it).

    Then tell the candidate their overall result in two or three sentences (a strength, a topic to practise),
    thank them and say goodbye.
    """
    ic = ctx.context

    def work() -> dict[str, Any]:
        report = ic.engine.generate_session_report(ic.session_id)
        with ic.lock:
            ic.report_ready = True
        return _ok(
            overall_score=report.overall_score,
            overall_assessment=report.overall_assessment,
            strengths=report.strengths,
            weaknesses=report.weaknesses,
            recommendations=report.recommendations,
            next_step="Summarise this for the candidate in two or three sentences and say goodbye.",
        )

    return _guarded("generate_session_report", ic, work)


TOOLS: list[FunctionTool] = [
    next_question,
    log_question_asked,
    grade_query,
    log_response_evaluation,
    generate_session_report,
]


# ---------------------------------------------------------------------------------------------------- the agent
INSTRUCTIONS = """\
You are Athena, a senior data engineer interviewing a colleague on SQL by voice. Be fair, warm and brief: the
candidate should do most of the talking. Speak in short turns (at most about 20 seconds).

How the interview runs
- Greet the candidate by first name in one sentence, say there will be a few questions (some to explain, some to
  write a query for in the SQL editor), then call next_question.
- The interview plan chooses the questions: always get them from next_question and ask them in your own words,
  one at a time. Never read out ids, categories or difficulty labels. Right after asking, call log_question_asked.
- Conceptual questions: listen. If the answer misses something important, you may ask one follow-up (use the
  possible_follow_ups). Do not teach or give the answer before you have scored it.
- Hands-on questions: the candidate writes the query in the SQL editor on their screen and submits it, or dictates
  it. Then call grade_query. Tell them briefly what the grader found, in your own words; let them explain their
  approach, and let them fix the query once if they want (grade again).
- Then call log_response_evaluation once for the question: the score (0.0 to 1.0), feedback for the candidate,
  and the evidence for the score. Give the feedback in a sentence, then call next_question.
- When next_question says finished, or the candidate wants to stop, call generate_session_report, tell them their
  result in two or three sentences (one strength, one topic to practise), thank them and say goodbye.

Fairness
- Many candidates are not native English speakers. Judge their understanding of SQL, never their accent, grammar
  or vocabulary. If you did not understand something, ask them to repeat or rephrase instead of guessing. Give
  them time to think; do not rush or interrupt.
- "I don't know" is a fine answer: score it 0.0, say something encouraging, and move on.
- Score only what the candidate said or wrote, the same way for everyone. Never record a score for a question you
  have not asked and logged.

Tools
- Tool results are for you. If a tool returns an error, read it, fix the call and try again; tell the candidate
  only if it affects them.
"""


def instructions(ctx: RunContextWrapper[InterviewContext], agent: RealtimeAgent[InterviewContext]) -> str:
    """The fixed instructions plus this session's briefing (who the candidate is; the state after a renewal)."""
    briefing = ctx.context.briefing.strip()
    return f"{INSTRUCTIONS}\nThis interview\n{briefing}\n" if briefing else INSTRUCTIONS


def build_agent() -> RealtimeAgent[InterviewContext]:
    return RealtimeAgent[InterviewContext](name="Athena", instructions=instructions, tools=list(TOOLS))


def briefing(ic: InterviewContext, reason: str, recent: list[dict[str, str]]) -> str:
    """The per-session part of the instructions, read from the store (runs in a worker thread)."""
    state = ic.engine.state(ic.session_id)
    minutes = ""
    if state.deadline is not None:
        left = max(0, int((state.deadline - ic.engine.clock()).total_seconds() // 60))
        minutes = f" About {left} minutes remain."
    lines = [
        f"The candidate is {state.employee_name} (employee {state.employee_id}). The interview has "
        f"{state.max_questions} questions.{minutes} Their SQL dialect: {ic.dialect}."
    ]
    if state.asked:
        lines.append(
            "The interview is already under way; do not start over or greet them as new. "
            "Where it stands (the store is the truth):"
        )
        lines.append(state.summary())
        pending = state.pending
        if pending is not None:
            with ic.lock:
                heard = " ".join(ic.heard.get(pending.id, []))
            lines.append(
                f"Question {pending.position} (question_id {pending.ref}) is asked and not yet scored; it "
                "is already logged, so do not call log_question_asked for it again."
                + (f' The candidate has said so far: "{heard[-1500:]}"' if heard else "")
            )
    if recent and reason in ("renew", "reconnect"):
        lines.append("The last exchanges before the connection was renewed:")
        lines += [f"- {m['role']}: {m['content'][:300]}" for m in recent[-8:]]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------- the SDK session
class LeanRealtimeModel(OpenAIRealtimeWebSocketModel):
    """The SDK's WebSocket model with two per-frame costs removed (see BENCHMARKS.md, Capacity).

    - No permessage-deflate: compressing base64 audio 50 times a second per candidate cost more CPU than anything
      Athena does with the frame, for a few percent of bandwidth.
    - `input_audio_buffer.append` is written as JSON directly instead of through a pydantic model and
      `model_dump_json`: the same bytes (tests/test_realtime_lean.py compares them), without building and
      serializing a model per 20 ms frame.

    - The service's audio deltas (50 a second while the interviewer speaks) skip the SDK's raw-event copy, which
      nothing in Athena reads, and pydantic validation of the event union: the SDK's own `_handle_audio_delta`
      takes them as they are, so its playback tracking for barge-in is unchanged. Anything unexpected in the
      event takes the SDK's full path.

    - A response is asked for only once the outputs of every function call the service has made are in. The SDK
      asks after each output; when the candidate talks over the interviewer, two calls can be open at once (the
      question logged, the answer scored), and the model was asked to go on before it had the second result.
      The same holds for a response.create the SDK held back while another response ran: if that response opened
      a call, the held request is dropped and the call's output asks instead.

    All five override methods of the pinned SDK (openai-agents 0.22.2); a test fails if their signatures change.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._open_calls: set[str] = set()  # call ids the service made whose output is not sent yet
        # A response.create was held back for open calls: the last one's output sends it.
        self._response_owed = False

    async def _create_websocket_connection(
        self, url: str, headers: dict[str, str], transport_config: TransportConfig | None = None
    ) -> Any:
        import websockets

        tc: dict[str, Any] = dict(transport_config or {})
        return await websockets.connect(
            url,
            user_agent_header=_USER_AGENT,
            additional_headers=headers,
            max_size=tc.get("max_size"),
            compression=None,
            ping_interval=tc.get("ping_interval", 20.0),
            ping_timeout=tc.get("ping_timeout", 20.0),
            open_timeout=tc.get("handshake_timeout", 10.0),
        )

    async def _send_audio(self, event: RealtimeModelSendAudio) -> None:
        if event.commit or self._websocket is None:
            await super()._send_audio(event)
            return
        await self._websocket.send(append_audio_json(event.audio))

    async def _send_tool_output(self, event: RealtimeModelSendToolOutput) -> None:
        self._open_calls.discard(event.tool_call.call_id)
        if self._open_calls:
            self._response_owed = self._response_owed or event.start_response
            event = dataclasses.replace(event, start_response=False)  # the last output starts the response
        elif self._response_owed and not event.start_response:
            event = dataclasses.replace(event, start_response=True)
        if event.start_response:
            self._response_owed = False
        await super()._send_tool_output(event)

    async def _send_response_create_when_idle(
        self,
        request_version: int,
        *,
        response_create: OpenAIResponseCreateEvent | None = None,
        manual: bool = False,
    ) -> None:
        if manual or response_create is not None:  # the candidate's typed text and explicit requests: as is
            await super()._send_response_create_when_idle(
                request_version, response_create=response_create, manual=manual
            )
            return
        sequencer = self._response_create_sequencer
        pending = await sequencer.wait_for_response_create_slot(request_version)
        if pending is None:
            return
        if self._open_calls:  # the response that ran meanwhile opened calls: their last output asks instead
            self._response_owed = True
            await self._clear_pending_response_create(pending.event_id)
            return
        try:
            await self._send_raw_message(
                OpenAIResponseCreateEvent(type="response.create", event_id=pending.event_id)
            )
        except BaseException:
            await self._clear_pending_response_create(pending.event_id)
            raise
        await sequencer.mark_response_create_sent(pending)

    async def _handle_ws_event(self, event: dict[str, Any]) -> None:
        kind = event.get("type") if isinstance(event, dict) else None
        if (
            kind == "response.output_audio.delta"
            and event.keys() >= _AUDIO_DELTA_FIELDS
            and isinstance(event["delta"], str)
        ):
            await self._handle_audio_delta(ResponseAudioDeltaEvent.model_construct(**event))
            return
        if kind in _OUTPUT_ITEM_EVENTS:
            # The SDK runs a tool for each completed function_call item (`_handle_output_item`).
            item = event.get("item")
            if (
                isinstance(item, dict)
                and item.get("type") == "function_call"
                and item.get("status") == "completed"
            ):
                self._open_calls.add(str(item.get("call_id") or ""))
        await super()._handle_ws_event(event)


_OUTPUT_ITEM_EVENTS = frozenset({"response.output_item.added", "response.output_item.done"})
_AUDIO_DELTA_FIELDS = frozenset(ResponseAudioDeltaEvent.model_fields) - {"event_id"}


def append_audio_json(pcm: bytes) -> str:
    """The `input_audio_buffer.append` client event for a chunk of PCM16, as compact JSON."""
    return '{"audio":"' + base64.b64encode(pcm).decode("ascii") + '","type":"input_audio_buffer.append"}'


async def open_session(
    config: RealtimeConfig, ic: InterviewContext, model_factory: Callable[[], Any] | None = None
) -> RealtimeSession:
    """A connected Realtime session running the agent for this interview (raises what the connection raises)."""
    model = (
        model_factory()
        if model_factory is not None
        else LeanRealtimeModel(
            transport_config={
                "handshake_timeout": config.connect_timeout_s,
                "ping_interval": 20.0,
                "ping_timeout": 20.0,
            }
        )
    )
    settings: Any = config.model_settings()
    run_config: RealtimeRunConfig = {
        "model_settings": settings,
        "tracing_disabled": True,
        "async_tool_calls": True,
    }
    session = await RealtimeRunner(build_agent(), model=model, config=run_config).run(
        context=ic,
        model_config={
            "url": config.connect_url,
            "api_key": config.api_key,
            "initial_model_settings": settings,
        },
    )
    await session.enter()
    return session


async def send_raw(session: RealtimeSession, message: dict[str, Any]) -> None:
    """Send a client event as is (a system message, response.create)."""
    await session.model.send_event(RealtimeModelSendRawMessage(message=message))  # type: ignore[arg-type]
